"""实名取号: who a ticket of a real-name queue is for, the limits on that person, the elderly
green channel from the ID, and 亲友代取号 (docs/real-name.md has the rules for halls).

Three layers, each small:
* `People.claim` reads the request body (typed name + ID number, or the token of a card read
  at this kiosk, hall/card_reads.py), checks it and seals it *before* the write transaction
  (sealing costs CPU that the single writer should not pay). Outside a real-name queue the
  fields are ignored and nothing is kept: only what queuing needs.
* `admit` (pure) decides, when the ticket is issued, whether a person is needed and which
  priority the ticket gets: an ID showing `[real_name] elderly_age` or more gets the 老年人
  reason granted by "身份证" even when nobody asked; one below it cannot self-declare 老年人
  in a real-name queue (the card says otherwise).
* `check_limits` and `record` run inside `issue_ticket`'s transaction, so two kiosks taking
  a ticket for one person at the same moment are serialised by the writer: the limits count
  the holder's earlier real-name tickets by the keyed lookup of the ID (never decrypting),
  a ticket that ended 过号 (`no_show`) counts as a no-show, a cancelled one counts for
  nothing. For 亲友代取号 the limits count against the holder; the taker is limited only in
  how many different people they take for in a day (`proxy_per_day`: the 号贩子 pattern).

An appointment's ticket (`appointment_at`) needs no second check: the booking carried the
person and its own limits.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hall import errors
from hall.card_reads import CardReads
from hall.config import HallConfig, Queue, RealName
from hall.datefmt import day_text
from hall.identity import IdNumber, age_on, check_name, mask_id_number, mask_name, parse_id_number
from hall.person_limits import Visit, refusal
from hall.sealed import Sealer

GRANTED_BY_ID = "身份证"  # tickets.priority_by of a green channel the ID card granted
ELDERLY = "elderly"
HOLDER_FIELDS = ("id_read", "name", "id_number")
PROXY_FIELDS = ("proxy_id_read", "proxy_name", "proxy_id_number")
PERSONAL = ("name", "id_number", "proxy_name", "proxy_id_number")


@dataclass(frozen=True)
class Person:
    """The people of one real-name ticket, sealed and ready to store. Only `holder_birth`
    (for the green channel) and the masked names are in clear, and neither is stored."""

    holder_lookup: str
    holder_name: str  # sealed
    holder_id: str  # sealed
    holder_birth: date
    masked_name: str
    source: str = "typed"  # "reader": the holder's card was read at the kiosk
    proxy_lookup: str | None = None
    proxy_name: str | None = None  # sealed
    proxy_id: str | None = None  # sealed
    proxy_masked_name: str | None = None

    def public(self) -> dict[str, Any]:
        """What the ticket's holder is shown at the kiosk: masked names only."""
        return {"name": self.masked_name, "proxy_name": self.proxy_masked_name,
                "source": self.source}


