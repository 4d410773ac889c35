"""The 好差评 and 办不成事 figures a manager and a supervisor judge the hall by: rating
distribution and 差评率, case rates (回访率, 按期整改率, 办结率), and the monthly window ranking.
Only counted ratings (`COUNTED`: no upheld 申诉) enter any figure."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from hall import errors
from hall.cases import COMPLAINT_CLASSES, COMPLAINT_SOURCES
from hall.desk import Desk
from hall.ratings import (
    BAD_LEVELS,
    COUNTED,
    INDICATORS,
    LEVELS,
    RATING_CHANNELS,
    RATING_MODES,
    distribution,
    rate,
)


class FigureDesk(Desk):
    """Manager lists and figures over ratings and cases."""

    # ------------------------------------------------------------------ manager lists, figures

    async def ratings(self, start: date, end: date, window: int | None = None,
                      level: int | None = None, channel: str | None = None
                      ) -> list[dict[str, Any]]:
        lo, hi = self._range(start, end)
        if level is not None and level not in LEVELS:
            raise errors.bad_request("评价等级只能是 1 到 5", "invalid_query", "level")
        if channel is not None and channel not in RATING_CHANNELS:
            raise errors.bad_request(f"渠道只能是 {'、'.join(RATING_CHANNELS.values())} 之一",
                                     "invalid_query", "channel")
        where, params = ["r.rated_at >= ? AND r.rated_at < ?"], [lo, hi]
        for column, value in (("window", window), ("level", level), ("channel", channel)):
            if value is not None:
                where.append(f"r.{column} = ?")
                params.append(value)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT r.*, x.id AS case_id FROM ratings r LEFT JOIN rectifications x "
                f"ON x.rating_id = r.id WHERE {' AND '.join(where)} ORDER BY r.rated_at DESC",
                params).fetchall()
            return [{
                "id": r["id"], "rated_at": self._iso(r["rated_at"]), "day": r["day"],
                "number": r["number"], "window": r["window"],
                "window_name": self._window_name(r["window"]), "clerk": r["clerk"],
                "service": r["service"], "service_name": self._service_name(r["service"]),
                "level": r["level"], "level_name": LEVELS[r["level"]],
                "reasons": json.loads(r["reasons"]), "comment": self.sealer.open(r["comment"]),
                "indicators": {k: r[k] for k in INDICATORS if r[k] is not None},
                "channel": r["channel"], "channel_name": RATING_CHANNELS.get(r["channel"]),
                "mode": r["mode"], "mode_name": RATING_MODES.get(r["mode"]),
                "rectification": r["case_id"],
            } for r in rows]

        return await self.service.store.read(read)

    async def figures(self, start: date, end: date) -> dict[str, Any]:
        """The 好差评 and 办不成事 figures of a period (see docs/feedback.md for each one)."""
        lo, hi = self._range(start, end)
        _, _, today = self._now()

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            ratings = conn.execute(f"SELECT * FROM ratings WHERE rated_at >= ? AND rated_at < ? "
                                   f"AND {COUNTED}", (lo, hi)).fetchall()
            served = conn.execute("SELECT COUNT(*) FROM tickets WHERE state = 'done' AND "
                                  "finished_at >= ? AND finished_at < ?", (lo, hi)).fetchone()[0]
            rects = conn.execute("SELECT * FROM rectifications WHERE opened_at >= ? AND "
                                 "opened_at < ?", (lo, hi)).fetchall()
            complaints = conn.execute("SELECT * FROM complaints WHERE opened_at >= ? AND "
                                      "opened_at < ?", (lo, hi)).fetchall()
            return {"from": start.isoformat(), "to": end.isoformat(),
                    "ratings": self._rating_figures(ratings, served),
                    "rectifications": self._rect_figures(rects, today),
                    "complaints": self._complaint_figures(complaints, today),
                    "ranking": self._ranking(ratings)}

        result = await self.service.store.read(read)
        parts = (result["rectifications"]["callback_on_time"],
                 result["rectifications"]["fix_on_time"], result["complaints"]["on_time"])
        wholes = (result["rectifications"]["called_back"], result["rectifications"]["fixed"],
                  result["complaints"]["answered"])
        result["on_time_rate"] = rate(sum(parts), sum(wholes))
        return result

    def _rating_figures(self, rows: list[sqlite3.Row], served: int) -> dict[str, Any]:
        dist = distribution(Counter(r["level"] for r in rows))
        self_initiated = sum(1 for r in rows if r["mode"] == "self_initiated")
        indicators = {}
        for key in INDICATORS:
            values = [r[key] for r in rows if r[key] is not None]
            indicators[key] = round(sum(values) / len(values), 2) if values else None
        return {**dist, "served": served, "rating_rate": rate(dist["count"], served),
                "self_initiated": self_initiated,
                "self_initiated_rate": rate(self_initiated, dist["count"]),
                "by_channel": dict(Counter(r["channel"] for r in rows)),
                "by_mode": dict(Counter(r["mode"] for r in rows)),
                "indicators": indicators}

    def _rect_figures(self, rows: list[sqlite3.Row], today: date) -> dict[str, Any]:
        called = [r for r in rows if r["called_back_at"] is not None]
        fixed = [r for r in rows if r["fixed_at"] is not None]
        callback_on_time = sum(1 for r in called
                               if self._on_time(r["called_back_at"], r["callback_due"]))
        fix_on_time = sum(1 for r in fixed if self._on_time(r["fixed_at"], r["fix_due"]))
        return {
            "count": len(rows), "called_back": len(called),
            "callback_rate": rate(len(called), len(rows)),
            "callback_on_time": callback_on_time,
            "callback_on_time_rate": rate(callback_on_time, len(called)),
            "fixed": len(fixed), "fix_rate": rate(len(fixed), len(rows)),
            "fix_on_time": fix_on_time, "fix_on_time_rate": rate(fix_on_time, len(fixed)),
            "closed": sum(1 for r in rows if r["status"] == "closed"),
            "satisfied": sum(1 for r in rows if r["view"] == "satisfied"),
            "unsatisfied": sum(1 for r in rows if r["view"] == "unsatisfied"),
            "appeals_upheld": sum(1 for r in rows if r["appeal_upheld"] == 1),
            "overdue": sum(1 for r in rows if self._overdue("rectification", r, today)),
        }

    def _complaint_figures(self, rows: list[sqlite3.Row], today: date) -> dict[str, Any]:
        answered = [r for r in rows if r["answered_at"] is not None]
        on_time = sum(1 for r in answered if self._on_time(r["answered_at"], r["due"]))
        contacted = sum(1 for r in rows if r["contacted_at"] is not None and r["contact_due"]
                        and self._day(r["contacted_at"]).isoformat() <= r["contact_due"])

        def by(key: str, name: Callable[[Any], str | None] | None = None
               ) -> list[dict[str, Any]]:
            counts = Counter(r[key] for r in rows)
            return [{"key": k, "name": (name(k) if name else k), "count": n}
                    for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]

        return {
            "count": len(rows), "answered": len(answered), "on_time": on_time,
            "on_time_rate": rate(on_time, len(answered)),
            "archived": sum(1 for r in rows if r["status"] == "archived"),
            "contacted_same_day": contacted,
            "contacted_same_day_rate": rate(contacted, len(rows)),
            "overdue": sum(1 for r in rows if self._overdue("complaint", r, today)),
            "by_window": by("window", self._window_name),
            "by_department": by("department"),
            "by_category": by("category"),
            "by_class": by("class", lambda k: COMPLAINT_CLASSES.get(k or "")),
            "by_source": by("source", lambda k: COMPLAINT_SOURCES.get(k)),
            # recurring problems: the services complained about more than once
            "recurring": [x for x in by("service", self._service_name) if x["count"] > 1
                          and x["key"] is not None],
        }

    def _ranking(self, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
        """Monthly window ranking: by average level, then fewer 差评, then more ratings."""
        groups: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            if r["window"] is not None:
                groups[self._day(r["rated_at"]).strftime("%Y-%m")][r["window"]].append(r["level"])
        months = []
        for month in sorted(groups):
            entries = []
            for window, levels in groups[month].items():
                bad = sum(1 for x in levels if x in BAD_LEVELS)
                entries.append({
                    "window": window, "window_name": self._window_name(window),
                    "count": len(levels), "average": round(sum(levels) / len(levels), 2),
                    "bad": bad, "bad_rate": rate(bad, len(levels)),
                    "satisfied_rate": rate(sum(1 for x in levels if x >= 4), len(levels))})
            entries.sort(key=lambda e: (-e["average"], e["bad_rate"], -e["count"], e["window"]))
            for rank, entry in enumerate(entries, start=1):
                entry["rank"] = rank
            months.append({"month": month, "windows": entries})
        return months
