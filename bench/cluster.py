"""Benchmark of issue 13.5: one SQLite process, one PostgreSQL process, three PostgreSQL
processes behind haproxy, measured in one run.

`make bench` runs it (or `.venv/bin/python -m bench.cluster`). For each deployment, on a
fresh database every time (tests/cluster_harness.py starts the processes and haproxy,
tests/backends.py the PostgreSQL server):

1. durable tickets/s: wrk posts `POST /api/tickets` (bench/run.py's `wrk`: 50 connections,
   10 s); a 201 is only sent after COMMIT, so every answered ticket is on disk. The
   deployments take turns, `--repeats` rounds, and the table gives medians (the machine's
   speed drifts by up to 2x within an hour: compare ratios within a run, not runs). The CPU
   each part used per ticket (hall processes, PostgreSQL, haproxy, wrk) is read from /proc.
2. call -> screen latency: 1,000 and 5,000 screens (bench/screens.py: bare WebSocket
   clients in one worker process per core, so the load generator is not what is measured)
   connect to `/ws` (through haproxy for three processes, so they are spread round robin),
   then a clerk calls 20 tickets, one every 0.3 s, finishing each (bench/run.py's
   `make_calls`); each latency is from sending the call to one screen receiving its
   `ticket.called`. The 5,000 are measured again with a call a second (`--calm-gap`):
   at 0.3 s, two fan-outs to 5,000 screens every 0.3 s need more CPU than two cores have,
   so calls queue behind each other, which a hall (a call every few seconds) never sees.

It prints a table and writes it, with the machine's cores and what more would give, to
docs/bench-cluster.md. Targets (issue 13.5, 2 cores): three processes keep >= 0.7x the
SQLite process's tickets/s with p99 <= 100 ms; call -> screen p99 <= 250 ms at 5,000.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.run import bench_config, make_calls, pct, raise_nofile, wrk
from bench.screens import Screens
from tests import backends
from tests.cluster_harness import PASSWORD, ROOT, HallCluster, Node

DEPLOYMENTS = ("sqlite", "postgresql", "cluster")
LABELS = {"sqlite": "1 process, SQLite", "postgresql": "1 process, PostgreSQL",
          "cluster": "3 processes, PostgreSQL, haproxy"}
TICKET_RATIO = 0.7
TICKET_P99_MS = 100.0
SCREEN_P99_MS = 250.0


@dataclass
class Deployment:
    """A running deployment: where to send requests and which processes are its own."""

    kind: str
    url: str
    ws_url: str
    db: str
    config: Path
    env: dict[str, str]
    pids: list[int] = field(default_factory=list)

    def clerk(self) -> httpx.Cookies:
        """A clerk logged in at window 3 (the window of queue C, which `make_calls` uses)."""
        result = subprocess.run(
            [sys.executable, "-m", "hall", "user", "add", "benchclerk", "--role", "clerk",
             "--db", self.db, "--config", str(self.config), "--password-stdin"],
            input=PASSWORD + "\n", text=True, cwd=ROOT, env=self.env, capture_output=True,
            timeout=120)
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        r = httpx.post(self.url + "/api/login", json={"username": "benchclerk",
                                                      "password": PASSWORD, "window": 3},
                       timeout=30)
        r.raise_for_status()
        return r.cookies


@contextlib.contextmanager
def deployed(kind: str, processes: int) -> Iterator[Deployment]:
    """A fresh deployment. PostgreSQL starts each from a checkpoint and drops the database
    after it, so the last one's writing (checkpoints, autovacuum) does not land in this one's
    measurement."""
    tmp = Path(tempfile.mkdtemp(prefix=f"hall-bench-{kind}-"))
    config = bench_config(tmp)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HALL_DATA_DIR": str(tmp / "var")}
    db = str(tmp / "hall.db") if kind == "sqlite" else backends.cluster().database()
    try:
        if kind == "cluster":
            cluster = HallCluster(tmp, config, db, processes, log=False)
            try:
                cluster.start()
                pids = [n.proc.pid for n in cluster.nodes if n.proc is not None]
                assert cluster.balancer.proc is not None
                _checkpoint(kind)
                yield Deployment(kind, cluster.url, cluster.ws_url, db, config, env,
                                 [*pids, cluster.balancer.proc.pid])
            finally:
                cluster.stop()
            return
        node = Node("p1", tmp, config, db, env)
        try:
            node.launch()
            node.wait_up()
            assert node.proc is not None
            _checkpoint(kind)
            yield Deployment(kind, node.url, node.ws_url, db, config, env, [node.proc.pid])
        finally:
            node.stop()
    finally:
        if kind != "sqlite":
            backends.cluster().sql(f"DROP DATABASE {db.rsplit('/', 1)[1]} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)


def _checkpoint(kind: str) -> None:
    if kind != "sqlite":
        backends.cluster().sql("CHECKPOINT")


# ------------------------------------------------------------------ CPU by part

def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _postgres_pids() -> list[int]:
    """The PostgreSQL server's processes: its postmaster and every child of it."""
    master = int((backends.cluster().dir / "data" / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry.name))
    return [master, *children]


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    hz = os.sysconf("SC_CLK_TCK")
    return {part: sum(_ticks(p) for p in ps) / hz for part, ps in pids.items()}