class People:
    """Turns a ticket request's personal fields into a sealed `Person`."""

    def __init__(self, config: HallConfig, sealer: Sealer, reads: CardReads) -> None:
        self.config = config
        self.sealer = sealer
        self.reads = reads

    def digestible(self, body: dict[str, Any]) -> dict[str, Any]:
        """`body` for the idempotency digest (hall.api.idempotency), with every name and ID
        number replaced by its keyed lookup: an unkeyed hash of an ID number kept in the
        database could be reversed by trying every number of a birth date."""
        if not any(isinstance(body.get(k), str) for k in PERSONAL):
            return body
        return {k: self.sealer.lookup("request", v) if k in PERSONAL and isinstance(v, str)
                else v for k, v in body.items()}

    @contextlib.asynccontextmanager
    async def claim(self, body: dict[str, Any], key: str | None,
                    kiosk: Callable[[], Awaitable[str | None]]) -> AsyncIterator[Person | None]:
        """The person of a ticket request, for the `with` block that issues the ticket; card
        reads it used are released again when that block fails. `kiosk` names the enrolled
        kiosk making the request (asked only when a card read is used)."""
        if not self._real_name(body.get("service")) or not any(
                body.get(k) is not None for k in HOLDER_FIELDS + PROXY_FIELDS):
            yield None
            return
        used: list[Any] = []
        try:
            holder, source = await self._one(body, HOLDER_FIELDS, key, kiosk, used)
            proxy = None
            if any(body.get(k) is not None for k in PROXY_FIELDS):
                proxy, _ = await self._one(body, PROXY_FIELDS, key, kiosk, used)
                if proxy.id_number.number == holder.id_number.number:
                    raise errors.invalid("代取人和办事人不能是同一人；为本人取号请不选“代他人取号”",
                                         "proxy_is_holder", "proxy_id_number")
            yield self._seal(holder, proxy, source)
        except BaseException:
            for token in used:
                self.reads.release(token, key)
            raise

    def _real_name(self, service: object) -> bool:
        config = self.config
        return (isinstance(service, str) and config.has_service(service)
                and config.queue(config.service(service).queue).real_name)

    async def _one(self, body: dict[str, Any], fields: tuple[str, str, str], key: str | None,
                   kiosk: Callable[[], Awaitable[str | None]],
                   used: list[Any]) -> tuple[_Read, str]:
        read_field, name_field, id_field = fields
        proxy = read_field.startswith("proxy_")
        token = body.get(read_field)
        if token is not None:
            read = self.reads.take(await kiosk(), token, key, id_field)
            used.append(token)
            return _Read(read.name, read.id_number), "reader"
        if body.get(id_field) is None and body.get(name_field) is None and not proxy:
            raise errors.invalid("请先刷身份证，或填写办事人的姓名和身份证号码",
                                 "id_number_required", id_field)
        try:
            name = check_name(body.get(name_field), name_field)
            number = parse_id_number(body.get(id_field), id_field)
        except errors.HallError as exc:
            if not proxy:
                raise
            raise errors.HallError(exc.status, exc.code, f"代取人：{exc.message}",
                                   exc.field) from None
        return _Read(name, number), "typed"

    def _seal(self, holder: _Read, proxy: _Read | None, source: str) -> Person:
        seal, lookup = self.sealer.seal, self.sealer.lookup
        number = holder.id_number.number
        return Person(
            holder_lookup=lookup("id", number), holder_name=seal(holder.name) or "",
            holder_id=seal(number) or "", holder_birth=holder.id_number.birth,
            masked_name=mask_name(holder.name) or "", source=source,
            proxy_lookup=lookup("id", proxy.id_number.number) if proxy else None,
            proxy_name=seal(proxy.name) if proxy else None,
            proxy_id=seal(proxy.id_number.number) if proxy else None,
            proxy_masked_name=mask_name(proxy.name) if proxy else None)


@dataclass(frozen=True)
class _Read:
    name: str
    id_number: IdNumber


def admit(config: HallConfig, queue: Queue, person: Person | None, priority: str | None,
          granted_by: str | None, appointment: bool, today: date
          ) -> tuple[Person | None, str | None, str | None]:
    """(person to record, priority, who granted it) for a ticket of `queue`."""
    if not queue.real_name or appointment:
        return None, priority, granted_by
    if person is None:
        raise errors.invalid("办理该事项需要实名取号：请刷身份证，或填写姓名和身份证号码",
                             "id_number_required", "id_number")
    if person.holder_birth > today:
        raise errors.invalid("身份证号码中的出生日期有误", "invalid_id_number", "id_number")
    rules = config.real_name
    if not rules.elderly_age or config.priority_reason(ELDERLY) is None:
        return person, priority, granted_by
    elderly = age_on(person.holder_birth, today) >= rules.elderly_age
    if elderly and priority in (None, ELDERLY):
        return person, ELDERLY, GRANTED_BY_ID
    if priority == ELDERLY and not elderly and granted_by is None:
        raise errors.invalid(f"按身份证上的出生日期，办事人未满 {rules.elderly_age} 周岁，"
                             "不能选择老年人绿色通道", "not_elderly", "priority")
    return person, priority, granted_by


def ticket_visits(conn: sqlite3.Connection, id_lookup: str, since: date) -> list[Visit]:
    """The real-name tickets held by the person with this ID lookup since `since` (a ticket
    that ended 过号 is a no-show; a cancelled one counts for nothing)."""
    rows = conn.execute(
        "SELECT p.service, p.day, t.state FROM ticket_people p JOIN tickets t "
        "ON t.id = p.ticket_id WHERE p.holder_lookup = ? AND p.day >= ?",
        (id_lookup, since.isoformat())).fetchall()
    return [Visit(r[0], date.fromisoformat(r[1]), r[2] == "no_show")
            for r in rows if r[2] != "cancelled"]


