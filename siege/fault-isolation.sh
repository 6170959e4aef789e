#!/usr/bin/env bash
# (c) Fault isolation: the store service is stopped during a siege run, orders keep being
# placed (the order service knows the menu from events, payment is synchronous, the store is
# not), the store is started again and must catch up: every order placed while it was down
# appears in GET /store-orders?storeId= for the owner.
#
#   STOP_AFTER (10 s into the run)  DOWN_FOR (20 s)  CATCH_UP_TIMEOUT (120 s)  DURATION (60S)
#   STORE_STOP / STORE_START: the commands that stop and start the store service
#                             (./dev stop store, ./dev start store)
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STOP_AFTER=${STOP_AFTER:-10}
DOWN_FOR=${DOWN_FOR:-20}
CATCH_UP_TIMEOUT=${CATCH_UP_TIMEOUT:-120}
STORE_STOP=${STORE_STOP:-"$PROJECT_ROOT/dev stop store"}
STORE_START=${STORE_START:-"$PROJECT_ROOT/dev start store"}

# placed_orders: ids of the customer's orders at our store that became valid orders.
placed_orders() {
  api GET /orders "$CUSTOMER_TOKEN" | python3 -c '
import json, sys
store = sys.argv[1]
invalid = {"PaymentPending", "PaymentDeclined", "PaymentFailed"}
for o in json.load(sys.stdin):
    if o.get("storeId") == store and o.get("status") not in invalid:
        print(o["id"])' "$STORE_ID" | sort
}

store_orders() {
  api GET "/store-orders?storeId=$STORE_ID" "$OWNER_TOKEN" \
    | python3 -c 'import json,sys; [print(o["orderId"]) for o in json.load(sys.stdin)]' | sort
}

main() {
  setup
  run_siege fault-isolation &
  local siege_pid=$!
  sleep "$STOP_AFTER"
  say "stopping the store service ($STORE_STOP)"
  $STORE_STOP
  sleep "$DOWN_FOR"
  say "starting the store service ($STORE_START)"
  $STORE_START
  wait "$siege_pid"
  RAW=$RESULTS_DIR/$RUN_ID-fault-isolation.raw
  report "fault isolation: store down for ${DOWN_FOR}s during -c$CONCURRENCY -t$DURATION"

  local placed missing deadline=$((SECONDS + CATCH_UP_TIMEOUT))
  placed=$(placed_orders | wc -l)
  say "$placed orders placed; waiting for the store to list all of them"
  while :; do
    missing=$(comm -23 <(placed_orders) <(store_orders) | wc -l)
    ((missing == 0)) && break
    ((SECONDS < deadline)) || break
    sleep 2
  done
  {
    echo "  orders placed          $placed"
    echo "  missing at the store   $missing"
  } | tee -a "$RAW" >&2
  ((missing == 0)) || die "the store did not catch up within ${CATCH_UP_TIMEOUT}s"
  say "the store caught up: every placed order is a store order"
}

main "$@"
