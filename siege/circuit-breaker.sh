#!/usr/bin/env bash
# (b) Circuit breaker: payment answers in 400-620 ms while the order service gives it 610 ms
# (PAYMENT_TIMEOUT_MS), the seeds' experiment. The few answers later than the timeout fail
# (503 + Retry-After); the breaker, which opens on a failure rate of 50 % or more, should stay
# closed for a payment service that is slow but healthy, and open only if payment really fails.
# Prints throughput, availability and how many requests were shed (counted from siege's
# per-request lines and, when the order service's /metrics is reachable, from its counters),
# then resets the faults.
#
#   FAULT_MIN_MS (400)  FAULT_MAX_MS (620)  FAULT_FAILURE_RATE (0)  plus lib.sh's variables
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FAULT_MIN_MS=${FAULT_MIN_MS:-400}
FAULT_MAX_MS=${FAULT_MAX_MS:-620}
FAULT_FAILURE_RATE=${FAULT_FAILURE_RATE:-0}

scenario_circuit_breaker() {
  local shed_before failed_before shed_after failed_after
  shed_before=$(metric_sum "$ORDER_SERVICE_URL" http_requests_total 'route="/orders"' 'status="503"')
  failed_before=$(metric_sum "$ORDER_SERVICE_URL" payment_calls_failed_total)

  trap reset_payment_faults EXIT
  set_payment_faults "{\"delay\":{\"minMs\":$FAULT_MIN_MS,\"maxMs\":$FAULT_MAX_MS},\"failureRate\":$FAULT_FAILURE_RATE}"
  say "payment delayed $FAULT_MIN_MS-$FAULT_MAX_MS ms (failure rate $FAULT_FAILURE_RATE)"
  run_siege circuit-breaker
  reset_payment_faults
  trap - EXIT

  report "circuit breaker: payment delayed $FAULT_MIN_MS-$FAULT_MAX_MS ms, -c$CONCURRENCY -t$DURATION"
  shed_after=$(metric_sum "$ORDER_SERVICE_URL" http_requests_total 'route="/orders"' 'status="503"')
  failed_after=$(metric_sum "$ORDER_SERVICE_URL" payment_calls_failed_total)
  if [[ -n $shed_before && -n $shed_after ]]; then
    echo "  order service /metrics  503 on /orders: +$((shed_after - shed_before)), failed payment calls: +$((${failed_after:-0} - ${failed_before:-0}))" >&2
  else
    echo "  order service /metrics  not reachable at $ORDER_SERVICE_URL (set ORDER_SERVICE_URL)" >&2
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  setup
  scenario_circuit_breaker
fi