# ------------------------------------------------------------------ the two measurements

def parts_of(dep: Deployment) -> dict[str, list[int]]:
    return {"hall": dep.pids[:-1] if dep.kind == "cluster" else dep.pids,
            "postgresql": _postgres_pids() if dep.kind != "sqlite" else [],
            "haproxy": dep.pids[-1:] if dep.kind == "cluster" else []}


def tickets(dep: Deployment, seconds: int, connections: int) -> dict[str, Any]:
    parts = parts_of(dep)
    before = cpu_seconds(parts)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        result: dict[str, Any] = wrk(dep.url + "/api/tickets", seconds, connections, Path(tmp))
    after = cpu_seconds(parts)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    count = result["rps"] * seconds
    used = {part: after[part] - before[part] for part in parts}
    used["wrk"] = (done.ru_utime + done.ru_stime) - (children.ru_utime + children.ru_stime)
    result["cpu_us_per_ticket"] = {k: round(v / count * 1e6) for k, v in used.items()
                                   if v > 0 and count}
    stored = backends.rows(dep.db, "SELECT COUNT(*) AS n FROM tickets")[0]["n"]
    assert stored >= count * 0.99, (stored, count)  # every 201 is a row
    return result


def call_to_screen(dep: Deployment, subscribers: int, calls: int, gap: float,
                   workers: int | None) -> dict[str, Any]:
    cookies = dep.clerk()
    screens = Screens(dep.ws_url, subscribers, calls, workers)
    try:
        started = time.monotonic()
        screens.start()
        connect_s = time.monotonic() - started
        parts = {**parts_of(dep), "screens": [p.pid for p in screens.procs if p.pid]}
        before = cpu_seconds(parts)
        sent_at = asyncio.run(make_calls(dep.url, cookies, calls, gap=gap))
        after = cpu_seconds(parts)  # (the screens' report afterwards is not counted)
        receipts = screens.receipts()
    finally:
        screens.stop()
    latencies = [(now - sent_at[number]) * 1000 for number, now in receipts]
    # the CPU a call cost each part, per screen that received it (the calls' own requests,
    # the tickets issued first and the finishes are in it too, a small share at 1,000)
    cpu = {k: round((after[k] - before[k]) / (calls * subscribers) * 1e6, 1)
           for k in parts if after[k] > before[k]}
    return {"subscribers": subscribers, "gap_s": gap, "receipts": len(latencies),
            "expected": subscribers * calls, "connect_s": round(connect_s, 1),
            "p50_ms": statistics.median(latencies), "p99_ms": pct(latencies, 99),
            "max_ms": max(latencies), "cpu_us_per_delivery": cpu}


# ------------------------------------------------------------------ the report

