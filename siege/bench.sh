#!/usr/bin/env bash
# The benchmark (`./dev bench`) against a running stack. Prints one table and writes
# siege/results/<run>-bench.md (the tables) and <run>-bench.svg (throughput and latency over
# time); the raw output of every scenario stays beside them.
#
#   ./dev bench             20 s per load scenario (about four minutes in all)
#   ./dev bench --full      60 s per load scenario (or BENCH_FULL=1)
#   ./dev bench --smoke     5 s, one low open-loop rate, then a check that every figure came
#                           out (exits 1 if one did not): the CI-sized run
#
# Scenarios, each followed by the consumer lag it left and the time to drain it:
#   steady            closed loop: siege -c BENCH_CONCURRENCY places orders as fast as answered
#   circuit-breaker   the same with payment delayed 400-620 ms (circuit-breaker.sh)
#   open-<rate>       open loop: loadgen places orders at a fixed arrival rate, latency counted
#                     from each request's due time (no coordinated omission), for each rate
# Beside every scenario a sample of orders is followed to mypage (propagation). Before them:
# RSS of every process idle, and exec→ready of each service (a second instance started on a
# spare port beside the running one). During them: RSS sampled every second.
#
#   BENCH_DURATION           seconds per load scenario (20; 60 with --full; siege's 20S also works)
#   BENCH_RATES              open-loop arrival rates in orders/s, space- or comma-separated (10 40)
#   BENCH_CONCURRENCY        siege's clients (CONCURRENCY, else 50)
#   BENCH_CUSTOMERS          customers the open-loop orders are spread over (10)
#   BENCH_SAMPLES_PER_SECOND open-loop orders a second followed to mypage (2)
#   BENCH_PROBE_EVERY_MS     in the closed-loop scenarios, an order of its own followed to
#                            mypage every so many ms (500)
#   BENCH_DRAIN_TIMEOUT      seconds to wait for the consumer lag to drain (300)
#   BENCH_STARTUP            0 skips the exec→ready measurement
#   KAFKA_BROKERS            for the lag (127.0.0.1 on Kafka's port in ports.tsv)
#   LOADGEN                  the load generator (siege/loadgen; ./dev bench builds it)
#   FD_STATE, CARGO_TARGET_DIR  where ./dev keeps pid files and binaries
#   plus lib.sh's variables (GATEWAY_URL, DIRECT, RESULTS_DIR, ...)
FULL=${BENCH_FULL:-0}
SMOKE=0
for arg in "$@"; do
  case $arg in
    --full) FULL=1 ;;
    --smoke) SMOKE=1 ;;
    *) echo "usage: ./dev bench [--full|--smoke]" >&2; exit 2 ;;
  esac
done
if ((SMOKE)); then
  BENCH_DURATION=${BENCH_DURATION:-5}
  BENCH_RATES=${BENCH_RATES:-5}
  BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-10}
fi
SECONDS_PER_SCENARIO=${BENCH_DURATION:-$([[ $FULL == 1 ]] && echo 60 || echo 20)}
SECONDS_PER_SCENARIO=${SECONDS_PER_SCENARIO%[Ss]}
[[ $SECONDS_PER_SCENARIO =~ ^[0-9]+$ ]] || { echo "BENCH_DURATION is in seconds (20 or 20S)" >&2; exit 2; }
DURATION=${SECONDS_PER_SCENARIO}S
CONCURRENCY=${BENCH_CONCURRENCY:-${CONCURRENCY:-50}}
RATES_SPEC=${BENCH_RATES:-10 40}
read -r -a RATES <<<"${RATES_SPEC//,/ }"
CUSTOMERS=${BENCH_CUSTOMERS:-10}
SAMPLES_PER_SECOND=${BENCH_SAMPLES_PER_SECOND:-2}
PROBE_EVERY_MS=${BENCH_PROBE_EVERY_MS:-500}
DRAIN_TIMEOUT=${BENCH_DRAIN_TIMEOUT:-300}
HERE=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=siege/steady.sh
source "$HERE/steady.sh"
# shellcheck source=siege/circuit-breaker.sh
source "$HERE/circuit-breaker.sh"

