#!/usr/bin/env python3
"""The two halves of `./dev profile` (siege/profile.sh) that are easier in Python.

  profile.py cpu                 one line per process: pid, component, CPU ticks (user + system)
  profile.py report PREFIX ...   the Markdown report from the files profile.sh wrote
"""

import argparse
import collections
import json
import os
import re
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = {"order", "payment", "store", "delivery", "notification", "mypage", "gateway"}


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


def cpu_by_component(prefix):
    """CPU seconds per component between the two snapshots, and the seconds between them."""
    before, started = read_ticks(f"{prefix}.cpu-before.tsv")
    after, ended = read_ticks(f"{prefix}.cpu-after.tsv")
    total = collections.Counter()
    for pid, (name, t) in after.items():
        # A process that started during the run counts from zero.
        total[name] += t - before.get(pid, (name, 0))[1]
    return {name: t / TICKS for name, t in total.items() if t > 0}, ended - started


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
    say("| process | CPU s | % of machine | CPU ms / order |")
    say("|---|---:|---:|---:|")
    for name, secs in sorted(cpu.items(), key=lambda kv: -kv[1]):
        say(f"| {name} | {secs:.2f} | {100 * secs / machine:.1f} | {1000 * secs / orders:.2f} |")
    total = sum(cpu.values())
    say(f"| **all of the above** | {total:.2f} | {100 * total / machine:.1f} | {1000 * total / orders:.2f} |\n")

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
    args = parser.parse_args()
    if args.command_name == "cpu":
        cpu_snapshot()
    else:
        report(args)


if __name__ == "__main__":
    sys.exit(main())
