"""How long a year's report takes on a big hall: 1,000,000 tickets in a real SQLite file with
the hall's own schema, then every grouping and period the reports page asks for, timed.

    python bench/report_year.py [--tickets 1000000] [--runs 3]

Prints the median of the runs per query and the slowest; issue 10 asks for under 2 s.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall import stats  # noqa: E402
from hall.store import _prepare_writer  # noqa: E402

TZ = timezone(timedelta(hours=8))
QUEUES = {"A": ["yibao-card", "yibao-transfer"], "B": ["social-a", "social-b"],
          "C": ["house-a", "house-b", "house-c"], "D": ["tax-a", "tax-b"]}


def fill(conn: sqlite3.Connection, tickets: int, seed: int = 1) -> tuple[str, str]:
    rng = random.Random(seed)
    first = date(2025, 12, 1)
    days = [first + timedelta(days=i) for i in range(365)]
    days = [d for d in days if d.weekday() < 5]
    per_day = tickets // len(days) + 1
    n = 0
    conn.execute("BEGIN")
    for day in days:
        rows = []
        opening = datetime(day.year, day.month, day.day, 9, tzinfo=TZ).timestamp()
        for i in range(per_day):
            if n >= tickets:
                break
            n += 1
            queue = rng.choice(list(QUEUES))
            issued = opening + rng.uniform(0, 8 * 3600)
            wait = rng.expovariate(1 / 900)
            called = issued + wait
            started = called + rng.uniform(10, 120)
            finished = started + rng.expovariate(1 / 600)
            state = rng.choices(["done", "no_show", "missed"], [90, 7, 3])[0]
            rows.append((day.isoformat(), f"{queue}{i:04d}", queue, rng.choice(QUEUES[queue]),
                         "kiosk", rng.choice([None] * 9 + ["elderly"]), state,
                         "done" if state == "done" else None, f"t{n}", issued, issued,
                         rng.randint(1, 12), f"clerk{rng.randint(1, 12)}",
                         called if state != "missed" else None,
                         called if state != "missed" else None,
                         started if state == "done" else None,
                         finished if state == "done" else None))
        conn.executemany(
            "INSERT INTO tickets (day, number, queue, service, channel, priority, state, "
            "outcome, token, issued_at, order_at, window, clerk, first_called_at, called_at, "
            "started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    return days[0].isoformat(), days[-1].isoformat()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "year.db", isolation_level=None)
        _prepare_writer(conn)
        t0 = time.perf_counter()
        first, last = fill(conn, args.tickets)
        print(f"{args.tickets:,} tickets written in {time.perf_counter() - t0:.1f} s "
              f"({first} – {last})")
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        days = stats.roll_up_closed(conn, "2027-01-01", 8 * 3600)
        conn.execute("COMMIT")
        print(f"{days} days rolled up in {time.perf_counter() - t0:.1f} s (once, at the first "
              "start of an upgraded hall; then one day at each close)")
        conn.execute("PRAGMA query_only=ON")
        cases = [(by, per) for by in ("hall", "queue", "window", "clerk")
                 for per in ("all", "month")] + [("hall", "hour"), ("queue", "week"),
                                                 ("service", "day")]
        worst = 0.0
        for by, per in cases:
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                rows = stats.ticket_figures(conn, first, last, by, per, 8 * 3600,
                                            "2026-12-01")
                times.append(time.perf_counter() - t)
            median = statistics.median(times)
            worst = max(worst, median)
            print(f"  by={by:8} per={per:6} {len(rows):5} rows  median {median:.2f} s  "
                  f"(min {min(times):.2f}, max {max(times):.2f})")
        print(f"slowest report (median): {worst:.2f} s — target < 2 s")


if __name__ == "__main__":
    main()
