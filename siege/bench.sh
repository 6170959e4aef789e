#!/usr/bin/env bash
# Short benchmark (`./dev bench`): steady load, then the circuit-breaker experiment, against a
# running stack; prints one table. Raw output of both runs stays in siege/results/.
#
#   BENCH_DURATION (20S)  BENCH_CONCURRENCY (CONCURRENCY, else 50)  plus lib.sh's variables
DURATION=${BENCH_DURATION:-20S}
CONCURRENCY=${BENCH_CONCURRENCY:-${CONCURRENCY:-50}}
HERE=$(dirname "${BASH_SOURCE[0]}")
source "$HERE/steady.sh"
source "$HERE/circuit-breaker.sh"

ROWS=()
row() {
  eval "$(summarize "$RAW")"
  ROWS+=("$(printf '%-18s %9s %13s %9ss %11ss %7s' "$1" "$ORDERS_PER_SECOND" "$AVAILABILITY" "$MEAN_RESPONSE" "$LONGEST" "$SHED_503")")
}

setup
scenario_steady
row steady
scenario_circuit_breaker
row circuit-breaker

{
  echo
  echo "siege -c$CONCURRENCY -t$DURATION against $GATEWAY_URL$([[ $DIRECT == 1 ]] && echo " (direct to $ORDER_SERVICE_URL)"), nproc=$(nproc)"
  printf '%-18s %9s %13s %10s %12s %7s\n' scenario orders/s availability% mean longest shed
  printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS_DIR/$RUN_ID-bench.txt"
