#!/usr/bin/env python3
"""The two halves of `./dev profile` (siege/profile.sh) that are easier in Python.

  profile.py cpu                 one line per process: pid, component, CPU ticks (user + system)
  profile.py stores --pg-url URL what the stores hold now, as JSON: each stack database's
                                 counters (pg_stat_database, pg_stat_user_tables, FerretDB's
                                 statements) and the size of each of Kafka's log segments
  profile.py report PREFIX ...   the Markdown report from the files profile.sh wrote, and with
                                 --json the run's measured figures (siege/capacity.py's input)
"""

import argparse
import collections
import json
import os
import re
import struct
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = {"order", "payment", "store", "delivery", "notification", "mypage", "review", "gateway"}
# The stack's databases: one per PostgreSQL service, and FerretDB's (mypage's documents). The
# tests' databases on the same server are left out.
DATABASES = ["order", "payment", "store", "delivery", "notification", "review", "ferretdb"]
# Tables whose rows are deleted after a retention (backbone's relay): they reach a steady size
# instead of growing with the orders.
MESSAGING_TABLES = {"outbox", "inbox"}


def component(pid):
    """What a process is, for the report: a service, PostgreSQL (per database), Kafka, ..."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return None
    if not argv:
        return None
    exe = os.path.basename(argv[0])
    if exe in SERVICES:
        return exe
    if argv[0].startswith("postgres:"):
        # "postgres: USER DATABASE HOST(PORT) STATE" for a session, else a server process.
        words = argv[0].split()
        if len(words) >= 4 and "(" in words[3]:
            return f"postgres ({words[2]})"
        return "postgres (server)"
    if comm == "postgres" or exe == "postgres":
        return "postgres (server)"
    if exe == "java" and any(a == "kafka.Kafka" for a in argv):
        return "kafka"
    if exe in ("ferretdb", "loadgen", "siege", "perf", "psql"):
        return exe
    return None


def cpu_snapshot():
    print(f"#wall\t{time.monotonic()}")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        name = component(pid)
        if name is None:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
        print(f"{pid}\t{name}\t{int(fields[11]) + int(fields[12])}")


def read_ticks(path):
    ticks, wall = {}, 0.0
    with open(path) as f:
        for line in f:
            pid, name, *rest = line.rstrip("\n").split("\t")
            if pid == "#wall":
                wall = float(name)
            else:
                ticks[pid] = (name, int(rest[0]))
    return ticks, wall


def cpu_by_component(prefix, first="cpu-before", last="cpu-after"):
    """CPU seconds per component between two snapshots, and the seconds between them."""
    before, started = read_ticks(f"{prefix}.{first}.tsv")
    after, ended = read_ticks(f"{prefix}.{last}.tsv")
    total = collections.Counter()
    for pid, (name, t) in after.items():
        # A process that started during the run counts from zero.
        total[name] += t - before.get(pid, (name, 0))[1]
    return {name: t / TICKS for name, t in total.items() if t > 0}, ended - started


def idle_cpu(prefix):
    """CPU seconds per second of each component with no load (pollers, metrics, heartbeats):
    the stack spends it whatever the rate, so it is not a cost of the orders."""
    try:
        cpu, wall = cpu_by_component(prefix, "cpu-idle", "cpu-before")
    except OSError:
        return {}
    return {name: secs / wall for name, secs in cpu.items()} if wall > 0 else {}


def waits(prefix):
    counts = collections.Counter()
    samples = set()
    try:
        with open(f"{prefix}.waits.tsv") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 4:
                    continue
                samples.add(parts[0])
                counts[(parts[1], f"{parts[2]}: {parts[3]}")] += 1
    except OSError:
        pass
    return counts, len(samples)


def statements(prefix):
    rows = []
    try:
        with open(f"{prefix}.statements.tsv") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 6:
                    rows.append(parts)
    except OSError:
        pass
    return rows


def top_symbols(prefix, limit=25):
    """Self time per (process, function) from the folded stacks: the leaf frames."""
    counts = collections.Counter()
    total = 0
    try:
        with open(f"{prefix}.folded") as f:
            for line in f:
                stack, _, n = line.rstrip("\n").rpartition(" ")
                if not n.isdigit():
                    continue
                frames = stack.split(";")
                process = re.sub(r"[-/]\d+$", "", frames[0])
                counts[(process, frames[-1])] += int(n)
                total += int(n)
    except OSError:
        return [], 0
    return counts.most_common(limit), total


def psql_rows(url, sql):
    """Rows of a query, as lists of strings (psql's unaligned output, tab-separated)."""
    out = subprocess.run(
        ["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def database_url(admin_url, database):
    """The admin URL with another database: the path after the authority, before any query."""
    base, _, query = admin_url.partition("?")
    scheme, _, rest = base.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{database}" + (f"?{query}" if query else "")


def postgres_snapshot(admin_url):
    """Per stack database: its counters, its size and its tables' counters and sizes."""
    names = ",".join(f"'{d}'" for d in DATABASES)
    databases = {}
    for row in psql_rows(admin_url, f"""
        select datname, xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,
               coalesce(active_time, 0), coalesce(idle_in_transaction_time, 0),
               pg_database_size(datname)
          from pg_stat_database where datname in ({names})"""):
        name, *numbers = row
        keys = ["commits", "rollbacks", "inserted", "updated", "deleted",
                "active_ms", "idle_in_transaction_ms", "size_bytes"]
        databases[name] = dict(zip(keys, map(float, numbers)))
    for name, figures in databases.items():
        figures["tables"] = {
            f"{schema}.{table}": {
                "inserted": int(ins), "updated": int(upd), "deleted": int(dele),
                "live_rows": int(live), "size_bytes": int(size),
            }
            for schema, table, ins, upd, dele, live, size in psql_rows(
                database_url(admin_url, name), """
                select schemaname, relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup,
                       pg_total_relation_size(relid)
                  from pg_stat_user_tables""")
        }
    return databases


def ferretdb_statements(admin_url):
    """FerretDB's statements on its database by kind (INSERT, UPDATE, DELETE, ...): calls and
    rows, from pg_stat_statements (empty if it is not loaded)."""
    try:
        rows = psql_rows(admin_url, """
            select upper(split_part(ltrim(s.query), ' ', 1)), sum(s.calls), sum(s.rows)
              from pg_stat_statements s join pg_database d on d.oid = s.dbid
             where d.datname = 'ferretdb' group by 1""")
    except subprocess.CalledProcessError:
        return {}
    return {kind: {"calls": int(calls), "rows": int(rows)} for kind, calls, rows in rows}


def kafka_log_dirs():
    """Each running broker's log directories, from the properties file on its command line."""
    dirs = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if "kafka.Kafka" not in argv or argv.index("kafka.Kafka") + 1 >= len(argv):
            continue
        try:
            with open(argv[argv.index("kafka.Kafka") + 1]) as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key in ("log.dirs", "log.dir"):
                        dirs.extend(d for d in value.split(",") if d)
        except OSError:
            continue
    return dirs


def kafka_partition_dir(name):
    """(topic, partition) for one of the deployment's partition directories, else None: its
    event topics under TOPIC_PREFIX, and the consumer groups' offsets (commits are writes too)."""
    prefix = re.escape(os.environ.get("TOPIC_PREFIX", ""))
    match = re.fullmatch(rf"({prefix}fooddelivery\.[a-z_]+|__consumer_offsets)-(\d+)", name)
    return (match.group(1), int(match.group(2))) if match else None


def kafka_snapshot():
    """The size of every log segment of the deployment's partitions, per broker log directory.
    Kafka appends record batches to a partition's newest segment, so the bytes after a size seen
    earlier are exactly what was written since."""
    snapshot = {}
    for log_dir in kafka_log_dirs():
        partitions = {}
        try:
            entries = os.listdir(log_dir)
        except OSError:
            continue
        for entry in entries:
            if kafka_partition_dir(entry) is None:
                continue
            try:
                partitions[entry] = {
                    segment: os.path.getsize(os.path.join(log_dir, entry, segment))
                    for segment in os.listdir(os.path.join(log_dir, entry))
                    if segment.endswith(".log")
                }
            except OSError:
                continue
        snapshot[log_dir] = partitions
    return snapshot


def stores_snapshot(args):
    json.dump({
        "wall": time.monotonic(),
        "postgres": postgres_snapshot(args.pg_url),
        "ferretdb_statements": ferretdb_statements(args.pg_url),
        "kafka": kafka_snapshot(),
    }, sys.stdout)


# A v2 record batch's header up to its record count (Kafka's DefaultRecordBatch): base offset,
# length (of the rest), leader epoch, magic, CRC, attributes, last offset delta, first and max
# timestamps, producer id and epoch, base sequence, record count.
BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")
CONTROL_BATCH = 0x20  # attributes bit 5: a transaction marker, not an event


def appended_records(path, start, end):
    """Records (events; transaction markers left out) and bytes in a segment between two sizes
    of it (later batches were written after the run)."""
    records = size = 0
    with open(path, "rb") as f:
        f.seek(start)
        while start + size < end:
            header = f.read(BATCH_HEADER.size)
            if len(header) < BATCH_HEADER.size:
                break
            fields = BATCH_HEADER.unpack(header)
            length, magic, attributes, count = fields[1], fields[3], fields[5], fields[12]
            if magic != 2:  # an older format, which these brokers do not write
                break
            if not attributes & CONTROL_BATCH:
                records += count
            size += 12 + length
            f.seek(start + size)
    return records, size


def kafka_written(before, after):
    """Messages and bytes written per topic between two snapshots, and its partitions. With
    several brokers each holds a replica of a partition: the copy with the most is counted once."""
    per_partition = {}
    for log_dir, partitions in after.items():
        for entry, segments in partitions.items():
            seen = before.get(log_dir, {}).get(entry, {})
            records = size = 0
            for segment, length in segments.items():
                start = seen.get(segment, 0)
                if length > start:
                    r, s = appended_records(os.path.join(log_dir, entry, segment), start, length)
                    records, size = records + r, size + s
            key = kafka_partition_dir(entry)
            per_partition[key] = max(per_partition.get(key, (0, 0)), (records, size))
    topics = {}
    for (topic, _), (records, size) in sorted(per_partition.items()):
        t = topics.setdefault(topic, {"messages": 0, "bytes": 0, "partitions": 0})
        t["messages"] += records
        t["bytes"] += size
        t["partitions"] += 1
    return topics


def stores_delta(prefix):
    """What the run wrote to each store, from the snapshots before it and after it. Work the
    stack does with no load at all (pollers' transactions) is measured over the idle window
    before the run and subtracted at the same rate."""
    with open(f"{prefix}.stores-idle.json") as f:
        idle = json.load(f)
    with open(f"{prefix}.stores-before.json") as f:
        before = json.load(f)
    with open(f"{prefix}.stores-after.json") as f:
        after = json.load(f)
    idle_s = max(before["wall"] - idle["wall"], 1e-9)
    run_s = after["wall"] - before["wall"]
    databases = {}
    for name, end in after["postgres"].items():
        start, quiet = before["postgres"].get(name), idle["postgres"].get(name)
        if start is None or quiet is None:
            continue

        def ran(key, end=end, start=start, quiet=quiet):
            background = (start[key] - quiet[key]) / idle_s * run_s
            return max(end[key] - start[key] - background, 0.0)

        tables = {}
        for table, t in end["tables"].items():
            t0 = start["tables"].get(table, {"inserted": 0, "updated": 0, "deleted": 0})
            inserted, updated, deleted = (t[k] - t0[k] for k in ("inserted", "updated", "deleted"))
            messaging = table.split(".")[-1] in MESSAGING_TABLES
            tables[table] = {
                "inserted": inserted, "updated": updated,
                # A messaging table's rows are deleted once each, a retention later; the
                # relay's periodic clean-up falling inside the run would count old rows.
                "deleted": inserted if messaging else deleted,
                "messaging": messaging,
                "live_rows": t["live_rows"], "size_bytes": t["size_bytes"],
            }
        databases[name] = {
            "commits": ran("commits"),
            "rollbacks": ran("rollbacks"),
            "rows_written": sum(t["inserted"] + t["updated"] + t["deleted"] for t in tables.values()),
            "transaction_ms": ran("active_ms") + ran("idle_in_transaction_ms"),
            "size_growth_bytes": end["size_bytes"] - start["size_bytes"],
            "size_bytes": end["size_bytes"],
            "tables": tables,
        }
    statements = {}
    for kind, end in after["ferretdb_statements"].items():
        start = before["ferretdb_statements"].get(kind, {"calls": 0, "rows": 0})
        statements[kind] = {k: end[k] - start[k] for k in ("calls", "rows")}
    return {
        "idle_window_s": idle_s,
        "window_s": run_s,
        "postgres": databases,
        "ferretdb_statements": statements,
        "kafka": kafka_written(before["kafka"], after["kafka"]),
        "kafka_brokers": len(after["kafka"]),
    }


def per_order_figures(stores, orders):
    """The stores' figures for siege/capacity.py: totals of the run and their share per order."""
    def per(value):
        return round(value / orders, 4)

    postgres = {}
    for name, d in sorted(stores["postgres"].items()):
        growing = [t for t in d["tables"].values() if not t["messaging"]]
        messaging = [t for t in d["tables"].values() if t["messaging"]]

        def bytes_per_order(tables):
            # A table's rows inserted per order times what a live row takes now (heap, indexes
            # and TOAST over its live rows): the size it adds per order, updates' garbage aside.
            return sum(t["inserted"] * t["size_bytes"] / t["live_rows"]
                       for t in tables if t["live_rows"] > 0) / orders

        postgres[name] = {
            "commits": round(d["commits"]),
            "commits_per_order": per(d["commits"]),
            "rows_written": d["rows_written"],
            "rows_written_per_order": per(d["rows_written"]),
            "rows_inserted_per_order": per(sum(t["inserted"] for t in growing)),
            "messaging_rows_inserted_per_order": per(sum(t["inserted"] for t in messaging)),
            "outbox_bytes_per_order": round(bytes_per_order(
                [t for name, t in d["tables"].items() if name.split(".")[-1] == "outbox"]), 1),
            "inbox_bytes_per_order": round(bytes_per_order(
                [t for name, t in d["tables"].items() if name.split(".")[-1] == "inbox"]), 1),
            "transaction_ms_per_order": per(d["transaction_ms"]),
            "size_growth_bytes": d["size_growth_bytes"],
            "size_bytes": d["size_bytes"],
            "growing_bytes_per_order": round(bytes_per_order(growing), 1),
        }
    kafka = {
        topic: {
            "messages": t["messages"], "messages_per_order": per(t["messages"]),
            "bytes": t["bytes"], "bytes_per_order": round(t["bytes"] / orders, 1),
            "partitions": t["partitions"],
        }
        for topic, t in sorted(stores["kafka"].items())
    }
    writes = {kind: s["calls"] for kind, s in stores["ferretdb_statements"].items()
              if kind in ("INSERT", "UPDATE", "DELETE")}
    return {
        "postgres": postgres,
        "kafka": kafka,
        "mypage_writes": {
            "statements": writes,
            "per_order": per(sum(writes.values())),
        },
        "kafka_brokers": stores["kafka_brokers"],
        "stores_window_s": round(stores["window_s"], 1),
        "idle_window_s": round(stores["idle_window_s"], 1),
    }


def say_stores(say, stores, orders):
    say("## What the stores wrote\n")
    say(f"Over the {stores['window_s']:.0f} s from just before the first order until the "
        f"statistics had caught up after the last consumer. PostgreSQL (`pg_stat_database`, "
        f"`pg_stat_user_tables`): commits, less the rate of the {stores['idle_window_s']:.0f} s "
        f"idle window before the run (pollers); rows written (inserted + updated + deleted, an "
        f"outbox or inbox row counted as deleted once, at its retention); time in transactions "
        f"(`active_time` + `idle_in_transaction_time`); the database's size.\n")
    say("| database | commits / order | rows written / order | ms in transactions / order | size growth |")
    say("|---|---:|---:|---:|---:|")
    for name, d in sorted(stores["postgres"].items()):
        say(f"| {name} | {d['commits'] / orders:.2f} | {d['rows_written'] / orders:.2f} | "
            f"{d['transaction_ms'] / orders:.2f} | {d['size_growth_bytes'] / 2**20:.1f} MiB |")
    say("")
    writes = stores["ferretdb_statements"]
    if writes:
        counts = ", ".join(f"{kind} {s['calls'] / orders:.2f}" for kind, s in sorted(writes.items())
                           if kind in ("INSERT", "UPDATE", "DELETE"))
        say(f"mypage's writes (FerretDB's statements on its database, per order): {counts}.\n")
    if stores["kafka"]:
        say("Kafka (the record batches appended to each partition's log; transaction markers "
            "are not messages):\n")
        say("| topic | messages / order | bytes / order | partitions |")
        say("|---|---:|---:|---:|")
        for topic, t in sorted(stores["kafka"].items()):
            say(f"| {topic} | {t['messages'] / orders:.2f} | {t['bytes'] / orders:.0f} | {t['partitions']} |")
        say("")


def report(args):
    prefix = args.prefix
    with open(f"{prefix}.load.json") as f:
        load = json.load(f)
    orders = max(load.get("ok", 0), 1)
    cpu, wall = cpu_by_component(prefix)
    machine = os.cpu_count() * wall
    out = []
    say = out.append
    say(f"# ./dev profile: {args.rate:g} orders/s for {args.duration:g} s\n")
    say(f"`{args.command}`\n")
    lat = load.get("latency_ms") or {}
    say(
        f"Orders placed: {load.get('ok', 0)} of {load.get('sent', 0)} "
        f"({load.get('orders_per_second', 0):.1f}/s), status codes {load.get('codes')}, "
        f"latency p50 {lat.get('p50', 0):.0f} ms, p99 {lat.get('p99', 0):.0f} ms "
        f"(from each order's due time). nproc={os.cpu_count()}.\n"
    )
    say("## CPU by process\n")
    say(f"CPU seconds over the {wall:.1f} s from the first order sent until every consumer "
        f"group had caught up (user + system, from /proc), share of the machine's "
        f"{os.cpu_count()} cores in that time, and CPU milliseconds per order placed.\n")
    idle = idle_cpu(prefix)
    # What the orders cost: the run's CPU less what the same process spends idle in as long.
    marginal = {name: max(secs - idle.get(name, 0.0) * wall, 0.0) for name, secs in cpu.items()}
    if idle:
        say("The last column leaves out what each process spent at the same rate in the idle "
            "window before the run (pollers, metrics, heartbeats): what the orders cost.\n")
    say("| process | CPU s | % of machine | CPU ms / order | less idle |")
    say("|---|---:|---:|---:|---:|")
    for name, secs in sorted(cpu.items(), key=lambda kv: -kv[1]):
        say(f"| {name} | {secs:.2f} | {100 * secs / machine:.1f} | {1000 * secs / orders:.2f} | "
            f"{1000 * marginal[name] / orders:.2f} |")
    total = sum(cpu.values())
    say(f"| **all of the above** | {total:.2f} | {100 * total / machine:.1f} | {1000 * total / orders:.2f} | "
        f"{1000 * sum(marginal.values()) / orders:.2f} |\n")

    try:
        stores = stores_delta(prefix)
    except (OSError, ValueError, KeyError):
        stores = None
    if stores:
        say_stores(say, stores, orders)
    if args.json:
        measured = {
            "format": 1,
            "run": {
                "id": os.path.basename(prefix),
                "commit": args.commit,
                "command": args.command,
                "nproc": os.cpu_count(),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                "rate_offered": args.rate,
                "duration_s": args.duration,
                "orders_sent": load.get("sent", 0),
                "orders_placed": load.get("ok", 0),
                "orders_per_second": round(load.get("orders_per_second", 0), 2),
                "status_codes": load.get("codes"),
                "latency_ms": {k: round(v, 1) for k, v in lat.items() if isinstance(v, (int, float))},
                "cpu_window_s": round(wall, 2),
            },
            # Less what each process spends idle (the model's figure), and as measured.
            "cpu_ms_per_order": {name: round(1000 * secs / orders, 3) for name, secs in sorted(marginal.items())},
            "cpu_ms_per_order_with_idle": {name: round(1000 * secs / orders, 3) for name, secs in sorted(cpu.items())},
            "cpu_idle_ms_per_s": {name: round(1000 * rate, 2) for name, rate in sorted(idle.items())},
        }
        if stores:
            measured.update(per_order_figures(stores, orders))
        with open(args.json, "w") as f:
            json.dump(measured, f, indent=2, sort_keys=True)
            f.write("\n")

    rows = statements(prefix)
    if rows:
        say("## PostgreSQL statements (pg_stat_statements, by total time)\n")
        say("| database | calls / order | mean ms | total ms | statement |")
        say("|---|---:|---:|---:|---|")
        for db, calls, total_ms, mean_ms, _rows, query in rows:
            query = query.replace("|", "\\|")
            say(f"| {db} | {int(calls) / orders:.2f} | {mean_ms} | {total_ms} | `{query}` |")
        say("")

    counts, samples = waits(prefix)
    if samples:
        say(f"## What active PostgreSQL sessions wait on ({samples} samples, 100 ms apart)\n")
        say("Average number of sessions in each state at any moment.\n")
        say("| database | wait | sessions |")
        say("|---|---|---:|")
        for (db, wait), n in counts.most_common(20):
            say(f"| {db} | {wait} | {n / samples:.2f} |")
        say("")

    symbols, sampled = top_symbols(prefix)
    if symbols:
        say("## Hottest functions, whole machine (perf, self time)\n")
        say("| process | function | % of samples |")
        say("|---|---|---:|")
        for (process, frame), n in symbols:
            frame = frame.replace("|", "\\|")[:120]
            say(f"| {process} | `{frame}` | {100 * n / sampled:.1f} |")
        say("")
    if args.flame:
        say(f"Flamegraph: `{os.path.basename(args.flame)}` (every process; click to zoom).\n")
    print("\n".join(out))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command_name", required=True)
    sub.add_parser("cpu")
    rep = sub.add_parser("report")
    rep.add_argument("prefix")
    rep.add_argument("--rate", type=float, required=True)
    rep.add_argument("--duration", type=float, required=True)
    rep.add_argument("--command", required=True)
    rep.add_argument("--flame")
    rep.add_argument("--json", help="write the measured figures here")
    rep.add_argument("--commit", help="the code measured (git describe)")
    stores = sub.add_parser("stores")
    stores.add_argument("--pg-url", required=True, help="a superuser's URL, for the statistics")
    args = parser.parse_args()
    if args.command_name == "cpu":
        cpu_snapshot()
    elif args.command_name == "stores":
        stores_snapshot(args)
    else:
        report(args)


if __name__ == "__main__":
    sys.exit(main())
