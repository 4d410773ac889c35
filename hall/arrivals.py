"""Arriving at the hall: check-in of a booking at the kiosk, 云取号 (a walk-in ticket taken on
the phone) with its check-in and 我会晚到, and the no-shows (docs/appointments.md).

The rules, each a hall's choice made explicit:
* A booking checks in at the kiosk by its code or its QR (`/a/{token}`, typed by a barcode
  scanner) from `checkin_before_minutes` before its slot to `checkin_after_minutes` after its
  start. Up to `grace_minutes` after the start the ticket keeps its appointment
  (`appointment_at` = the slot start: callable from then, and called before walk-ins by
  hall.routing); later it joins as a walk-in (no `appointment_at`). Early arrivals are told
  when they will be called.
* A booking not checked in when check-in closes is a no-show: one moment, so there is never
  a gap in which a person can neither check in nor has been counted. The sweep marks it (every
  `SWEEP_SECONDS` in the app's lifespan, and in the day close's own transaction); the limits
  count it from that moment even before the sweep ran (hall.booking `_no_show`).
* A phone ticket is a walk-in ticket (channel "phone") with its place in line from the moment
  it is taken, but it is not callable until its holder checks in at the kiosk (by its code or
  QR): the hall calls nobody who is not there. Its turn comes when a plain ticket behind it is
  called; from then its holder has `phone_checkin_minutes` to check in, else it is 过号
  (no_show, which counts towards the no-show bar like a missed booking). Checked in in time,
  it is callable at once and, being older, is called before those behind it.
  Why this rule and not "called like the others, 过号 if not confirmed after the call": a
  call announced for someone who is still on the bus makes a window wait for nobody and
  puts a number on the screens that nobody answers.
* 我会晚到 (once per phone ticket, before it is called) moves it back behind the next
  `late_places` waiting tickets of its queue (to the end of the line if fewer wait).
* 云取号 asks for the ID number and the phone, not the name: the per-person limits work by
  the ID (the same rules as bookings: one per service per day, weekly and monthly caps, the
  no-show bar) and by the phone, and no one needs a name to call a number.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from typing import Any

from hall import errors
from hall.booking import BookingDesk, normal_code, reject_unknown
from hall.service import Actor, audit
from hall.store import Tx

SWEEP_SECONDS = 30.0
PHONE_FIELDS = {"service", "id_number", "phone"}


class ArrivalDesk(BookingDesk):
    """Check-in, phone tickets, 我会晚到 and the no-show sweep."""

    # ------------------------------------------------------------------ check-in

    async def check_in(self, value: str, kiosk: Any, source: str | None) -> tuple[
            dict[str, Any], bool]:
        """Check in by code or token (what the kiosk's scanner typed is cut to one of them by
        the page). Returns the ticket and whether a new ticket was issued (a booking) or an
        existing one made callable (a phone ticket)."""
        self._require_on()
        if kiosk is not None and not isinstance(kiosk, str):
            raise errors.invalid("取号机编号格式不对", "invalid_kiosk", "kiosk")
        code = normal_code(value)
        column, key = ("code", code) if code else ("token", value.strip())
        row = await self.service.store.read(lambda conn: conn.execute(
            f"SELECT * FROM appointments WHERE {column} = ?", (key,)).fetchone())
        if row is None:
            raise errors.not_found("没有找到这个预约，请核对预约码后重新输入",
                                   "unknown_appointment", "code")
        if row["kind"] == "phone":
            return await self._phone_check_in(row["id"], kiosk, source), False
        return await self._booking_check_in(row, kiosk, source), True

    async def check_in_by_id(self, id_number: str, kiosk: str | None,
                             source: str | None) -> tuple[dict[str, Any], bool]:
        """Check in with the ID card read at this kiosk (the number already checked by
        hall.card_reads): today's booking or phone ticket of that person, found by the keyed
        lookup. Several today: the one whose check-in is open, else the next one to open, so
        the refusal names the slot the person came early for."""
        self._require_on()
        _, ts, today = self._now()
        lookup = self.sealer.lookup("id", id_number)
        rows = await self.service.store.read(lambda conn: conn.execute(
            "SELECT * FROM appointments WHERE id_lookup = ? AND day = ? AND status = 'booked' "
            "ORDER BY slot_start", (lookup, today.isoformat())).fetchall())
        if not rows:
            raise errors.not_found("没有找到持证人今天的预约或手机取号，如需办理请直接取号",
                                   "unknown_appointment", "id_read")
        ready = [r for r in rows if r["kind"] == "phone" or self._checkin_open(r, ts)]
        row = (ready or [r for r in rows if r["slot_start"] > ts] or rows)[0]
        if row["kind"] == "phone":
            return await self._phone_check_in(row["id"], kiosk, source), False
        return await self._booking_check_in(row, kiosk, source), True

    async def _booking_check_in(self, row: sqlite3.Row, kiosk: str | None,
                                source: str | None) -> dict[str, Any]:
        s = self.settings
        now, ts, today = self._now()
        self._refuse_status(row)
        start, end = row["slot_start"], row["slot_end"]
        slot_text = f"{self._hhmm(start)}-{self._hhmm(end)}"
        opens, closes = self._checkin_window(row)
        if row["day"] != today.isoformat() and ts < opens:
            raise errors.conflict(f"您预约的是{row['day'][:4]}年{int(row['day'][5:7])}月"
                                  f"{int(row['day'][8:])}日 {slot_text}，请当天前来签到",
                                  "checkin_too_early")
        if ts < opens:
            raise errors.conflict(f"还未到签到时间：请于 {self._hhmm(opens)} 后签到"
                                  f"（预约时段 {slot_text}）", "checkin_too_early")
        if ts > closes:
            raise errors.conflict(f"已超过签到时间（预约时段开始后 {s.checkin_after_minutes} "
                                  "分钟内可签到），本次预约记为未到；如需办理请直接取号",
                                  "checkin_closed")
        keeps = ts <= start + s.grace_minutes * 60
        actor = Actor(kiosk, source)
        found = self._row_slot(row)

        def claim(tx: Tx, ticket: dict[str, Any]) -> None:
            cur = tx.conn.execute(
                "UPDATE appointments SET status = 'checked_in', checked_in_at = ?, "
                "ticket_id = ?, walk_in = ? WHERE id = ? AND status = 'booked'",
                (ts, ticket["id"], int(not keeps), row["id"]))
            if cur.rowcount != 1:  # a second kiosk was quicker: no second ticket
                raise errors.conflict("该预约已签到，请勿重复签到", "already_checked_in", "code")
            audit(tx, actor, "appointment.check_in", f"appointment:{row['id']}", True,
                  f"ticket:{ticket['id']}")
            if found is not None:
                self._slot_event(tx, *found, "checked_in")

        ticket = await self.service.issue_ticket(
            row["service"], channel="appointment", kiosk=kiosk, in_tx=claim,
            appointment_at=start if keeps else None)
        if ts < start:
            note = f"预约时段 {slot_text}，{self._hhmm(start)} 起优先叫号，请在大厅等候"
        elif keeps:
            note = f"预约时段 {slot_text}，已为您优先安排叫号"
        else:
            late = int((ts - start) // 60)
            note = (f"您比预约时段晚到 {late} 分钟（超过 {s.grace_minutes} 分钟），"
                    "已按现场取号排队")
        return {**ticket, "appointment_note": note,
                "callable_at": self._iso(max(start, ts)) if keeps else None,
                "appointment": {"start": self._iso(start), "end": self._iso(end),
                                "walk_in": not keeps}}

    def _refuse_status(self, row: sqlite3.Row) -> None:
        status = row["status"]
        if status == "checked_in":
            raise errors.conflict("该预约已签到，请勿重复签到，请留意叫号", "already_checked_in",
                                  "code")
        if status == "cancelled":
            raise errors.conflict("该预约已取消，如需办理请直接取号", "appointment_cancelled",
                                  "code")
        if status == "no_show":
            what = "过号" if row["kind"] == "phone" else "记为未到"
            raise errors.conflict(f"该{'号' if row['kind'] == 'phone' else '预约'}已{what}，"
                                  "如需办理请重新取号", "appointment_no_show", "code")

    async def _phone_check_in(self, appointment_id: int, kiosk: str | None,
                              source: str | None) -> dict[str, Any]:
        now, ts, _ = self._now()
        actor = Actor(kiosk, source)

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one("SELECT * FROM appointments WHERE id = ?", (appointment_id,))
            self._refuse_status(row)
            ticket = tx.one("SELECT * FROM tickets WHERE id = ?", (row["ticket_id"],))
            if ticket is None or ticket["state"] != "waiting":
                raise errors.conflict("该号已不在等候中，如需办理请重新取号", "illegal_state",
                                      "code")
            tx.conn.execute("UPDATE tickets SET remote = 0 WHERE id = ?", (ticket["id"],))
            tx.conn.execute("UPDATE appointments SET status = 'checked_in', checked_in_at = ? "
                            "WHERE id = ?", (ts, row["id"]))
            audit(tx, actor, "appointment.check_in", f"appointment:{row['id']}", True,
                  f"ticket:{ticket['id']}")
            tx.emit("ticket.arrived", self._ticket_event(tx, ticket, ts))
            view = self.service._ticket_view(tx.conn, tx.one(
                "SELECT * FROM tickets WHERE id = ?", (ticket["id"],)), ts)
            return {**view, "appointment_note": "已到厅签到，请留意叫号屏幕和语音",
                    "callable_at": self._iso(ts), "appointment": None}

        return await self.service.store.write(op, now)

    def _ticket_event(self, tx: Tx, ticket: sqlite3.Row, ts: float,
                      **extra: Any) -> dict[str, Any]:
        """A public event of a ticket leaving or moving in its line: its number and the
        queue's new figures, nothing about who holds it."""
        return {"number": ticket["number"], "queue": ticket["queue"], "window": None,
                "window_state": None, **extra,
                "queues": [self.service.queue_summary(tx.conn, ticket["queue"], ticket["day"],
                                                      ts)]}

    # ------------------------------------------------------------------ 云取号

    async def take_phone_ticket(self, body: dict[str, Any],
                                source: str | None) -> dict[str, Any]:
        """A walk-in ticket from the phone: limits by ID and phone in the ticket's own
        transaction; the ticket waits for its holder's check-in at the hall."""
        self._require_on()
        reject_unknown(body, PHONE_FIELDS)
        service_id = body.get("service")
        if not isinstance(service_id, str) or not service_id:
            raise errors.invalid("请选择办理事项", "invalid_service", "service")
        if not self.config.has_service(service_id):
            raise errors.not_found("没有这个办理事项", "unknown_service", "service")
        now, ts, today = self._now()
        is_open, why = self.phone_open(now)
        if not is_open:
            raise errors.conflict(why or "现在不能手机取号", "phone_closed")
        person = self._person(body, with_name=False)
        id_lookup, phone_lookup = self._lookups(person)
        sealed = (self.sealer.seal(person.id_number), self.sealer.seal(person.phone))
        actor = Actor(None, source)
        made: dict[str, str] = {}

        def record(tx: Tx, ticket: dict[str, Any]) -> None:
            found = self._refusal(tx.conn, id_lookup, phone_lookup, service_id, today, today,
                                  ts)
            if found is not None:
                raise errors.conflict(found.message, found.code)
            made["code"], made["token"] = self._new_code(tx), secrets.token_urlsafe(16)
            cur = tx.conn.execute(
                "INSERT INTO appointments (kind, service, day, slot_start, slot_end, code, "
                "token, id_number, phone, id_lookup, phone_lookup, status, ticket_id, "
                "booked_at) VALUES ('phone', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?)",
                (service_id, today.isoformat(), ts, ts, made["code"], made["token"], *sealed,
                 id_lookup, phone_lookup, ticket["id"], ts))
            tx.conn.execute("UPDATE tickets SET remote = 1 WHERE id = ?", (ticket["id"],))
            audit(tx, actor, "appointment.phone_ticket", f"appointment:{cur.lastrowid}", True,
                  f"ticket:{ticket['id']}")

        try:
            ticket = await self.service.issue_ticket(service_id, channel="phone", in_tx=record)
        except errors.HallError as exc:
            if exc.status == 409:
                await self.service.record_audit(actor, "appointment.phone_ticket", None, False,
                                                exc.code)
            raise
        return {**ticket, "code": made["code"], "appointment_token": made["token"],
                "checkin_minutes": self.settings.phone_checkin_minutes}

    async def late(self, token: str, source: str | None) -> dict[str, Any]:
        """我会晚到: once, a waiting phone ticket moves back `late_places` places."""
        now, ts, _ = self._now()
        places = self.settings.late_places
        actor = Actor(None, source)

        def op(tx: Tx) -> dict[str, Any]:
            row = self._own(tx, token)
            if row["kind"] != "phone":
                raise errors.conflict("只有手机取号可以使用“我会晚到”", "illegal_state")
            if row["late_at"] is not None:
                raise errors.conflict("“我会晚到”只能使用一次", "late_used")
            ticket = tx.one("SELECT * FROM tickets WHERE id = ?", (row["ticket_id"],))
            if ticket is None or ticket["state"] != "waiting":
                raise errors.conflict("该号已不在等候中", "illegal_state")
            behind = [r[0] for r in tx.all(
                "SELECT order_at FROM tickets WHERE state = 'waiting' AND day = ? AND queue = ? "
                "AND (order_at > ? OR (order_at = ? AND id > ?)) ORDER BY order_at, id LIMIT ?",
                (ticket["day"], ticket["queue"], ticket["order_at"], ticket["order_at"],
                 ticket["id"], places + 1))]
            if not behind:
                raise errors.conflict("您后面暂时没有人等候，无需后移，请尽快到厅签到",
                                      "nobody_behind")
            passed = behind[:places]
            # just behind the last one passed, before the next (tickets taken in the same
            # millisecond are passed together: their order is one instant)
            gap = behind[places] - passed[-1] if len(behind) > places else 0.0
            order_at = passed[-1] + (gap / 2 if 0 < gap < 2e-3 else 1e-3)
            behind = passed
            tx.conn.execute("UPDATE tickets SET order_at = ? WHERE id = ?",
                            (order_at, ticket["id"]))
            tx.conn.execute("UPDATE appointments SET late_at = ? WHERE id = ?", (ts, row["id"]))
            audit(tx, actor, "ticket.late", f"ticket:{ticket['id']}", True,
                  f"places:{len(behind)}")
            tx.emit("ticket.delayed", self._ticket_event(tx, ticket, ts, places=len(behind)))
            view = self._view(tx.conn, tx.one("SELECT * FROM appointments WHERE id = ?",
                                              (row["id"],)), ts)
            return {**view, "moved_places": len(behind)}

        return await self.service.store.write(op, now)

    # ------------------------------------------------------------------ no-shows

    def sweep_tx(self, tx: Tx, ts: float) -> int:
        """Mark no-shows: bookings whose check-in closed, phone tickets whose check-in time
        after their turn ran out (过号), and phone tickets gone from the line without a
        check-in (closed with the day). Returns how many were marked."""
        s = self.settings
        marked = 0
        closed = tx.all(
            "SELECT * FROM appointments WHERE kind = 'booking' AND status = 'booked' "
            "AND slot_start <= ?", (ts - s.checkin_after_minutes * 60,))
        slots: dict[tuple[str, float], sqlite3.Row] = {}
        for row in closed:
            tx.conn.execute("UPDATE appointments SET status = 'no_show' WHERE id = ?",
                            (row["id"],))
            audit(tx, Actor(None, None), "appointment.no_show", f"appointment:{row['id']}",
                  True, None)
            slots[(row["service"], row["slot_start"])] = row
            marked += 1
        for row in slots.values():
            found = self._row_slot(row)
            if found is not None:
                self._slot_event(tx, *found, "no_show")
        phones = tx.all(
            "SELECT a.id AS aid, t.* FROM appointments a JOIN tickets t ON t.id = a.ticket_id "
            "WHERE a.kind = 'phone' AND a.status = 'booked'")
        for ticket in phones:
            if ticket["state"] == "waiting":
                turn = self._turn_at(tx.conn, ticket["id"])
                if turn is None or turn + s.phone_checkin_minutes * 60 > ts:
                    continue
                tx.conn.execute("UPDATE tickets SET state = 'no_show', finished_at = ? "
                                "WHERE id = ?", (ts, ticket["id"]))
                tx.emit("ticket.expired", self._ticket_event(tx, ticket, ts,
                                                             reason="not_checked_in"))
            tx.conn.execute("UPDATE appointments SET status = 'no_show' WHERE id = ?",
                            (ticket["aid"],))
            audit(tx, Actor(None, None), "appointment.no_show", f"appointment:{ticket['aid']}",
                  True, f"ticket:{ticket['id']}")
            marked += 1
        return marked

    async def sweep(self) -> int:
        if not self.settings.enabled:
            return 0
        now = self.service.clock()
        return await self.service.store.write(lambda tx: self.sweep_tx(tx, now.timestamp()),
                                              now)

    async def run_sweeps(self, every: float = SWEEP_SECONDS) -> None:
        """For the server's life (hall.app's lifespan), like the day rollover."""
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):  # a failed sweep is retried next round
                await self.sweep()
