"""Benchmark: simulated tickets per second of wall time (issue 12.4; docs/simulator.md).

    python bench/simulate.py [--runs 3] [--days 5] [--scale 30]

Three cases, each run `--runs` times on a temporary database, the median reported (this
machine's speed drifts by up to 2x within an hour: compare medians, not single runs):

* big hall: the demo hall's queues and services with `--scale` times its arrivals and its
  windows (about 10,000 tickets a day at 30), `--days` days, fast mode (the default);
* demo hall: config.toml as shipped, `--days` days, fast mode;
* demo hall, exact: every step a HallService transaction (`--exact`), one day.

Tickets per second count from the first day drawn to the last day closed and rolled up
(the store's set-up and migrations too). The aim on a 2-core machine: >= 5,000/s fast.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hall.config import HallConfig, parse_config  # noqa: E402
from hall.sim_model import profile_from_config  # noqa: E402
from hall.simulate import Options, run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
START = date(2026, 12, 7)


def demo() -> dict[str, Any]:
    return tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))


def big_hall(scale: int) -> HallConfig:
    """The demo hall `scale` times over: arrivals and windows multiplied, numbers wide enough."""
    raw = demo()
    for q in raw["queues"]:
        q["width"], q["daily_cap"] = 6, 999999
    raw["simulate"]["arrivals"] = {s: [n * scale for n in counts]
                                   for s, counts in raw["simulate"]["arrivals"].items()}
    windows, number = [], 1
    for _ in range(scale):
        for w in raw["windows"]:
            windows.append({**w, "number": number, "name": f"{number}号窗口"})
            number += 1
    raw["windows"] = windows
    raw["voice"]["speak_on"] = ["hall"]
    return parse_config(raw)


def measure(label: str, config: HallConfig, days: int, runs: int, exact: bool = False
            ) -> dict[str, Any]:
    profile = profile_from_config(config)
    speeds, tickets, walls = [], 0, []
    for i in range(runs):
        began = time.perf_counter()
        result = run(config, profile, Options(days=days, seed=1 + i, exact=exact, start=START))
        wall = time.perf_counter() - began
        tickets = result.tickets
        speeds.append(result.tickets / wall)
        walls.append(wall)
    line = {"case": label, "days": days, "tickets_per_run": tickets,
            "tickets_per_second_median": round(statistics.median(speeds)),
            "tickets_per_second_range": [round(min(speeds)), round(max(speeds))],
            "wall_seconds_median": round(statistics.median(walls), 2)}
    print(f"{label:28} {line['tickets_per_second_median']:>8,} tickets/s "
          f"(range {line['tickets_per_second_range'][0]:,}-{line['tickets_per_second_range'][1]:,}"
          f"; {tickets:,} tickets in {line['wall_seconds_median']} s)", file=sys.stderr)
    return line


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--scale", type=int, default=30)
    args = parser.parse_args()
    cases: list[Callable[[], dict[str, Any]]] = [
        lambda: measure(f"big hall x{args.scale}, fast", big_hall(args.scale), args.days,
                        args.runs),
        lambda: measure("demo hall, fast", parse_config(demo()), args.days, args.runs),
        lambda: measure("demo hall, exact", parse_config(demo()), 1, args.runs, exact=True),
    ]
    results = [case() for case in cases]
    print(json.dumps({"simulator": results}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
