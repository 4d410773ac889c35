"""The live alarms of the hall, from the queue and window summaries (pure, tested on plain
rows). The report figures are in hall/stats.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


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
