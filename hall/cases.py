"""The two closed loops a manager works: the 差评 rectification (回访、定性、整改、反馈、评价)
and the 办不成事 complaint (受理、研判、交办、办结、反馈、回访、归档), each a status machine of
`Step`s with a timeline; complaints get a reference the citizen can quote.

The rules are in hall.feedback's docstring and docs/feedback.md."""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hall import errors
from hall.alarm_desk import raise_with_case
from hall.alarms import Condition, case_condition
from hall.config import HallConfig
from hall.datefmt import day_text
from hall.desk import CONTACT_MAX, Desk, int_field, mask_contact, reject_unknown, text_field
from hall.model import State
from hall.ratings import LEVELS, RatingInput
from hall.service import Actor, audit
from hall.store import Tx
from hall.workdays import intake_day

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VIEWS = {"satisfied": "满意", "unsatisfied": "不满意", "no_answer": "未能联系上"}


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

COMPLAINT_FIELDS = {"description", "service", "window", "ticket", "contact"}
WINDOW_COMPLAINT_FIELDS = {"description", "service", "window", "ticket", "contact", "category"}


class CaseDesk(Desk):
    """Rectification cases and complaints: opening, steps, views and the managers' alarms."""

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
        raise_with_case(tx, self._case_alarm("rectification", tx.one(
            "SELECT * FROM rectifications WHERE id = ?", (case_id,)), False), ts)
        tx.emit("alarm.bad_rating", {**rating, "rectification": case_id,
                                     "callback_due": callback_due, "fix_due": fix_due})
        return {"callback_due": callback_due, "fix_due": fix_due}

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
        raise_with_case(tx, self._case_alarm("complaint", tx.one(
            "SELECT * FROM complaints WHERE id = ?", (case_id,)), False), ts)
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
            window = int_field(window, "window")
            self.service._window(window)
        return service, window

    async def open_complaint(self, body: dict[str, Any]) -> dict[str, Any]:
        """A citizen's own report: on the phone page (`ticket`: their token, which fills in
        service and window) or on the public page."""
        reject_unknown(body, COMPLAINT_FIELDS)
        description = text_field(body.get("description"), "description", required=True)
        service, window = self._check_place(body.get("service"), body.get("window"))
        contact = text_field(body.get("contact"), "contact", CONTACT_MAX)
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
            source = "qr_page" if ticket is not None else "public"
            opened = self._open_complaint(
                tx, source=source,
                description=description or "",
                service=service or (ticket["service"] if ticket is not None else None),
                window=window or (ticket["window"] if ticket is not None else None),
                ticket_id=ticket["id"] if ticket is not None else None,
                clerk=ticket["clerk"] if ticket is not None else None,
                contact=contact, category=None, face_to_face=False, ts=ts, user=None)
            # the citizen's report in the audit log (issue 10.6): the case, never its contact
            # or text (both sealed in the case itself)
            audit(tx, Actor(None, source), "complaint.open", f"complaint:{opened['id']}",
                  True, None)
            return opened

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
        description = text_field(body.get("description"), "description", required=True)
        service, window = self._check_place(body.get("service"), body.get("window"))
        contact = text_field(body.get("contact"), "contact", CONTACT_MAX)
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
        category = text_field(category, "category", 50)
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
        note = text_field(body.get("note"), "note")
        if action == "assign":
            assignee = text_field(body.get("assignee"), "assignee", 64, required=True)
            return {"assignee": assignee}, f"指派给 {assignee}" + (f"：{note}" if note else "")
        if action == "callback":
            note = text_field(body.get("note"), "note", required=True)
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
            measures = text_field(body.get("measures"), "measures", required=True)
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
            note = text_field(body.get("note"), "note", required=True)
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
        note = text_field(body.get("note"), "note", required=True)
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
        note = text_field(body.get("note"), "note")
        out_of_scope = row["class"] == "out_of_scope"
        if action == "contact":
            return {"contacted_at": row["contacted_at"] or ts}, note
        if action == "assess":
            cls = body.get("class")
            if not isinstance(cls, str) or cls not in COMPLAINT_CLASSES:
                raise errors.invalid(f"分类只能是 {'、'.join(COMPLAINT_CLASSES.values())} 之一",
                                     "invalid_class", "class")
            category = self._check_category(body.get("category")) or row["category"]
            referral = text_field(body.get("referral"), "referral")
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
            assignee = text_field(body.get("assignee"), "assignee", 64)
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
            note = text_field(body.get("note"), "note", required=True)
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
                "ORDER BY due IS NULL, due, id", (window,)).fetchall()
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

    async def alarm_conditions(self) -> list[Condition]:
        """Open cases a manager must act on (hall.alarm_desk): every overdue case, and every
        case still waiting for its first step (a new 差评 or 办不成事). Read lean, without
        the views' sealed texts and timelines: this runs every few seconds."""
        _, _, today = self._now()

        def read(conn: sqlite3.Connection) -> list[Condition]:
            out: list[Condition] = []
            for kind, table, fresh in (("rectification", "rectifications", "open"),
                                       ("complaint", "complaints", "received")):
                done = "'closed'" if kind == "rectification" else "'archived'"
                for row in conn.execute(f"SELECT * FROM {table} WHERE status != {done} "
                                        "ORDER BY id"):
                    overdue = bool(self._overdue(kind, row, today))
                    if overdue or row["status"] == fresh:
                        out.append(self._case_alarm(kind, row, overdue))
            return out

        return await self.service.store.read(read)

    def _case_alarm(self, kind: str, row: sqlite3.Row, overdue: bool) -> Condition:
        level = LEVELS.get(row["level"]) if kind == "rectification" else None
        return case_condition(kind, row["id"], overdue, row["window"],
                              self._window_name(row["window"]), level)


def _last_note(conn: sqlite3.Connection, kind: str, case_id: int, step: str) -> str | None:
    row = conn.execute("SELECT note FROM case_steps WHERE kind = ? AND case_id = ? AND step = ? "
                       "ORDER BY id DESC LIMIT 1", (kind, case_id, step)).fetchone()
    return None if row is None else row[0]


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
