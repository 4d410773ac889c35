"""What a simulated run reports, counted from the simulator's own record of each citizen.

The definitions are the reports' (hall.stats, domain.md): a ticket counts in the queue it ended
in (a transferred one in the queue it was sent to); wait = issue → first call, in seconds
between the core's own time stamps; the P90 is the nearest rank over whole minutes. So a
simulated day's figures and `/api/manage/stats` for that day agree to the digit
(tests/test_simulator.py), and a manager can read one beside the other.

Beyond the reports: the longest line a queue had, tickets that waited longer than the queue's
alarm threshold (called late, or never called before the day closed), and how much of their
open, unpaused time the windows spent with a citizen (called → finished, skipped or sent on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from hall.config import HallConfig
from hall.sim_engine import WindowSim
from hall.sim_model import Citizen
from hall.stats import percentile_from_histogram


@dataclass
class DayRecord:
    day: date
    citizens: Sequence[Citizen]
    windows: Sequence[WindowSim]
    longest: dict[str, int]
    longest_hall: int
    closed_ms: int | None
    ts: Callable[[int], float]  # the core's time stamp of a millisecond of this day


@dataclass
class _Acc:
    tickets: int = 0
    refused: int = 0
    served: int = 0
    no_show: int = 0
    missed: int = 0
    transferred: int = 0
    wait_sum: float = 0.0
    wait_n: int = 0
    over: int = 0
    longest: int = 0

    def add_wait(self, seconds: float) -> None:
        self.wait_sum += seconds
        self.wait_n += 1


def wait_p90(minutes: dict[int, int]) -> int | None:
    return percentile_from_histogram(minutes, 90)


def summarise(config: HallConfig, days: Sequence[DayRecord]) -> dict[str, Any]:
    """Per queue and in total, over every simulated day."""
    tally = Tally(config)
    for record in days:
        tally.add(record)
    return tally.result()


class Tally:
    """The figures, counted one day at a time: a long run keeps no citizen of a day gone."""

    def __init__(self, config: HallConfig) -> None:
        self.config = config
        self.order = [q.id for q in config.queues]
        self.accs = {q: _Acc() for q in self.order}
        self.hists: dict[str, dict[int, int]] = {q: {} for q in self.order}
        self.total, self.total_hist = _Acc(), {}
        self.windows: dict[int, dict[str, Any]] = {}

    def add(self, record: DayRecord) -> None:
        accs, hists, total, total_hist = self.accs, self.hists, self.total, self.total_hist
        for q, n in record.longest.items():
            if q in accs:
                accs[q].longest = max(accs[q].longest, n)
        total.longest = max(total.longest, record.longest_hall)
        for c in record.citizens:
            if c.phase == "coming":
                continue
            queue = c.at_queue or c.queue
            acc = accs.setdefault(queue, _Acc())
            hist = hists.setdefault(queue, {})
            if c.phase == "refused":
                acc.refused += 1
                total.refused += 1
                continue
            threshold = _threshold(self.config, queue) * 60
            for a in (acc, total):
                a.tickets += 1
                a.served += c.phase == "done"
                a.no_show += c.phase == "no_show"
                a.missed += c.phase == "missed"
                a.transferred += c.transfers > 0
            assert c.issued_ms is not None
            if c.first_called_ms is not None:
                wait = record.ts(c.first_called_ms) - record.ts(c.issued_ms)
                minute = int(wait / 60)
                for a, h in ((acc, hist), (total, total_hist)):
                    a.add_wait(wait)
                    h[minute] = h.get(minute, 0) + 1
                late = wait > threshold
            else:
                end = record.closed_ms if record.closed_ms is not None else c.issued_ms
                late = (end - c.issued_ms) / 1000 > threshold
            if late:
                acc.over += 1
                total.over += 1
        _add_windows(self.config, self.windows, record)

    def result(self) -> dict[str, Any]:
        windows = [self.windows[n] for n in sorted(self.windows)]
        for row in windows:
            row["utilisation"] = _share(row["busy_s"], row["available_s"])
        queues = []
        for q in self.order:
            serving = [w for w in windows if q in w["queues"]]
            queues.append({"queue": q, "name": self.config.queue(q).name,
                           **_figures(self.accs[q], self.hists[q]),
                           "threshold_minutes": _threshold(self.config, q),
                           "utilisation": _share(sum(w["busy_s"] for w in serving),
                                                 sum(w["available_s"] for w in serving))})
        return {
            **_figures(self.total, self.total_hist),
            "utilisation": _share(sum(w["busy_s"] for w in windows),
                                  sum(w["available_s"] for w in windows)),
            "queues": queues,
            "windows": [{k: v for k, v in w.items() if k not in ("busy_s", "available_s")}
                        for w in windows],
        }


def _figures(acc: _Acc, hist: dict[int, int]) -> dict[str, Any]:
    return {"tickets": acc.tickets, "refused": acc.refused, "served": acc.served,
            "no_show": acc.no_show, "missed": acc.missed, "transferred": acc.transferred,
            "wait_avg_minutes": round(acc.wait_sum / acc.wait_n / 60, 1) if acc.wait_n
            else None,
            "wait_p90_minutes": wait_p90(hist), "longest_queue": acc.longest,
            "over_threshold": acc.over}


def _threshold(config: HallConfig, queue: str) -> float:
    q = config.queue(queue) if config.has_queue(queue) else None
    return (q.wait_alarm_minutes if q else None) or config.sla.wait_alarm_minutes


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole > 0 else None


def _add_windows(config: HallConfig, out: dict[int, dict[str, Any]],
                 record: DayRecord) -> None:
    for w in record.windows:
        row = out.setdefault(w.number, {
            "window": w.number, "name": config.window(w.number).name
            if config.has_window(w.number) else f"{w.number}号窗口",
            "queues": list(w.queues), "calls": 0, "served": 0, "open_hours": 0.0,
            "busy_s": 0.0, "available_s": 0.0})
        row["calls"] += w.calls
        row["served"] += w.served
        row["open_hours"] = round(row["open_hours"] + w.open_total / 3_600_000, 2)
        row["busy_s"] += w.busy_total / 1000
        row["available_s"] += (w.open_total - w.paused_total) / 1000
