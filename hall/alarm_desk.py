"""The alarm log: conditions become alarms a manager acknowledges, kept across restarts.

The facts come from three places: the hall itself (`HallService.alarm_conditions`: queues,
windows, 限时办结, the calendar), the cases (`CaseDesk.alarm_conditions`) and the device
adapters' health. `evaluate` turns them into conditions (hall.alarms, pure) and writes what
changed in one transaction: a new row per condition that began (`alarm.raised`), `cleared_at`
on each row whose condition ended (`alarm.cleared`). It runs at start (so alarms that lasted
through a restart stay the same rows, and those that ended meanwhile clear), every
`[sla] alarm_check_seconds` (waits grow and deadlines pass without any event), shortly after
any event of the hall, and before the alarm list is read, so the list is never stale.

Acknowledging (`ack`) records who, when and a note, in the same transaction as its audit row
and its `alarm.acked` event. The alarm events go to `/ws/manage` only (hall.events).

Choices made here (docs/alarms.md has them with the thresholds):
* An acknowledged alarm stays listed, as 已确认, until its condition ends: the manager who
  acknowledged it knows it is still going on, and so does the next one to open a page.
* A condition that ends before anyone acknowledged it leaves the live list (the strip on every
  manager page is for what needs someone now; a queue that drained or a printer refilled
  needs nobody, and a strip full of them would hide the ones that do), but not the record: the
  history shows it as 已解除（未确认）, so a supervisor sees what nobody reacted to, and a
  manager may still acknowledge it with a note (say, what was done).
* The alarm of a new 差评 or 办不成事 is raised in the case's own transaction, without an
  `alarm.raised` event: the case's `alarm.bad_rating` / `alarm.complaint` is that event. A
  second private event straight after a 差评 would leave a gap in the public seq right after
  its `ticket.rated`, telling a 差评 from a good rating (hall.events).
* A source that fails clears none of its alarms; a device not yet asked keeps its alarms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from hall import errors
from hall.alarms import (
    DEVICE_ALARMS,
    KIND_NAMES,
    STATUS_NAMES,
    Condition,
    Plan,
    device_conditions,
    reconcile,
    status_of,
)
from hall.datefmt import time_text
from hall.desk import text_field
from hall.service import Actor, HallService, audit
from hall.store import Event, Tx

log = logging.getLogger(__name__)

OWN_EVENTS = frozenset({"alarm.raised", "alarm.cleared", "alarm.acked"})
HALL_KINDS = frozenset({"queue_long", "wait_long", "handling_long", "window_idle",
                        "window_away", "pause_long", "application_late", "calendar_uncovered"})
CASE_KINDS = frozenset({"rectification_new", "rectification_overdue", "complaint_new",
                        "complaint_overdue"})
NOTE_MAX = 200
HISTORY_MAX = 5000
SOON = 0.3  # after an event: events come in bursts (a call, then its screen updates)

ConditionSource = Callable[[], Awaitable[list[Condition]]]
HealthRows = Callable[[], Iterable[Mapping[str, Any]]]


def _iso(ts: float | None, tz: tzinfo) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def alarm_view(row: sqlite3.Row, tz: tzinfo) -> dict[str, Any]:
    """An alarm as the API, the events and the pages show it."""
    details = json.loads(row["details"] or "{}")
    status = status_of(row["cleared_at"] is not None, row["acked_at"] is not None)
    return {
        "id": row["id"], "kind": row["kind"], "kind_name": KIND_NAMES.get(row["kind"], "告警"),
        "key": row["key"], "message": row["message"],
        "status": status, "status_name": STATUS_NAMES[status],
        "raised_at": _iso(row["raised_at"], tz), "cleared_at": _iso(row["cleared_at"], tz),
        "acked_at": _iso(row["acked_at"], tz), "acked_by": row["acked_by"],
        "ack_note": row["ack_note"],
        # what the pages link to (a case) or name (a queue, a window, a device)
        "queue": details.get("queue"), "window": details.get("window"),
        "device": details.get("device"), "rectification": details.get("rectification"),
        "complaint": details.get("complaint"), "details": details,
    }


def _active(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    return {(r["kind"], r["key"]): r["id"]
            for r in conn.execute("SELECT id, kind, key FROM alarms WHERE cleared_at IS NULL")}


def _insert(tx: Tx, condition: Condition, ts: float) -> int:
    cur = tx.conn.execute(
        "INSERT INTO alarms (kind, key, raised_at, message, details) VALUES (?, ?, ?, ?, ?)",
        (condition.kind, condition.key, ts, condition.message,
         json.dumps(dict(condition.details), ensure_ascii=False, separators=(",", ":"))))
    return int(cur.lastrowid or 0)


def raise_with_case(tx: Tx, condition: Condition, ts: float) -> int | None:
    """The alarm of a case just opened, in the case's transaction and without an event of its
    own (see the module's docstring). None when it is already raised."""
    if tx.one("SELECT 1 FROM alarms WHERE kind = ? AND key = ? AND cleared_at IS NULL",
              condition.ident) is not None:
        return None
    return _insert(tx, condition, ts)


def apply_plan(tx: Tx, plan: Plan, ts: float, tz: tzinfo) -> None:
    """Write one evaluation's changes, each with its event."""
    for condition in plan.raised:
        alarm_id = _insert(tx, condition, ts)
        tx.emit("alarm.raised", alarm_view(_row(tx.conn, alarm_id), tz))
    for alarm_id in plan.cleared:
        cur = tx.conn.execute("UPDATE alarms SET cleared_at = ? WHERE id = ? AND "
                              "cleared_at IS NULL", (ts, alarm_id))
        if cur.rowcount:
            tx.emit("alarm.cleared", alarm_view(_row(tx.conn, alarm_id), tz))


def _row(conn: sqlite3.Connection, alarm_id: int) -> sqlite3.Row:
    return conn.execute("SELECT * FROM alarms WHERE id = ?", (alarm_id,)).fetchone()


class AlarmDesk:
    """Evaluates the conditions, keeps the alarm log, takes acknowledgements."""

    def __init__(self, service: HallService, cases: ConditionSource,
                 device_health: HealthRows) -> None:
        self.service = service
        self.tz = service.tz
        self._sources: list[tuple[ConditionSource, frozenset[str]]] = [
            (service.alarm_conditions, HALL_KINDS), (cases, CASE_KINDS)]
        self._device_health = device_health
        self._lock = asyncio.Lock()
        self._soon: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ evaluating

    async def _gather(self) -> tuple[list[Condition], set[tuple[str, str]], set[str]]:
        current: list[Condition] = []
        keep: set[tuple[str, str]] = set()
        keep_kinds: set[str] = set()
        for source, kinds in self._sources:
            try:
                current += await source()
            except Exception:  # noqa: BLE001 - one broken source must not clear the others
                log.exception("alarm conditions could not be read")
                keep_kinds |= kinds
        try:
            devices, keep = device_conditions(list(self._device_health()))
            current += devices
        except Exception:  # noqa: BLE001
            log.exception("device health could not be read")
            keep_kinds |= set(DEVICE_ALARMS)
        return current, keep, keep_kinds

    async def evaluate(self) -> Plan:
        """Raise and clear what changed; one transaction, only when something did."""
        async with self._lock:
            current, keep, keep_kinds = await self._gather()
            active = await self.service.store.read(_active)
            if not reconcile(active, current, keep, keep_kinds):
                return Plan()
            now = self.service.clock()
            ts = now.timestamp()

            def op(tx: Tx) -> Plan:
                plan = reconcile(_active(tx.conn), current, keep, keep_kinds)
                apply_plan(tx, plan, ts, self.tz)
                return plan

            return await self.service.store.write(op, now)

    async def evaluate_safely(self) -> None:
        try:
            await self.evaluate()
        except Exception:  # noqa: BLE001 - the next tick tries again
            log.exception("alarm evaluation failed")

    def on_event(self, event: Event) -> None:
        """A bus listener: evaluate shortly after any change in the hall (not our own)."""
        if event.type in OWN_EVENTS or self._soon is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._soon = loop.create_task(self._evaluate_soon(), name="hall-alarms-soon")

    async def _evaluate_soon(self) -> None:
        await asyncio.sleep(SOON)
        self._soon = None  # an event from now on asks for another evaluation
        await self.evaluate_safely()

    async def run(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.evaluate_safely()

    async def start(self, every: float) -> None:
        """Evaluate once (what lasted through a restart stays the same alarm), then on a
        timer and after the hall's events."""
        await self.evaluate_safely()
        self.service.bus.listen(self.on_event)
        self._tasks.append(asyncio.create_task(self.run(every), name="hall-alarms"))

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._soon] if self._soon else [])]
        self._tasks, self._soon = [], None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ reading

    async def active(self) -> list[dict[str, Any]]:
        """The alarms whose condition holds, those still to acknowledge first, newest first."""
        await self.evaluate_safely()

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [alarm_view(r, self.tz) for r in conn.execute(
                "SELECT * FROM alarms WHERE cleared_at IS NULL "
                "ORDER BY acked_at IS NOT NULL, raised_at DESC, id DESC")]

        return await self.service.store.read(read)

    async def history(self, first: date, last: date, kind: str | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
        """Alarms raised on hall days `first`..`last`, newest first (at most HISTORY_MAX)."""
        if last < first:
            raise errors.bad_request("结束日期不能早于开始日期", "invalid_query", "to")
        if kind is not None and kind not in KIND_NAMES:
            raise errors.bad_request(f"告警类型只能是{'、'.join(KIND_NAMES.values())}之一",
                                     "invalid_query", "kind")
        if status is not None and status not in STATUS_NAMES:
            raise errors.bad_request(f"告警状态只能是{'、'.join(STATUS_NAMES.values())}之一",
                                     "invalid_query", "status")
        await self.evaluate_safely()
        lo = datetime.combine(first, time(), self.tz).timestamp()
        hi = datetime.combine(last + timedelta(days=1), time(), self.tz).timestamp()
        where, params = ["raised_at >= ? AND raised_at < ?"], [lo, hi]
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if status is not None:
            where.append({"raised": "cleared_at IS NULL AND acked_at IS NULL",
                          "acked": "cleared_at IS NULL AND acked_at IS NOT NULL",
                          "cleared": "cleared_at IS NOT NULL AND acked_at IS NULL",
                          "closed": "cleared_at IS NOT NULL AND acked_at IS NOT NULL"}[status])

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [alarm_view(r, self.tz) for r in conn.execute(
                f"SELECT * FROM alarms WHERE {' AND '.join(where)} "
                "ORDER BY raised_at DESC, id DESC LIMIT ?", (*params, HISTORY_MAX))]

        return await self.service.store.read(read)

    # ------------------------------------------------------------------ acknowledging

    async def ack(self, alarm_id: int, actor: Actor, note: Any = None) -> dict[str, Any]:
        """A manager acknowledges an alarm (active, or cleared and not yet acknowledged):
        who, when, and what they will do or did. Audited, refusals too."""
        text = text_field(note, "note", NOTE_MAX)
        now = self.service.clock()
        ts = now.timestamp()

        def op(tx: Tx) -> dict[str, Any]:
            row = tx.one("SELECT * FROM alarms WHERE id = ?", (alarm_id,))
            if row is None:
                raise errors.not_found("没有这条告警", "unknown_alarm")
            if row["acked_at"] is not None:
                when = time_text(datetime.fromtimestamp(row["acked_at"], self.tz), self.tz)
                raise errors.conflict(f"这条告警已于 {when} 确认，无需重复确认",
                                      "already_acked")
            tx.conn.execute("UPDATE alarms SET acked_at = ?, acked_by = ?, ack_note = ? "
                            "WHERE id = ?", (ts, actor.user, text, alarm_id))
            audit(tx, actor, "alarm.ack", f"alarm:{alarm_id}", True, row["kind"])
            view = alarm_view(_row(tx.conn, alarm_id), self.tz)
            tx.emit("alarm.acked", view)
            return view

        try:
            return await self.service.store.write(op, now)
        except errors.HallError as exc:
            await self.service.record_audit(actor, "alarm.ack", f"alarm:{alarm_id}", False,
                                            exc.code)
            raise
