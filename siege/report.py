#!/usr/bin/env python3
"""Figures for the siege/ scripts: one siege run summarized, and ./dev bench's table, result file
and plot. Standard library only.

  report.py siege RAW PLANNED_SECONDS [--json OUT --probe P.json --lag L.json]
      prints the figures of one siege run as KEY='VALUE' lines (lib.sh evals them); with --json
      also writes them as a bench scenario, with a per-second series, the probe's propagation
      and the consumer lag
  report.py bench PREFIX --env LINE --command LINE --services TSV --rss TSV NAME=SCENARIO.json...
      writes PREFIX.md (the tables) and PREFIX.svg (throughput and latency over time) and
      prints the tables
  report.py check PREFIX --services TSV NAME=SCENARIO.json...
      the smoke check of a bench run: each figure is there; exits 1 if one is not
"""
import argparse
import json
import math
import re
import sys
import time
from collections import defaultdict


def percentiles(values):
    """Nearest-rank p50/p90/p99/max, as loadgen computes them; None for no values."""
    if not values:
        return None
    s = sorted(values)

    def rank(p):
        return round(s[min(max(math.ceil(p / 100 * len(s)), 1), len(s)) - 1], 1)

    return {"p50": rank(50), "p90": rank(90), "p99": rank(99), "max": round(s[-1], 1)}


# ------------------------------------------------------------------ one siege run

# A per-request line of siege's verbose output, with the timestamp siegerc asks for:
# "[Mon, 2026-01-05 10:39:13] HTTP/1.1 201     0.05 secs:     312 bytes ==> POST http://..."
REQUEST_LINE = re.compile(
    r"^(?:\[(?:\w+, )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]\s*)?HTTP/\d(?:\.\d)?\s+(\d{3})\s+([\d.]+) secs",
    re.MULTILINE,
)


