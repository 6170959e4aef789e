#!/usr/bin/env bash
# `./dev profile`: where the machine's time goes while orders are placed at a fixed rate through
# the gateway of a running stack (`./dev up`). Beside an open-loop run of PROFILE_DURATION
# seconds at PROFILE_RATE orders/s it records
#   - CPU time of every process (services, PostgreSQL backends per database, Kafka, FerretDB,
#     the load generator), from /proc, from the first order until every consumer has caught
#     up, and so CPU milliseconds per order per component, with and without what the process
#     spends idle (measured for IDLE_S before the run);
#   - PostgreSQL's statements (pg_stat_statements: calls per order, mean and total time);
#   - what PostgreSQL's active sessions wait on, sampled every 100 ms (pg_stat_activity);
#   - a CPU profile of the whole machine (perf, with DWARF call stacks) drawn as a flamegraph;
#   - what the stores wrote: per stack database, commits, rows written, time in transactions and
#     size (PostgreSQL's statistics, less what the stack does idle, measured for IDLE_S before);
#     mypage's writes (FerretDB's statements); per Kafka topic, messages and bytes appended.
# Writes siege/results/<time>-profile.md, <time>-profile.svg and <time>-profile.json (the
# measured figures, per order: siege/capacity.py's input, see docs/scaling.md).
#
#   PROFILE_RATE (100)  PROFILE_DURATION (20)  PROFILE_CUSTOMERS (10)  PROFILE_PERF (1; 0 skips perf)
#   PG_ADMIN_URL (postgres://postgres@127.0.0.1:<its port in ports.tsv>/postgres: a superuser, for the statistics)
#   LOADGEN, INFERNO_BIN, plus lib.sh's variables
# shellcheck source=siege/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=${PROFILE_RATE:-100}
DURATION=${PROFILE_DURATION:-20}
CUSTOMERS=${PROFILE_CUSTOMERS:-10}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:$(port_of postgres postgresql)/postgres}
LOADGEN=${LOADGEN:?the load generator (./dev profile builds it)}
PREFIX=$RESULTS_DIR/$RUN_ID-profile
psql_admin() { psql "$PG_ADMIN_URL" -qAtX -v ON_ERROR_STOP=1 "$@"; }

STATEMENTS=1
if ! psql_admin -c "create extension if not exists pg_stat_statements" >/dev/null 2>&1 \
  || ! psql_admin -c "select pg_stat_statements_reset()" >/dev/null 2>&1; then
  say "pg_stat_statements is not loaded (./dev starts PostgreSQL with it; restart it with ./dev down && ./dev up): no statement statistics"
  STATEMENTS=0
fi

setup
# Work left over from earlier load (a projection catching up) would be counted as this run's.
say "waiting until no consumer group lags"
"$LOADGEN" lag --brokers "${KAFKA_BROKERS:-127.0.0.1:$(port_of kafka kafka)}" --drain-timeout-s 300 \
  --out "$PREFIX.baseline-lag.json" >/dev/null || die "the consumer lag did not drain"
# What the stack writes with no load at all (pollers' transactions), subtracted from the run's.
IDLE_S=10
# PostgreSQL's backends publish their statistics when idle within 10 s at most.
STATS_DELAY_S=11
python3 "$SIEGE_DIR/profile.py" stores --pg-url "$PG_ADMIN_URL" >"$PREFIX.stores-idle.json" \
  || die "cannot read the stores' statistics"
python3 "$SIEGE_DIR/profile.py" cpu >"$PREFIX.cpu-idle.tsv"
sleep "$IDLE_S"
((STATEMENTS)) && psql_admin -c "select pg_stat_statements_reset()" >/dev/null
python3 "$SIEGE_DIR/profile.py" stores --pg-url "$PG_ADMIN_URL" >"$PREFIX.stores-before.json"

python3 "$SIEGE_DIR/profile.py" cpu >"$PREFIX.cpu-before.tsv"

