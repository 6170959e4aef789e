#!/usr/bin/env bash
# ./dev chaos [SCENARIO]: the chaos suite against a running `./dev up`. Each scenario runs the
# driver (siege/chaos: orders through the gateway, each taken through its life, every
# acknowledged step in a ledger), injects its fault while the load runs, brings everything back,
# then runs the checker, which waits for the system to settle and accounts for every
# acknowledged order in every owner's database and in the mypage view. A scenario fails on any
# loss, duplicate effect or view difference (and on its own figure: R6 poison not dead-lettered,
# R10/R11 failed requests).
#
#   SCENARIO   r1 … r13, all (r1 … r11 full size), quick (r1 … r11 shortened; the default),
#              brokers (r12 and r13, shortened; they need KAFKA_NODES=3: a cluster of three)
#
# Environment (./dev sets them): CHAOS_BIN, LOADGEN, DEV, FD_STATE, KAFKA_BROKERS,
# PG_SERVER_URL, GATEWAY_URL (http://localhost:<the gateway's port>), RESULTS_DIR (siege/results).
set -euo pipefail

SIEGE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT_ROOT=$(cd "$SIEGE_DIR/.." && pwd)
# port_of PROCESS [PROTOCOL]: its port in ports.tsv, the one table of them (PROTOCOL http by default).
port_of() {
  awk -F '\t' -v p="$1" -v k="${2:-http}" \
    'NR > 1 && $1 == p && $2 == k { print $3; found = 1 } END { exit !found }' "$PROJECT_ROOT/ports.tsv"
}
GATEWAY_URL=${GATEWAY_URL:-http://localhost:$(port_of gateway)}
RESULTS_DIR=${RESULTS_DIR:-$SIEGE_DIR/results}
DEV=${DEV:-$PROJECT_ROOT/dev}
: "${CHAOS_BIN:?run through ./dev chaos}" "${FD_STATE:?}" "${KAFKA_BROKERS:?}" "${PG_SERVER_URL:?}"
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
# The local Kafka's size (./dev's KAFKA_NODES): R12 and R13 need three.
KAFKA_NODES=${KAFKA_NODES:-1}
SERVICES=(payment order store delivery notification mypage gateway)
FAILED=()

say() { printf '\033[1;35m==>\033[0m %s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$(port_of "$1")/health/ready"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# Stack commands, their chatter kept out of the report.
# The servers ./dev runs itself are named in this environment (CHAOS_DEV_UNSET): hidden from
# its calls, or `./dev infra` would take them for someone else's and not start them again.
dev() {
  local hide=() v
  for v in ${CHAOS_DEV_UNSET:-}; do hide+=(-u "$v"); done
  env "${hide[@]}" "$DEV" "$@" >>"$OUT.dev.log" 2>&1
}

# fault start|end WHAT: the faults' timeline the checker measures recovery against.
fault() { echo "$(now_ms) $1 ${*:2}" >>"$FAULTS"; say "fault $1: ${*:2}"; }

kill9() { # kill9 SERVICE: as if the machine lost the process
  local pidf=$FD_STATE/run/$1.pid pid
  [[ -f $pidf ]] || return 0
  pid=$(cat "$pidf")
  kill -KILL "$pid" 2>/dev/null || true
  # Gone, or a zombie nobody reaps yet (which `kill -0` still finds): either way not running,
  # so the pid file goes and `./dev start` starts a new process.
  for _ in $(seq 1 40); do
    [[ ! -e /proc/$pid || $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
    sleep 0.05
  done
  rm -f "$pidf"
}

# Every service and server up and ready, whatever a scenario did.
ensure_up() {
  kafka_up && port_open "$(port_of mongo mongodb)" && pg_up || dev infra
  local s
  for s in "${SERVICES[@]}"; do
    ready "$s" || dev start "$s" || say "could not start $s"
  done
}
pg_up() { port_open "${PG_SERVER_URL##*:}"; }
kafka_up() {
  local n
  for ((n = 1; n <= KAFKA_NODES; n++)); do port_open "$(port_of "$(kafka_node "$n")" kafka)" || return 1; done
}

admin_token() {
  curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    --data '{"userId":"chaos-ops","role":"admin"}' "$GATEWAY_URL/auth/dev-token" | jq -r .accessToken
}
payment_faults() {
  curl -fsS --max-time 10 -o /dev/null -X PUT -H "Authorization: Bearer $(admin_token)" \
    -H 'Content-Type: application/json' --data "$1" "$GATEWAY_URL/admin/payment/faults"
}
no_payment_faults() { payment_faults '{"delay":{"minMs":0,"maxMs":0},"failureRate":0}'; }

# duplicates_snapshot: per service, its process and the redelivered events its inboxes
# recognised (events_consumed_total{outcome="duplicate"}, counted since the process started).
duplicates_snapshot() {
  local s n
  for s in payment order store delivery notification mypage; do
    n=$(curl -fs --max-time 5 "http://127.0.0.1:$(port_of "$s")/metrics" 2>/dev/null \
      | awk '/^events_consumed_total\{/ && /outcome="duplicate"/ { s += $NF } END { printf "%d", s }')
    echo "$s $(cat "$FD_STATE/run/$s.pid" 2>/dev/null || echo -) ${n:-0}"
  done
}

# duplicates_since SNAPSHOT: the copies recognised since the snapshot (a process started since
# counts from zero).
duplicates_since() {
  local total=0 s pid n before_pid before_n
  while read -r s pid n; do
    read -r before_pid before_n < <(awk -v s="$s" '$1 == s { print $2, $3 }' <<<"$1")
    if [[ $pid == "$before_pid" ]]; then total=$((total + n - before_n)); else total=$((total + n)); fi
  done < <(duplicates_snapshot)
  echo "$total"
}

# ------------------------------------------------------------------ the faults, one per scenario
# Each runs while the driver places orders; LOAD_S is the load's length in seconds.

fault_r1() { # kill -9 a consumer (delivery, then payment), twice
  local gap=$((LOAD_S / 5)) svc
  for svc in delivery payment delivery payment; do
    sleep "$gap"
    fault start "kill -9 $svc"
    kill9 "$svc"
    sleep 1
    dev start "$svc"
    fault end "$svc ready"
  done
}

fault_r2() { # SIGTERM each service in turn, then start it again
  local gap=$((LOAD_S / 8)) svc
  ((gap > 0)) || gap=1
  for svc in "${SERVICES[@]}"; do
    sleep "$gap"
    fault start "SIGTERM $svc"
    dev stop "$svc"
    dev start "$svc"
    fault end "$svc ready"
  done
}

fault_r3() { # kill -9 the broker, start it again after a while
  sleep $((LOAD_S / 5))
  fault start "kill -9 kafka for ${KAFKA_DOWN_S}s"
  kill9 kafka
  sleep "$KAFKA_DOWN_S"
  dev infra
  fault end "kafka listening"
}

# The local Kafka node with this id (ports.tsv and ./dev name node 1 `kafka`).
kafka_node() { if (($1 == 1)); then echo kafka; else echo "kafka-$1"; fi; }

fault_r12() { # kill -9 the broker leading most of the order path's partitions, start it again after a while
  sleep $((LOAD_S / 5))
  local leader partitions node
  read -r leader partitions < <("$CHAOS_BIN" leader --brokers "$KAFKA_BROKERS")
  node=$(kafka_node "$leader")
  fault start "kill -9 $node (leader of $partitions order-path partitions) for ${BROKER_DOWN_S}s"
  kill9 "$node"
  sleep "$BROKER_DOWN_S"
  dev infra
  fault end "$node listening"
}

fault_r13() { # rolling restart of the three brokers, each back in sync before the next
  local gap=$((LOAD_S / 4)) n node pid deadline
  for n in 1 2 3; do
    sleep "$gap"
    node=$(kafka_node "$n")
    fault start "rolling restart: $node"
    # A controlled shutdown (SIGTERM): the broker hands its leaderships over before it stops.
    pid=$(cat "$FD_STATE/run/$node.pid")
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    rm -f "$FD_STATE/run/$node.pid"
    dev infra
    deadline=$((SECONDS + 120))
    until [[ $("$CHAOS_BIN" under-replicated --brokers "$KAFKA_BROKERS" 2>/dev/null) == 0 ]]; do
      ((SECONDS < deadline)) || { say "$node not back in sync within 120 s"; break; }
      sleep 1
    done
    fault end "$node back, every partition in sync"
  done
}

fault_r4() { # the order service's relay dies between publishing a batch and marking it
  sleep $((LOAD_S / 4))
  local log=$FD_STATE/logs/order.log offset
  offset=$(($(stat -c %s "$log") + 1))
  fault start "order relay frozen after publish (OUTBOX_FAULT_FREEZE_AFTER_PUBLISH), then kill -9"
  kill9 order
  OUTBOX_FAULT_FREEZE_AFTER_PUBLISH=true dev start order
  local deadline=$((SECONDS + 30))
  until tail -c +"$offset" "$log" | grep -q 'fault point: outbox relay frozen'; do
    ((SECONDS < deadline)) || { say "the fault point was not reached"; break; }
    sleep 0.2
  done
  sleep 2 # orders keep being taken, their events held behind the frozen batch
  kill9 order
  sleep 1
  dev start order
  fault end "order ready"
}

fault_r5() { # consumer groups moved back to the beginning: everything is redelivered
  sleep $((LOAD_S / 4))
  local svc group since=() to="the earliest offset"
  # quick: two minutes back (the whole history of a long-lived broker takes long to re-read)
  if [[ $RESET_FROM == recent ]]; then
    since=(--since-ms $(($(now_ms) - 120000))) to="two minutes back"
  fi
  for svc in delivery notification; do
    fault start "reset $svc's group to $to"
    dev stop "$svc"
    case $svc in delivery) group=delivery.deliveries ;; notification) group=notification.notifier ;; esac
    "$CHAOS_BIN" reset-group --brokers "$KAFKA_BROKERS" --group "$group" "${since[@]}" 2>>"$OUT.dev.log"
    dev start "$svc"
    fault end "$svc ready"
  done
}

fault_r6() { # poison messages on every topic
  sleep $((LOAD_S / 4))
  fault start "poison on every topic"
  POISON_SENT=$("$CHAOS_BIN" poison --brokers "$KAFKA_BROKERS" --per-kind "$POISON_PER_KIND")
  echo "$POISON_SENT" >"$OUT.r6.poison"
  fault end "$POISON_SENT poison messages sent"
}

fault_r7() { # two more delivery processes (same port, same groups), then back to one
  sleep $((LOAD_S / 5))
  fault start "delivery scaled 1 -> 3"
  local extra=() n
  for n in 2 3; do
    (set -a
      while IFS= read -r kv; do export "${kv?}"; done < <("$DEV" env delivery | grep -v '^KAFKA_GROUP_INSTANCE_ID=')
      exec "$CARGO_TARGET_DIR/release/delivery") >>"$FD_STATE/logs/delivery-$n.log" 2>&1 &
    extra+=($!)
  done
  sleep $((LOAD_S / 2))
  fault start "delivery scaled 3 -> 1"
  kill -TERM "${extra[@]}" 2>/dev/null || true
  wait "${extra[@]}" 2>/dev/null || true
  fault end "delivery back to one process"
}

fault_r8() { # payment slow, then failing, then stopped
  local phase=$((LOAD_S / 5))
  sleep "$phase"
  fault start "payment 400-620 ms"
  payment_faults '{"delay":{"minMs":400,"maxMs":620},"failureRate":0}'
  sleep "$phase"
  fault start "payment answers 503"
  payment_faults '{"delay":{"minMs":0,"maxMs":0},"failureRate":1}'
  sleep "$phase"
  fault start "payment stopped"
  dev stop payment
  sleep "$phase"
  dev start payment
  no_payment_faults
  fault end "payment healthy"
}

fault_r9() { # PostgreSQL stopped as by a crash (immediate), then started
  sleep $((LOAD_S / 4))
  fault start "PostgreSQL stopped (immediate) for ${PG_DOWN_S}s"
  dev kill-infra postgres
  sleep "$PG_DOWN_S"
  dev infra
  fault end "PostgreSQL accepting connections"
}

fault_r10() { # FerretDB stopped
  sleep $((LOAD_S / 5))
  fault start "FerretDB stopped for ${FERRET_DOWN_S}s"
  dev kill-infra ferretdb
  sleep "$FERRET_DOWN_S"
  dev infra
  fault end "FerretDB listening"
}

fault_r11() { # ./dev restart of every service in turn (a new process beside the old one)
  local gap=$((LOAD_S / 9)) svc
  ((gap > 0)) || gap=1
  for svc in "${SERVICES[@]}"; do
    sleep "$gap"
    fault start "rolling restart: $svc"
    dev restart "$svc"
    fault end "$svc restarted"
  done
}

# ------------------------------------------------------------------ running a scenario

# scenario NAME ORDERS RATE [CHECK ARGS...]: load, fault_NAME beside it, settle, check.
scenario() {
  local name=$1 orders=$2 rate=$3; shift 3
  OUT=$RESULTS_DIR/$RUN_ID-chaos-$name
  FAULTS=$OUT.faults
  LOAD_S=$(((orders + rate - 1) / rate))
  : >"$FAULTS"
  say "$name: $orders orders at $rate/s (${LOAD_S}s) — $(sed -n "s/^fault_$name() { # //p" "${BASH_SOURCE[0]}")"
  ensure_up
  local before_dups started=$SECONDS
  before_dups=$(duplicates_snapshot)
  "$CHAOS_BIN" drive --scenario "$name" --gateway "$GATEWAY_URL" --ledger "$OUT.ledger.jsonl" \
    --orders "$orders" --rate "$rate" --brokers "$KAFKA_BROKERS" --step-timeout-s "$STEP_TIMEOUT_S" \
    2> >(tee "$OUT.driver.log" >&2) &
  local driver=$!
  "fault_$name" || say "the fault of $name failed"
  wait "$driver" || { say "$name: the driver failed"; FAILED+=("$name (driver)"); ensure_up; return; }
  ensure_up
  [[ $name == r8 ]] && no_payment_faults
  local extra=()
  [[ $name == r6 ]] && extra=(--poison-sent "$(cat "$OUT.r6.poison" 2>/dev/null || echo 0)")
  local ok=1
  "$CHAOS_BIN" check --scenario "$name" --ledger "$OUT.ledger.jsonl" --database-url "$PG_SERVER_URL" \
    --gateway "$GATEWAY_URL" --brokers "$KAFKA_BROKERS" --faults "$FAULTS" \
    --quiet-timeout-s "$QUIET_S" --out "$OUT.json" "${extra[@]}" "$@" | tee "$OUT.txt" || ok=0
  local failed; failed=$(jq .requests.failed "$OUT.json" 2>/dev/null || echo "?")
  case $name in
    r2 | r4 | r5 | r7)
      echo "  redelivered, dropped as duplicates  $(duplicates_since "$before_dups") (events the inboxes recognised during the scenario)" | tee -a "$OUT.txt" ;;
    r6)
      say "consumer lag after the poison (loadgen lag)"
      if [[ -n ${LOADGEN:-} ]] && "$LOADGEN" lag --brokers "$KAFKA_BROKERS" --out "$OUT.lag.json" --drain-timeout-s 60 >/dev/null 2>&1; then
        echo "  consumer lag drained after          $(jq -r '.drain_s // "not within 60 s"' "$OUT.lag.json") s" | tee -a "$OUT.txt"
        [[ $(jq -r '.drain_s' "$OUT.lag.json") != null ]] || ok=0
      fi ;;
    r12 | r13)
      # Three brokers beside everything else on a small machine: a burst of backlog after the
      # failover may be refused as overload (503 `overloaded` + Retry-After, which the driver
      # retries). Counted and shown; any other failure fails the scenario.
      local refused
      refused=$(jq '[.requests.by_status | to_entries[] | select(.key | endswith(" 503 overloaded")) | .value] | add // 0' "$OUT.json" 2>/dev/null || echo "?")
      echo "  refused as overload (503, retried)   $refused of $(jq .requests.sent "$OUT.json" 2>/dev/null || echo "?") requests" | tee -a "$OUT.txt"
      if [[ $failed != 0 && $failed != "$refused" ]]; then
        echo "  $((failed - refused)) requests failed otherwise: this scenario allows none" | tee -a "$OUT.txt"
        ok=0
      fi ;;
    r10 | r11)
      if [[ $failed != 0 ]]; then
        echo "  $failed requests failed: this scenario allows none" | tee -a "$OUT.txt"
        ok=0
      fi ;;
  esac
  echo "  scenario time                       $((SECONDS - started)) s" | tee -a "$OUT.txt"
  ((ok)) || FAILED+=("$name")
  summary_row "$name" "$orders"
}

