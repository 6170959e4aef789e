#!/usr/bin/env bash
# The consumer-bound paths with more instances (`./dev bench scale`, against a running
# `./dev up`): how fast delivery, notification and mypage work off a backlog with 1, 2 and 3
# processes each (`./dev scale`). That each event is applied once whatever the count, with the
# partitions moving under load, is chaos scenario R7's exact accounting (1 -> 3 -> 1 processes).
#
# For each count: the three services are stopped, orders are placed (order, payment and store go
# on; the three services' events wait on Kafka), then the services are started with that many
# processes each, timed from their start until every group has caught up (`loadgen lag`, read
# once all have joined their groups): orders/s is the orders over that time.
#
#   SCALE_INSTANCES   the counts to measure (1 2 3)
#   SCALE_ORDERS      orders placed while the services are stopped (3000)
#   plus lib.sh's variables (GATEWAY_URL, RESULTS_DIR, ...), DEV, LOADGEN, KAFKA_BROKERS
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=siege/lib.sh
source "$HERE/lib.sh"
: "${DEV:?run through ./dev bench scale}" "${LOADGEN:?}" "${KAFKA_BROKERS:?}"
INSTANCES=${SCALE_INSTANCES:-1 2 3}
ORDERS=${SCALE_ORDERS:-3000}
CONSUMERS=(delivery notification mypage)
OUT=$RESULTS_DIR/$RUN_ID-scale

# ORDERS orders from 8 customers at once (one customer alone would meet the gateway's per-user
# rate limit), each answer's status on a line.
place_orders() {
  local c token body
  body=$(order_body)
  for c in 1 2 3 4 5 6 7 8; do
    token=$(dev_token "siege-scale-$RUN_ID-$c" customer)
    for ((i = c; i <= ORDERS; i += 8)); do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -X POST -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data "$body" "$GATEWAY_URL/orders"
    done &
  done
  wait
}

# The three services to N processes each, side by side.
scale_all() {
  local s pids=()
  for s in "${CONSUMERS[@]}"; do "$DEV" scale "$s" "$1" >>"$OUT.dev.log" 2>&1 & pids+=($!); done
  for s in "${pids[@]}"; do wait "$s" || die "./dev scale to $1 failed (log: $OUT.dev.log)"; done
}

setup
ENVIRONMENT=$(environment)
mkdir -p "$RESULTS_DIR"
{
  echo "# ./dev bench scale"
  echo
  echo "$ENVIRONMENT"
  echo
  echo "Each count: delivery, notification and mypage stopped, $ORDERS orders placed, then the three started with that many processes each (side by side); timed from their start until every group had caught up. The groups' times count from the moment all processes were up."
  echo
  echo "| processes each | orders placed | processes up after | messages left then | delivery.deliveries | notification.notifier | mypage.projection | start to all caught up | orders/s worked off |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$OUT.md"
for n in $INSTANCES; do
  say "$n process(es) each: draining what is left, then stopping them"
  scale_all 1
  "$LOADGEN" lag --brokers "$KAFKA_BROKERS" --drain-timeout-s 120 --out "$OUT.$n.before.json" >/dev/null || true
  scale_all 0
  say "$ORDERS orders while they are stopped"
  placed=$(place_orders | grep -c '^201$' || true)
  say "$placed placed; starting $n process(es) each and timing the backlog"
  # Timed from the start of the processes (their start is part of scaling out) until every
  # group has caught up: the processes' start, then what is left, read once all have joined
  # their groups (a group without members is not read as lagging).
  started=$(date +%s%N)
  scale_all "$n"
  up_s=$(awk -v ns="$(($(date +%s%N) - started))" 'BEGIN { printf "%.1f", ns / 1e9 }')
  "$LOADGEN" lag --brokers "$KAFKA_BROKERS" --drain-timeout-s 300 --out "$OUT.$n.lag.json" >/dev/null \
    || die "could not read the consumer lag"
  jq -r --arg n "$n" --arg placed "$placed" --argjson up "$up_s" '
    def g($p): ((.drained_after_s | to_entries | map(select(.key | endswith($p))) | first) // null) as $e
      | if $e == null or $e.value == null then "-" else ($e.value | tostring) + " s" end;
    [$n, $placed, ($up | tostring) + " s", (.at_end_total | tostring),
     g("delivery.deliveries"), g("notification.notifier"), g("mypage.projection"),
     (if .drain_s == null then "not within the timeout"
      else (($up + .drain_s) * 10 | round / 10 | tostring) + " s" end),
     (if .drain_s == null then "-" else ($placed | tonumber) / ($up + .drain_s) | floor | tostring end)]
    | "| " + join(" | ") + " |"' "$OUT.$n.lag.json" >>"$OUT.md"
done
scale_all 1
cat "$OUT.md"
