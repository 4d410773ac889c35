"""Appointments: the slots a service offers, booking one, and the holder changing or cancelling
it (`/book`, `/a/{token}`, `/api/slots`, `/api/appointments`). Check-in, 云取号 and no-shows
are hall.arrivals; the managers' list and figures hall.booking_figures; hall.appointments
joins the three. Rules and choices: docs/appointments.md.

Part of the core and, like `hall.service`, a writer: every change is one transaction through
the store that changes the rows, appends its event and its audit row (the citizen's booking,
change and cancel are audited by source address, never with personal data).

What is kept of a person (domain.md, Privacy): name, ID number and phone, each sealed
(hall.sealed); beside the ID and the phone goes a keyed hash, by which the per-person limits
(hall.person_limits) find earlier visits without opening anything. Limits apply per ID and per
phone, both: a scalper with one phone and many IDs, or one ID and many phones, is caught
either way. Nothing public — answers, events, pages — carries an ID number or a full name; the
holder's own page shows the name masked (张*三).
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hall import errors
from hall.booking_config import BookingService
from hall.datefmt import day_text
from hall.identity import check_name, mask_name, normal_phone, parse_id_number
from hall.numbering import hall_day
from hall.person_limits import Refusal, Visit, refusal
from hall.real_name import ticket_visits
from hall.sealed import Sealer
from hall.service import Actor, HallService, audit
from hall.slots import Slot, day_slots, find
from hall.store import Tx

# like complaint references (hall.cases): no 0/O, 1/I to misread at a kiosk or on the phone
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WEEKDAYS = "一二三四五六日"
KINDS = {"booking": "预约", "phone": "手机取号"}
STATUS_NAMES = {
    "booking": {"booked": "已预约", "checked_in": "已签到", "cancelled": "已取消",
                "no_show": "未到（爽约）"},
    "phone": {"booked": "待到厅签到", "checked_in": "已到厅签到", "cancelled": "已取消",
              "no_show": "过号（未到厅签到）"},
}
# bookings that hold a place in their slot (a cancelled one gave it back)
HOLDING = "status != 'cancelled'"
BOOKING_FIELDS = {"service", "start", "name", "id_number", "phone"}


def normal_code(value: Any) -> str | None:
    """A code as typed at a kiosk (spaces, dashes, lower case) → its stored form, or None."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"[\s-]", "", value).upper()
    return text if CODE.match(text) else None


def weekday_text(day: date) -> str:
    return "周" + WEEKDAYS[day.weekday()]


@dataclass(frozen=True)
class Person:
    name: str | None
    id_number: str
    phone: str


