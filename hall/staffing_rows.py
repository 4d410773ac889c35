"""The rows behind runtime staffing (tables `staffing_windows`, `staffing_queues`): reading them
as `hall.staffing.Overrides` and writing a manager's change. Plain functions over a connection
inside the caller's transaction; the rules are in hall/staffing.py, the audit and events in
hall/staffing_desk.py."""

from __future__ import annotations

import json
import sqlite3

from hall.staffing import Overrides, QueueChange, WindowChange


def load(conn: sqlite3.Connection) -> Overrides:
    windows = tuple(
        WindowChange(number=r[0], queues=tuple(json.loads(r[1])) if r[1] else None,
                     order=r[2], closed=r[3] is not None, temporary=bool(r[4]), name=r[5])
        for r in conn.execute("SELECT number, queues, order_rule, closed_day, temporary, name "
                              "FROM staffing_windows ORDER BY number"))
    queues = tuple(
        QueueChange(id=r[0], daily_cap=r[1], open_until_empty=bool(r[2]))
        for r in conn.execute("SELECT id, daily_cap, open_until_empty FROM staffing_queues "
                              "ORDER BY id"))
    return Overrides(windows, queues)


def issued(conn: sqlite3.Connection, queue_id: str, day: str) -> int:
    row = conn.execute("SELECT last FROM counters WHERE queue = ? AND day = ?",
                       (queue_id, day)).fetchone()
    return row[0] if row else 0


def save_window(conn: sqlite3.Connection, change: WindowChange, day: str, user: str | None,
                ts: float) -> None:
    """Store `change`; a configured window whose change says nothing any more loses its row."""
    if not change.temporary and change.queues is None and change.order is None \
            and not change.closed:
        conn.execute("DELETE FROM staffing_windows WHERE number = ?", (change.number,))
        return
    old = conn.execute("SELECT closed_day, opened_day FROM staffing_windows WHERE number = ?",
                       (change.number,)).fetchone()
    closed_day = (old[0] if old and old[0] else day) if change.closed else None
    opened_day = (old[1] if old and old[1] else day) if change.temporary else None
    conn.execute(
        "INSERT OR REPLACE INTO staffing_windows (number, temporary, name, queues, order_rule, "
        "closed_day, opened_day, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (change.number, int(change.temporary), change.name,
         json.dumps(list(change.queues)) if change.queues is not None else None,
         change.order, closed_day, opened_day, user, ts))


def delete_window(conn: sqlite3.Connection, number: int) -> None:
    conn.execute("DELETE FROM staffing_windows WHERE number = ?", (number,))


def save_queue(conn: sqlite3.Connection, change: QueueChange, user: str | None,
               ts: float) -> None:
    if change.daily_cap is None and not change.open_until_empty:
        conn.execute("DELETE FROM staffing_queues WHERE id = ?", (change.id,))
        return
    conn.execute("INSERT OR REPLACE INTO staffing_queues (id, daily_cap, open_until_empty, "
                 "changed_by, changed_at) VALUES (?, ?, ?, ?, ?)",
                 (change.id, change.daily_cap, int(change.open_until_empty), user, ts))


def end_days_before(conn: sqlite3.Connection, day: str) -> int:
    """The hall day `day` began: temporary windows of earlier days end, windows closed for an
    earlier day reopen. Returns how many rows changed."""
    ended = conn.execute("DELETE FROM staffing_windows WHERE temporary = 1 AND opened_day < ?",
                         (day,)).rowcount
    reopened = conn.execute("UPDATE staffing_windows SET closed_day = NULL "
                            "WHERE closed_day < ?", (day,)).rowcount
    conn.execute("DELETE FROM staffing_windows WHERE temporary = 0 AND queues IS NULL "
                  "AND order_rule IS NULL AND closed_day IS NULL")
    return ended + reopened
