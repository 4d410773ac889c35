"""好差评: a citizen's rating of one served ticket, from the window tablet, the serial
evaluator or the ticket's phone page, and what a clerk may see of their own (`released`).

The rules are in hall.feedback's docstring and docs/feedback.md."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hall import errors
from hall.desk import CONTACT_MAX, Desk, int_field, text_field
from hall.model import State
from hall.service import Actor, audit
from hall.store import Tx

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_LEVELS = (1, 2)
INDICATORS = {"overall": "整体满意度", "efficiency": "服务效率", "quality": "服务水平",
              "attitude": "服务态度"}
RATING_CHANNELS = {"window_tablet": "窗口评价器(平板)", "serial_evaluator": "窗口评价器",
                   "qr_page": "扫码评价"}
RATING_MODES = {"prompted": "提示评价", "self_initiated": "主动评价", "invited": "邀请评价"}

# A rating whose 申诉 was upheld (a mistaken rating, found so on review) stays on record and in
# the manager's list, but counts in no figure: not in 差评率, averages or the window ranking.
COUNTED = "id NOT IN (SELECT rating_id FROM rectifications WHERE appeal_upheld = 1)"

COMMENT_MAX = 500
RATING_FIELDS = {"level", "reasons", "comment", "indicators", "contact", "invited"}
EVALUATE_FIELDS = {"number", "level", "reasons", "comment", "indicators"}


@dataclass(frozen=True)
class RatingInput:
    level: int
    reasons: tuple[str, ...]
    comment: str | None
    indicators: dict[str, int]
    contact: str | None


class RatingDesk(Desk):
    """Ratings by citizens: recorded once per served ticket; a 差评 opens its case."""

    # ------------------------------------------------------------------ rating input

    def check_rating(self, level: Any, reasons: Any = None, comment: Any = None,
                     indicators: Any = None, contact: Any = None) -> RatingInput:
        """Validate a rating before any transaction. No field has a default level: a rating
        without `level` is refused, never stored as a neutral one."""
        if level is None:
            raise errors.invalid("请选择评价等级", "level_required", "level")
        level = int_field(level, "level")
        if level not in LEVELS:
            raise errors.invalid("评价等级只能是 1 到 5 (5 非常满意 … 1 非常不满意)",
                                 "invalid_level", "level")
        offered = self.config.ratings.reasons.get(level, ())
        if reasons is None:
            reasons = []
        if not isinstance(reasons, list) or any(not isinstance(r, str) for r in reasons):
            raise errors.invalid("评价原因必须是一组文字", "invalid_reasons", "reasons")
        chosen = tuple(dict.fromkeys(r.strip() for r in reasons))
        unknown = [r for r in chosen if r not in offered]
        if unknown:
            raise errors.invalid(f"所选评价原因不属于{LEVELS[level]}的可选原因",
                                 "invalid_reasons", "reasons")
        if indicators is None:
            indicators = {}
        if not isinstance(indicators, dict):
            raise errors.invalid("评价指标格式不对", "invalid_indicators", "indicators")
        checked: dict[str, int] = {}
        for key, value in indicators.items():
            if key not in INDICATORS:
                raise errors.invalid(f"没有这个评价指标 (可选 {'、'.join(INDICATORS.values())})",
                                     "invalid_indicators", "indicators")
            if value is None:
                continue  # an indicator left blank is simply not rated
            if not isinstance(value, int) or isinstance(value, bool) or value not in LEVELS:
                raise errors.invalid(f"{INDICATORS[key]}只能是 1 到 5", "invalid_indicators",
                                     "indicators")
            checked[key] = value
        return RatingInput(level, chosen, text_field(comment, "comment", COMMENT_MAX), checked,
                           text_field(contact, "contact", CONTACT_MAX))

    def form(self) -> dict[str, Any]:
        """What a rating page offers: levels, reasons per level, the four indicators."""
        return {
            "levels": [{"level": k, "name": v} for k, v in LEVELS.items()],
            "reasons": {str(k): list(v) for k, v in sorted(self.config.ratings.reasons.items())},
            "indicators": [{"key": k, "name": v} for k, v in INDICATORS.items()],
            "days_open": self.config.ratings.days_open,
        }

    # ------------------------------------------------------------------ rating (citizens)

    def _record_rating(self, tx: Tx, ticket: sqlite3.Row, inp: RatingInput, channel: str,
                       mode: str, ts: float) -> dict[str, Any]:
        if ticket["state"] != State.DONE:
            raise errors.conflict("这张号票还没有办理完毕，办理后才能评价", "not_served")
        if tx.one("SELECT 1 FROM ratings WHERE ticket_id = ?", (ticket["id"],)):
            raise errors.conflict("这张号票已经评价过了，每次办事只评价一次", "already_rated")
        ind = inp.indicators
        cur = tx.conn.execute(
            "INSERT INTO ratings (ticket_id, number, day, window, clerk, service, queue, level, "
            "reasons, comment, overall, efficiency, quality, attitude, channel, mode, "
            "rated_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ticket["id"], ticket["number"], ticket["day"], ticket["window"], ticket["clerk"],
             ticket["service"], ticket["queue"], inp.level,
             json.dumps(list(inp.reasons), ensure_ascii=False), self.sealer.seal(inp.comment),
             ind.get("overall"), ind.get("efficiency"), ind.get("quality"), ind.get("attitude"),
             channel, mode, ts, ticket["finished_at"]))
        rating_id = int(cur.lastrowid or 0)
        window = ticket["window"]
        # the citizen's own act, in the audit log (issue 10.6): which rating, where and by
        # which channel; not how (the level is in the ratings, read by managers)
        audit(tx, Actor(None, channel), "rating", f"rating:{rating_id}", True,
              f"window:{window}" if window is not None else None)
        data = {"number": ticket["number"], "window": window,
                "window_name": self._window_name(window), "level": inp.level,
                "level_name": LEVELS[inp.level]}
        follow_up = None
        if inp.level in BAD_LEVELS:
            # one event either way (hall.events: no seq gap tells a 差评 from a good rating)
            follow_up = self._open_rectification(tx, ticket, rating_id, inp, ts, data)
        else:
            tx.emit("rating.recorded", data)
        return {"id": rating_id, "number": ticket["number"], "level": inp.level,
                "level_name": LEVELS[inp.level], "channel": channel, "mode": mode,
                "rated_at": self._iso(ts), "follow_up": follow_up}

    async def rate_ticket(self, token: str, inp: RatingInput,
                          invited: bool = False) -> dict[str, Any]:
        """The phone/QR page: the token in the path names the one ticket it may rate."""
        now, ts, _ = self._now()
        limit = self.config.ratings.days_open * 86400
        mode = "invited" if invited else "self_initiated"

        def op(tx: Tx) -> dict[str, Any]:
            ticket = tx.one("SELECT * FROM tickets WHERE token = ?", (token,))
            if ticket is None:
                raise errors.not_found("没有找到这张号票", "unknown_ticket")
            if (ticket["state"] == State.DONE and ts - (ticket["finished_at"] or ts) > limit
                    and not tx.one("SELECT 1 FROM ratings WHERE ticket_id = ?", (ticket["id"],))):
                raise errors.conflict(
                    f"办结 {self.config.ratings.days_open} 天后不能再评价", "rating_closed")
            return self._record_rating(tx, ticket, inp, "qr_page", mode, ts)

        return await self._write(op, now)

    def _pending(self, conn: sqlite3.Connection, window: int, ts: float) -> sqlite3.Row | None:
        """The ticket just finished at this window, if recent and not yet rated. Only the
        latest counts: once it is rated (or the next citizen is done) an earlier one is gone."""
        since = ts - self.config.ratings.tablet_minutes * 60
        row = conn.execute(
            "SELECT * FROM tickets WHERE window = ? AND state = 'done' AND finished_at >= ? "
            "ORDER BY finished_at DESC, id DESC LIMIT 1", (window, since)).fetchone()
        if row is None or conn.execute("SELECT 1 FROM ratings WHERE ticket_id = ?",
                                       (row["id"],)).fetchone():
            return None
        return row

    async def evaluate_info(self, window: int) -> dict[str, Any]:
        """For the window tablet: the pending ticket by number only (a public device: no
        token, no service detail beyond its name) and the rating form."""
        self.service._window(window)
        _, ts, _ = self._now()

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = self._pending(conn, window, ts)
            if row is None:
                return None
            return {"number": row["number"], "service_name": self._service_name(row["service"]),
                    "finished_at": self._iso(row["finished_at"])}

        pending = await self.service.store.read(read)
        return {"window": {"number": window, "name": self._window_name(window)},
                "pending": pending, **self.form()}

    async def rate_pending(self, window: int, number: Any, inp: RatingInput,
                           channel: str = "window_tablet") -> dict[str, Any]:
        """Rate the ticket pending at `window`; with `number`, only if it is that ticket (the
        tablet names what it showed, so a late tap never rates the next citizen's ticket)."""
        self.service._window(window)
        if channel not in ("window_tablet", "serial_evaluator"):
            raise errors.invalid("窗口评价只能来自窗口评价器", "invalid_channel", "channel")
        if number is not None and not isinstance(number, str):
            raise errors.invalid("号码格式不对，应如 A005", "invalid_number", "number")
        now, ts, _ = self._now()

        def op(tx: Tx) -> dict[str, Any]:
            row = self._pending(tx.conn, window, ts)
            if row is None:
                raise errors.conflict("本窗口现在没有待评价的号票", "nothing_to_rate")
            if number is not None and row["number"] != number.strip().upper():
                raise errors.conflict(f"{number.strip().upper()} 不是本窗口待评价的号票",
                                      "not_pending")
            return self._record_rating(tx, row, inp, channel, "prompted", ts)

        return await self._write(op, now)

    async def rate_at_window(self, window: int, level: int,
                             channel: str = "serial_evaluator") -> dict[str, Any]:
        """The serial evaluator pad's key press: rate whatever is pending at its window."""
        return await self.rate_pending(window, None, self.check_rating(level), channel)

    async def window_ratings(self, window: int) -> dict[str, Any]:
        """What a clerk may see of their window: aggregates of this month and last month that
        no single rating can be read from (`released`): only ratings of days already over,
        and only in batches of at least `[ratings] clerk_min_ratings`. Today's ratings, and
        a batch still short of N, are not in them (managers see everything)."""
        self.service._window(window)
        _, _, today = self._now()
        month = today.replace(day=1)
        last = (month - timedelta(days=1)).replace(day=1)
        lo, _ = self._range(last, today)
        hi, _ = self._range(today, today)  # today 00:00: only days that are over
        minimum = self.config.ratings.clerk_min_ratings

        def read(conn: sqlite3.Connection) -> list[tuple[str, int]]:
            rows = conn.execute(f"SELECT rated_at, level FROM ratings WHERE window = ? AND "
                                f"rated_at >= ? AND rated_at < ? AND {COUNTED}",
                                (window, lo, hi)).fetchall()
            return [(self._day(r[0]).isoformat(), r[1]) for r in rows]

        rows = await self.service.store.read(read)

        def period(first: date) -> dict[str, Any]:
            key = first.isoformat()[:7]
            levels, through = released([r for r in rows if r[0][:7] == key], minimum)
            return {"month": key, **distribution(Counter(levels)), "through": through}

        return {"window": {"number": window, "name": self._window_name(window)},
                "min_ratings": minimum, "month": period(month), "last_month": period(last)}



def released(ratings: list[tuple[str, int]], minimum: int) -> tuple[list[int], str | None]:
    """The levels of (day, level) ratings a clerk may see, and the last day they cover.

    Whole days are added, in order, to a batch until it holds `minimum` ratings; then the
    batch is released. Each change a clerk can see thus adds at least `minimum` ratings of
    days already over, so a difference between two looks never isolates one citizen's
    rating (the one who just left, or yesterday's only one). The rest waits for more."""
    shown: list[int] = []
    batch: list[int] = []
    through = None
    days: dict[str, list[int]] = defaultdict(list)
    for day, level in ratings:
        days[day].append(level)
    for day in sorted(days):
        batch += days[day]
        if len(batch) >= minimum:
            shown += batch
            batch = []
            through = day
    return shown, through


def rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 places; None (not 0) when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def distribution(counts: dict[int, int]) -> dict[str, Any]:
    count = sum(counts.values())
    total = sum(level * n for level, n in counts.items())
    bad = sum(n for level, n in counts.items() if level in BAD_LEVELS)
    return {"count": count,
            "distribution": {str(level): counts.get(level, 0) for level in sorted(LEVELS)},
            "average": round(total / count, 2) if count else None,
            "bad": bad, "bad_rate": rate(bad, count)}