def siege_summary(raw_path, planned_seconds):
    text = open(raw_path, errors="replace").read()

    def pick(*patterns):
        for p in patterns:
            m = re.search(p, text, re.IGNORECASE | re.MULTILINE)
            if m:
                return float(m.group(1))
        return 0.0

    summary = {
        "transactions": pick(r'"transactions":\s*([\d.]+)', r"^Transactions:\s*([\d.]+)"),
        "siege_availability": pick(r'"availability":\s*([\d.]+)', r"^Availability:\s*([\d.]+)"),
        "elapsed": pick(r'"elapsed_time":\s*([\d.]+)', r"^Elapsed time:\s*([\d.]+)"),
        "mean_response": pick(r'"response_time":\s*([\d.]+)', r"^Response time:\s*([\d.]+)"),
        "rate": pick(r'"transaction_rate":\s*([\d.]+)', r"^Transaction rate:\s*([\d.]+)"),
        "longest": pick(r'"longest_transaction":\s*([\d.]+)', r"^Longest transaction:\s*([\d.]+)"),
        "failed": pick(r'"failed_transactions":\s*([\d.]+)', r"^Failed transactions:\s*([\d.]+)"),
    }
    codes = defaultdict(int)
    times_ms = []
    seconds = defaultdict(lambda: [0, 0, []])  # unix second -> ok, errors, latencies
    for m in REQUEST_LINE.finditer(text):
        stamp, code, secs = m.group(1), m.group(2), float(m.group(3))
        codes[code] += 1
        times_ms.append(secs * 1000)
        # siege now and then stamps a line with the epoch (1970-01-01): such a line still
        # counts, but has no place in the series.
        if stamp and not stamp.startswith("1970"):
            t = int(time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")))
            bucket = seconds[t]
            bucket[0 if code.startswith("2") else 1] += 1
            bucket[2].append(secs * 1000)
    # Mean and longest over every answered request (siege's own mean leaves out the 5xx ones).
    if times_ms:
        summary["mean_response"] = round(sum(times_ms) / len(times_ms) / 1000, 3)
        summary["longest"] = max(times_ms) / 1000
    answered = sum(codes.values())
    ok = sum(n for c, n in codes.items() if c.startswith("2"))
    # siege counts 5xx answers as failed transactions, next to connection errors and timeouts;
    # whatever it counted beyond the answers it printed never got an answer.
    socket_failures = max(0, int(summary["transactions"] + summary["failed"]) - answered)
    attempts = answered + socket_failures
    elapsed = summary["elapsed"] or planned_seconds or 1.0
    out = dict(summary)
    out.update({
        "socket_failures": socket_failures,
        "answered": answered,
        "ok": ok,
        "shed_503": codes.get("503", 0),
        "limited_429": codes.get("429", 0),
        "other_errors": answered - ok - codes.get("503", 0) - codes.get("429", 0),
        "availability": round(100.0 * ok / attempts, 2) if attempts else 0.0,
        "orders_per_second": round(ok / elapsed, 2),
        "codes": " ".join(f"{c}:{n}" for c, n in sorted(codes.items())),
    })
    p = percentiles(times_ms) or {}
    for k in ("p50", "p90", "p99"):
        out[f"{k}_ms"] = p.get(k, "")
    series = []
    for t in sorted(seconds):
        ok_n, err_n, lat = seconds[t]
        q = percentiles(lat)
        series.append({"t": t, "ok": ok_n, "errors": err_n,
                       "p50_ms": q and q["p50"], "p99_ms": q and q["p99"]})
    codes_json = dict(codes)
    if socket_failures:
        codes_json["0"] = socket_failures
    scenario = {
        "mode": "closed-loop",
        "sent": attempts,
        "ok": ok,
        "codes": codes_json,
        "availability": out["availability"],
        "orders_per_second": out["orders_per_second"],
        "latency_ms": p or None,
        "series": series,
    }
    return out, scenario


def cmd_siege(args):
    out, scenario = siege_summary(args.raw, args.planned_seconds)
    for k, v in out.items():
        print(f"{k.upper()}='{v}'")
    if args.json:
        if args.probe:
            probe = load(args.probe)
            scenario["propagation"] = probe and probe.get("propagation")
        if args.lag:
            scenario["lag"] = load(args.lag)
        m = re.search(r"\bconcurrency=(\d+)", open(args.raw, errors="replace").readline())
        scenario["concurrency"] = int(m.group(1)) if m else None
        scenario["started_ms"], scenario["ended_ms"] = args.started_ms, args.ended_ms
        with open(args.json, "w") as f:
            json.dump(scenario, f, indent=2)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------ the bench report

def ms(value):
    if value is None or value == "":
        return "-"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def propagation_cell(prop):
    """p50 / p99 of the orders that reached mypage, and how many did not in time."""
    found = prop.get("ms") or {}
    cell = f"{ms(found.get('p50'))} / {ms(found.get('p99'))}"
    if prop.get("missing"):
        cell += f" ({prop['missing']} of {prop['samples']} not within {prop.get('give_up_s', '?')} s)"
    return cell


def scenario_row(name, s):
    lat = s.get("latency_ms") or {}
    lag = s.get("lag") or {}
    if s["mode"] == "open-loop":
        load_desc = f"open {s['rate']:g}/s"
    else:
        load_desc = f"siege -c{s.get('concurrency', '?')}"
    drain = lag.get("drain_s")
    if lag and drain is None:
        drain_desc = f">{lag.get('timeout_s', 0):.0f}"
    else:
        drain_desc = "-" if drain is None else f"{drain:.1f}"
    return [
        name, load_desc, f"{s['orders_per_second']:.1f}",
        ms(lat.get("p50")), ms(lat.get("p90")), ms(lat.get("p99")), ms(lat.get("max")),
        f"{s['availability']:.2f}", str(s["codes"].get("503", 0)),
        propagation_cell(s.get("propagation") or {}),
        "-" if not lag else str(lag.get("at_end_total", "-")), drain_desc,
    ]


SCENARIO_HEADER = ["scenario", "load", "orders/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                   "avail %", "503s", "mypage p50/p99 ms", "lag at end", "drain s"]
SERVICE_HEADER = ["process", "exec→ready s", "RSS idle MiB", "RSS peak under load MiB"]


def markdown(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def service_rows(services_tsv, rss_tsv, windows):
    peaks = defaultdict(int)
    for line in open(rss_tsv) if rss_tsv else []:
        parts = line.split()
        if len(parts) != 3:
            continue
        at, name, kb = int(parts[0]), parts[1], int(parts[2])
        if any(a <= at <= b for a, b in windows):
            peaks[name] = max(peaks[name], kb)
    def mib(kb):
        return f"{int(kb) / 1024:.0f}" if str(kb).isdigit() and int(kb) > 0 else "-"

    rows = []
    for line in open(services_tsv):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            name, ready, idle = parts
            rows.append([name, ready or "-", mib(idle), mib(peaks.get(name, 0))])
    return rows


def lag_rows(scenarios):
    groups = sorted({g for _, s in scenarios for g in ((s.get("lag") or {}).get("at_end") or {})})
    rows = []
    for g in groups:
        row = [g]
        for _, s in scenarios:
            lag = s.get("lag") or {}
            at_end = (lag.get("at_end") or {}).get(g)
            after = (lag.get("drained_after_s") or {}).get(g, "missing")
            if at_end is None:
                row.append("-")
            else:
                row.append(f"{at_end} / " + ("never" if after is None else
                                              "-" if after == "missing" else f"{after:.1f} s"))
        rows.append(row)
    return rows


def cmd_bench(args):
    scenarios = []
    for spec in args.scenarios:
        name, _, path = spec.partition("=")
        s = load(path)
        if s is None:
            print(f"report.py: no result in {path} (scenario {name})", file=sys.stderr)
            continue
        scenarios.append((name, s))
    windows = [(s.get("started_ms", 0), s.get("ended_ms", 0)) for _, s in scenarios]
    table = markdown(SCENARIO_HEADER, [scenario_row(n, s) for n, s in scenarios])
    services = markdown(SERVICE_HEADER, service_rows(args.services, args.rss, windows))
    lags = markdown(["consumer group"] + [n for n, _ in scenarios], lag_rows(scenarios))
    svg_name = args.prefix.rsplit("/", 1)[-1] + ".svg"
    doc = f"""# ./dev bench {args.prefix.rsplit('/', 1)[-1].removesuffix('-bench')}

{args.env}

```
{args.command}
```

{table}

Latency: closed-loop rows from siege's per-request times (10 ms resolution; a request counts
from when siege sent it, so a stall hides behind the requests it held back); open-loop rows from
when each request was due at the fixed rate (corrected for coordinated omission). mypage:
time from an order's 201 until GET /mypage/orders/{{id}} answers 200 through the gateway, for a
sample of orders (polled from 25 ms apart, backing off to 1 s: late by at most about a fifth).
Lag: messages behind the end of their partitions, summed over the live consumer groups, when
the load ended; drain: seconds until every group was back to 0 (offsets are committed once a
second).

{services}

exec→ready: a second instance of the service started beside the running one on a spare port,
from exec until its /health/ready answered 200. RSS from /proc/PID/status (VmRSS): idle before
any load, peak sampled every second during the load scenarios.

Consumer lag per group when the load ended / time to catch up:

{lags}

![throughput and latency over time]({svg_name})
"""
    with open(args.prefix + ".md", "w") as f:
        f.write(doc)
    with open(args.prefix + ".svg", "w") as f:
        f.write(plot(scenarios))
    print()
    print(args.env)
    print(args.command)
    print()
    print(table)
    print()
    print(services)


def cmd_check(args):
    """The smoke check: every scenario placed orders and has each figure, every service started."""
    checks = []
    for spec in args.scenarios:
        name, _, path = spec.partition("=")
        s = load(path) or {}
        prop = s.get("propagation") or {}
        lag = s.get("lag") or {}
        checks += [
            (f"{name}: orders were placed", s.get("ok", 0) > 0),
            (f"{name}: latency percentiles", bool((s.get("latency_ms") or {}).get("p99"))),
            (f"{name}: per-second series", len(s.get("series") or []) > 0),
            (f"{name}: orders reached mypage", bool((prop.get("ms") or {}).get("p50"))),
            (f"{name}: consumer lag read, groups found", bool(lag.get("at_end"))),
            (f"{name}: consumer lag drained", lag.get("drain_s") is not None),
        ]
    services = [line.split("\t") for line in open(args.services) if line.strip()]
    for name, ready, idle in services:
        checks.append((f"{name}: idle RSS", idle.strip().isdigit()))
        # The servers of the local stack start as they do; only the services' start is measured.
        if name not in ("kafka", "ferretdb", "prometheus", "jaeger"):
            checks.append((f"{name}: exec→ready", ready not in ("", "-")))
    for suffix in (".md", ".svg"):
        checks.append((f"bench{suffix} written", (load_text(args.prefix + suffix) or "").strip() != ""))
    failed = [what for what, ok in checks if not ok]
    for what in failed:
        print(f"FAILED {what}")
    print(f"bench smoke: {len(checks) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


def load_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# ------------------------------------------------------------------ the plot

COLORS = {"ok": "#1f77b4", "errors": "#d62728", "p50": "#2ca02c", "p99": "#ff7f0e"}


def plot(scenarios, width=960, panel=220, left=70, right=20, top=40, gap=50):
    """Two panels over one wall-clock axis: orders/s (and errors/s), and latency p50/p99 per
    second on a log scale; each scenario's span shaded and named."""
    points = [(p, n) for n, s in scenarios for p in s.get("series") or []]
    spans = [(n, s.get("started_ms", 0) / 1000, s.get("ended_ms", 0) / 1000) for n, s in scenarios]
    starts = [a for _, a, b in spans if a] + [p["t"] for p, _ in points]
    ends = [b for _, a, b in spans if b] + [p["t"] + 1 for p, _ in points]
    height = top + 2 * panel + gap + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if not starts:
        out.append('<text x="20" y="40">no per-second data</text></svg>')
        return "\n".join(out)
    t0, t1 = min(starts), max(ends)
    x = lambda t: left + (t - t0) / max(t1 - t0, 1) * (width - left - right)
    top2 = top + panel + gap
    last_label = -1e9
    for name, a, b in spans:
        if a and b:
            for y0 in (top, top2):
                out.append(f'<rect x="{x(a):.1f}" y="{y0}" width="{max(x(b) - x(a), 1):.1f}" '
                           f'height="{panel}" fill="#f2f2f2"/>')
            # A name too close to the previous one goes one line up.
            raised = x(a) - last_label < 7 * len(name) and last_label > -1e9
            last_label = -1e9 if raised else x(a)
            out.append(f'<text x="{x(a) + 3:.1f}" y="{top - (18 if raised else 6)}">{name}</text>')
    # Panel 1: throughput, linear.
    peak = max([p["ok"] + p["errors"] for p, _ in points] + [1])
    step = nice_step(peak)
    ymax = math.ceil(peak / step) * step
    y1 = lambda v: top + panel - v / ymax * panel
    for v in range(0, int(ymax) + 1, int(step) or 1):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y1(v):.1f}" y2="{y1(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y1(v) + 4:.1f}" text-anchor="end">{v}</text>')
    out.append(f'<text x="{left}" y="{top + panel + 14}">requests/s completed: '
               f'<tspan fill="{COLORS["ok"]}">2xx</tspan>, <tspan fill="{COLORS["errors"]}">errors</tspan></text>')
    # Panel 2: latency, log10 from 1 ms.
    lat = [v for p, _ in points for v in (p.get("p50_ms"), p.get("p99_ms")) if v]
    decades = max(1, math.ceil(math.log10(max(lat + [10]))))
    y2 = lambda v: top2 + panel - math.log10(max(v, 1)) / decades * panel
    for d in range(decades + 1):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y2(10 ** d):.1f}" y2="{y2(10 ** d):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y2(10 ** d) + 4:.1f}" text-anchor="end">{10 ** d} ms</text>')
    out.append(f'<text x="{left}" y="{top2 + panel + 14}">latency per second: '
               f'<tspan fill="{COLORS["p50"]}">p50</tspan>, <tspan fill="{COLORS["p99"]}">p99</tspan> '
               f'(log scale; open-loop from each request\'s due time)</text>')
    # One polyline per scenario and measure, so the gaps between scenarios stay gaps.
    for name, s in scenarios:
        series = s.get("series") or []
        for key, color, y in (("ok", COLORS["ok"], y1), ("errors", COLORS["errors"], y1),
                              ("p50_ms", COLORS["p50"], y2), ("p99_ms", COLORS["p99"], y2)):
            pts = [f"{x(p['t'] + 0.5):.1f},{y(p[key]):.1f}" for p in series if p.get(key) is not None]
            if len(pts) > 1:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(pts)}"/>')
    for y0 in (top, top2):
        out.append(f'<rect x="{left}" y="{y0}" width="{width - left - right}" height="{panel}" fill="none" stroke="#888"/>')
    tick = nice_step((t1 - t0) / 2)
    for k in range(0, int(t1 - t0) + 1, int(tick)):
        for y0 in (top, top2):
            out.append(f'<line x1="{x(t0 + k):.1f}" x2="{x(t0 + k):.1f}" y1="{y0 + panel}" '
                       f'y2="{y0 + panel + 4}" stroke="#888"/>')
        out.append(f'<text x="{x(t0 + k):.1f}" y="{top2 + panel + 28}" text-anchor="middle">{k}</text>')
    out.append(f'<text x="{width - right}" y="{height - 4}" text-anchor="end">'
               f'seconds since the first scenario started</text>')
    out.append("</svg>")
    return "\n".join(out)


def nice_step(peak):
    raw = peak / 5
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return max(1, next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw))


OVERLOAD_HEADER = ["phase", "offered/s", "goodput 2xx/s", "goodput % of capacity",
                   "accepted p50 ms", "accepted p99 ms", "refused p99 ms", "answers by status",
                   "cancels refused / sent"]


def overload_row(phase, capacity):
    accepted = phase.get("accepted_ms") or {}
    refused = phase.get("refused_ms") or {}
    codes = ", ".join(f"{n}×{c}" for c, n in sorted(phase["codes"].items()))
    cancels = phase.get("cancels") or {}
    return [phase["name"], f'{phase["rate"]:.0f}', f'{phase["goodput"]:.1f}',
            f'{100 * phase["goodput"] / capacity:.0f}' if capacity else "-",
            ms(accepted.get("p50")), ms(accepted.get("p99")), ms(refused.get("p99")), codes,
            f'{cancels.get("refused", 0)} / {cancels.get("sent", 0)}']


def cmd_overload(args):
    r = load(args.result)
    if r is None:
        sys.exit(f"report.py: no result in {args.result}")
    capacity = r["capacity"]
    table = markdown(OVERLOAD_HEADER, [overload_row(p, capacity) for p in r["phases"]])
    recovery = r.get("recovery_s")
    recovery_text = ("did not recover within the recovery phase" if recovery is None
                     else f"{recovery:.1f} s")
    doc = f"""{args.env}

```
{args.command}
```

Capacity: {capacity:.1f} orders/s ({r["capacity_source"]}). Time to recover after the heaviest
phase (until the p99 of each second's requests stays within 2× the p99 at half capacity):
{recovery_text}.

{table}

Latency from each request's due time (open loop). Refused: answers that were not 2xx; status 0
is no answer at all (timeout or connection error). Cancels: customers cancelling orders they placed
earlier, beside the load; refused = 429, 503, 504 or no answer.
"""
    if args.md:
        with open(args.md, "w") as f:
            f.write(f"# ./dev bench overload\n\n{doc}")
    print()
    print(doc)


def breaker_phase_row(name, phase):
    latency = phase.get("latency_ms") or {}
    codes = ", ".join(f"{n}×{c}" for c, n in sorted(phase["codes"].items()))
    return [name, str(phase["sent"]), str(phase["ok"]), ms(latency.get("p50")),
            ms(latency.get("p99")), codes]


def cmd_breaker(args):
    r = load(args.result)
    if r is None:
        sys.exit(f"report.py: no result in {args.result}")
    phases = markdown(["phase", "orders sent", "placed", "p50 ms", "p99 ms", "answers by status"],
                      [breaker_phase_row(f'payment healthy ({r["healthy_s"]:.0f} s)', r["healthy"]),
                       breaker_phase_row(f'payment failing every call ({r["failing_s"]:.0f} s)',
                                         r["failing"]),
                       breaker_phase_row(f'payment healed ({r["healed_s"]:.0f} s)', r["healed"])])
    refusals = r["refusals"]
    latency = refusals.get("latency_ms") or {}

    def or_dash(value, unit=""):
        return "-" if value is None else f"{value}{unit}"

    figures = markdown(["figure", "measured"], [
        ["calls payment received until the breaker was seen open (retries included)",
         or_dash(r.get("calls_until_open"))],
        ["from payment failing to the breaker open", or_dash(r.get("open_after_ms"), " ms")],
        ["orders refused while open (503)", str(refusals["count"])],
        ["of them without Retry-After", str(refusals["without_retry_after"])],
        ["refusal latency p50 / p99 / max (from each order's due time)",
         f'{ms(latency.get("p50"))} / {ms(latency.get("p99"))} / {ms(latency.get("max"))} ms'],
        ["Retry-After of the refusals", or_dash(r.get("open_period_s"), " s")],
        ["from payment healed to the first order placed",
         or_dash(r.get("first_placed_after_heal_ms"), " ms")],
        ["from payment healed until every later order was placed",
         or_dash(r.get("recovered_after_heal_ms"), " ms")],
    ])
    doc = f"""{args.env}

```
{args.command}
```

{phases}

{figures}

Open loop at {r["rate"]:.0f} orders/s through the gateway; latency from each order's due time.
The breaker was polled every 20 ms, so the calls until it was seen open may exceed what it
needed by a call or two.
"""
    if args.md:
        with open(args.md, "w") as f:
            f.write(f"# ./dev bench breaker\n\n{doc}")
    print()
    print(doc)
    problems = breaker_problems(r)
    for problem in problems:
        print(f"report.py: {problem}", file=sys.stderr)
    if problems:
        sys.exit(1)


def breaker_problems(r):
    """What the breaker run shows that must never be: not timings (the machine is shared),
    behaviour. The polling may see the breaker open a call or two late."""
    problems = []
    calls = r.get("calls_until_open")
    if calls is None:
        problems.append("the breaker never opened while payment failed every call")
    elif calls > 25:
        problems.append(f"the breaker opened after {calls} calls (at most 20, and the polling's slack)")
    for name in ("healthy", "failing", "healed"):
        errors = {c: n for c, n in r[name]["codes"].items() if c.startswith("5") and c != "503"}
        if errors:
            problems.append(f"answers other than 503 among the failures while payment was {name}: {errors}")
    if r["refusals"]["without_retry_after"]:
        problems.append(f'{r["refusals"]["without_retry_after"]} refusals without Retry-After')
    if r.get("recovered_after_heal_ms") is None:
        problems.append("orders were not placed again after payment healed")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("siege")
    s.add_argument("raw")
    s.add_argument("planned_seconds", type=float)
    s.add_argument("--json")
    s.add_argument("--probe")
    s.add_argument("--lag")
    s.add_argument("--started-ms", type=int, default=0)
    s.add_argument("--ended-ms", type=int, default=0)
    s.set_defaults(run=cmd_siege)
    b = sub.add_parser("bench")
    b.add_argument("prefix")
    b.add_argument("--env", required=True)
    b.add_argument("--command", required=True)
    b.add_argument("--services", required=True)
    b.add_argument("--rss")
    b.add_argument("scenarios", nargs="+")
    b.set_defaults(run=cmd_bench)
    # The reports of one loadgen result file each.
    for name, run in (("overload", cmd_overload), ("breaker", cmd_breaker)):
        r = sub.add_parser(name)
        r.add_argument("result")
        r.add_argument("--env", required=True)
        r.add_argument("--command", required=True)
        r.add_argument("--md")
        r.set_defaults(run=run)
    c = sub.add_parser("check")
    c.add_argument("prefix")
    c.add_argument("--services", required=True)
    c.add_argument("scenarios", nargs="+")
    c.set_defaults(run=cmd_check)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
