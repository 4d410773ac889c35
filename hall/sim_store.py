"""The store a simulation runs on: the same schema, the same `Tx`, the same `write`/`read`
contract as hall.store, without the thread hop and the fsync.

Why not hall.store: a hall server must answer only once a ticket is on disk, so its store
runs every operation in the writer connection's thread and commits (fsync) per batch — a few
hundred microseconds per operation. A simulation plays a whole hall day in a second; nothing
in it is a promise to a citizen. So here each operation runs at once, in the caller's thread,
inside its own SAVEPOINT of one long transaction (a refused step is rolled back exactly as in
the server: no number used, no row half-written), with `synchronous=OFF`, and the transaction
is committed at the end of each simulated day. `write` never suspends: a `HallService` on this
store can be driven without an event loop (`run_sync`).

Never for a hall's real database: `open` refuses a file a server holds, and one that has
tickets and was not made by the simulator (hall.simulate checks both).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from hall.store import Event, Tx, _prepare_writer, _translate, private_dir, private_files

T = TypeVar("T")

SIM_MARK = "simulation"  # meta key: this database holds simulated days


class SimStore:
    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.on_commit: Callable[[list[Event]], None] = lambda events: None

    @classmethod
    def open(cls, path: str | Path) -> SimStore:
        path = Path(path)
        private_dir(path.parent)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        _prepare_writer(conn)  # the hall's schema and migrations, exactly
        private_files(path)
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (SIM_MARK,))
        conn.execute("BEGIN IMMEDIATE")
        return cls(path, conn)

    def commit(self) -> None:
        """The day so far on disk (the end of each simulated day)."""
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN IMMEDIATE")

    async def write(self, fn: Callable[[Tx], T], now: datetime, draft: Any = None) -> T:
        """`draft` is for PostgreSQL's batches (hall/store_pg.py); here `fn` writes its rows."""
        conn = self.conn
        tx = Tx(conn, now)
        conn.execute("SAVEPOINT op")
        try:
            result = fn(tx)
            conn.execute("RELEASE op")
        except Exception as exc:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from exc
        for after in tx.after:
            after()
        if tx.events:
            self.on_commit(tx.events)
        return result

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self.conn)

    async def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")
        self.conn.close()


class Suspended(RuntimeError):
    """A coroutine wanted the event loop: something on the way is not simulation-ready."""


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a HallService call on a SimStore) to its end,
    without an event loop: the simulator steps the core tens of thousands of times a second,
    and a loop turn per step would cost more than the step."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise Suspended("simulation step suspended")
