#!/usr/bin/env bash
# The overload run (`./dev bench overload`) against a running stack: does the system keep
# serving what it can, fast, past its capacity, and refuse the rest cleanly? Prints one table and
# writes siege/results/<run>-overload.md beside the raw JSON.
#
#   ./dev bench overload          20 s per phase
#   ./dev bench overload --full   60 s per phase (or BENCH_FULL=1)
#
# Phases, all open loop through the gateway (orders at a fixed arrival rate, latency counted
# from each request's due time): half the capacity (the unloaded reference), each multiple of
# it, then half again right after the heaviest (recovery). Beside the orders, customers cancel
# some of their earlier orders (a state change on an existing order, which must not be shed).
#
#   BENCH_CAPACITY        orders/s to take as the capacity; unset: measured first by a closed loop
#                         of BENCH_MEASURE_CLIENTS clients (32) for BENCH_MEASURE_SECONDS (10)
#   BENCH_MULTIPLIERS     the multiples of the capacity to offer (1,2,4)
#   BENCH_DURATION        seconds per phase (20; 60 with --full)
#   BENCH_RECOVERY        seconds of the recovery phase (20)
#   BENCH_CANCEL_RATE     cancellations a second beside the orders (2)
#   BENCH_CUSTOMERS       customers the orders are spread over (10)
#   BENCH_TIMEOUT         seconds the load generator waits for an answer (30)
#   BENCH_DRAIN_TIMEOUT   seconds to wait, before the run, for the consumers to catch up (120)
#   KAFKA_BROKERS         for the consumer lag (127.0.0.1 on Kafka's port in ports.tsv)
#   LOADGEN, plus lib.sh's variables (GATEWAY_URL, RESULTS_DIR, ...)
FULL=${BENCH_FULL:-0}
for arg in "$@"; do
  case $arg in
    --full) FULL=1 ;;
    *) echo "usage: ./dev bench overload [--full]" >&2; exit 2 ;;
  esac
done
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=siege/lib.sh
source "$HERE/lib.sh"

PHASE_SECONDS=${BENCH_DURATION:-$([[ $FULL == 1 ]] && echo 60 || echo 20)}
PHASE_SECONDS=${PHASE_SECONDS%[Ss]}
MULTIPLIERS=${BENCH_MULTIPLIERS:-1,2,4}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fooddelivery/target}
LOADGEN=${LOADGEN:-$CARGO_TARGET_DIR/release/loadgen}
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN (./dev bench overload builds it)"
OUT=$RESULTS_DIR/$RUN_ID-overload

setup
# The consumers still working off an earlier run's orders would take the CPU this run measures.
say "consumer lag before the load, until drained"
"$LOADGEN" lag --brokers "${KAFKA_BROKERS:-127.0.0.1:$(port_of kafka kafka)}" \
  --drain-timeout-s "${BENCH_DRAIN_TIMEOUT:-120}" --out "$OUT.baseline-lag.json" \
  || say "could not read the consumer lag; going on"
ENVIRONMENT=$(environment)
capacity_args=(--measure-s "${BENCH_MEASURE_SECONDS:-10}" --measure-clients "${BENCH_MEASURE_CLIENTS:-32}")
[[ -n ${BENCH_CAPACITY:-} ]] && capacity_args=(--capacity "$BENCH_CAPACITY")
say "overload: capacity ${BENCH_CAPACITY:-measured}, ×$MULTIPLIERS, ${PHASE_SECONDS}s a phase"
"$LOADGEN" overload --gateway "$GATEWAY_URL" --store "$STORE_ID" --menu-item "$MENU_ITEM_ID" \
  --run "$RUN_ID" "${capacity_args[@]}" --multipliers "$MULTIPLIERS" \
  --duration-s "$PHASE_SECONDS" --recovery-s "${BENCH_RECOVERY:-20}" \
  --cancel-rate "${BENCH_CANCEL_RATE:-2}" --customers "${BENCH_CUSTOMERS:-10}" \
  --timeout-s "${BENCH_TIMEOUT:-30}" --out "$OUT.json" || die "the overload run failed"
python3 "$SIEGE_DIR/report.py" overload "$OUT.json" --env "$ENVIRONMENT" \
  --command "./dev bench overload $*  # ${PHASE_SECONDS} s a phase, ×$MULTIPLIERS of ${BENCH_CAPACITY:-the measured} capacity" \
  --md "$OUT.md"
echo
echo "written: ${OUT#"$PROJECT_ROOT"/}.md and .json"
