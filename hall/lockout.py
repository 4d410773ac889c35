"""Wrong passwords lock a name from one address, with back-off (issue 9.7).

Why: five wrong passwords used to lock the account itself for 15 minutes, so anyone in the
street could lock the hall's manager out, and only real names answered 423 (a way to find
which names exist). Now:
* Failures count per (name, source address): wrong passwords for `manager` from X lock X
  only; the manager still logs in from the office.
* The lock grows with each further failure: `MAX_FAILURES` failures lock for `BASE_SECONDS`,
  each one more doubles it, up to `MAX_SECONDS`. A success from that address, or a quiet
  `FORGET_SECONDS`, forgets the failures.
* Names that do not exist (or are deactivated) are counted exactly like real ones, so the
  status, the message and (via a dummy hash check in hall/auth.py) the time are the same.
A locked attempt is refused before the password is checked and does not lengthen the lock
(the lock is already the answer; a locked address cannot keep the server hashing).
"""

from __future__ import annotations

import math
import sqlite3

from hall.store import Tx

MAX_FAILURES = 5
BASE_SECONDS = 60.0
MAX_SECONDS = 60 * 60.0
FORGET_SECONDS = 24 * 60 * 60.0


def lock_seconds(failures: int) -> float:
    """How long `failures` consecutive failures lock (0 below MAX_FAILURES): 1, 2, 4 … 60 min."""
    if failures < MAX_FAILURES:
        return 0.0
    return min(MAX_SECONDS, BASE_SECONDS * 2 ** min(failures - MAX_FAILURES, 20))


def locked_until(conn: sqlite3.Connection, username: str, source: str, now: float
                 ) -> float | None:
    """When the lock on (name, address) ends, if it is locked at `now`."""
    row = conn.execute("SELECT locked_until FROM login_failures WHERE username = ? AND "
                       "source = ?", (username, source)).fetchone()
    if row is None or row[0] is None or row[0] <= now:
        return None
    return float(row[0])


def record_failure(tx: Tx, username: str, source: str, now: float) -> float | None:
    """Count a failure; return when the lock it causes ends (None: not locked yet)."""
    row = tx.one("SELECT failures, last_at FROM login_failures WHERE username = ? AND "
                 "source = ?", (username, source))
    failures = 1 if row is None or now - row["last_at"] > FORGET_SECONDS else \
        row["failures"] + 1
    if row is None:  # a new (name, address): forget the quiet ones, so the table stays small
        tx.conn.execute("DELETE FROM login_failures WHERE last_at < ?", (now - FORGET_SECONDS,))
    seconds = lock_seconds(failures)
    until = now + seconds if seconds else None
    tx.conn.execute("INSERT INTO login_failures (username, source, failures, locked_until, "
                    "last_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, source) DO UPDATE "
                    "SET failures = excluded.failures, locked_until = excluded.locked_until, "
                    "last_at = excluded.last_at", (username, source, failures, until, now))
    return until


def clear(tx: Tx, username: str, source: str) -> None:
    tx.conn.execute("DELETE FROM login_failures WHERE username = ? AND source = ?",
                    (username, source))


def minutes_left(until: float, now: float) -> int:
    """Whole minutes to wait, rounded up (a 60-second lock says 1 分钟)."""
    return max(1, math.ceil((until - now) / 60))