summary_row() {
  jq -r --arg name "$1" --arg t "$((SECONDS))" '
    [$name, (.tally.acknowledged|tostring), (.tally.lost|tostring),
     ((.tally.duplicates | to_entries | map(.value) | add // 0)|tostring),
     (.tally.view_differences|tostring), (.tally.differing|tostring),
     (.dead_letters|tostring), (.requests.availability_pct*1000|round/1000|tostring),
     (if .errors_stop_s == null then "-" else (.errors_stop_s|tostring) + " s"
        + (if (.faults_stop_s // .errors_stop_s) < .errors_stop_s
           then " (refusals aside: " + (.faults_stop_s|tostring) + " s)" else "" end) end),
     (if .settled_s == null then "not settled" else (.settled_s|tostring) + " s" end)]
    | "| " + join(" | ") + " |"' "$OUT.json" >>"$SUMMARY" 2>/dev/null || echo "| $1 | no report | | | | | | | | |" >>"$SUMMARY"
}

# Sizes: quick (CI: about 8 minutes for all) and full.
sizes() {
  if [[ $1 == full ]]; then
    RATE=30 BIG=10000 ORDERS=2000 QUIET_S=300 STEP_TIMEOUT_S=180
    KAFKA_DOWN_S=30 BROKER_DOWN_S=60 PG_DOWN_S=10 FERRET_DOWN_S=30 POISON_PER_KIND=5 RESET_FROM=earliest
  else
    RATE=15 BIG=240 ORDERS=180 QUIET_S=90 STEP_TIMEOUT_S=90
    KAFKA_DOWN_S=10 BROKER_DOWN_S=15 PG_DOWN_S=3 FERRET_DOWN_S=10 POISON_PER_KIND=1 RESET_FROM=recent
  fi
}

run_one() {
  case $1 in
    r1) scenario r1 "$BIG" "$RATE" ;;
    r3) scenario r3 $((ORDERS + RATE * KAFKA_DOWN_S)) "$RATE" ;;
    r10) scenario r10 $((ORDERS + RATE * FERRET_DOWN_S)) "$RATE" ;;
    r12 | r13)
      ((KAFKA_NODES == 3)) || { say "$1 needs a cluster of three brokers: KAFKA_NODES=3 ./dev up, then KAFKA_NODES=3 ./dev chaos $1"; FAILED+=("$1 (one broker)"); return; }
      if [[ $1 == r12 ]]; then scenario r12 $((ORDERS + RATE * BROKER_DOWN_S)) "$RATE"; else scenario r13 "$ORDERS" "$RATE"; fi ;;
    r2 | r4 | r5 | r6 | r7 | r8 | r9 | r11) scenario "$1" "$ORDERS" "$RATE" ;;
    *) echo "unknown scenario: $1 (r1 … r13, all, quick, brokers)" >&2; exit 2 ;;
  esac
}

