#!/usr/bin/env bash
# (a) Steady load: CONCURRENCY customers (100) place orders for DURATION (60S) through the
# gateway, the seeds' `siege -c100 -t60S`. Prints siege's summary and the figures; raw output
# goes to siege/results/.
#
#   siege/steady.sh                      against ./dev up (http://localhost:8088)
#   GATEWAY_URL=http://... DURATION=30S CONCURRENCY=50 siege/steady.sh
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

scenario_steady() {
  run_siege steady
  report "steady load: -c$CONCURRENCY -t$DURATION"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  setup
  scenario_steady
fi