def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = found.group(1) if found else ""
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(),
            "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
            "python": platform.python_version()}


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(results: dict[str, Any], args: argparse.Namespace, before: dict[str, Any],
           after: dict[str, Any]) -> str:
    t = results["tickets"]
    base = median_of(t["sqlite"], "rps")
    lines = [
        f"Machine: {before['cores']} cores ({before['cpu']}), Python {before['python']}; "
        f"load average {before['load']} at the start, {after['load']} at the end "
        "(processes, PostgreSQL, haproxy and the load generators share the cores).",
        "",
        f"### Durable tickets/s (wrk, {args.connections} connections, {args.seconds} s, "
        f"median of {args.repeats} rounds taken in turn)",
        "",
        "| deployment | tickets/s | vs 1 SQLite | p50 ms | p99 ms | rounds (tickets/s) "
        "| CPU µs per ticket |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for kind in DEPLOYMENTS:
        runs = t[kind]
        rps = median_of(runs, "rps")
        cpu = runs[len(runs) // 2]["cpu_us_per_ticket"]
        lines.append(
            f"| {LABELS[kind]} | {rps:,.0f} | {rps / base:.2f}× | "
            f"{median_of(runs, 'p50_ms'):.1f} | {median_of(runs, 'p99_ms'):.1f} | "
            f"{', '.join(format(r['rps'], ',.0f') for r in runs)} | "
            f"{', '.join(f'{k} {v}' for k, v in cpu.items())} |")
    ratios = [c["rps"] / s["rps"] for c, s in zip(t["cluster"], t["sqlite"], strict=True)]
    lines += ["", "3 processes / 1 SQLite, round by round: "
                  f"{', '.join(format(r, '.2f') for r in ratios)} "
                  f"(median {statistics.median(ratios):.2f})."]
    lines += ["", f"### Call → screen latency ({args.calls} calls; each is finished before "
                  "the next, so a screen gets two events per call; every screen receives "
                  "every call)", "",
              "| deployment | screens | a call every | p50 ms | p99 ms | max ms | receipts "
              "| connect s | CPU µs per screen and call |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for runs in results["screens"].values():
        for kind in DEPLOYMENTS:
            s = runs[kind]
            cpu = ", ".join(f"{k} {v}" for k, v in s["cpu_us_per_delivery"].items())
            lines.append(f"| {LABELS[kind]} | {s['subscribers']:,} | {s['gap_s']} s | "
                         f"{s['p50_ms']:.0f} | {s['p99_ms']:.0f} | {s['max_ms']:.0f} | "
                         f"{s['receipts']:,}/{s['expected']:,} | {s['connect_s']} | {cpu} |")
    cluster_rps = median_of(t["cluster"], "rps")
    cluster_p99 = median_of(t["cluster"], "p99_ms")
    screen = results["screens"][screen_key(max(args.subscribers), args.gap)]["cluster"]
    lines += ["", "### Targets (issue 13.5)", "",
              f"* 3 processes ≥ {TICKET_RATIO}× one SQLite process's tickets/s: "
              f"{cluster_rps / base:.2f}× — {verdict(cluster_rps / base >= TICKET_RATIO)}",
              f"* their ticket p99 ≤ {TICKET_P99_MS:.0f} ms: {cluster_p99:.0f} ms — "
              f"{verdict(cluster_p99 <= TICKET_P99_MS)}",
              f"* call → screen p99 ≤ {SCREEN_P99_MS:.0f} ms at {max(args.subscribers):,} "
              f"screens over 3 processes, a call every {args.gap} s: "
              f"{screen['p99_ms']:.0f} ms — "
              f"{verdict(screen['p99_ms'] <= SCREEN_P99_MS)}"]
    return "\n".join(lines)


def screen_key(count: int, gap: float) -> str:
    return f"{count}@{gap}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.3,
                        help="seconds between calls (bench/run.py's 0.3)")
    parser.add_argument("--calm-gap", type=float, default=1.0,
                        help="the largest count again with this gap (0: not)")
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None,
                        help="processes the screens run in (default: one per core, at most 4)")
    parser.add_argument("--only", choices=DEPLOYMENTS, nargs="+", default=list(DEPLOYMENTS))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "bench-cluster.md")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures")
    args = parser.parse_args()
    raise_nofile()
    backends.BACKEND = "postgresql"  # the PostgreSQL server of tests/backends.py, started once
    before = machine()
    results: dict[str, Any] = {"tickets": {k: [] for k in args.only}, "screens": {}}
    for round_ in range(args.repeats):
        for kind in args.only:
            with deployed(kind, args.processes) as dep:
                run = tickets(dep, args.seconds, args.connections)
            results["tickets"][kind].append(run)
            print(f"round {round_ + 1} {LABELS[kind]}: {run['rps']:,.0f} tickets/s, "
                  f"p99 {run['p99_ms']:.1f} ms", flush=True)
    plan = [(count, args.gap) for count in args.subscribers]
    if args.calm_gap:
        plan.append((max(args.subscribers), args.calm_gap))
    for count, gap in plan:
        results["screens"][screen_key(count, gap)] = {}
        for kind in args.only:
            with deployed(kind, args.processes) as dep:
                run = call_to_screen(dep, count, args.calls, gap, args.workers)
            results["screens"][screen_key(count, gap)][kind] = run
            print(f"{count} screens, a call every {gap} s, {LABELS[kind]}: "
                  f"p50 {run['p50_ms']:.0f} ms, p99 {run['p99_ms']:.0f} ms "
                  f"({run['receipts']}/{run['expected']})", flush=True)
    after = machine()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if set(args.only) != set(DEPLOYMENTS):
        print(json.dumps(results, indent=2))
        return 0
    table = report(results, args, before, after)
    print(table)
    write_doc(args.out, table)
    return 0


def write_doc(path: Path, table: str) -> None:
    """docs/bench-cluster.md: the prose above the marker stays, the figures below it are
    replaced by this run's."""
    marker = "<!-- figures: bench/cluster.py writes below this line -->"
    text = path.read_text(encoding="utf-8") if path.exists() else f"{marker}\n"
    head = text.split(marker)[0] if marker in text else text + "\n"
    path.write_text(f"{head}{marker}\n\n{table}\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