def reject_unknown(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise errors.invalid("请求中有无法识别的内容", "unknown_field", ",".join(extra))


class BookingDesk:
    """Slots, booking, the holder's view, change and cancel."""

    def __init__(self, service: HallService) -> None:
        self.service = service
        self.config = service.config
        self.settings = service.config.booking
        self.tz = service.tz
        self.sealer = Sealer(service.store.key_path)

    # ------------------------------------------------------------------ helpers

    def _now(self) -> tuple[datetime, float, date]:
        now = self.service.clock()
        return now, now.timestamp(), hall_day(now, self.tz)

    def _iso(self, ts: float | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec="seconds")

    def _hhmm(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz).strftime("%H:%M")

    def _require_on(self) -> None:
        if not self.settings.enabled:
            raise errors.not_found("本大厅未开通网上预约", "booking_off")

    def _bookable(self, service_id: Any) -> BookingService:
        self._require_on()
        if not isinstance(service_id, str) or not service_id:
            raise errors.invalid("请选择办理事项", "invalid_service", "service")
        if not self.config.has_service(service_id):
            raise errors.not_found("没有这个办理事项", "unknown_service", "service")
        bs = self.settings.service(service_id)
        if bs is None:
            name = self.config.service(service_id).name
            raise errors.conflict(f"“{name}”不接受预约，请到大厅取号办理", "not_bookable",
                                  "service")
        return bs

    def _day_closed(self, bs: BookingService, day: date, today: date) -> str | None:
        """Why `day` takes no bookings for `bs`, or None."""
        if day < today:
            return "不能预约已经过去的日期"
        if day > today + timedelta(days=self.settings.days_ahead):
            return f"只能预约 {self.settings.days_ahead} 天之内的时段"
        workdays = self.config.workdays
        if not workdays.is_working_day(day) and day.isoformat() not in self.service._open_days:
            return f"{day_text(day)}是{workdays.holiday_name(day)}，大厅不办公"
        if day.isoweekday() not in bs.weekdays:
            return f"该事项{weekday_text(day)}不接受预约"
        return None

    def _taken(self, conn: sqlite3.Connection, service_id: str, first: date,
               last: date) -> dict[float, int]:
        return {r[0]: r[1] for r in conn.execute(
            f"SELECT slot_start, COUNT(*) FROM appointments WHERE kind = 'booking' AND "
            f"service = ? AND day BETWEEN ? AND ? AND {HOLDING} GROUP BY slot_start",
            (service_id, first.isoformat(), last.isoformat()))}

    def _open_slots(self, bs: BookingService, day: date, ts: float) -> list[Slot]:
        """The slots of `day` that can still be booked (before their cut-off)."""
        cutoff = self.settings.cutoff_minutes * 60
        return [s for s in day_slots(day, bs.rule, self.tz) if s.start.timestamp() - cutoff > ts]

    def _slot_of(self, bs: BookingService, start: Any, ts: float, today: date,
                 field: str = "start") -> Slot:
        if not isinstance(start, str) or not start.strip():
            raise errors.invalid("请选择预约时段", "start_required", field)
        try:
            moment = datetime.fromisoformat(start.strip())
        except ValueError:
            raise errors.invalid("预约时段格式不对", "invalid_start", field) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        day = moment.astimezone(self.tz).date()
        closed = self._day_closed(bs, day, today)
        if closed:
            raise errors.conflict(closed, "day_closed", field)
        slot = find(day_slots(day, bs.rule, self.tz), moment)
        if slot is None:
            raise errors.invalid("没有这个预约时段，请重新选择", "unknown_slot", field)
        if slot.start.timestamp() - self.settings.cutoff_minutes * 60 <= ts:
            raise errors.conflict(
                f"该时段已截止预约（开始前 {self.settings.cutoff_minutes} 分钟截止），"
                "请选择其他时段", "slot_closed", field)
        return slot

    def _person(self, body: dict[str, Any], with_name: bool = True) -> Person:
        name = check_name(body.get("name")) if with_name else None
        return Person(name, parse_id_number(body.get("id_number")).number,
                      normal_phone(body.get("phone")))

    def _lookups(self, person: Person) -> tuple[str, str]:
        return (self.sealer.lookup("id", person.id_number),
                self.sealer.lookup("phone", person.phone))

    def _no_show(self, row: sqlite3.Row, ts: float) -> bool:
        """A booking whose check-in closed without one is a no-show, whether or not the sweep
        (hall.arrivals) has marked it yet: a bar never waits for a timer."""
        if row["status"] == "no_show":
            return True
        closes = self._checkin_window(row)[1]
        return row["kind"] == "booking" and row["status"] == "booked" and closes <= ts

    def _checkin_window(self, row: sqlite3.Row) -> tuple[float, float]:
        """When a booking's check-in opens and closes (timestamps): `checkin_before_minutes`
        before its slot to `checkin_after_minutes` after the slot starts."""
        s = self.settings
        return (row["slot_start"] - s.checkin_before_minutes * 60,
                row["slot_start"] + s.checkin_after_minutes * 60)

    def _checkin_open(self, row: sqlite3.Row, ts: float) -> bool:
        opens, closes = self._checkin_window(row)
        return opens <= ts <= closes

    def _refusal(self, conn: sqlite3.Connection, id_lookup: str, phone_lookup: str,
                 service_id: str, day: date, today: date, ts: float,
                 exclude: int = 0) -> Refusal | None:
        """Why one more visit of this person is refused: by their ID first, then by the phone
        (another ID booked with the same phone counts against it)."""
        rules = self.settings.rules
        # the calendar month and week of `day`, and every no-show that may still bar
        since = min(day.replace(day=1), day - timedelta(days=day.weekday()),
                    today - timedelta(days=rules.no_show_days + rules.bar_days))
        for who, column, value in (("您", "id_lookup", id_lookup),
                                   ("该手机号", "phone_lookup", phone_lookup)):
            rows = conn.execute(
                f"SELECT kind, service, day, status, slot_start FROM appointments "
                f"WHERE {column} = ? AND day >= ? AND {HOLDING} AND id != ?",
                (value, since.isoformat(), exclude)).fetchall()
            visits = [Visit(r["service"], date.fromisoformat(r["day"]), self._no_show(r, ts))
                      for r in rows]
            if column == "id_lookup":  # the same person's 实名 walk-in tickets count too
                visits += ticket_visits(conn, value, since)
            found = refusal(visits, service_id, day, today, rules, who)
            if found is not None:
                return found
        return None

    def _new_code(self, tx: Tx) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if tx.one("SELECT 1 FROM appointments WHERE code = ?", (code,)) is None:
                return code

    def _free(self, conn: sqlite3.Connection, bs: BookingService, slot: Slot) -> int:
        taken = conn.execute(
            f"SELECT COUNT(*) FROM appointments WHERE kind = 'booking' AND service = ? "
            f"AND slot_start = ? AND {HOLDING}", (bs.service, slot.start.timestamp())).fetchone()
        return slot.free(taken[0])

    def _slot_event(self, tx: Tx, bs: BookingService, slot: Slot, change: str) -> None:
        """Public: which slot changed and what is free in it; never who."""
        tx.emit("booking.changed", {"service": bs.service, "start": slot.start.isoformat(),
                                    "free": self._free(tx.conn, bs, slot), "change": change,
                                    "window": None, "window_state": None})

    def _row_slot(self, row: sqlite3.Row) -> tuple[BookingService, Slot] | None:
        bs = self.settings.service(row["service"])
        if bs is None or row["kind"] != "booking":
            return None
        start = datetime.fromtimestamp(row["slot_start"], self.tz)
        slot = find(day_slots(start.date(), bs.rule, self.tz), start)
        return (bs, slot) if slot is not None else None

    async def _audited(self, op: Any, now: datetime, actor: Actor, action: str,
                       target: str | None) -> Any:
        """Run `op`; a refusal for a limit or a full slot is audited (who tries to book past
        the limits is what a hall fighting 号贩子 looks at), by address and code only."""
        try:
            return await self.service.store.write(op, now)
        except errors.HallError as exc:
            if exc.status == 409:
                await self.service.record_audit(actor, action, target, False, exc.code)
            raise

    # ------------------------------------------------------------------ reading

    async def overview(self) -> dict[str, Any]:
        """What /book offers: the bookable services, and whether 现在取号 is open now."""
        self._require_on()
        now, ts, today = self._now()
        phone_open, why = self.phone_open(now)
        return {
            "services": [self._service_view(bs.service) | {
                "slot_minutes": bs.rule.slot_minutes} for bs in self.settings.services],
            "days_ahead": self.settings.days_ahead,
            "phone": {"enabled": self.settings.phone_tickets, "open": phone_open,
                      "reason": why, "late_places": self.settings.late_places,
                      "services": [self._service_view(s.id) for s in self.config.services]
                      if self.settings.phone_tickets else []},
            "checkin_before_minutes": self.settings.checkin_before_minutes,
            "checkin_after_minutes": self.settings.checkin_after_minutes,
            "grace_minutes": self.settings.grace_minutes,
        }

    def phone_open(self, now: datetime) -> tuple[bool, str | None]:
        """云取号 is open when the hall takes tickets (working day, the hall's hours)."""
        if not self.settings.phone_tickets:
            return False, "本大厅未开通手机取号"
        if not self.config.hall.enforce_hours:
            return True, None
        local = now.astimezone(self.tz)
        workdays = self.config.workdays
        if not workdays.is_working_day(local.date()) and \
                local.date().isoformat() not in self.service._open_days:
            return False, f"今天是{workdays.holiday_name(local.date())}，大厅不办公"
        if not self.config.hall.open <= local.time() < self.config.hall.close:
            return False, (f"现在不在办公时间（{self.config.hall.open:%H:%M}-"
                           f"{self.config.hall.close:%H:%M}），请在办公时间内取号或预约")
        return True, None

    def _service_view(self, service_id: str) -> dict[str, Any]:
        s = self.config.service(service_id)
        q = self.config.queue(s.queue)
        return {"id": s.id, "name": s.name, "queue": q.id, "queue_name": q.name,
                "materials": list(s.materials)}

    async def days(self, service_id: Any) -> list[dict[str, Any]]:
        """Each day of the booking range: open or why not, and how many places are free."""
        bs = self._bookable(service_id)
        _, ts, today = self._now()
        last = today + timedelta(days=self.settings.days_ahead)
        taken = await self.service.store.read(
            lambda conn: self._taken(conn, bs.service, today, last))
        out = []
        day = today
        while day <= last:
            closed = self._day_closed(bs, day, today)
            free = 0 if closed else sum(
                s.free(taken.get(s.start.timestamp(), 0)) for s in self._open_slots(bs, day, ts))
            out.append({"date": day.isoformat(), "date_text": day_text(day),
                        "weekday": weekday_text(day), "open": closed is None, "free": free,
                        "closed": closed})
            day += timedelta(days=1)
        return out

    async def slots(self, service_id: Any, day: date | None) -> dict[str, Any]:
        """The slots of one day that can still be booked, with what is free in each."""
        bs = self._bookable(service_id)
        _, ts, today = self._now()
        day = day or today
        closed = self._day_closed(bs, day, today)
        if closed:
            return {"slots": [], "closed": closed}
        taken = await self.service.store.read(lambda conn: self._taken(conn, bs.service, day,
                                                                       day))
        return {"slots": [{"start": s.start.isoformat(), "end": s.end.isoformat(),
                           "free": s.free(taken.get(s.start.timestamp(), 0))}
                          for s in self._open_slots(bs, day, ts)], "closed": None}

    def _view(self, conn: sqlite3.Connection, row: sqlite3.Row, ts: float) -> dict[str, Any]:
        """The appointment as its holder sees it (their token is their key): the name masked,
        the ID and phone never (they typed them; a page left open on a shared phone should
        not show them again)."""
        kind = row["kind"]
        s = self.settings
        ticket = None
        if row["ticket_id"] is not None:
            trow = conn.execute("SELECT * FROM tickets WHERE id = ?",
                                (row["ticket_id"],)).fetchone()
            if trow is not None:
                view = self.service._ticket_view(conn, trow, ts)
                ticket = {k: view[k] for k in ("number", "token", "state", "state_name",
                                                "position", "eta_minutes", "window")}
        status = row["status"]
        out: dict[str, Any] = {
            "kind": kind, "kind_name": KINDS[kind], "code": row["code"], "token": row["token"],
            "service": row["service"], "service_name": self.config.service(row["service"]).name,
            "queue": self.config.service(row["service"]).queue,
            "queue_name": self.config.queue(self.config.service(row["service"]).queue).name,
            "day": row["day"], "day_text": day_text(row["day"]),
            "weekday": weekday_text(date.fromisoformat(row["day"])),
            "status": status, "status_name": STATUS_NAMES[kind][status],
            "name": mask_name(self.sealer.open(row["name"])) if row["name"] else None,
            "ticket": ticket, "booked_at": self._iso(row["booked_at"]),
            "checked_in_at": self._iso(row["checked_in_at"]),
        }
        if kind == "booking":
            start = row["slot_start"]
            out |= {
                "start": self._iso(start), "end": self._iso(row["slot_end"]),
                "checkin_from": self._iso(start - s.checkin_before_minutes * 60),
                "checkin_until": self._iso(start + s.checkin_after_minutes * 60),
                "priority_until": self._iso(start + s.grace_minutes * 60),
                "walk_in": bool(row["walk_in"]),
                "can_cancel": status == "booked" and ts < start,
                "can_change": status == "booked" and ts < start - s.cutoff_minutes * 60,
            }
        else:
            waiting = ticket is not None and ticket["state"] == "waiting"
            out |= {
                "start": None, "end": None,
                "late_used": row["late_at"] is not None, "late_places": s.late_places,
                "can_late": waiting and row["late_at"] is None,
                "can_cancel": waiting, "can_change": False,
                "checkin_minutes": s.phone_checkin_minutes,
                "checkin_deadline": None,
            }
            if waiting and status == "booked":
                turn = self._turn_at(conn, row["ticket_id"])
                if turn is not None:
                    out["checkin_deadline"] = self._iso(turn + s.phone_checkin_minutes * 60)
        return out

    def _turn_at(self, conn: sqlite3.Connection, ticket_id: int) -> float | None:
        """When a phone ticket's turn came: the first call, after it was taken, of a plain
        ticket of its queue that stood behind it (it was passed over, not being in the hall).
        Priority, appointment and transferred tickets are called ahead by rule, not in turn."""
        row = conn.execute(
            "SELECT MIN(t.first_called_at) FROM tickets t JOIN tickets r ON r.id = ? "
            "WHERE t.day = r.day AND t.queue = r.queue AND t.id != r.id "
            "AND t.first_called_at >= r.issued_at "
            "AND (t.order_at > r.order_at OR (t.order_at = r.order_at AND t.id > r.id)) "
            "AND t.priority IS NULL AND t.appointment_at IS NULL AND t.transfers = 0",
            (ticket_id,)).fetchone()
        return row[0] if row is not None else None

    async def get(self, token: str) -> dict[str, Any]:
        _, ts, _ = self._now()
        if not TOKEN.match(token):
            raise errors.not_found("没有找到这个预约", "unknown_appointment")

        def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT * FROM appointments WHERE token = ?", (token,)).fetchone()
            return None if row is None else self._view(conn, row, ts)

        view = await self.service.store.read(read)
        if view is None:
            raise errors.not_found("没有找到这个预约", "unknown_appointment")
        return view

    # ------------------------------------------------------------------ writing

    async def book(self, body: dict[str, Any], source: str | None) -> dict[str, Any]:
        """One booking: the slot's capacity and the person's limits are checked and the row
        written in one transaction, so two phones racing for the last place cannot both
        have it (the store runs one transaction at a time)."""
        reject_unknown(body, BOOKING_FIELDS)
        bs = self._bookable(body.get("service"))
        now, ts, today = self._now()
        slot = self._slot_of(bs, body.get("start"), ts, today)
        person = self._person(body)
        id_lookup, phone_lookup = self._lookups(person)
        sealed = (self.sealer.seal(person.name), self.sealer.seal(person.id_number),
                  self.sealer.seal(person.phone))
        day = slot.start.date()
        actor = Actor(None, source)

        def op(tx: Tx) -> dict[str, Any]:
            if self._free(tx.conn, bs, slot) <= 0:
                raise errors.conflict(
                    f"{day_text(day)} {slot.start:%H:%M}-{slot.end:%H:%M} 已约满，"
                    "请选择其他时段", "slot_full", "start")
            found = self._refusal(tx.conn, id_lookup, phone_lookup, bs.service, day, today, ts)
            if found is not None:
                raise errors.conflict(found.message, found.code)
            code = self._new_code(tx)
            cur = tx.conn.execute(
                "INSERT INTO appointments (kind, service, day, slot_start, slot_end, code, "
                "token, name, id_number, phone, id_lookup, phone_lookup, status, booked_at) "
                "VALUES ('booking', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?)",
                (bs.service, day.isoformat(), slot.start.timestamp(), slot.end.timestamp(),
                 code, secrets.token_urlsafe(16), *sealed, id_lookup, phone_lookup, ts))
            appointment_id = int(cur.lastrowid or 0)
            audit(tx, actor, "appointment.book", f"appointment:{appointment_id}", True,
                  slot.start.isoformat())
            self._slot_event(tx, bs, slot, "booked")
            row = tx.one("SELECT * FROM appointments WHERE id = ?", (appointment_id,))
            return self._view(tx.conn, row, ts)

        return await self._audited(op, now, actor, "appointment.book", None)

    async def cancel(self, token: str, source: str | None) -> dict[str, Any]:
        """The holder cancels: a booking until its slot starts (cancelling is what we want
        people to do, so it counts for nothing), a phone ticket while it waits."""
        now, ts, today = self._now()
        actor = Actor(None, source)

        def op(tx: Tx) -> dict[str, Any]:
            row = self._own(tx, token)
            target = f"appointment:{row['id']}"
            if row["kind"] == "phone":
                ticket = tx.one("SELECT * FROM tickets WHERE id = ?", (row["ticket_id"],))
                if ticket is None or ticket["state"] != "waiting" or \
                        row["status"] not in ("booked", "checked_in"):
                    raise errors.conflict("该号已不在等候中，不能取消", "illegal_state")
                tx.conn.execute("UPDATE tickets SET state = 'cancelled', finished_at = ? "
                                "WHERE id = ?", (ts, ticket["id"]))
                tx.emit("ticket.cancelled", {
                    "number": ticket["number"], "queue": ticket["queue"], "window": None,
                    "window_state": None, "queues": [self.service.queue_summary(
                        tx.conn, ticket["queue"], ticket["day"], ts)]})
            elif row["status"] != "booked":
                raise errors.conflict(f"该预约{STATUS_NAMES['booking'][row['status']]}，"
                                      "不能取消", "illegal_state")
            elif row["slot_start"] <= ts:
                raise errors.conflict("预约时段已开始，不能取消", "illegal_state")
            tx.conn.execute("UPDATE appointments SET status = 'cancelled', cancelled_at = ? "
                            "WHERE id = ?", (ts, row["id"]))
            audit(tx, actor, "appointment.cancel", target, True, None)
            found = self._row_slot(row)
            if found is not None:
                self._slot_event(tx, *found, "cancelled")
            return self._view(tx.conn, tx.one("SELECT * FROM appointments WHERE id = ?",
                                              (row["id"],)), ts)

        return await self.service.store.write(op, now)

    async def change(self, token: str, start: Any, source: str | None) -> dict[str, Any]:
        """Another slot of the same service for the same booking (code and page stay): the new
        slot's capacity and the limits (this booking left out) in one transaction."""
        now, ts, today = self._now()
        actor = Actor(None, source)
        current = await self.get(token)
        if current["kind"] != "booking":
            raise errors.conflict("手机取号不能改约，可以取消后重新取号", "illegal_state")
        bs = self._bookable(current["service"])
        slot = self._slot_of(bs, start, ts, today)

        def op(tx: Tx) -> dict[str, Any]:
            row = self._own(tx, token)
            if row["status"] != "booked":
                raise errors.conflict(f"该预约{STATUS_NAMES['booking'][row['status']]}，"
                                      "不能改约", "illegal_state")
            if row["slot_start"] - self.settings.cutoff_minutes * 60 <= ts:
                raise errors.conflict("原预约时段即将开始，不能再改约", "illegal_state")
            if row["slot_start"] == slot.start.timestamp():
                raise errors.conflict("新时段与原时段相同", "same_slot", "start")
            if self._free(tx.conn, bs, slot) <= 0:
                raise errors.conflict(
                    f"{day_text(slot.start.date())} {slot.start:%H:%M}-{slot.end:%H:%M} "
                    "已约满，请选择其他时段", "slot_full", "start")
            found = self._refusal(tx.conn, row["id_lookup"], row["phone_lookup"], bs.service,
                                  slot.start.date(), today, ts, exclude=row["id"])
            if found is not None:
                raise errors.conflict(found.message, found.code)
            old = self._row_slot(row)
            tx.conn.execute(
                "UPDATE appointments SET slot_start = ?, slot_end = ?, day = ? WHERE id = ?",
                (slot.start.timestamp(), slot.end.timestamp(), slot.start.date().isoformat(),
                 row["id"]))
            audit(tx, actor, "appointment.change", f"appointment:{row['id']}", True,
                  slot.start.isoformat())
            if old is not None:
                self._slot_event(tx, *old, "cancelled")
            self._slot_event(tx, bs, slot, "booked")
            return self._view(tx.conn, tx.one("SELECT * FROM appointments WHERE id = ?",
                                              (row["id"],)), ts)

        return await self._audited(op, now, actor, "appointment.change", None)

    def _own(self, tx: Tx, token: str) -> sqlite3.Row:
        row = tx.one("SELECT * FROM appointments WHERE token = ?", (token,)) \
            if TOKEN.match(token) else None
        if row is None:
            raise errors.not_found("没有找到这个预约", "unknown_appointment")
        return row
