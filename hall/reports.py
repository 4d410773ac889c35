"""Figures for managers: counts, average and P90 wait and handling per queue, service, window
or clerk over a date range, and the live alarms of the hall.

The arithmetic is pure (`summarise`, `percentile`, `alarms_from`), so it is tested on plain
rows; the SQL that feeds it only selects.

Definitions (domain.md, Dashboards): wait = issue → first call; handling = start → finish.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

GROUPINGS = ("queue", "service", "window", "clerk", "day", "hour", "priority")


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: the value a person can point at in the data, not a blend."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value / 60, 1)


def summarise(rows: Iterable[Mapping[str, Any]], by: str) -> list[dict[str, Any]]:
    """One line per group: issued, served, missed (过号 and closed unserved), transferred,
    priority share, and average / P90 wait and handling in minutes."""
    groups: dict[Any, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[by]].append(row)
    out = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        items = groups[key]
        waits = [r["first_called_at"] - r["issued_at"] for r in items if r["first_called_at"]]
        handling = [r["finished_at"] - r["started_at"] for r in items
                    if r["state"] == "done" and r["started_at"] and r["finished_at"]]
        out.append({
            by: key,
            "issued": len(items),
            "served": sum(1 for r in items if r["state"] == "done"),
            "no_show": sum(1 for r in items if r["state"] == "no_show"),
            "missed": sum(1 for r in items if r["state"] == "missed"),
            "transferred": sum(1 for r in items if r["transfers"]),
            "priority_share": round(sum(1 for r in items if r["priority"]) / len(items), 3),
            "wait_avg_minutes": _minutes(sum(waits) / len(waits)) if waits else None,
            "wait_p90_minutes": _minutes(percentile(waits, 90)),
            "handling_avg_minutes": _minutes(sum(handling) / len(handling)) if handling else None,
            "handling_p90_minutes": _minutes(percentile(handling, 90)),
        })
        if by == "priority":  # who vouched for the reason: staff, or the citizen at the kiosk
            staff = sum(1 for r in items if r.get("priority_by"))
            out[-1]["granted_by_staff"] = staff if key is not None else 0
    return out


def alarms_from(queues: Sequence[Mapping[str, Any]], windows: Sequence[Mapping[str, Any]],
                now: float, handling_norm: Mapping[int, float],
                idle_minutes: float = 30) -> list[dict[str, Any]]:
    """Live alarms: a queue over its waiting threshold or wait limit; a window serving one
    citizen far past the norm; a window paused or idle for long while people wait."""
    out: list[dict[str, Any]] = []
    waiting_queues = {q["id"] for q in queues if q["waiting"]}
    for q in queues:
        if q["waiting"] >= q["waiting_alarm"]:
            message = f"{q['name']} 等候 {q['waiting']} 人，超过 {q['waiting_alarm']} 人"
            out.append({"kind": "queue_long", "queue": q["id"], "message": message})
        if q["longest_wait_minutes"] >= q["wait_alarm_minutes"]:
            out.append({"kind": "wait_long", "queue": q["id"],
                        "message": f"{q['name']} 最长已等 {q['longest_wait_minutes']} 分钟"})
    for w in windows:
        since = w.get("since_ts")
        minutes = (now - since) / 60 if since is not None else 0
        if w["state"] == "serving" and minutes > 2 * handling_norm.get(w["number"], 15):
            out.append({"kind": "handling_long", "window": w["number"],
                        "message": f"{w['name']} 办理 {w['current']} 已 {int(minutes)} 分钟"})
        serves_waiting = bool(set(w.get("queues", ())) & waiting_queues)
        if w["state"] in ("paused", "idle") and minutes > idle_minutes and serves_waiting:
            what = "暂停" if w["state"] == "paused" else "空闲"
            out.append({"kind": "window_away", "window": w["number"],
                        "message": f"{w['name']} 已{what} {int(minutes)} 分钟，仍有群众等候"})
    return out