main() {
  local what=${1:-quick} list
  command -v jq >/dev/null || { echo "jq is needed (./dev provision installs it)" >&2; exit 2; }
  mkdir -p "$RESULTS_DIR"
  SUMMARY=$RESULTS_DIR/$RUN_ID-chaos.md
  case $what in
    all) sizes full; list=(r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11) ;;
    quick) sizes quick; list=(r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 r11) ;;
    # The cluster's own scenarios (KAFKA_NODES=3), shortened unless CHAOS_SIZE=full.
    brokers) sizes "${CHAOS_SIZE:-quick}"; list=(r12 r13) ;;
    r[0-9] | r1[0-3]) sizes "${CHAOS_SIZE:-full}"; list=("$what") ;;
    *) echo "usage: ./dev chaos [r1 … r13 | all | quick | brokers]" >&2; exit 2 ;;
  esac
  {
    echo "# ./dev chaos $what"
    echo
    echo "nproc=$(nproc), commit $(git -C "$PROJECT_ROOT" rev-parse --short HEAD), $(date -u +%FT%TZ)"
    echo
    echo "| scenario | orders acknowledged | lost | duplicate effects | view differences | effects not as expected | dead letters | availability % | errors stop after the fault | settled after the load |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
  } >"$SUMMARY"
  local started=$SECONDS s
  for s in "${list[@]}"; do run_one "$s"; done
  ensure_up
  echo >>"$SUMMARY"
  echo "total: $((SECONDS - started)) s" >>"$SUMMARY"
  cat "$SUMMARY"
  if ((${#FAILED[@]})); then
    say "FAILED: ${FAILED[*]} (details: $RESULTS_DIR/$RUN_ID-chaos-*.txt)"
    exit 1
  fi
  say "every scenario kept every promise ($((SECONDS - started)) s)"
}

main "$@"