def booking_visits(conn: sqlite3.Connection, id_lookup: str, since: date) -> list[Visit]:
    """The same person's bookings and phone tickets (hall.booking, same keyed lookup): one
    person, one set of limits, whether they book ahead or queue at the kiosk."""
    rows = conn.execute(
        "SELECT service, day, status FROM appointments WHERE id_lookup = ? AND day >= ? "
        "AND status != 'cancelled'", (id_lookup, since.isoformat())).fetchall()
    return [Visit(r[0], date.fromisoformat(r[1]), r[2] == "no_show") for r in rows]


def check_limits(conn: sqlite3.Connection, person: Person, service: str, today: date,
                 rules: RealName) -> None:
    """Refuse (409, with the reason and until when) a ticket over the holder's limits, counting
    the holder's real-name tickets and their bookings alike."""
    since = min(today.replace(day=1), today - timedelta(days=6),
                today - timedelta(days=rules.rules.no_show_days + rules.rules.bar_days))
    visits = (ticket_visits(conn, person.holder_lookup, since)
              + booking_visits(conn, person.holder_lookup, since))
    who = "办事人" if person.proxy_lookup else "您"
    refused = refusal(visits, service, today, today, rules.rules, who)
    if refused is not None:
        message = refused.message
        if refused.code == "person_barred" and refused.until is not None:
            message = (f"{who}近 {rules.rules.no_show_days} 天内有 {rules.rules.no_show_count}"
                       f" 次取号或预约后未到（过号），{day_text(refused.until)}起才能再次取号")
        raise errors.conflict(message, refused.code, "id_number")
    if person.proxy_lookup and rules.proxy_per_day:
        others = conn.execute(
            "SELECT COUNT(DISTINCT p.holder_lookup) FROM ticket_people p JOIN tickets t "
            "ON t.id = p.ticket_id WHERE p.proxy_lookup = ? AND p.day = ? "
            "AND p.holder_lookup != ? AND t.state != 'cancelled'",
            (person.proxy_lookup, today.isoformat(), person.holder_lookup)).fetchone()[0]
        if others >= rules.proxy_per_day:
            raise errors.conflict(f"代取人今天已为 {others} 人代取号，每人每天最多为 "
                                  f"{rules.proxy_per_day} 人代取", "proxy_day_limit",
                                  "proxy_id_number")


def record(conn: sqlite3.Connection, ticket_id: int, day: str, service: str,
           person: Person, keep_days: int) -> None:
    """Store the ticket's people, and forget those of tickets older than `keep_days` (an
    indexed range, almost always empty: the cost of keeping only what queuing needs)."""
    oldest = date.fromisoformat(day) - timedelta(days=keep_days)
    conn.execute("DELETE FROM ticket_people WHERE day < ?", (oldest.isoformat(),))
    conn.execute(
        "INSERT INTO ticket_people (ticket_id, day, service, holder_lookup, holder_name, "
        "holder_id, proxy_lookup, proxy_name, proxy_id, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (ticket_id, day, service, person.holder_lookup, person.holder_name, person.holder_id,
         person.proxy_lookup, person.proxy_name, person.proxy_id, person.source))


def masked_row(sealer: Sealer, row: sqlite3.Row) -> dict[str, Any]:
    """A ticket_people row as a manager sees it: masked names, masked numbers."""
    return {"name": mask_name(sealer.open(row["holder_name"])),
            "id_number": mask_id_number(sealer.open(row["holder_id"])),
            "proxy_name": mask_name(sealer.open(row["proxy_name"])),
            "proxy_id_number": mask_id_number(sealer.open(row["proxy_id"])),
            "source": row["source"]}


def revealed_row(sealer: Sealer, row: sqlite3.Row) -> dict[str, Any]:
    return {"name": sealer.open(row["holder_name"]),
            "id_number": sealer.open(row["holder_id"]),
            "proxy_name": sealer.open(row["proxy_name"]),
            "proxy_id_number": sealer.open(row["proxy_id"]),
            "source": row["source"]}
