#!/usr/bin/env bash
# What tracing costs (`./dev bench tracing`): the steady closed-loop load (siege, as `./dev bench`
# runs it) against the running stack with its services restarted three ways, then once more the
# first way to see how far the machine drifted during the run:
#
#   off       OTEL_SDK_DISABLED=true: no OpenTelemetry at all (logs only), the baseline
#   sampled   spans for everything, a fraction of new traces recorded and exported to the local
#             Jaeger: OTEL_TRACES_SAMPLER_ARG, 0.1 unless set (what `./dev up` runs with)
#   every     OTEL_TRACES_SAMPLER_ARG=1: every trace recorded and exported
#
# Orders/s and latency of each, and their ratio to the baseline (the mean of its two runs).
# Writes siege/results/<run>-tracing.md. Ends with the services restarted as `./dev up` starts
# them.
#
#   BENCH_DURATION      seconds per run (20)
#   BENCH_CONCURRENCY   siege's clients (50)
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECONDS_PER_RUN=${BENCH_DURATION:-20}
SECONDS_PER_RUN=${SECONDS_PER_RUN%[Ss]}
[[ $SECONDS_PER_RUN =~ ^[0-9]+$ ]] || die "BENCH_DURATION is in seconds (20 or 20S)"
DURATION=${SECONDS_PER_RUN}S
CONCURRENCY=${BENCH_CONCURRENCY:-50}
SAMPLED=${OTEL_TRACES_SAMPLER_ARG:-0.1}
SERVICES=(payment order store delivery notification mypage review gateway)

# restart_all VAR=VALUE...: every service restarted (one at a time, each new one ready before
# the old one stops) with these in its environment, and nothing else of this script's choosing.
restart_all() {
  local s
  for s in "${SERVICES[@]}"; do
    env -u OTEL_SDK_DISABLED -u OTEL_TRACES_SAMPLER_ARG "$@" "$PROJECT_ROOT/dev" restart "$s" >/dev/null 2>&1 \
      || die "could not restart $s (./dev logs $s)"
  done
}

# measure MODE VAR=VALUE...: a steady run under MODE; appends "MODE<TAB>figures" to ROWS.
measure() {
  local mode=$1; shift
  say "$mode: restarting the services ($*)"
  restart_all "$@"
  sleep 2
  run_siege "tracing-$mode"
  eval "$(summarize "$RAW")"
  ROWS+=("$mode	$*	$ORDERS_PER_SECOND	$P50_MS	$P99_MS	$AVAILABILITY	$(tracing_mode)")
}

setup
ENVIRONMENT=$(environment)
ROWS=()
measure off OTEL_SDK_DISABLED=true
measure sampled "OTEL_TRACES_SAMPLER_ARG=$SAMPLED"
measure every OTEL_TRACES_SAMPLER_ARG=1
measure off-again OTEL_SDK_DISABLED=true
say "restoring the services as ./dev up starts them"
restart_all

OUT=$RESULTS_DIR/$RUN_ID-tracing.md
printf '%s\n' "${ROWS[@]}" | python3 -c '
import sys
rows = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
base = [float(r[2]) for r in rows if r[0].startswith("off")]
base = sum(base) / len(base)
print("| mode | environment | orders/s | vs off | p50 ms | p99 ms | available % | the services said |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for mode, env, tps, p50, p99, avail, said in rows:
    print(f"| {mode} | `{env}` | {float(tps):.1f} | {float(tps) / base:.2f} | {p50} | {p99} | {avail} | {said} |")
' >"$OUT.table"
{
  echo "# What tracing costs: steady load, siege -c$CONCURRENCY -t$DURATION through the gateway"
  echo
  echo "$ENVIRONMENT"
  echo
  cat "$OUT.table"
  echo
  echo "\`vs off\`: orders/s over the mean of the two runs without OpenTelemetry (\`off\`, \`off-again\`)."
} >"$OUT"
rm -f "$OUT.table"
cat "$OUT"
say "written to ${OUT#"$PROJECT_ROOT"/}"