# One session samples the active sessions' wait events ten times a second.
printf '%s\n' "select now(), datname, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, 'running')
  from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and datname is not null" \
  '\watch 0.1' | timeout "$((DURATION + 1))" psql "$PG_ADMIN_URL" -qAtX -F $'\t' >"$PREFIX.waits.tsv" 2>/dev/null &
waits=$!

perf_pid=
if [[ ${PROFILE_PERF:-1} != 0 ]] && command -v perf >/dev/null; then
  perf record -q -F 49 -a --call-graph dwarf,8192 -o "$PREFIX.perf.data" -- sleep "$DURATION" \
    >/dev/null 2>"$PREFIX.perf.log" &
  perf_pid=$!
fi

say "open loop: $RATE orders/s for ${DURATION}s over $CUSTOMERS customers"
"$LOADGEN" open --gateway "$GATEWAY_URL" --store "$STORE_ID" --menu-item "$MENU_ITEM_ID" \
  --run "$RUN_ID-profile" --rate "$RATE" --duration-s "$DURATION" --customers "$CUSTOMERS" \
  --samples-per-second 0 --out "$PREFIX.load.json" || die "the open-loop run failed"
# The orders' asynchronous work (events consumed, views projected) is theirs too.
"$LOADGEN" lag --brokers "${KAFKA_BROKERS:-127.0.0.1:$(port_of kafka kafka)}" --drain-timeout-s 300 \
  --out "$PREFIX.lag.json" >/dev/null || say "the consumer lag did not drain within 300 s"
python3 "$SIEGE_DIR/profile.py" cpu >"$PREFIX.cpu-after.tsv"
wait "$waits" 2>/dev/null || true

if ((STATEMENTS)); then
  psql_admin -F $'\t' -c "
    select d.datname, s.calls, round(s.total_exec_time::numeric, 1), round(s.mean_exec_time::numeric, 3),
           s.rows, regexp_replace(left(s.query, 160), '\s+', ' ', 'g')
      from pg_stat_statements s join pg_database d on d.oid = s.dbid
     where d.datname not in ('postgres')
     order by s.total_exec_time desc limit 25" >"$PREFIX.statements.tsv"
fi
# pg_stat_statements counts at once; the databases' and tables' statistics come later.
sleep "$STATS_DELAY_S"
python3 "$SIEGE_DIR/profile.py" stores --pg-url "$PG_ADMIN_URL" >"$PREFIX.stores-after.json"

FLAME=
if [[ -n $perf_pid ]]; then
  wait "$perf_pid" || true
  INFERNO_BIN=${INFERNO_BIN:-}
  if [[ -x $INFERNO_BIN/inferno-flamegraph && -s $PREFIX.perf.data ]]; then
    say "drawing the flamegraph"
    perf script -i "$PREFIX.perf.data" 2>/dev/null | "$INFERNO_BIN/inferno-collapse-perf" --all >"$PREFIX.folded"
    "$INFERNO_BIN/inferno-flamegraph" --title "./dev profile: $RATE orders/s, ${DURATION}s, whole machine" \
      --width 1600 --minwidth 1 <"$PREFIX.folded" >"$PREFIX.svg"
    FLAME=$PREFIX.svg
  fi
fi

python3 "$SIEGE_DIR/profile.py" report "$PREFIX" --rate "$RATE" --duration "$DURATION" \
  --command "./dev profile  # PROFILE_RATE=$RATE PROFILE_DURATION=$DURATION${PROFILE_PERF:+ PROFILE_PERF=$PROFILE_PERF}" \
  ${FLAME:+--flame "$FLAME"} \
  --json "$PREFIX.json" --commit "$(git -C "$PROJECT_ROOT" describe --always --dirty 2>/dev/null || echo unknown)" \
  | tee "$PREFIX.md"
echo
echo "written: ${PREFIX#"$PROJECT_ROOT"/}.md${FLAME:+, .svg} and .json"
echo "to make it the capacity model's input (docs/scaling.md): siege/capacity.py --write ${PREFIX#"$PROJECT_ROOT"/}.json"
