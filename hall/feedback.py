"""好差评 ratings and 办不成事 complaints, each with its closed loop (评价、整改、反馈、监督).

Part of the core and, like `hall.service`, a writer: every change here is one function = one
transaction through `service.store` that changes the rows, appends the case's timeline step,
writes the audit row for staff actions, and appends its event, published after commit.

Rules taken here (docs/feedback.md has the full list and the reasons):
* Rating is voluntary (the policy text: 不得强迫或者干擾評價人): no level is ever defaulted, a
  missing level is refused, reasons must be ones offered for the chosen level.
* One rating per ticket, only once it was served (`done`, whatever the outcome: a citizen
  turned away has the most to say). The phone page rates for `[ratings] days_open` days after
  service; the window tablet and the serial evaluator rate only the ticket just finished at
  that window, within `tablet_minutes`.
* Nothing public tells how anyone rated: a rating is one event, `rating.recorded` or (a 差评)
  `alarm.bad_rating`, which hall.events keeps to the managers' `/ws/manage` and shows on the
  public `/ws` only as `ticket.rated` (number and window); clerks get aggregates of their
  window released in batches of `clerk_min_ratings` (`released`); only managers list single
  ratings.
* A 差评 (1 or 2) raises `alarm.bad_rating` and opens a rectification case in the same
  transaction: 回访 due in `callback_days` working days, 整改 in `fix_days` (hall.workdays).
  A 回访 that reached nobody is an attempt on the timeline, not a 回访 done; an upheld 申诉
  takes its rating out of every figure (`COUNTED`); the citizen rates the fix on their
  ticket's page (`review_fix`).
* A complaint gets a short random reference (BC + 6 characters without 0/O/1/I) the citizen
  can quote on the phone; the sequential id stays internal to staff.
* What citizens type is sealed at rest like contacts (hall.sealed): the complaint's
  description and the rating's comment (people type ID and phone numbers into them; issue 9.8).
  Managers read them opened; nothing searches inside them.
* Contact details go in, never out: no public answer, no event, no audit detail carries them;
  managers see them masked (138****1234) and a manager who needs the number to call back uses
  the `reveal` action, which the audit log records.
* Events and alarms carry ids, statuses, windows, levels and dates: no description, comment,
  contact, ticket token or reference.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from hall import errors
from hall.config import HallConfig
from hall.datefmt import day_text
from hall.model import State
from hall.sealed import Sealer
from hall.service import Actor, HallService, audit
from hall.store import Tx
from hall.workdays import intake_day

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_LEVELS = (1, 2)
INDICATORS = {"overall": "整体满意度", "efficiency": "服务效率", "quality": "服务水平",
              "attitude": "服务态度"}
RATING_CHANNELS = {"window_tablet": "窗口评价器(平板)", "serial_evaluator": "窗口评价器",
                   "qr_page": "扫码评价"}
RATING_MODES = {"prompted": "提示评价", "self_initiated": "主动评价", "invited": "邀请评价"}
VIEWS = {"satisfied": "满意", "unsatisfied": "不满意", "no_answer": "未能联系上"}

# A rating whose 申诉 was upheld (a mistaken rating, found so on review) stays on record and in
# the manager's list, but counts in no figure: not in 差评率, averages or the window ranking.
COUNTED = "id NOT IN (SELECT rating_id FROM rectifications WHERE appeal_upheld = 1)"

COMMENT_MAX = 500
CONTACT_MAX = 100
TEXT_MAX = 1000
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Step:
    """One step of a case's loop: its Chinese name, the statuses it may start from, and the
    status it leads to (None: a step that records something without moving the case)."""

    name: str
    start: tuple[str, ...]
    to: str | None


RECT_STATUS = {"open": "待回访", "unreached": "回访未联系上", "called_back": "已回访",
               "classified": "已定性",
               "fixed": "已整改", "fed_back": "已反馈", "reviewed": "群众已评价",
               "closed": "已办结"}
_RECT_LIVE = ("open", "unreached", "called_back", "classified", "fixed", "fed_back", "reviewed")
RECT_STEPS = {
    "assign": Step("指派", _RECT_LIVE, None),
    # a 回访 that reached nobody leads to `unreached` instead (see `UNREACHED`): tried again
    # later, or the case goes on to 定性 with its 回访 still not done
    "callback": Step("回访", ("open", "unreached"), "called_back"),
    "classify": Step("定性", ("called_back", "unreached"), "classified"),
    "fix": Step("整改", ("classified",), "fixed"),
    "feedback": Step("反馈群众", ("fixed",), "fed_back"),
    "review": Step("群众评价整改", ("fed_back",), "reviewed"),
    "close": Step("办结", ("reviewed",), "closed"),
    "reopen": Step("重新整改", ("reviewed",), "classified"),
}
CLASSIFICATIONS = {"fix_now": "立行立改", "ledger": "列入台账限期整改",
                   "explanation": "解释说明", "appeal": "申诉"}

COMPLAINT_STATUS = {"received": "受理", "assessed": "研判", "assigned": "交办",
                    "resolved": "办结", "answered": "反馈", "followed_up": "回访",
                    "archived": "归档"}
_COMPLAINT_OPEN = ("received", "assessed", "assigned", "resolved")
COMPLAINT_STEPS = {
    "contact": Step("联系群众", (*_COMPLAINT_OPEN, "answered", "followed_up"), None),
    "assess": Step("研判", ("received",), "assessed"),
    "assign": Step("交办", ("assessed",), "assigned"),
    "resolve": Step("办结", ("assigned",), "resolved"),
    # out_of_scope cases are answered with their referral straight after 研判
    "answer": Step("反馈", ("resolved", "assessed"), "answered"),
    "follow_up": Step("回访", ("answered",), "followed_up"),
    "archive": Step("归档", ("followed_up",), "archived"),
}
COMPLAINT_CLASSES = {"simple": "简单事项", "complex": "复杂事项", "special": "特殊事项",
                     "out_of_scope": "不属于受理范围"}
COMPLAINT_SOURCES = {"window": "办不成事反映窗口", "clerk": "窗口办不成", "qr_page": "扫码反映",
                     "public": "网页反映"}
# A 回访 that reached nobody is an attempt, not a 回访 done: `apply` returns this key (True),
# the case goes to `unreached` (called_back_at stays empty: it counts as not done in 回访率 and
# stays overdue past its due date) and the timeline names it 回访未联系上. The fix need not wait
# for a citizen who cannot be reached, so `classify` may follow.
UNREACHED = "_unreached"
TIMELINE_NAMES = {"opened": "差评预警", "receive": "受理", "callback_unreached": "回访未联系上",
                  **{k: s.name for k, s in RECT_STEPS.items()},
                  **{f"c.{k}": s.name for k, s in COMPLAINT_STEPS.items()}}

RATING_FIELDS = {"level", "reasons", "comment", "indicators", "contact", "invited"}
EVALUATE_FIELDS = {"number", "level", "reasons", "comment", "indicators"}
COMPLAINT_FIELDS = {"description", "service", "window", "ticket", "contact"}
WINDOW_COMPLAINT_FIELDS = {"description", "service", "window", "ticket", "contact", "category"}


@dataclass(frozen=True)
class RatingInput:
    level: int
    reasons: tuple[str, ...]
    comment: str | None
    indicators: dict[str, int]
    contact: str | None


def mask_contact(contact: str | None) -> str | None:
    """What a manager's screen shows of a contact: a phone as 138****1234, anything else as
    its first character. Names beside a number are dropped rather than half-shown."""
    if not contact:
        return None
    digits = re.sub(r"\D", "", contact)
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return contact.strip()[:1] + "***"


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    """A page that sends a field we ignore would believe it did something (say, rated another
    ticket by number): refuse instead."""
    extra = sorted(set(body) - allowed)
    if extra:
        raise errors.invalid("请求中有无法识别的内容", "unknown_field", ",".join(extra))


def _text(value: Any, name: str, limit: int = TEXT_MAX, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise errors.invalid(f"请填写{errors.label(name)}", f"{name}_required", name)
        return None
    if not isinstance(value, str):
        raise errors.invalid(f"{errors.label(name)}必须是文字", f"invalid_{name}", name)
    value = value.strip()
    if len(value) > limit:
        raise errors.invalid(f"{errors.label(name)}不能超过 {limit} 个字", f"{name}_too_long", name)
    return value


def _int_value(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise errors.invalid(f"{errors.label(name)}必须是整数", f"invalid_{name}", name)
    return value


class Feedback:
    """Ratings, rectification cases and complaints over the hall's one store."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.config = service.config
        self.tz = service.tz
        self.sealer = Sealer(service.store.path.with_suffix(".key"))
        service.open_failed_case = self._open_failed_case

    # ------------------------------------------------------------------ time helpers

    def _now(self) -> tuple[datetime, float, date]:
        now = self.service.clock()
        return now, now.timestamp(), now.astimezone(self.tz).date()

    def _day(self, ts: float) -> date:
        return datetime.fromtimestamp(ts, self.tz).date()

    def _iso(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")

    def _working(self, start: date, n: int) -> date:
        return self.config.workdays.add(start, n)

    def _range(self, start: date, end: date) -> tuple[float, float]:
        """[start 00:00, end+1 00:00) in the hall's timezone, as timestamps."""
        if end < start:
            raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
        lo = datetime.combine(start, time(), self.tz).timestamp()
        hi = datetime.combine(end + timedelta(days=1), time(), self.tz).timestamp()
        return lo, hi

    def _window_name(self, number: int | None) -> str | None:
        if number is None or not self.config.has_window(number):
            return None
        return self.config.window(number).name

    def _service_name(self, service_id: str | None) -> str | None:
        if service_id is None or not self.config.has_service(service_id):
            return None
        return self.config.service(service_id).name

    # ------------------------------------------------------------------ rating input

    def check_rating(self, level: Any, reasons: Any = None, comment: Any = None,
                     indicators: Any = None, contact: Any = None) -> RatingInput:
        """Validate a rating before any transaction. No field has a default level: a rating
        without `level` is refused, never stored as a neutral one."""
        if level is None:
            raise errors.invalid("请选择评价等级", "level_required", "level")
        level = _int_value(level, "level")
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
        return RatingInput(level, chosen, _text(comment, "comment", COMMENT_MAX), checked,
                           _text(contact, "contact", CONTACT_MAX))

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

    def _open_rectification(self, tx: Tx, ticket: sqlite3.Row, rating_id: int,
                            inp: RatingInput, ts: float, rating: dict[str, Any]
                            ) -> dict[str, Any]:
        day = self._day(ts)
        callback_due = self._working(day, self.config.ratings.callback_days).isoformat()
        fix_due = self._working(day, self.config.ratings.fix_days).isoformat()
        cur = tx.conn.execute(
            "INSERT INTO rectifications (rating_id, ticket_id, window, clerk, service, level, "
            "opened_at, day, status, contact, callback_due, fix_due) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)",
            (rating_id, ticket["id"], ticket["window"], ticket["clerk"], ticket["service"],
             inp.level, ts, day.isoformat(), self.sealer.seal(inp.contact), callback_due,
             fix_due))
        case_id = int(cur.lastrowid or 0)
        self._step(tx, "rectification", case_id, "opened", "open", ts, None,
                   f"{LEVELS[inp.level]}，回访期限 {day_text(callback_due)}，"
                   f"整改期限 {day_text(fix_due)}")
        tx.emit("alarm.bad_rating", {**rating, "rectification": case_id,
                                     "callback_due": callback_due, "fix_due": fix_due})
        return {"callback_due": callback_due, "fix_due": fix_due}

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
            return {"month": key, **_distribution(Counter(levels)), "through": through}

        return {"window": {"number": window, "name": self._window_name(window)},
                "min_ratings": minimum, "month": period(month), "last_month": period(last)}

    async def ticket_follow_up(self, token: str) -> dict[str, Any]:
        """What the phone page owes the ticket's holder beyond its state: the reason given for
        不予受理, a 过号 requeued or voided, the 办不成事 cases of this ticket (reference,
        status, the answer once given) and the 差评整改 case of its rating (status, the
        feedback to the citizen, whether they may rate the fix). The token is the holder's
        key: none of this goes to anyone else, and it names no clerk."""
        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            t = conn.execute("SELECT * FROM tickets WHERE token = ?", (token,)).fetchone()
            if t is None:
                return None
            complaints = conn.execute("SELECT * FROM complaints WHERE ticket_id = ? ORDER BY id",
                                      (t["id"],)).fetchall()
            rect = conn.execute("SELECT * FROM rectifications WHERE ticket_id = ? "
                                "ORDER BY id DESC LIMIT 1", (t["id"],)).fetchone()
            voided = t["state"] == State.NO_SHOW
            return {
                "reason": t["note"] if t["outcome"] == "rejected" else None,
                "missed": None if not t["skips"] else {
                    "times": t["skips"], "requeued": not voided, "voided": voided},
                "complaints": [{
                    "reference": c["reference"], "status": c["status"],
                    "status_name": COMPLAINT_STATUS.get(c["status"], c["status"]),
                    "opened_at": self._iso(c["opened_at"]), "due": c["due"],
                    "answer": _last_note(conn, "complaint", c["id"], "c.answer")
                    if c["answered_at"] is not None else None} for c in complaints],
                "rectification": None if rect is None else {
                    "status": rect["status"],
                    "status_name": RECT_STATUS.get(rect["status"], rect["status"]),
                    "callback_due": rect["callback_due"], "fix_due": rect["fix_due"],
                    "feedback": _last_note(conn, "rectification", rect["id"], "feedback")
                    if rect["fed_back_at"] is not None else None,
                    "review_open": rect["status"] == "fed_back",
                    "view": rect["view"], "view_name": VIEWS.get(rect["view"] or "")},
            }

        view = await self.service.store.read(read)
        if view is None:
            raise errors.not_found("没有找到这张号票", "unknown_ticket")
        return view

    async def review_fix(self, token: str, body: dict[str, Any],
                         source: str | None) -> dict[str, Any]:
        """The citizen rates the fix of their 差评 from their own ticket page: the case's
        `review` step (群众评价整改), taken by nobody but the token's holder, once the fix was
        fed back to them. A manager can still record a view heard on the phone."""
        reject_unknown(body, {"view"})
        view = body.get("view")
        if view not in ("satisfied", "unsatisfied"):
            raise errors.invalid("请选择 满意 或 不满意", "invalid_view")

        def read(conn: sqlite3.Connection) -> sqlite3.Row | None:
            return conn.execute(
                "SELECT x.id, x.status FROM rectifications x JOIN tickets t ON t.id = x.ticket_id "
                "WHERE t.token = ? ORDER BY x.id DESC LIMIT 1", (token,)).fetchone()

        row = await self.service.store.read(read)
        if row is None:
            raise errors.not_found("这张号票没有需要评价的整改", "no_case")
        if row["status"] != "fed_back":
            raise errors.conflict("现在没有待您评价的整改结果", "review_closed")
        case = await self._case_step("rectification", row["id"], "review", Actor(None, source),
                                     {"view": view, "note": "群众在号票页评价"})
        return {"status": case["status"], "status_name": case["status_name"],
                "view": case["view"], "view_name": VIEWS[view]}

    async def _write(self, op: Callable[[Tx], Any], now: datetime) -> Any:
        return await self.service.store.write(op, now)

    # ------------------------------------------------------------------ complaints (open)

    def _new_reference(self, tx: Tx) -> str:
        while True:
            ref = "BC" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
            if not tx.one("SELECT 1 FROM complaints WHERE reference = ?", (ref,)):
                return ref

    def _open_complaint(self, tx: Tx, *, source: str, description: str,
                        service: str | None, window: int | None, ticket_id: int | None,
                        clerk: str | None, contact: str | None, category: str | None,
                        face_to_face: bool, ts: float, user: str | None) -> dict[str, Any]:
        """Receive (受理) a complaint: due the same working day for 研判 and the first contact.
        Taken face to face at the complaint window, that contact is made on the spot."""
        day = self._day(ts)
        # after closing time the first working day is the next one, never a day already over
        received = intake_day(datetime.fromtimestamp(ts, self.tz), self.config.hall.close)
        due = self._working(received, 0).isoformat()
        reference = self._new_reference(tx)
        cur = tx.conn.execute(
            "INSERT INTO complaints (opened_at, source, ticket_id, service, window, clerk, "
            "description, contact, status, reference, day, category, contact_due, due, "
            "contacted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?, ?, ?)",
            (ts, source, ticket_id, service, window, clerk, self.sealer.seal(description),
             self.sealer.seal(contact), reference,
             day.isoformat(), category, due, due, ts if face_to_face else None))
        case_id = int(cur.lastrowid or 0)
        note = COMPLAINT_SOURCES[source] + ("，当面沟通" if face_to_face else "")
        self._step(tx, "complaint", case_id, "receive", "received", ts, user, note)
        tx.emit("alarm.complaint", {
            "complaint": case_id, "source": source, "source_name": COMPLAINT_SOURCES[source],
            "window": window, "window_name": self._window_name(window), "status": "received",
            "due": due})
        return {"id": case_id, "reference": reference, "status": "received",
                "status_name": COMPLAINT_STATUS["received"], "due": due}

    def _open_failed_case(self, tx: Tx, ticket: sqlite3.Row, window: int, actor: Actor,
                          note: str | None, ts: float) -> str:
        """service.finish(outcome="failed"): the case opens in the finish's own transaction."""
        opened = self._open_complaint(
            tx, source="clerk", description=(note or "").strip() or "窗口办理未成功 (办不成)",
            service=ticket["service"], window=window, ticket_id=ticket["id"], clerk=actor.user,
            contact=None, category=None, face_to_face=False, ts=ts, user=actor.user)
        return f"complaint:{opened['id']}"

    def _check_place(self, service: Any, window: Any) -> tuple[str | None, int | None]:
        if service is not None and (not isinstance(service, str)
                                    or not self.config.has_service(service)):
            raise errors.not_found("没有这个办理事项", "unknown_service", "service")
        if window is not None:
            window = _int_value(window, "window")
            self.service._window(window)
        return service, window

    async def open_complaint(self, body: dict[str, Any]) -> dict[str, Any]:
        """A citizen's own report: on the phone page (`ticket`: their token, which fills in
        service and window) or on the public page."""
        reject_unknown(body, COMPLAINT_FIELDS)
        description = _text(body.get("description"), "description", required=True)
        service, window = self._check_place(body.get("service"), body.get("window"))
        contact = _text(body.get("contact"), "contact", CONTACT_MAX)
        token = body.get("ticket")
        if token is not None and not isinstance(token, str):
            raise errors.invalid("号票查询码格式不对", "invalid_ticket", "ticket")
        now, ts, _ = self._now()

        def op(tx: Tx) -> dict[str, Any]:
            ticket = None
            if token is not None:
                ticket = tx.one("SELECT * FROM tickets WHERE token = ?", (token,))
                if ticket is None:
                    raise errors.not_found("没有找到这张号票", "unknown_ticket")
                # the page shows the open case instead of a second form; a retry gets this
                open_case = tx.one("SELECT reference FROM complaints WHERE ticket_id = ? AND "
                                   "status != 'archived' ORDER BY id DESC LIMIT 1",
                                   (ticket["id"],))
                if open_case is not None:
                    raise errors.conflict(
                        f"这张号票的办不成事反映正在处理中（受理编号 {open_case['reference']}），"
                        "无需重复提交", "complaint_open")
            return self._open_complaint(
                tx, source="qr_page" if ticket is not None else "public",
                description=description or "",
                service=service or (ticket["service"] if ticket is not None else None),
                window=window or (ticket["window"] if ticket is not None else None),
                ticket_id=ticket["id"] if ticket is not None else None,
                clerk=ticket["clerk"] if ticket is not None else None,
                contact=contact, category=None, face_to_face=False, ts=ts, user=None)

        return await self._write(op, now)

    async def open_window_complaint(self, number: int, actor: Actor,
                                    body: dict[str, Any]) -> dict[str, Any]:
        """The 办不成事反映窗口: its clerk records the citizen's case face to face. `ticket` is
        the number (today's) of the ticket that went nowhere, if the citizen has it."""
        self.service._window(number)
        if self.config.window(number).kind != "complaint":
            raise errors.forbidden(f"{self._window_name(number)}不是办不成事反映窗口",
                                   "not_complaint_window")
        reject_unknown(body, WINDOW_COMPLAINT_FIELDS)
        description = _text(body.get("description"), "description", required=True)
        service, window = self._check_place(body.get("service"), body.get("window"))
        contact = _text(body.get("contact"), "contact", CONTACT_MAX)
        category = self._check_category(body.get("category"))
        ticket_number = body.get("ticket")
        if ticket_number is not None and not isinstance(ticket_number, str):
            raise errors.invalid("号码格式不对，应如 C003", "invalid_ticket", "ticket")
        now, ts, today = self._now()

        def op(tx: Tx) -> dict[str, Any]:
            ticket = None
            if ticket_number is not None:
                ticket = tx.one("SELECT * FROM tickets WHERE day = ? AND number = ?",
                                (today.isoformat(), ticket_number.strip().upper()))
                if ticket is None:
                    raise errors.not_found("今天没有这个号码", "unknown_number", "ticket")
            opened = self._open_complaint(
                tx, source="window", description=description or "",
                service=service or (ticket["service"] if ticket is not None else None),
                window=window or (ticket["window"] if ticket is not None else None),
                ticket_id=ticket["id"] if ticket is not None else None,
                clerk=ticket["clerk"] if ticket is not None else None,
                contact=contact, category=category, face_to_face=True, ts=ts, user=actor.user)
            audit(tx, actor, "complaint.receive", f"complaint:{opened['id']}", True,
                  f"window:{number}")
            return opened

        try:
            return await self._write(op, now)
        except errors.HallError as exc:
            await self.service.record_audit(actor, "complaint.receive", f"window:{number}",
                                            False, exc.code)
            raise

    def _check_category(self, category: Any) -> str | None:
        category = _text(category, "category", 50)
        known = self.config.complaints.categories
        if category is not None and known and category not in known:
            raise errors.invalid(f"没有这个分类 (可选 {'、'.join(known)})",
                                 "invalid_category", "category")
        return category

    # ------------------------------------------------------------------ case steps

    def _step(self, tx: Tx, kind: str, case_id: int, step: str, status: str, ts: float,
              user: str | None, note: str | None) -> None:
        tx.conn.execute("INSERT INTO case_steps (kind, case_id, step, status, time, user, note) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (kind, case_id, step, status, ts, user,
                                                         note))

    async def rectification_step(self, case_id: int, action: str, actor: Actor,
                                 body: dict[str, Any]) -> dict[str, Any]:
        return await self._case_step("rectification", case_id, action, actor, body)

    async def complaint_step(self, case_id: int, action: str, actor: Actor,
                             body: dict[str, Any]) -> dict[str, Any]:
        return await self._case_step("complaint", case_id, action, actor, body)

    async def _case_step(self, kind: str, case_id: int, action: str, actor: Actor,
                         body: dict[str, Any]) -> dict[str, Any]:
        """One manager step: checks, change, timeline, audit and event in one transaction; a
        refusal is audited as a failure and answered (409 names the current status)."""
        steps = RECT_STEPS if kind == "rectification" else COMPLAINT_STEPS
        if action not in steps:
            raise errors.not_found("没有这个操作", "unknown_action")
        apply = self._rect_apply if kind == "rectification" else self._complaint_apply
        table = "rectifications" if kind == "rectification" else "complaints"
        statuses = RECT_STATUS if kind == "rectification" else COMPLAINT_STATUS
        label = "整改" if kind == "rectification" else "投诉"
        now, ts, today = self._now()
        step = steps[action]

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one(f"SELECT * FROM {table} WHERE id = ?", (case_id,))
            if row is None:
                raise errors.not_found(f"没有这个{label}案件: {case_id}", "unknown_case")
            if row["status"] not in step.start:
                raise errors.conflict(
                    f"该{label}当前状态为{statuses.get(row['status'], '未知')}，不能{step.name}",
                    "illegal_state")
            changes, note = apply(action, row, body, ts, today)
            unreached = bool(changes.pop(UNREACHED, False))
            status = "unreached" if unreached else step.to or row["status"]
            changes["status"] = status
            sets = ", ".join(f"{k} = ?" for k in changes)
            tx.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?",
                            (*changes.values(), case_id))
            timeline_step = action if kind == "rectification" else f"c.{action}"
            if unreached:
                timeline_step += "_unreached"
            self._step(tx, kind, case_id, timeline_step, status, ts, actor.user, note)
            audit(tx, actor, f"{kind}.{action}", f"{kind}:{case_id}", True, status)
            fresh = tx.one(f"SELECT * FROM {table} WHERE id = ?", (case_id,))
            tx.emit(f"{kind}.updated", {
                "id": case_id, "step": action, "status": status,
                "status_name": statuses[status], "window": fresh["window"],
                "overdue": bool(self._overdue(kind, fresh, today))})
            return self._case_view(tx.conn, kind, fresh, today)

        try:
            return await self._write(op, now)
        except errors.HallError as exc:
            await self.service.record_audit(actor, f"{kind}.{action}", f"{kind}:{case_id}",
                                            False, exc.code)
            raise

    def _rect_apply(self, action: str, row: sqlite3.Row, body: dict[str, Any], ts: float,
                    today: date) -> tuple[dict[str, Any], str | None]:
        """The columns a rectification step changes, and its timeline note."""
        note = _text(body.get("note"), "note")
        if action == "assign":
            assignee = _text(body.get("assignee"), "assignee", 64, required=True)
            return {"assignee": assignee}, f"指派给 {assignee}" + (f"：{note}" if note else "")
        if action == "callback":
            note = _text(body.get("note"), "note", required=True)
            reached = body.get("reached", True)
            if not isinstance(reached, bool):
                raise errors.invalid("请选择是否联系上", "invalid_reached", "reached")
            if not reached:  # an attempt, not a 回访 done (UNREACHED)
                return {UNREACHED: True}, note
            return {"called_back_at": ts}, note
        if action == "classify":
            kind = body.get("classification")
            if not isinstance(kind, str) or kind not in CLASSIFICATIONS:
                raise errors.invalid(f"定性只能是 {'、'.join(CLASSIFICATIONS.values())} 之一",
                                     "invalid_classification", "classification")
            changes: dict[str, Any] = {"classification": kind, "classified_at": ts}
            if kind == "ledger":
                changes["fix_due"] = self._deadline(body.get("deadline"), today).isoformat()
            elif body.get("deadline") is not None:
                raise errors.invalid("只有列入台账才设整改期限", "invalid_deadline", "deadline")
            if kind == "appeal" and not note:
                raise errors.invalid("申诉需要写明理由", "note_required", "note")
            text = CLASSIFICATIONS[kind]
            if kind == "ledger":
                text += f"，整改期限 {day_text(changes['fix_due'])}"
            return changes, text + (f"：{note}" if note else "")
        if action == "fix":
            measures = _text(body.get("measures"), "measures", required=True)
            changes = {"fixed_at": ts}
            text = measures or ""
            if row["classification"] == "appeal":
                upheld = body.get("upheld")
                if not isinstance(upheld, bool):
                    raise errors.invalid("申诉需写明审核结果 (申诉成立或不成立)",
                                         "upheld_required", "upheld")
                changes["appeal_upheld"] = int(upheld)
                text = ("申诉成立：" if upheld else "申诉不成立：") + text
            return changes, text
        if action == "feedback":
            note = _text(body.get("note"), "note", required=True)
            return {"fed_back_at": ts}, note
        if action == "review":
            view = body.get("view")
            if not isinstance(view, str) or view not in VIEWS:
                raise errors.invalid(f"群众意见只能是 {'、'.join(VIEWS.values())} 之一",
                                     "invalid_view", "view")
            return {"view": view, "reviewed_at": ts}, VIEWS[view] + (f"：{note}" if note else "")
        if action == "close":
            return {"closed_at": ts}, note
        # reopen: the citizen was not satisfied with the fix; it is fixed again
        note = _text(body.get("note"), "note", required=True)
        return {"fixed_at": None, "fed_back_at": None, "reviewed_at": None, "view": None}, note

    def _deadline(self, value: Any, today: date) -> date:
        if not isinstance(value, str):
            raise errors.invalid("列入台账需要填写整改期限", "deadline_required", "deadline")
        try:
            deadline = date.fromisoformat(value)
        except ValueError:
            raise errors.invalid("整改期限日期不对，应为 年-月-日", "invalid_deadline",
                                 "deadline") from None
        if deadline < today:
            raise errors.invalid("整改期限不能早于今天", "invalid_deadline", "deadline")
        return deadline

    def _complaint_apply(self, action: str, row: sqlite3.Row, body: dict[str, Any], ts: float,
                         today: date) -> tuple[dict[str, Any], str | None]:
        """The columns a complaint step changes, and its timeline note."""
        note = _text(body.get("note"), "note")
        out_of_scope = row["class"] == "out_of_scope"
        if action == "contact":
            return {"contacted_at": row["contacted_at"] or ts}, note
        if action == "assess":
            cls = body.get("class")
            if not isinstance(cls, str) or cls not in COMPLAINT_CLASSES:
                raise errors.invalid(f"分类只能是 {'、'.join(COMPLAINT_CLASSES.values())} 之一",
                                     "invalid_class", "class")
            category = self._check_category(body.get("category")) or row["category"]
            referral = _text(body.get("referral"), "referral")
            if cls == "out_of_scope" and not referral:
                raise errors.invalid("不属于受理范围的诉求必须写明转办/告知意见",
                                     "referral_required", "referral")
            days = self.config.complaints.deadlines[cls]
            due = self._working(date.fromisoformat(row["day"]), days).isoformat()
            text = f"{COMPLAINT_CLASSES[cls]}，期限 {day_text(due)}"
            if referral:
                text += f"，转办意见：{referral}"
            return ({"class": cls, "category": category, "referral": referral, "due": due,
                     "assessed_at": ts}, text + (f"；{note}" if note else ""))
        if action == "assign":
            if out_of_scope:
                raise errors.conflict("不属于受理范围的诉求不交办，请直接反馈转办意见",
                                      "illegal_state")
            department = body.get("department")
            if (not isinstance(department, str)
                    or department not in self.config.complaints.departments):
                raise errors.invalid(
                    f"承办部门只能是 {'、'.join(self.config.complaints.departments)} 之一",
                    "invalid_department", "department")
            chief = body.get("chief", False)
            if not isinstance(chief, bool):
                raise errors.invalid("请选择是否交首席事务代表", "invalid_chief", "chief")
            assignee = _text(body.get("assignee"), "assignee", 64)
            chief_window = chief_window_for(self.config, row["service"], row["window"]) \
                if chief else None
            text = department + ("首席事务代表" if chief else "")
            if chief_window is not None:
                text += f"（{self.config.window(chief_window).name}）"
            if assignee:
                text += f" ({assignee})"
            return ({"department": department, "chief": int(chief), "assignee": assignee,
                     "chief_window": chief_window, "assigned_at": ts},
                    "交办 " + text + (f"：{note}" if note else ""))
        if action == "resolve":
            note = _text(body.get("note"), "note", required=True)
            return {"resolved_at": ts}, note
        if action == "answer":
            if row["status"] == "assessed" and not out_of_scope:
                raise errors.conflict(
                    f"该投诉当前状态为{COMPLAINT_STATUS['assessed']}，需先交办、办结，"
                    "才能反馈", "illegal_state")
            note = note or (row["referral"] if out_of_scope else None)
            if not note:
                raise errors.invalid("反馈需要写明答复内容", "note_required", "note")
            return {"answered_at": ts}, note
        if action == "follow_up":
            view = body.get("view")
            if not isinstance(view, str) or view not in VIEWS:
                raise errors.invalid(f"群众意见只能是 {'、'.join(VIEWS.values())} 之一",
                                     "invalid_view", "view")
            return ({"view": view, "followed_up_at": ts},
                    VIEWS[view] + (f"：{note}" if note else ""))
        return {"archived_at": ts}, note  # archive

    async def reveal_contact(self, kind: str, case_id: int, actor: Actor) -> dict[str, Any]:
        """The unmasked contact, for the manager who phones the citizen: audited, never sent
        in a list, an event or a CSV."""
        table = "rectifications" if kind == "rectification" else "complaints"
        now = self.service.clock()

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one(f"SELECT contact FROM {table} WHERE id = ?", (case_id,))
            if row is None:
                raise errors.not_found(f"没有这个案件: {case_id}", "unknown_case")
            audit(tx, actor, f"{kind}.reveal_contact", f"{kind}:{case_id}", True, None)
            return {"id": case_id, "contact": self.sealer.open(row["contact"])}

        return await self._write(op, now)

    # ------------------------------------------------------------------ case views

    def _overdue(self, kind: str, row: sqlite3.Row, today: date) -> list[str]:
        """Which deadlines of a case have passed with their step not done."""
        late: list[str] = []
        key = today.isoformat()
        if kind == "rectification":
            if row["status"] == "closed":
                return late
            if row["called_back_at"] is None and key > row["callback_due"]:
                late.append("callback")
            if row["fixed_at"] is None and key > row["fix_due"]:
                late.append("fix")
            return late
        if row["status"] == "archived":
            return late
        if row["contacted_at"] is None and row["contact_due"] and key > row["contact_due"]:
            late.append("contact")
        if row["status"] in _COMPLAINT_OPEN and row["due"] and key > row["due"]:
            late.append("answer")
        return late

    def _next_due(self, kind: str, row: sqlite3.Row) -> str | None:
        if kind == "rectification":
            if row["status"] == "closed":
                return None
            if row["called_back_at"] is None:
                return row["callback_due"]
            return row["fix_due"] if row["fixed_at"] is None else None
        return row["due"] if row["status"] in _COMPLAINT_OPEN else None

    def _on_time(self, ts: float | None, due: str | None) -> bool | None:
        if ts is None or due is None:
            return None
        return self._day(ts).isoformat() <= due

    def _timeline(self, conn: sqlite3.Connection, kind: str, case_id: int,
                  statuses: dict[str, str]) -> list[dict[str, Any]]:
        rows = conn.execute("SELECT * FROM case_steps WHERE kind = ? AND case_id = ? ORDER BY id",
                            (kind, case_id)).fetchall()
        return [{"step": r["step"].removeprefix("c."),
                 "step_name": TIMELINE_NAMES.get(r["step"], r["step"]),
                 "status": r["status"], "status_name": statuses.get(r["status"], r["status"]),
                 "time": self._iso(r["time"]), "user": r["user"], "note": r["note"]}
                for r in rows]

    def _actions(self, kind: str, row: sqlite3.Row) -> list[str]:
        steps = RECT_STEPS if kind == "rectification" else COMPLAINT_STEPS
        out = [name for name, step in steps.items() if row["status"] in step.start]
        if kind == "complaint" and row["status"] == "assessed":
            drop = "assign" if row["class"] == "out_of_scope" else "answer"
            out.remove(drop)
        return out

    def _case_view(self, conn: sqlite3.Connection, kind: str, row: sqlite3.Row,
                   today: date) -> dict[str, Any]:
        if kind == "rectification":
            return self._rect_view(conn, row, today)
        return self._complaint_view(conn, row, today)

    def _rect_view(self, conn: sqlite3.Connection, row: sqlite3.Row,
                   today: date) -> dict[str, Any]:
        rating = conn.execute("SELECT * FROM ratings WHERE id = ?", (row["rating_id"],)).fetchone()
        late = self._overdue("rectification", row, today)
        return {
            "id": row["id"], "status": row["status"],
            "status_name": RECT_STATUS.get(row["status"], row["status"]),
            "level": row["level"], "level_name": LEVELS[row["level"]],
            "window": row["window"], "window_name": self._window_name(row["window"]),
            "clerk": row["clerk"], "service": row["service"],
            "service_name": self._service_name(row["service"]),
            "number": rating["number"] if rating is not None else None,
            "rating": None if rating is None else {
                "id": rating["id"], "reasons": json.loads(rating["reasons"]),
                "comment": self.sealer.open(rating["comment"]), "channel": rating["channel"],
                "mode": rating["mode"], "rated_at": self._iso(rating["rated_at"])},
            "opened_at": self._iso(row["opened_at"]), "assignee": row["assignee"],
            "contact": mask_contact(self.sealer.open(row["contact"])),
            "callback_due": row["callback_due"], "fix_due": row["fix_due"],
            "classification": row["classification"],
            "classification_name": CLASSIFICATIONS.get(row["classification"] or ""),
            "appeal_upheld": None if row["appeal_upheld"] is None else bool(row["appeal_upheld"]),
            "view": row["view"],
            "called_back_at": self._iso(row["called_back_at"]),
            "fixed_at": self._iso(row["fixed_at"]), "closed_at": self._iso(row["closed_at"]),
            "callback_on_time": self._on_time(row["called_back_at"], row["callback_due"]),
            "fix_on_time": self._on_time(row["fixed_at"], row["fix_due"]),
            "overdue": bool(late), "overdue_steps": late,
            "next_due": self._next_due("rectification", row),
            "actions": self._actions("rectification", row),
            "timeline": self._timeline(conn, "rectification", row["id"], RECT_STATUS),
        }

    def _complaint_view(self, conn: sqlite3.Connection, row: sqlite3.Row,
                        today: date) -> dict[str, Any]:
        late = self._overdue("complaint", row, today)
        number = None
        if row["ticket_id"] is not None:
            t = conn.execute("SELECT number FROM tickets WHERE id = ?",
                             (row["ticket_id"],)).fetchone()
            number = t[0] if t is not None else None
        contacted = row["contacted_at"]
        return {
            "id": row["id"], "reference": row["reference"], "status": row["status"],
            "status_name": COMPLAINT_STATUS.get(row["status"], row["status"]),
            "source": row["source"], "source_name": COMPLAINT_SOURCES.get(row["source"]),
            "opened_at": self._iso(row["opened_at"]),
            "description": self.sealer.open(row["description"]),
            "service": row["service"], "service_name": self._service_name(row["service"]),
            "window": row["window"], "window_name": self._window_name(row["window"]),
            "number": number, "clerk": row["clerk"],
            "contact": mask_contact(self.sealer.open(row["contact"])),
            "category": row["category"], "class": row["class"],
            "class_name": COMPLAINT_CLASSES.get(row["class"] or ""),
            "department": row["department"], "chief": bool(row["chief"]),
            "chief_window": row["chief_window"],
            "chief_window_name": self._window_name(row["chief_window"]),
            "assignee": row["assignee"], "referral": row["referral"], "view": row["view"],
            "contact_due": row["contact_due"], "due": row["due"],
            "contacted_at": self._iso(contacted),
            "contacted_same_day": contacted is not None and row["contact_due"] is not None
            and self._day(contacted).isoformat() <= row["contact_due"],
            "answered_at": self._iso(row["answered_at"]),
            "archived_at": self._iso(row["archived_at"]),
            "on_time": self._on_time(row["answered_at"], row["due"]),
            "overdue": bool(late), "overdue_steps": late,
            "next_due": self._next_due("complaint", row),
            "actions": self._actions("complaint", row),
            "timeline": self._timeline(conn, "complaint", row["id"], COMPLAINT_STATUS),
        }

    async def chief_cases(self, window: int) -> list[dict[str, Any]]:
        """The 办不成事 cases handed (交办) to the 首席事务代表 at `window` and not yet
        resolved, for that window's clerk: what to do and by when, never the contact (the
        manager reveals it when a call-back is needed)."""
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT * FROM complaints WHERE chief_window = ? AND status = 'assigned' "
                "ORDER BY due, id", (window,)).fetchall()
            return [{"id": r["id"], "reference": r["reference"], "status": r["status"],
                     "status_name": COMPLAINT_STATUS.get(r["status"], r["status"]),
                     "description": self.sealer.open(r["description"]), "service": r["service"],
                     "service_name": self._service_name(r["service"]),
                     "window": r["window"], "window_name": self._window_name(r["window"]),
                     "department": r["department"], "category": r["category"],
                     "due": r["due"], "assigned_at": self._iso(r["assigned_at"])}
                    for r in rows]

        return await self.service.store.read(read)

    async def case(self, kind: str, case_id: int) -> dict[str, Any]:
        table = "rectifications" if kind == "rectification" else "complaints"
        _, _, today = self._now()

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (case_id,)).fetchone()
            return None if row is None else self._case_view(conn, kind, row, today)

        view = await self.service.store.read(read)
        if view is None:
            raise errors.not_found(f"没有这个案件: {case_id}", "unknown_case")
        return view

    async def cases(self, kind: str, *, start: date | None = None, end: date | None = None,
                    status: str | None = None, window: int | None = None,
                    open_only: bool = False) -> list[dict[str, Any]]:
        """Cases with their timelines, overdue first, then by the next deadline, newest
        last among equals."""
        table = "rectifications" if kind == "rectification" else "complaints"
        statuses = RECT_STATUS if kind == "rectification" else COMPLAINT_STATUS
        if status is not None and status not in statuses:
            raise errors.bad_request(f"状态只能是 {'、'.join(statuses.values())} 之一",
                                     "invalid_query", "status")
        _, _, today = self._now()
        where, params = ["1 = 1"], []
        if start is not None or end is not None:
            lo, hi = self._range(start or date(2000, 1, 1), end or today)
            where.append("opened_at >= ? AND opened_at < ?")
            params += [lo, hi]
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if window is not None:
            where.append("window = ?")
            params.append(window)
        if open_only:
            where.append("status NOT IN ('closed', 'archived')")

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(f"SELECT * FROM {table} WHERE {' AND '.join(where)} "
                                "ORDER BY id DESC", params).fetchall()
            return [self._case_view(conn, kind, r, today) for r in rows]

        views = await self.service.store.read(read)
        views.sort(key=lambda v: (not v["overdue"], v["next_due"] or "9999-12-31"))
        return views

    async def alarms(self) -> list[dict[str, Any]]:
        """Open cases a manager must act on: every overdue case, and every case still waiting
        for its first step (a new 差评 or 办不成事). Ids and windows only: no personal data."""
        out: list[dict[str, Any]] = []
        for kind, fresh in (("rectification", "open"), ("complaint", "received")):
            label = "差评整改" if kind == "rectification" else "办不成事"
            for case in await self.cases(kind, open_only=True):
                where = case.get("window_name") or self._window_name(case.get("window")) or ""
                if case["overdue"]:
                    out.append({"kind": f"{kind}_overdue", kind: case["id"],
                                "window": case.get("window"),
                                "message": f"{label} #{case['id']} {where} 已超期"})
                elif case["status"] == fresh:
                    out.append({"kind": f"{kind}_new", kind: case["id"],
                                "window": case.get("window"),
                                "message": f"新{label} #{case['id']} {where} 待处理"})
        return out

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
        result["on_time_rate"] = _rate(sum(parts), sum(wholes))
        return result

    def _rating_figures(self, rows: list[sqlite3.Row], served: int) -> dict[str, Any]:
        dist = _distribution(Counter(r["level"] for r in rows))
        self_initiated = sum(1 for r in rows if r["mode"] == "self_initiated")
        indicators = {}
        for key in INDICATORS:
            values = [r[key] for r in rows if r[key] is not None]
            indicators[key] = round(sum(values) / len(values), 2) if values else None
        return {**dist, "served": served, "rating_rate": _rate(dist["count"], served),
                "self_initiated": self_initiated,
                "self_initiated_rate": _rate(self_initiated, dist["count"]),
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
            "callback_rate": _rate(len(called), len(rows)),
            "callback_on_time": callback_on_time,
            "callback_on_time_rate": _rate(callback_on_time, len(called)),
            "fixed": len(fixed), "fix_rate": _rate(len(fixed), len(rows)),
            "fix_on_time": fix_on_time, "fix_on_time_rate": _rate(fix_on_time, len(fixed)),
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
            "on_time_rate": _rate(on_time, len(answered)),
            "archived": sum(1 for r in rows if r["status"] == "archived"),
            "contacted_same_day": contacted,
            "contacted_same_day_rate": _rate(contacted, len(rows)),
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
                    "bad": bad, "bad_rate": _rate(bad, len(levels)),
                    "satisfied_rate": _rate(sum(1 for x in levels if x >= 4), len(levels))})
            entries.sort(key=lambda e: (-e["average"], e["bad_rate"], -e["count"], e["window"]))
            for rank, entry in enumerate(entries, start=1):
                entry["rank"] = rank
            months.append({"month": month, "windows": entries})
        return months


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


