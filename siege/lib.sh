# shellcheck shell=bash
# Shared by the siege scenarios: configuration, tokens through the gateway, a store with one
# menu item, the siege run itself, and the summary. Source it; do not run it.
#
# Environment (all optional):
#   GATEWAY_URL        the gateway                      (http://localhost:<its port>)
#   CONCURRENCY        siege -c                         (100)
#   DURATION           siege -t                         (60S)
#   DIRECT             1 = send orders to the order service itself with identity headers, as
#                      the seeds did, instead of through the gateway (no JWT, no rate limit)
#   ORDER_SERVICE_URL  the order service for DIRECT and /metrics   (http://localhost:<its port>)
#   PAYMENT_SERVICE_URL the payment service, for fault injection when the gateway route is not
#                      available                      (http://localhost:<its port>)
# (each process's port from ports.tsv)
#   RESULTS_DIR        where raw output goes            (siege/results)
# The gateway limits each user to GATEWAY_RATE_LIMIT_PER_SECOND (default 1000) requests a
# second; siege sends as one customer, so for heavier runs raise it on the gateway
# (GATEWAY_RATE_LIMIT_PER_SECOND=100000 GATEWAY_RATE_LIMIT_BURST=100000 ./dev restart gateway)
# or use DIRECT=1. Responses 429 are counted separately in the summary.

set -euo pipefail

SIEGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$SIEGE_DIR/.." && pwd)
# port_of PROCESS [PROTOCOL]: its port in ports.tsv, the one table of them (PROTOCOL http by default).
port_of() {
  awk -F '\t' -v p="$1" -v k="${2:-http}" \
    'NR > 1 && $1 == p && $2 == k { print $3; found = 1 } END { exit !found }' "$PROJECT_ROOT/ports.tsv"
}
GATEWAY_URL=${GATEWAY_URL:-http://localhost:$(port_of gateway)}
GATEWAY_URL=${GATEWAY_URL%/}
CONCURRENCY=${CONCURRENCY:-100}
DURATION=${DURATION:-60S}
DIRECT=${DIRECT:-0}
ORDER_SERVICE_URL=${ORDER_SERVICE_URL:-http://localhost:$(port_of order)}
PAYMENT_SERVICE_URL=${PAYMENT_SERVICE_URL:-http://localhost:$(port_of payment)}
RESULTS_DIR=${RESULTS_DIR:-$SIEGE_DIR/results}
RUN_ID=${RUN_ID:-$(date -u +%Y%m%dT%H%M%SZ)}

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31msiege: %s\033[0m\n' "$*" >&2; exit 1; }

command -v siege >/dev/null || die "siege is not installed (./dev provision installs it)"
command -v curl >/dev/null || die "curl is not installed"
mkdir -p "$RESULTS_DIR"

# json_field FIELD < json: prints one top-level field of a JSON object.
json_field() {
  python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

# api METHOD PATH TOKEN [BODY]: a JSON request to the gateway; prints the body, fails on >= 400.
api() {
  local method=$1 path=$2 token=$3 body=${4:-}
  local args=(-fsS --max-time 10 -X "$method" -H "Authorization: Bearer $token")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data "$body")
  curl "${args[@]}" "$GATEWAY_URL$path"
}

# dev_token USER ROLE: a token from the gateway's development endpoint.
dev_token() {
  curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    --data "{\"userId\":\"$1\",\"role\":\"$2\"}" "$GATEWAY_URL/auth/dev-token" | json_field accessToken \
    || die "no token from $GATEWAY_URL/auth/dev-token (is the stack up, with AUTH_DEV_TOKENS=true?)"
}

# The JSON body siege posts (no spaces: siege's URL file splits on them).
order_body() {
  printf '{"storeId":"%s","items":[{"menuItemId":"%s","quantity":1}],"deliveryAddress":"Seoul-Gangnam-%s"}' \
    "$STORE_ID" "$MENU_ITEM_ID" "$RUN_ID"
}

# setup: tokens, a fresh store with one menu item, and a wait until the order service has
# learned the menu from the store's events. Sets OWNER, CUSTOMER, *_TOKEN, STORE_ID, MENU_ITEM_ID.
setup() {
  curl -fsS --max-time 5 -o /dev/null "$GATEWAY_URL/health/ready" 2>/dev/null \
    || curl -fsS --max-time 5 -o /dev/null "$GATEWAY_URL/health/live" \
    || die "the gateway does not answer on $GATEWAY_URL (./dev up, or set GATEWAY_URL)"
  OWNER=siege-owner-$RUN_ID
  CUSTOMER=siege-customer-$RUN_ID
  OWNER_TOKEN=$(dev_token "$OWNER" owner)
  CUSTOMER_TOKEN=$(dev_token "$CUSTOMER" customer)
  ADMIN_TOKEN=$(dev_token "siege-ops-$RUN_ID" admin)
  # Every run starts from a healthy payment service: faults an earlier run or a person left set
  # would measure something else.
  reset_payment_faults
  STORE_ID=$(api POST /stores "$OWNER_TOKEN" "{\"name\":\"Siege Kitchen $RUN_ID\"}" | json_field id)
  MENU_ITEM_ID=$(api POST "/stores/$STORE_ID/menu" "$OWNER_TOKEN" '{"name":"Fried chicken","price":18000}' | json_field id)
  [[ -n $STORE_ID && -n $MENU_ITEM_ID ]] || die "could not create a store and a menu item"
  say "store $STORE_ID, menu item $MENU_ITEM_ID (owner $OWNER, customer $CUSTOMER)"

  # Until the menu reaches the order service (an event away), POST /orders answers 422.
  local status deadline=$((SECONDS + ${MENU_WAIT_SECONDS:-60}))
  while :; do
    status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
      -H "Authorization: Bearer $CUSTOMER_TOKEN" -H 'Content-Type: application/json' \
      --data "$(order_body)" "$GATEWAY_URL/orders" || true)
    [[ $status != 422 && $status != 000 ]] && break
    ((SECONDS < deadline)) || die "the order service did not learn the menu within ${MENU_WAIT_SECONDS:-60}s"
    sleep 0.5
  done
  [[ $status == 201 ]] || die "a first order was answered $status, expected 201"
  say "the order service knows the menu; a first order was placed"
}

# The siege command line for placing orders (through the gateway, or DIRECT to the order service).
siege_args() {
  local urls=$RESULTS_DIR/.urls-$RUN_ID
  if [[ $DIRECT == 1 ]]; then
    printf '%s/orders POST %s\n' "${ORDER_SERVICE_URL%/}" "$(order_body)" >"$urls"
    SIEGE_ARGS=(-R "$SIEGE_DIR/siegerc" -f "$urls" --content-type "application/json"
      --header "X-User-Id: $CUSTOMER" --header "X-User-Role: customer")
  else
    printf '%s/orders POST %s\n' "$GATEWAY_URL" "$(order_body)" >"$urls"
    SIEGE_ARGS=(-R "$SIEGE_DIR/siegerc" -f "$urls" --content-type "application/json"
      --header "Authorization: Bearer $CUSTOMER_TOKEN")
  fi
}

# DURATION (siege's 30S / 2M / 1H) in seconds.
duration_seconds() {
  local n=${DURATION%[SsMmHh]} unit=${DURATION: -1}
  case $unit in
    [Mm]) echo $((n * 60)) ;;
    [Hh]) echo $((n * 3600)) ;;
    *) echo "$n" ;;
  esac
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run_siege NAME [SIEGE OPTIONS...]: runs siege placing orders, saves everything it printed to
# results/<run>-<NAME>.raw, prints siege's summary. Sets RAW to the file, and SIEGE_STARTED_MS
# and SIEGE_ENDED_MS to when it ran (Unix milliseconds); runs the command named by ON_SIEGE_END,
# if any, as soon as siege has stopped.
run_siege() {
  local name=$1; shift
  siege_args
  RAW=$RESULTS_DIR/$RUN_ID-$name.raw
  say "siege -c$CONCURRENCY -t$DURATION $* (raw output: ${RAW#"$PROJECT_ROOT"/})"
  # shellcheck disable=SC2034 # for the caller
  SIEGE_STARTED_MS=$(now_ms)
  {
    echo "# scenario=$name gateway=$GATEWAY_URL direct=$DIRECT concurrency=$CONCURRENCY duration=$DURATION nproc=$(nproc)"
    # siege sometimes hangs after its time is up ("Lifting the server siege..."): stop it
    # (INT, then KILL); the figures come from the per-request lines as well as its summary.
    timeout --signal=INT --kill-after=10 "$(($(duration_seconds) + 30))" \
      siege "${SIEGE_ARGS[@]}" -c "$CONCURRENCY" -t "$DURATION" "$@" 2>&1 || true
  } >"$RAW"
  # shellcheck disable=SC2034 # for the caller
  SIEGE_ENDED_MS=$(now_ms)
  # A caller that measures what the load left behind starts the moment it ends.
  if [[ -n ${ON_SIEGE_END:-} ]]; then "$ON_SIEGE_END"; fi
  rm -f "$RESULTS_DIR/.urls-$RUN_ID"
  # siege's own summary: the JSON object (or the text block of older versions) at the end.
  sed -n '/^{/,/^}/p; /^Transactions:/,/^Shortest transaction:/p' "$RAW" >&2
}

# summarize RAW: the figures of one run as KEY=VALUE lines (for eval), computed from siege's
# summary and from the status line siege prints for each request (report.py).
summarize() {
  python3 "$SIEGE_DIR/report.py" siege "$1" "$(duration_seconds)"
}

# report NAME: prints the figures of the last run.
report() {
  eval "$(summarize "$RAW")"
  cat >&2 <<EOF
---- $1
  orders placed (2xx)   $OK of $ANSWERED answered, $SOCKET_FAILURES socket failures
  orders/s              $ORDERS_PER_SECOND
  availability          $AVAILABILITY %   (siege's own figure: $SIEGE_AVAILABILITY %)
  shed (503)            $SHED_503
  rate limited (429)    $LIMITED_429
  other errors          $OTHER_ERRORS
  response time         mean ${MEAN_RESPONSE}s, longest ${LONGEST}s
  percentiles           p50 ${P50_MS} ms, p90 ${P90_MS} ms, p99 ${P99_MS} ms (closed loop: not corrected for coordinated omission)
  status codes          $CODES
EOF
  if ((LIMITED_429 > 0)); then
    say "the gateway rate-limited $LIMITED_429 requests: raise GATEWAY_RATE_LIMIT_PER_SECOND/BURST or use DIRECT=1"
  fi
}

# metric_sum URL NAME [LABEL-FILTER...]: the sum of a Prometheus counter's samples whose labels
# contain every filter (e.g. 'status="503"'); empty when /metrics cannot be read.
metric_sum() {
  local url=$1 name=$2; shift 2
  curl -fsS --max-time 5 "$url/metrics" 2>/dev/null | python3 -c '
import sys
name, filters = sys.argv[1], sys.argv[2:]
total = 0.0
for line in sys.stdin:
    if not line.startswith(name) or line.startswith("#"):
        continue
    head, _, value = line.rstrip().rpartition(" ")
    metric = head.split("{", 1)[0]
    if metric == name and all(f in head for f in filters):
        total += float(value)
print(int(total))' "$name" "$@" || true
}

# set_payment_faults JSON: through the gateway as admin, else on the payment service itself.
set_payment_faults() {
  if curl -fsS --max-time 10 -o /dev/null -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" \
      -H 'Content-Type: application/json' --data "$1" "$GATEWAY_URL/admin/payment/faults"; then
    return 0
  fi
  curl -fsS --max-time 10 -o /dev/null -X PUT -H 'X-User-Id: ops' -H 'X-User-Role: admin' \
    -H 'Content-Type: application/json' --data "$1" "${PAYMENT_SERVICE_URL%/}/admin/faults" \
    || die "could not set payment faults (gateway /admin/payment/faults nor $PAYMENT_SERVICE_URL/admin/faults)"
}

reset_payment_faults() {
  set_payment_faults '{"delay":{"minMs":0,"maxMs":0},"failureRate":0}' && say "payment faults reset"
}

# The stack script, for stopping and restarting services during a run.
dev() { "$PROJECT_ROOT/dev" "$@"; }

# One line saying where a benchmark ran: the machine, the commit, the load before it.
environment() {
  local commit cpu mem
  commit=$(git -C "$PROJECT_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$PROJECT_ROOT" diff --quiet HEAD 2>/dev/null || commit+=" with uncommitted changes"
  cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  echo "Environment: nproc=$(nproc) (${cpu:-unknown CPU}), memory $mem, $(uname -sr), commit $commit," \
    "$(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1 /proc/loadavg) before the run." \
    "The load generators, every service, Kafka, PostgreSQL and FerretDB share this machine." \
    "Traces: $(tracing_mode)."
}

# How the running services trace, as the order service's start-up line says (spans exported
# and the fraction of new traces recorded, or not): the figures include that cost.
tracing_mode() {
  local log=${FD_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/fooddelivery}/logs/order.log mode
  mode=$(grep -a '"message":"starting"' "$log" 2>/dev/null | tail -n 1 |
    sed -n 's/.*"traces":"\([^"]*\)".*/\1/p')
  [[ -n $mode ]] && echo "$mode" || echo "not known (no start-up line in the log of the order service)"
}
