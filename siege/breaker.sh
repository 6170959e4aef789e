#!/usr/bin/env bash
# `./dev bench breaker`: payment broken and healed under a steady stream of orders. Open loop at
# BENCH_RATE orders/s through the gateway: payment healthy for BENCH_HEALTHY s, failing every
# call for BENCH_FAILING s (its fault switch), healthy again for BENCH_HEALED s. Prints and
# writes siege/results/<time>-breaker.md: the calls the order service's breaker needed to open
# (retries included), the refusals while it was open (503 with Retry-After, and their latency
# from each request's due time), and the time from the heal until orders are placed again.
#
#   BENCH_RATE (40)  BENCH_HEALTHY (5)  BENCH_FAILING (12)  BENCH_HEALED (10)  BENCH_CUSTOMERS (10)
#   LOADGEN, plus lib.sh's variables (GATEWAY_URL, ORDER_SERVICE_URL, PAYMENT_SERVICE_URL, ...)
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=siege/lib.sh
source "$HERE/lib.sh"

[[ $# -eq 0 ]] || { echo "usage: ./dev bench breaker (settings in BENCH_* variables)" >&2; exit 2; }
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fooddelivery/target}
LOADGEN=${LOADGEN:-$CARGO_TARGET_DIR/release/loadgen}
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN (./dev bench breaker builds it)"
OUT=$RESULTS_DIR/$RUN_ID-breaker
RATE=${BENCH_RATE:-40}
HEALTHY=${BENCH_HEALTHY:-5}
FAILING=${BENCH_FAILING:-12}
HEALED=${BENCH_HEALED:-10}

setup
ENVIRONMENT=$(environment)
trap reset_payment_faults EXIT
say "breaker: $RATE orders/s; payment healthy ${HEALTHY}s, failing every call ${FAILING}s, healthy ${HEALED}s"
"$LOADGEN" breaker --gateway "$GATEWAY_URL" --store "$STORE_ID" --menu-item "$MENU_ITEM_ID" \
  --payment "$PAYMENT_SERVICE_URL" --order "$ORDER_SERVICE_URL" --run "$RUN_ID" \
  --rate "$RATE" --healthy-s "$HEALTHY" --failing-s "$FAILING" --healed-s "$HEALED" \
  --customers "${BENCH_CUSTOMERS:-10}" --out "$OUT.json" || die "the breaker run failed"
python3 "$SIEGE_DIR/report.py" breaker "$OUT.json" --env "$ENVIRONMENT" \
  --command "./dev bench breaker  # $RATE orders/s; payment healthy ${HEALTHY} s, failing ${FAILING} s, healthy ${HEALED} s" \
  --md "$OUT.md"
echo
echo "written: ${OUT#"$PROJECT_ROOT"/}.md and .json"