FD_STATE=${FD_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/fooddelivery}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fooddelivery/target}
KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:$(port_of kafka kafka)}
LOADGEN=${LOADGEN:-$CARGO_TARGET_DIR/release/loadgen}
[[ -x $LOADGEN ]] || die "no load generator at $LOADGEN (./dev bench builds it)"
PREFIX=$RESULTS_DIR/$RUN_ID-bench
SCENARIOS=()

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
micros() { echo "${EPOCHREALTIME/./}"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# exec_to_ready NAME: seconds from exec'ing a second instance of NAME, with ./dev's environment
# for it but on spare ports, until its /health/ready answers 200; the instance is then stopped.
exec_to_ready() {
  local name=$1 bin=$CARGO_TARGET_DIR/release/$1 port=18100 grpc_port env_lines pid started log
  [[ -x $bin ]] || return 1
  while port_open "$port"; do port=$((port + 1)); done
  grpc_port=$((port + 1)) # the order service's second server; the others ignore it
  while port_open "$grpc_port"; do grpc_port=$((grpc_port + 1)); done
  mapfile -t env_lines < <(dev env "$name")
  log=$RESULTS_DIR/.$RUN_ID-$name-startup.log
  started=$(micros)
  # A member of its own in the consumer groups: with the running instance's static name it
  # would fence that instance out of its groups.
  env "${env_lines[@]}" PORT="$port" GRPC_PORT="$grpc_port" HTTP_REUSE_PORT=false KAFKA_GROUP_INSTANCE_ID= \
    "$bin" >"$log" 2>&1 &
  pid=$!
  until curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/health/ready"; do
    if ! kill -0 "$pid" 2>/dev/null || (($(micros) - started > 60000000)); then
      kill -TERM "$pid" 2>/dev/null
      say "a second $name did not become ready (log: ${log#"$PROJECT_ROOT"/})"
      return 1
    fi
    sleep 0.02
  done
  local ready=$(($(micros) - started))
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
  printf '%d.%02d\n' $((ready / 1000000)) $((ready % 1000000 / 10000))
}

# services: one line per process with a pid file: name, exec→ready, idle RSS (KiB).
services() {
  local pidf name pid idle ready
  for pidf in "$FD_STATE"/run/*.pid; do
    [[ -f $pidf ]] || continue
    name=$(basename "$pidf" .pid)
    pid=$(cat "$pidf")
    idle=$(rss_kb "$pid")
    [[ -n $idle ]] || continue
    ready=-
    if [[ ${BENCH_STARTUP:-1} != 0 && -x $CARGO_TARGET_DIR/release/$name ]]; then
      say "exec→ready: a second $name beside the running one"
      ready=$(exec_to_ready "$name") || ready=-
    fi
    printf '%s\t%s\t%s\n' "$name" "$ready" "$idle"
  done
}

# Every second, each process's RSS (Unix ms, name, KiB), until this script ends.
sample_rss() {
  local parent=$$ pidf kb
  while kill -0 "$parent" 2>/dev/null; do
    for pidf in "$FD_STATE"/run/*.pid; do
      kb=$(rss_kb "$(cat "$pidf" 2>/dev/null)")
      [[ -n $kb ]] && printf '%s %s %s\n' "$(now_ms)" "$(basename "$pidf" .pid)" "$kb"
    done
    sleep 1
  done
}

# The consumer lag from now until drained, in the background (LAG_PID), into LAG_OUT.
start_lag() {
  "$LOADGEN" lag --brokers "$KAFKA_BROKERS" --drain-timeout-s "$DRAIN_TIMEOUT" --out "$LAG_OUT" &
  LAG_PID=$!
}

# closed_loop NAME FUNCTION: a siege scenario with a propagation probe beside it, then the lag.
closed_loop() {
  local name=$1 scenario=$2 out=$RESULTS_DIR/$RUN_ID-$1 probe
  "$LOADGEN" probe --gateway "$GATEWAY_URL" --store "$STORE_ID" --menu-item "$MENU_ITEM_ID" \
    --run "$RUN_ID-$name" --duration-s "$SECONDS_PER_SCENARIO" --every-ms "$PROBE_EVERY_MS" \
    --out "$out.probe.json" &
  probe=$!
  LAG_OUT=$out.lag.json
  ON_SIEGE_END=start_lag "$scenario"
  say "consumer lag after $name, until drained"
  wait "$LAG_PID" || say "could not read the consumer lag"
  wait "$probe" || say "the propagation probe failed"
  python3 "$SIEGE_DIR/report.py" siege "$RAW" "$SECONDS_PER_SCENARIO" --json "$out.json" \
    --probe "$out.probe.json" --lag "$out.lag.json" \
    --started-ms "$SIEGE_STARTED_MS" --ended-ms "$SIEGE_ENDED_MS" >/dev/null
  SCENARIOS+=("$name=$out.json")
}

open_loop() {
  local rate=$1 name=open-$1
  say "open loop: $rate orders/s for ${SECONDS_PER_SCENARIO}s over $CUSTOMERS customers, then the lag until drained"
  "$LOADGEN" open --gateway "$GATEWAY_URL" --store "$STORE_ID" --menu-item "$MENU_ITEM_ID" \
    --run "$RUN_ID-$name" --rate "$rate" --duration-s "$SECONDS_PER_SCENARIO" \
    --customers "$CUSTOMERS" --samples-per-second "$SAMPLES_PER_SECOND" \
    --brokers "$KAFKA_BROKERS" --drain-timeout-s "$DRAIN_TIMEOUT" \
    --out "$RESULTS_DIR/$RUN_ID-$name.json" || die "the open-loop run at $rate/s failed"
  SCENARIOS+=("$name=$RESULTS_DIR/$RUN_ID-$name.json")
}

setup
ENVIRONMENT=$(environment)
say "RSS idle$([[ ${BENCH_STARTUP:-1} != 0 ]] && echo ", then exec→ready per service")"
services >"$PREFIX.services.tsv"
say "consumer lag before the load, until drained"
"$LOADGEN" lag --brokers "$KAFKA_BROKERS" --drain-timeout-s "$DRAIN_TIMEOUT" \
  --out "$PREFIX.baseline-lag.json" || die "cannot read consumer lag from $KAFKA_BROKERS"
sample_rss >"$PREFIX.rss.tsv" &

closed_loop steady scenario_steady
closed_loop circuit-breaker scenario_circuit_breaker
for rate in "${RATES[@]}"; do open_loop "$rate"; done

python3 "$SIEGE_DIR/report.py" bench "$PREFIX" --env "$ENVIRONMENT" \
  --command "./dev bench $*  # ${SECONDS_PER_SCENARIO} s per scenario; closed loop siege -c$CONCURRENCY$([[ $DIRECT == 1 ]] && echo " direct to the order service"); open loop ${RATES[*]} orders/s over $CUSTOMERS customers" \
  --services "$PREFIX.services.tsv" --rss "$PREFIX.rss.tsv" "${SCENARIOS[@]}"
echo
echo "written: ${PREFIX#"$PROJECT_ROOT"/}.md and .svg"
if ((SMOKE)); then
  python3 "$SIEGE_DIR/report.py" check "$PREFIX" --services "$PREFIX.services.tsv" "${SCENARIOS[@]}"
fi
