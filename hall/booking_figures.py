"""What managers see of appointments: the day's list with every personal value masked, the
audited reveal, and the figures (bookings, check-ins, no-show rate, booked against walk-in
tickets per service and hour), aggregated in SQL.

Definitions (docs/appointments.md):
* bookings: bookings for slots in the period that were not cancelled (cancelled counted
  apart); check-ins and no-shows among them;
* no-show rate: no-shows ÷ (check-ins + no-shows), the bookings whose outcome is known —
  bookings still ahead count in neither;
* booked share: tickets issued by a booking's check-in (channel "appointment", also a late
  one that joined as a walk-in: it came through a booking) ÷ all tickets of that service and
  hour; everything else, 云取号 tickets too, is walk-in.
Hours are hours of the hall's clock: of the slot start for bookings, of issue for tickets.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from hall import errors
from hall.booking import KINDS, STATUS_NAMES, BookingDesk
from hall.desk import mask_contact
from hall.identity import mask_id_number, mask_name
from hall.portable_sql import count_if
from hall.service import Actor, audit
from hall.store import Tx

# per service and hour of the hall's clock; portable SQL (hall/portable_sql.py)
_BOOKED = (
    "SELECT service, CAST(strftime('%H', slot_start + :offset, 'unixepoch') AS INT) AS hour, "
    + ", ".join(f"{count_if(cond)} AS {name}" for name, cond in (
        ("bookings", "status != 'cancelled'"), ("cancelled", "status = 'cancelled'"),
        ("check_ins", "status = 'checked_in'"), ("no_shows", "status = 'no_show'")))
    + ", SUM(walk_in) AS late_walk_ins FROM appointments WHERE kind = 'booking' "
    "AND day BETWEEN :first AND :last GROUP BY service, hour")
_TICKETS = (
    "SELECT service, CAST(strftime('%H', issued_at + :offset, 'unixepoch') AS INT) AS hour, "
    + ", ".join(f"{count_if(cond)} AS {name}" for name, cond in (
        ("booked_tickets", "channel = 'appointment'"),
        ("walk_in_tickets", "channel != 'appointment'"), ("phone_tickets", "channel = 'phone'")))
    + " FROM tickets WHERE day BETWEEN :first AND :last GROUP BY service, hour")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class BookingFigureDesk(BookingDesk):
    """Managers' list, reveal and figures."""

    def _name(self, service_id: str) -> str:
        return self.config.service(service_id).name if self.config.has_service(service_id) \
            else service_id

    def _offset(self) -> int:
        offset = self.service.clock().astimezone(self.tz).utcoffset()
        return int(offset.total_seconds()) if offset else 0

    async def manage_list(self, day: date) -> list[dict[str, Any]]:
        """Bookings of slots on `day` and phone tickets taken on it, earliest first."""
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT a.*, t.number FROM appointments a LEFT JOIN tickets t "
                "ON t.id = a.ticket_id WHERE a.day = ? ORDER BY a.slot_start, a.id",
                (day.isoformat(),)).fetchall()
            return [self._manage_row(r) for r in rows]

        return await self.service.store.read(read)

    def _manage_row(self, r: sqlite3.Row) -> dict[str, Any]:
        kind = r["kind"]
        return {
            "id": r["id"], "kind": kind, "kind_name": KINDS[kind], "code": r["code"],
            "service": r["service"], "service_name": self._name(r["service"]),
            "start": self._iso(r["slot_start"]) if kind == "booking" else None,
            "end": self._iso(r["slot_end"]) if kind == "booking" else None,
            "person_name": mask_name(self.sealer.open(r["name"])) if r["name"] else None,
            "id_number": mask_id_number(self.sealer.open(r["id_number"])),
            "phone": mask_contact(self.sealer.open(r["phone"])),
            "status": r["status"], "status_name": STATUS_NAMES[kind][r["status"]],
            "number": r["number"], "walk_in": bool(r["walk_in"]),
            "booked_at": self._iso(r["booked_at"]),
            "checked_in_at": self._iso(r["checked_in_at"]),
        }

    async def reveal(self, appointment_id: int, actor: Actor) -> dict[str, Any]:
        """The name, ID and phone in full, for a manager who must reach the person (a slot
        cancelled by the hall): the audit log records who looked, never what they saw."""
        now = self.service.clock()

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one("SELECT * FROM appointments WHERE id = ?", (appointment_id,))
            if row is None:
                raise errors.not_found("没有这个预约记录", "unknown_appointment")
            audit(tx, actor, "appointment.reveal", f"appointment:{appointment_id}", True, None)
            return {"id": appointment_id, "person_name": self.sealer.open(row["name"]),
                    "id_number": self.sealer.open(row["id_number"]),
                    "phone": self.sealer.open(row["phone"])}

        return await self.service.store.write(op, now)

    async def figures(self, first: date, last: date) -> list[dict[str, Any]]:
        """Per service and hour, then a whole-day line per service (hour empty)."""
        if last < first:
            raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
        params = {"first": first.isoformat(), "last": last.isoformat(),
                  "offset": self._offset()}

        def read(conn: sqlite3.Connection) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
            booked = conn.execute(_BOOKED, params).fetchall()
            tickets = conn.execute(_TICKETS, params).fetchall()
            return booked, tickets

        booked, tickets = await self.service.store.read(read)
        cells: dict[tuple[str, int], dict[str, int]] = {}
        for row in [*booked, *tickets]:
            cell = cells.setdefault((row["service"], row["hour"]), {})
            for key, value in dict(row).items():
                if key not in ("service", "hour"):
                    cell[key] = int(value or 0)
        totals: dict[str, dict[str, int]] = {}
        for (service, _), cell in cells.items():
            total = totals.setdefault(service, {})
            for key, value in cell.items():
                total[key] = total.get(key, 0) + value
        order = {s.id: i for i, s in enumerate(self.config.services)}
        out = []
        for (service, hour), cell in sorted(cells.items(),
                                            key=lambda kv: (order.get(kv[0][0], 999), kv[0][1])):
            out.append(self._figure(service, hour, cell))
        for service, cell in sorted(totals.items(), key=lambda kv: order.get(kv[0], 999)):
            out.append(self._figure(service, None, cell))
        return out

    def _figure(self, service: str, hour: int | None, cell: dict[str, int]) -> dict[str, Any]:
        names = ("bookings", "cancelled", "check_ins", "no_shows", "late_walk_ins",
                 "booked_tickets", "walk_in_tickets", "phone_tickets")
        c = {k: cell.get(k, 0) for k in names}
        return {
            "service": service, "service_name": self._name(service), "hour": hour,
            "hour_text": f"{hour}时" if hour is not None else "全天", **c,
            "no_show_rate": _rate(c["no_shows"], c["check_ins"] + c["no_shows"]),
            "booked_share": _rate(c["booked_tickets"],
                                  c["booked_tickets"] + c["walk_in_tickets"]),
        }
