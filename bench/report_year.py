"""How long a year's report takes on a big hall: 1,000,000 tickets with the event log and audit
log they leave, their ratings and complaints, in a real SQLite file with the hall's own schema;
then every grouping and period the reports page asks for, the clerks' productivity and the four
charts, timed.

    python bench/report_year.py [--tickets 1000000] [--runs 5] [--windows 12] [--db FILE]
                                [--http]

The hall: 4 queues with `--windows` windows each, a clerk per window logged in from 08:45 until
the queue is empty, each window taking its queue's longest-waiting ticket as soon as it is
free (walk 10–120 s, handling about 4.5 minutes, 7% 过号, 3% never called), a lunch pause and
a short one per window per day; 35% of the served rate, a few rate badly (a tenth of those
申诉 upheld), 0.5% complain. The last working day of the range is "today" (as at 18:30): its
figures are read live from the tickets and the event log, every other day from the roll-ups.

Prints the time to write the year, to roll it up (once, at the first start of an upgraded
hall), to roll up one day (each night), then the median and range of the runs for every report
and chart and for the reports page as it first opens (a year per day, both tables and the four
charts); issue 10 asks for a year's report in under 2 s. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall import charts, productivity, stats  # noqa: E402
from hall.reports_api import Moment, build_chart  # noqa: E402
from hall.store import _prepare_writer  # noqa: E402

OFFSET = 8 * 3600
TZ = timezone(timedelta(seconds=OFFSET))
QUEUES = {"A": ("yibao-card", "yibao-transfer"), "B": ("social-a", "social-b"),
          "C": ("house-a", "house-b", "house-c"), "D": ("tax-a", "tax-b")}
REASONS = ("外出", "会议", "系统故障")
SUMMARY = {"name": "队列", "prefix": "A", "eta_minutes": 12, "longest_wait_minutes": 9,
           "waiting_alarm": 10, "wait_alarm_minutes": 15}


class Day:
    """One simulated day: its rows for every table, events already in time order."""

    def __init__(self, day: date, first_id: int) -> None:
        self.day = day.isoformat()
        self.midnight = datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp()
        self.next_id = first_id
        self.tickets: list[tuple[Any, ...]] = []
        self.events: list[tuple[float, int, str, dict[str, Any]]] = []
        self.audit: list[tuple[Any, ...]] = []
        self.ratings: list[tuple[Any, ...]] = []
        self.rects: list[tuple[Any, ...]] = []
        self.complaints: list[tuple[Any, ...]] = []

    def iso(self, ts: float) -> str:
        s = ts - self.midnight
        return (f"{self.day}T{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:"
                f"{s % 60:06.3f}+08:00")

    def event(self, ts: float, type_: str, data: dict[str, Any]) -> None:
        self.events.append((ts, len(self.events), type_, data))

    def act(self, ts: float, user: str, action: str, window: int, detail: str | None) -> None:
        self.audit.append((self.iso(ts), user, action, f"window:{window}", "10.0.0.8", 1,
                           detail))


def window_state(w: int, state: str, current: str | None) -> dict[str, Any]:
    return {"number": w, "name": f"{w}号窗口", "kind": "comprehensive", "chief": False,
            "state": state, "current": current, "since": None}


def simulate(rng: random.Random, day: date, n: int, first_id: int, per_queue: int) -> Day:
    d = Day(day, first_id)
    opening, closing = d.midnight + 9 * 3600, d.midnight + 17 * 3600
    windows = {q: list(range(i * per_queue + 1, (i + 1) * per_queue + 1))
               for i, q in enumerate(QUEUES)}
    arrivals = sorted((opening + rng.uniform(0, 8 * 3600), rng.choice(list(QUEUES)))
                      for _ in range(n))
    counters = dict.fromkeys(QUEUES, 0)
    for q, ws in windows.items():
        free = [(d.midnight + 8.75 * 3600, w) for w in ws]
        for _, w in free:
            d.event(free[0][0], "window.opened", {"number": None, "window": w,
                                                  "window_state": window_state(w, "idle", None)})
            d.act(free[0][0], f"clerk{w}", "login", w, None)
        pauses = {w: sorted([(d.midnight + rng.uniform(11.5, 12.5) * 3600,
                              rng.uniform(30, 60) * 60, "午休"),
                             (d.midnight + rng.uniform(9.5, 16) * 3600, rng.uniform(5, 15) * 60,
                              rng.choice(REASONS))]) for w in ws}
        for issued, queue in arrivals:
            if queue != q:
                continue
            counters[q] += 1
            number = f"{q}{counters[q]:04d}"
            tid = d.next_id
            d.next_id += 1
            service = rng.choice(QUEUES[q])
            priority = rng.choice([None] * 9 + ["elderly"])
            d.event(issued, "ticket.issued", {"number": number, "queue": q, "service": service,
                                              "window": None, "window_state": None, "q": q,
                                              "delta": 1})
            if rng.random() < 0.03:  # still waiting at the close: never called
                d.tickets.append((tid, d.day, number, q, service, priority, "missed", None,
                                  issued, None, None, None, None, None, None, 0))
                continue
            t, w = heapq.heappop(free)
            while pauses[w] and pauses[w][0][0] <= max(t, issued):
                at, length, reason = pauses[w].pop(0)
                begin = max(t, at)
                d.event(begin, "window.paused", {"number": None, "window": w, "reason": reason,
                                                 "window_state": window_state(w, "paused", None)})
                d.act(begin, f"clerk{w}", "pause", w, reason)
                t = begin + length
                d.event(t, "window.resumed", {"number": None, "window": w,
                                              "window_state": window_state(w, "idle", None)})
                d.act(t, f"clerk{w}", "resume", w, None)
            called = max(t, issued)
            clerk = f"clerk{w}"
            d.event(called, "ticket.called", {"number": number, "window": w, "queue": q,
                                              "recall": False, "audio": None, "q": q, "delta": -1,
                                              "window_state": window_state(w, "called", number)})
            d.act(called, clerk, "call", w, number)
            if rng.random() < 0.07:  # 过号
                gone = called + 60
                d.event(gone, "ticket.skipped", {"number": number, "window": w, "q": q,
                                                 "requeued": False,
                                                 "window_state": window_state(w, "idle", None)})
                d.act(gone, clerk, "skip", w, number)
                d.tickets.append((tid, d.day, number, q, service, priority, "no_show", None,
                                  issued, w, clerk, called, called, None, gone, 1))
                heapq.heappush(free, (gone, w))
                continue
            started = called + rng.uniform(10, 120)
            finished = started + rng.expovariate(1 / 270)
            outcome = rng.choices(["done", "accepted", "accepted_missing", "rejected",
                                   "failed"], [80, 10, 5, 4, 1])[0]
            d.event(started, "ticket.started", {"number": number, "window": w, "q": q,
                                                "window_state": window_state(w, "serving",
                                                                             number)})
            d.act(started, clerk, "start", w, number)
            d.event(finished, "ticket.finished", {"number": number, "window": w, "q": q,
                                                  "outcome": outcome,
                                                  "window_state": window_state(w, "idle",
                                                                               None)})
            d.act(finished, clerk, "finish", w, number)
            d.tickets.append((tid, d.day, number, q, service, priority, "done", outcome,
                              issued, w, clerk, called, called, started, finished, 0))
            if rng.random() < 0.35:
                level = rng.choices([5, 4, 3, 2, 1], [70, 20, 6, 2, 2])[0]
                rid = tid  # one rating per ticket: its id will do
                d.ratings.append((rid, tid, number, d.day, w, clerk, service, q, level,
                                  "window_tablet", "prompted", finished + 60, finished))
                if level <= 2:
                    d.rects.append((rid, tid, w, clerk, service, level, finished + 60, d.day,
                                    "closed", d.day, d.day, 1 if rng.random() < 0.1 else None))
            if rng.random() < 0.005:
                d.complaints.append((finished + 120, "clerk", tid, service, w, clerk, "办不成",
                                     "received", f"BC{tid:08d}", d.day))
            heapq.heappush(free, (finished, w))
        for t, w in free:  # the queue is empty: log out
            leave = max(t, closing + 1800)
            d.event(leave, "window.closed", {"number": None, "window": w,
                                             "window_state": window_state(w, "closed", None)})
            d.act(leave, f"clerk{w}", "logout", w, None)
    last = max(e[0] for e in d.events) + 60
    d.event(last, "hall.closed", {"missed": 0, "window": None, "window_state": None,
                                  "close": True})
    return d


def write(conn: sqlite3.Connection, d: Day) -> int:
    """Insert one day: events get the queue summaries a real hall writes (the waiting count
    after each event), in time order."""
    d.events.sort()
    waiting = dict.fromkeys(QUEUES, 0)
    rows = []
    for ts, _, type_, data in d.events:
        q = data.pop("q", None)
        delta = data.pop("delta", 0)
        if data.pop("close", False):
            waiting = dict.fromkeys(QUEUES, 0)
            data["queues"] = [{"id": k, **SUMMARY, "waiting": 0} for k in QUEUES]
        elif q is not None:
            waiting[q] += delta
            data["queues"] = [{"id": q, **SUMMARY, "waiting": waiting[q]}]
        if data.get("window") is not None:
            data["window_name"] = f"{data['window']}号窗口"
        rows.append((d.iso(ts), type_, json.dumps(data, ensure_ascii=False,
                                                   separators=(",", ":"))))
    conn.executemany("INSERT INTO events (time, type, data) VALUES (?, ?, ?)", rows)
    d.audit.sort()
    conn.executemany("INSERT INTO audit (time, user, action, target, source, success, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", d.audit)
    conn.executemany(
        "INSERT INTO tickets (id, day, number, queue, service, channel, priority, state, "
        "outcome, token, issued_at, order_at, window, clerk, first_called_at, called_at, "
        "started_at, finished_at, skips) VALUES (?, ?, ?, ?, ?, 'kiosk', ?, ?, ?, "
        "'t' || ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[0], t[8], t[8], *t[9:])
         for t in d.tickets])
    conn.executemany(
        "INSERT INTO ratings (id, ticket_id, number, day, window, clerk, service, queue, level, "
        "channel, mode, rated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        d.ratings)
    conn.executemany(
        "INSERT INTO rectifications (rating_id, ticket_id, window, clerk, service, level, "
        "opened_at, day, status, callback_due, fix_due, appeal_upheld) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", d.rects)
    conn.executemany(
        "INSERT INTO complaints (opened_at, source, ticket_id, service, window, clerk, "
        "description, status, reference, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        d.complaints)
    return len(rows)


def fill(conn: sqlite3.Connection, tickets: int, per_queue: int,
         seed: int = 1) -> tuple[list[str], dict[str, int]]:
    rng = random.Random(seed)
    first = date(2025, 12, 1)
    days = [first + timedelta(days=i) for i in range(365)]
    days = [d for d in days if d.weekday() < 5]
    per_day = tickets // len(days) + 1
    made = {"tickets": 0, "events": 0, "audit": 0, "ratings": 0}
    next_id = 1
    conn.execute("BEGIN")
    for day in days:
        n = min(per_day, tickets - made["tickets"])
        d = simulate(rng, day, n, next_id, per_queue)
        next_id = d.next_id
        made["events"] += write(conn, d)
        made["tickets"] += len(d.tickets)
        made["audit"] += len(d.audit)
        made["ratings"] += len(d.ratings)
    conn.execute("COMMIT")
    return [d.isoformat() for d in days], made


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, out


def prepare(path: Path, args: argparse.Namespace, queues: dict[int, tuple[str]]) -> list[str]:
    """Write the year into `path` and roll up every day but the last; its days."""
    conn = sqlite3.connect(path, isolation_level=None)
    _prepare_writer(conn)
    t0 = time.perf_counter()
    days, made = fill(conn, args.tickets, args.windows)
    print(f"{made['tickets']:,} tickets, {made['events']:,} events, {made['audit']:,} audit "
          f"rows, {made['ratings']:,} ratings written in {time.perf_counter() - t0:.0f} s "
          f"({days[0]} – {days[-1]}, {path.stat().st_size / 2**20:,.0f} MiB)")
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    rolled = stats.roll_up_closed(conn, days[-1], OFFSET, queues)
    conn.execute("COMMIT")
    print(f"{rolled} days rolled up in {time.perf_counter() - t0:.1f} s (once, at the first "
          "start of an upgraded hall)")
    conn.execute("BEGIN")
    t0 = time.perf_counter()
    stats.roll_up(conn, days[-1], OFFSET, queues)
    print(f"one day rolled up in {time.perf_counter() - t0:.2f} s (each night)")
    conn.execute("ROLLBACK")  # the last day stays "today", read live
    conn.close()
    return days


def http(path: Path, first: str, last: str, runs: int) -> None:
    """The same through `hall serve` on the year's file: the answers a browser gets (JSON with
    its table, CSV, SVG). The server closes the last day at start, so all of it is rolled up."""
    import socket
    import subprocess

    import httpx

    root = Path(__file__).resolve().parent.parent
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([sys.executable, "-m", "hall", "user", "add", "bench-boss", "--role",
                    "manager", "--db", str(path), "--password-stdin"], cwd=root,
                   input="bench-password-1\n", text=True, capture_output=True, check=False)
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "hall", "serve", "--db", str(path),
                               "--port", str(port), "--no-hours"], cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=url, timeout=120)
        while True:
            try:
                if client.get("/api/hall").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        print(f"over HTTP (hall serve started in {time.perf_counter() - t0:.1f} s):")
        client.post("/api/login", json={"username": "bench-boss",
                                        "password": "bench-password-1"}).raise_for_status()
        year = f"from={first}&to={last}"
        paths = [f"/api/manage/stats?{year}&by=hall&per=day",
                 f"/api/manage/stats?{year}&by=window&per=month",
                 f"/api/manage/stats?{year}&by=window&per=month&format=csv",
                 f"/api/manage/productivity?{year}&by=window&per=day",
                 f"/api/manage/productivity?{year}&by=clerk&per=month&format=csv",
                 *(f"/api/manage/charts/{name}.svg?{year}"
                   for name in ("arrivals", "waits", "windows", "trend"))]
        for target in paths:
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                r = client.get(target)
                times.append(time.perf_counter() - t)
                r.raise_for_status()
            print(f"  GET {target.replace(year, 'year'):62} {len(r.content) // 1024:5} KiB  "
                  f"median {statistics.median(times):.3f} s  (min {min(times):.3f}, "
                  f"max {max(times):.3f})")
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--windows", type=int, default=12, help="windows per queue")
    parser.add_argument("--http", action="store_true", help="also time the routes through "
                        "`hall serve` (closes the last day: the file's today becomes history)")
    parser.add_argument("--db", type=Path, help="keep the year in this file; an existing one "
                        "is reused as it is (the writing and roll-up are not timed again)")
    args = parser.parse_args()
    queues = {i * args.windows + k + 1: (q,) for i, q in enumerate(QUEUES)
              for k in range(args.windows)}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "year.db"
        if path.exists():
            conn = sqlite3.connect(path)
            days = [r[0] for r in conn.execute("SELECT DISTINCT day FROM tickets ORDER BY day")]
            conn.close()
            print(f"reusing {path} ({days[0]} – {days[-1]})")
        else:
            days = prepare(path, args, queues)
        first, today = days[0], days[-1]
        reader = sqlite3.connect(path, isolation_level=None)
        reader.row_factory = sqlite3.Row
        reader.execute("PRAGMA query_only=ON")
        at = Moment(today, productivity.day_start(today, OFFSET) + 18.5 * 3600, OFFSET)
        cases: list[tuple[str, Callable[[], Any]]] = []
        for by, per in [(by, per) for by in ("hall", "queue", "window", "clerk")
                        for per in ("all", "month")] + [("hall", "hour"), ("hall", "day"),
                                                        ("queue", "week"), ("service", "day"),
                                                        ("priority", "month")]:
            cases.append((f"figures      by={by:8} per={per:5}", lambda by=by, per=per: (
                stats.ticket_figures(reader, first, today, by, per, OFFSET, at.today))))
        for by, per in (("window", "all"), ("clerk", "all"), ("window", "month"),
                        ("clerk", "month"), ("hall", "hour"), ("window", "day")):
            cases.append((f"productivity by={by:8} per={per:5}", lambda by=by, per=per: (
                productivity.work_figures(reader, first, today, by, per, OFFSET, at.today,
                                          at.now, queues))))
        draw = {"arrivals": charts.bar_chart, "waits": charts.bar_chart,
                "windows": charts.bar_chart, "trend": charts.line_chart}
        for name, render in draw.items():
            cases.append((f"chart        {name:23}", lambda name=name, render=render: render(
                build_chart(reader, name, first, today, at, queues, lambda n: f"{n}号窗口"))))

        def page() -> None:  # the reports page opening on the whole year, per day
            stats.ticket_figures(reader, first, today, "hall", "day", OFFSET, at.today)
            productivity.work_figures(reader, first, today, "window", "day", OFFSET,
                                      at.today, at.now, queues)
            for name, render in draw.items():
                render(build_chart(reader, name, first, today, at, queues, str))

        cases.append(("reports page (2 tables + 4 charts, a year per day)", page))
        worst = 0.0
        for label, fn in cases:
            reader.execute("BEGIN")
            times, out = timed(fn, args.runs)
            reader.execute("COMMIT")
            median = statistics.median(times)
            if not label.startswith("reports page"):
                worst = max(worst, median)
            size = f"{len(out):5} rows" if isinstance(out, list) else (
                f"{len(out) // 1024:3} KiB SVG" if isinstance(out, str) else "")
            print(f"  {label} {size:>11}  median {median:.3f} s  "
                  f"(min {min(times):.3f}, max {max(times):.3f})")
        print(f"slowest single report (median): {worst:.2f} s — target < 2 s")
        reader.close()
        if args.http:
            http(path, first, today, args.runs)


if __name__ == "__main__":
    main()
