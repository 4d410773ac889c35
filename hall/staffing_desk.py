"""A manager's staffing changes (潮汐窗口, 延时服务), each one transaction: the override row
(hall/staffing_rows.py), the audit row and a public event, committed together; the hall's
effective configuration is swapped after commit and before the event is published
(`HallService.use_staffing`), so whoever reacts to the event already sees the new windows.

Events (public `/ws` too: windows and queues only, never who sits at a window):
`window.added` (a temporary window), `window.changed` (queues, calling order, closed for the
day or reopened), `window.removed` (a temporary window closed), `queue.changed` (daily cap,
延时服务). Each window event carries `windows`, the public view of every window, so a screen
redraws its window list from the event alone.

Closing a window (for the day, or a temporary one for good) is refused while it has a ticket
called, being served or held: the clerk finishes, skips, transfers or calls it back first, so
no citizen standing at the window is dropped. Whoever is logged in there is logged out (told
why), and tickets transferred to that window go back to their queue's line (keeping their
place), so nobody waits for a window that will not call. A change that would leave a queue
without any configured window is refused (its tickets could never be called).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

from hall import errors, staffing_rows
from hall.auth import Auth
from hall.config import HallConfig, Window
from hall.model import STATE_NAMES, State
from hall.service import Actor, HallService, audit
from hall.staffing import (
    check_new_window,
    check_queue_change,
    check_window_change,
    describe_queue,
    describe_window,
    max_cap,
    orphaned,
)
from hall.store import Tx

CLOSED_REASON = "本窗口已由管理员停止服务，请到其他窗口登录"


class StaffingDesk:
    def __init__(self, service: HallService, auth: Auth) -> None:
        self.service = service
        self.auth = auth

    # ------------------------------------------------------------------ reading

    async def queues(self) -> list[dict[str, Any]]:
        """Every queue with its cap (the manager's and the file's), today's issued count, the
        most its number width allows, 延时服务 and the windows serving it."""
        service = self.service
        _, ts, day = service._now()

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            config = service.config_in(conn)
            out = []
            for q in config.queues:
                summary = service.queue_summary(conn, q.id, day, ts)
                out.append({
                    "id": q.id, "name": q.name, "prefix": q.prefix, "width": q.width,
                    "daily_cap": q.daily_cap,
                    "config_daily_cap": service.base_config.queue(q.id).daily_cap,
                    "max_daily_cap": max_cap(q),
                    "issued": staffing_rows.issued(conn, q.id, day),
                    "waiting": summary["waiting"], "open_until_empty": q.open_until_empty,
                    "windows": [w.number for w in config.windows_serving(q.id)]})
            return out

        return await service.store.read(read)

    async def window_view(self, number: int) -> dict[str, Any]:
        found = [w for w in await self.service.manage_windows() if w["number"] == number]
        return found[0] if found else {"number": number, "removed": True}

    # ------------------------------------------------------------------ changes

    async def open_window(self, body: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        """A temporary window (潮汐窗口): clerks can log in and call at once."""
        number_hint = body.get("number")
        target = f"window:{number_hint}" if isinstance(number_hint, int) else "window:new"

        def op(tx: Tx, day: str, ts: float) -> int:
            change = check_new_window(self.service.config_in(tx.conn), body)
            number = change.number
            staffing_rows.save_window(tx.conn, change, day, actor.user, ts)
            # a number used by an earlier temporary window starts clean
            tx.conn.execute("INSERT OR IGNORE INTO windows (number) VALUES (?)", (number,))
            tx.conn.execute("UPDATE windows SET clerk = NULL, paused = 0, pause_reason = NULL, "
                            "current_ticket = NULL, assigned = NULL, since = ? "
                            "WHERE number = ?", (ts, number))
            tx.conn.execute("DELETE FROM sessions WHERE window = ?", (number,))
            config = self.service.use_staffing(tx)
            audit(tx, actor, "window.add", f"window:{number}", True,
                  describe_window(change, config))
            self._emit(tx, "window.added", number, config, day, ts, set(change.queues or ()))
            return number

        number = await self._write("window.add", target, actor, op)
        return await self.window_view(number)

    async def change_window(self, number: int, body: Mapping[str, Any],
                            actor: Actor) -> dict[str, Any]:
        """Queues (in calling order), calling order, closed for the day / reopened; `closed`
        on a temporary window closes it for good."""
        def op(tx: Tx, day: str, ts: float) -> int:
            before = self.service.config_in(tx.conn)
            if not before.has_window(number):
                raise errors.not_found(f"没有 {number} 号窗口", "unknown_window")
            window = before.window(number)
            current = staffing_rows.load(tx.conn).window(number)
            change = check_window_change(before, self.service.base_config, current, number,
                                         body)
            removing = window.temporary and change.closed
            if change.closed and (removing or not window.closed):
                self._empty_window(tx, window, day, ts)
            if removing:
                staffing_rows.delete_window(tx.conn, number)
            else:
                staffing_rows.save_window(tx.conn, change, day, actor.user, ts)
            config = self.service.use_staffing(tx)
            lost = orphaned(before, config)
            if lost:
                names = "、".join(before.queue(q).name for q in lost)
                raise errors.conflict(f"调整后{names}将没有窗口办理，请先把它加到其他窗口",
                                      "queue_unserved", "queues")
            action = "window.remove" if removing else "window.change"
            audit(tx, actor, action, f"window:{number}", True,
                  "撤销临时窗口" if removing else describe_window(change, config))
            touched = set(window.queues) | set(change.queues or ())
            self._emit(tx, "window.removed" if removing else "window.changed", number, config,
                       day, ts, touched)
            return number

        await self._write("window.change", f"window:{number}", actor, op)
        await self.service.refresh_caches()  # a clerk may have been logged out
        return await self.window_view(number)

    async def change_queue(self, queue_id: str, body: Mapping[str, Any],
                           actor: Actor) -> dict[str, Any]:
        """A queue's daily cap (from now on: the next ticket past it is refused) and 延时服务."""
        def op(tx: Tx, day: str, ts: float) -> None:
            before = self.service.config_in(tx.conn)
            if not before.has_queue(queue_id):
                raise errors.not_found("没有这个队列", "unknown_queue", "queue")
            current = staffing_rows.load(tx.conn).queue(queue_id)
            change = check_queue_change(before, queue_id, current,
                                        staffing_rows.issued(tx.conn, queue_id, day), body)
            staffing_rows.save_queue(tx.conn, change, actor.user, ts)
            config = self.service.use_staffing(tx)
            queue = config.queue(queue_id)
            audit(tx, actor, "queue.change", f"queue:{queue_id}", True,
                  describe_queue(change, config))
            tx.emit("queue.changed", {
                "queue": queue_id, "queue_name": queue.name, "daily_cap": queue.daily_cap,
                "open_until_empty": queue.open_until_empty, "window": None,
                "window_state": None,
                "queues": [self.service.queue_summary(tx.conn, queue_id, day, ts)]})

        await self._write("queue.change", f"queue:{queue_id}", actor, op)
        return next(q for q in await self.queues() if q["id"] == queue_id)

    # ------------------------------------------------------------------ helpers

    async def _write(self, action: str, target: str, actor: Actor,
                     op: Callable[[Tx, str, float], Any]) -> Any:
        """Run `op` as one transaction; a refusal is audited too, as a failure."""
        now, ts, day = self.service._now()
        try:
            return await self.service.store.write(lambda tx: op(tx, day, ts), now)
        except errors.HallError as exc:
            await self.service.record_audit(actor, action, target, False, exc.code)
            raise

    def _empty_window(self, tx: Tx, window: Window, day: str, ts: float) -> None:
        """Make `window` ready to close: refuse while someone is at it, log its clerk out,
        send tickets transferred to it back to their queue."""
        row = tx.one("SELECT t.number, t.state FROM windows w JOIN tickets t "
                     "ON t.id = w.current_ticket WHERE w.number = ?", (window.number,))
        if row is not None and row["state"] in (State.CALLED, State.SERVING):
            raise errors.conflict(
                f"{window.name}正在办理 {row['number']}（{STATE_NAMES[State(row['state'])]}），"
                "请先办结、过号、挂起或转移后再停止服务", "window_busy", "closed")
        held = tx.one("SELECT number FROM tickets WHERE window = ? AND state = 'held' "
                      "AND day = ? LIMIT 1", (window.number, day))
        if held is not None:
            raise errors.conflict(f"{window.name}还有挂起的号 {held['number']}，"
                                  "请先回呼办结或转移后再停止服务", "window_has_held", "closed")
        self.auth._end_window_sessions(tx, window.number, CLOSED_REASON, ts)
        tx.conn.execute("UPDATE windows SET clerk = NULL, paused = 0, pause_reason = NULL, "
                        "current_ticket = NULL, since = ? WHERE number = ?", (ts, window.number))
        tx.conn.execute("UPDATE tickets SET directed_window = NULL WHERE state = 'waiting' "
                        "AND directed_window = ?", (window.number,))

    def _emit(self, tx: Tx, type_: str, number: int, config: HallConfig, day: str, ts: float,
              queues: set[str]) -> None:
        service = self.service
        name = config.window(number).name if config.has_window(number) else \
            service.window_name(number)
        tx.emit(type_, {
            "window": number, "window_name": name,
            "window_state": service.window_public(tx.conn, number, config),
            "windows": service.public_windows(tx.conn, config),
            "queues": [service.queue_summary(tx.conn, q, day, ts) for q in sorted(queues)
                       if config.has_queue(q)]})