def _last_note(conn: sqlite3.Connection, kind: str, case_id: int, step: str) -> str | None:
    row = conn.execute("SELECT note FROM case_steps WHERE kind = ? AND case_id = ? AND step = ? "
                       "ORDER BY id DESC LIMIT 1", (kind, case_id, step)).fetchone()
    return None if row is None else row[0]


def _rate(part: int, whole: int) -> float | None:
    """A share rounded to 4 places; None (not 0) when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


def _distribution(counts: dict[int, int]) -> dict[str, Any]:
    count = sum(counts.values())
    total = sum(level * n for level, n in counts.items())
    bad = sum(n for level, n in counts.items() if level in BAD_LEVELS)
    return {"count": count,
            "distribution": {str(level): counts.get(level, 0) for level in sorted(LEVELS)},
            "average": round(total / count, 2) if count else None,
            "bad": bad, "bad_rate": _rate(bad, count)}


def chief_window_for(config: HallConfig, service: str | None,
                     window: int | None) -> int | None:
    """Which 首席事务代表 window an escalated case goes to (`[[windows]] chief = true`).

    The rule (issue 8.18; the hall's config has no department → window map, but it does
    say which queues each window serves): the first chief window, in config order, that
    serves the queue of the case's service; else one serving a queue of the window where
    the case arose. None when no chief window matches: the department's 首席事务代表 is
    not on site, and the case stays with the department named in the 交办 step.
    """
    chiefs = [w for w in config.windows if w.chief]
    wanted: list[str] = []
    if service is not None and config.has_service(service):
        wanted.append(config.service(service).queue)
    if window is not None and config.has_window(window):
        wanted.extend(config.window(window).queues)
    for queue in wanted:
        for w in chiefs:
            if queue in w.queues:
                return w.number
    return None
