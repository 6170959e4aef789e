#!/usr/bin/env bash
# (d) Rolling restart under load: while siege places orders, the services are restarted one at
# a time; prints the availability siege saw.
#
#   RESTART_SERVICES  ("payment order store delivery notification mypage")
#   RESTART_GAP       seconds between restarts (8); DURATION defaults to 90S here
#   RESTART_WITH      dev (./dev restart SVC: the successor binds the same port beside the old
#                     process, which then drains, so there is no gap) or kubectl (kubectl
#                     rollout restart + rollout status in
#                     NAMESPACE, default fooddelivery: with two replicas, maxUnavailable 0 and
#                     readiness probes this is the zero-downtime demonstration)
DURATION=${DURATION:-90S}
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RESTART_SERVICES=${RESTART_SERVICES:-"payment order store delivery notification mypage"}
RESTART_GAP=${RESTART_GAP:-8}
RESTART_WITH=${RESTART_WITH:-dev}
NAMESPACE=${NAMESPACE:-fooddelivery}

restart() {
  case $RESTART_WITH in
    dev) dev restart "$1" ;;
    kubectl)
      kubectl -n "$NAMESPACE" rollout restart "deployment/$1"
      kubectl -n "$NAMESPACE" rollout status "deployment/$1" --timeout=180s ;;
    *) die "RESTART_WITH is dev or kubectl" ;;
  esac
}

main() {
  [[ $RESTART_WITH == dev || $RESTART_WITH == kubectl ]] || die "RESTART_WITH is dev or kubectl"
  setup
  run_siege rolling-restart &
  local siege_pid=$! svc
  for svc in $RESTART_SERVICES; do
    sleep "$RESTART_GAP"
    say "restarting $svc"
    restart "$svc" || say "restarting $svc failed"
  done
  wait "$siege_pid"
  RAW=$RESULTS_DIR/$RUN_ID-rolling-restart.raw
  report "rolling restart ($RESTART_WITH) of: $RESTART_SERVICES"
}

main "$@"
