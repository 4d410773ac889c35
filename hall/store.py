"""The one SQLite file: schema versions, the single writer with group commit, and reads.

Why group commit: `synchronous=FULL` makes every COMMIT an fsync, and an fsync per ticket caps
a hall server at a few thousand tickets a second on a good day (stack-notes.md). The writer
task takes every operation that is waiting, runs each inside its own SAVEPOINT (one failing
operation never undoes another's rows — the aiosqlite shared-transaction trap), commits once,
then hands the batch's events to `on_commit` and only then answers the callers. So an answer
always means "on disk", and events reach subscribers in `seq` order, after commit.

Why `Connection._execute`: each aiosqlite await is a thread hop; a whole batch runs in the
connection's own thread in one hop. The aiosqlite version is pinned in pyproject.toml.

Files (issue 9.6): the database, its -wal/-shm and the lock file are the owner's only (0600,
directory 0700): they hold the session-signing secret and live sessions. `lock_database`
makes one server process the owner of a file (until PostgreSQL, two writers on one SQLite
file would each believe their own queue counters); the lock is a `flock`, which the kernel
drops when the process dies, so a server killed with -9 restarts at once. A full disk
answers 507 `disk_full` and the operation is not acknowledged (nothing half-written stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

from hall import audit, errors, productivity, stats
from hall.ws_frames import text_frame

T = TypeVar("T")

SQLITE_FULL = 13
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700

MIGRATIONS: list[str] = [
    # 1: tickets, numbering, the event log, windows, people and the audit log
    """
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,
        number TEXT NOT NULL,
        queue TEXT NOT NULL,
        service TEXT NOT NULL,
        channel TEXT NOT NULL,
        kiosk TEXT,
        priority TEXT,
        needs_help INTEGER NOT NULL DEFAULT 0,
        appointment_at REAL,
        state TEXT NOT NULL,
        outcome TEXT,
        note TEXT,
        token TEXT NOT NULL UNIQUE,
        issued_at REAL NOT NULL,
        order_at REAL NOT NULL,
        directed_window INTEGER,
        window INTEGER,
        clerk TEXT,
        first_called_at REAL,
        called_at REAL,
        started_at REAL,
        finished_at REAL,
        calls INTEGER NOT NULL DEFAULT 0,
        skips INTEGER NOT NULL DEFAULT 0,
        transfers INTEGER NOT NULL DEFAULT 0,
        UNIQUE (day, number)
    );
    CREATE INDEX tickets_waiting ON tickets (state, day, queue, order_at);
    CREATE INDEX tickets_window ON tickets (window, state);
    CREATE INDEX tickets_finished ON tickets (queue, finished_at);
    CREATE TABLE counters (
        queue TEXT NOT NULL,
        day TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (queue, day)
    ) WITHOUT ROWID;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        type TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        ticket_id INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE windows (
        number INTEGER PRIMARY KEY,
        clerk TEXT,
        paused INTEGER NOT NULL DEFAULT 0,
        pause_reason TEXT,
        current_ticket INTEGER,
        since REAL
    );
    CREATE TABLE users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        pwhash TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until REAL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        window INTEGER,
        created_at REAL NOT NULL,
        last_seen REAL NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        time TEXT NOT NULL,
        user TEXT,
        action TEXT NOT NULL,
        target TEXT,
        source TEXT,
        success INTEGER NOT NULL,
        detail TEXT
    );
    CREATE TABLE complaints (
        id INTEGER PRIMARY KEY,
        opened_at REAL NOT NULL,
        source TEXT NOT NULL,
        ticket_id INTEGER,
        service TEXT,
        window INTEGER,
        clerk TEXT,
        description TEXT NOT NULL,
        contact TEXT,
        status TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE waiting_counts (
        day TEXT NOT NULL,
        queue TEXT NOT NULL,
        waiting INTEGER NOT NULL,
        PRIMARY KEY (day, queue)
    ) WITHOUT ROWID;
    CREATE TRIGGER waiting_on_insert AFTER INSERT ON tickets WHEN NEW.state = 'waiting'
    BEGIN
        INSERT INTO waiting_counts (day, queue, waiting) VALUES (NEW.day, NEW.queue, 1)
        ON CONFLICT (day, queue) DO UPDATE SET waiting = waiting + 1;
    END;
    CREATE TRIGGER waiting_on_update AFTER UPDATE OF state, queue ON tickets
    WHEN (OLD.state = 'waiting') <> (NEW.state = 'waiting') OR
         (OLD.state = 'waiting' AND OLD.queue <> NEW.queue)
    BEGIN
        UPDATE waiting_counts SET waiting = waiting - 1
        WHERE OLD.state = 'waiting' AND day = OLD.day AND queue = OLD.queue;
        INSERT INTO waiting_counts (day, queue, waiting)
        SELECT NEW.day, NEW.queue, 1 WHERE NEW.state = 'waiting'
        ON CONFLICT (day, queue) DO UPDATE SET waiting = waiting + 1;
    END;
    """,
    # 2: 好差评 ratings, 差评整改 cases, 办不成事 complaints as full cases (hall/feedback.py)
    """
    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL UNIQUE,
        number TEXT NOT NULL,
        day TEXT NOT NULL,
        window INTEGER,
        clerk TEXT,
        service TEXT NOT NULL,
        queue TEXT NOT NULL,
        level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
        reasons TEXT NOT NULL DEFAULT '[]',
        comment TEXT,
        overall INTEGER,
        efficiency INTEGER,
        quality INTEGER,
        attitude INTEGER,
        channel TEXT NOT NULL,
        mode TEXT NOT NULL,
        rated_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE INDEX ratings_time ON ratings (rated_at);
    CREATE INDEX ratings_window ON ratings (window, rated_at);
    CREATE TABLE rectifications (
        id INTEGER PRIMARY KEY,
        rating_id INTEGER NOT NULL UNIQUE,
        ticket_id INTEGER NOT NULL,
        window INTEGER,
        clerk TEXT,
        service TEXT,
        level INTEGER NOT NULL,
        opened_at REAL NOT NULL,
        day TEXT NOT NULL,
        status TEXT NOT NULL,
        assignee TEXT,
        contact TEXT,
        callback_due TEXT NOT NULL,
        fix_due TEXT NOT NULL,
        classification TEXT,
        appeal_upheld INTEGER,
        view TEXT,
        called_back_at REAL,
        classified_at REAL,
        fixed_at REAL,
        fed_back_at REAL,
        reviewed_at REAL,
        closed_at REAL
    );
    CREATE INDEX rectifications_open ON rectifications (status, opened_at);
    ALTER TABLE complaints ADD COLUMN reference TEXT;
    ALTER TABLE complaints ADD COLUMN day TEXT;
    ALTER TABLE complaints ADD COLUMN category TEXT;
    ALTER TABLE complaints ADD COLUMN class TEXT;
    ALTER TABLE complaints ADD COLUMN department TEXT;
    ALTER TABLE complaints ADD COLUMN chief INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE complaints ADD COLUMN assignee TEXT;
    ALTER TABLE complaints ADD COLUMN contact_due TEXT;
    ALTER TABLE complaints ADD COLUMN due TEXT;
    ALTER TABLE complaints ADD COLUMN contacted_at REAL;
    ALTER TABLE complaints ADD COLUMN referral TEXT;
    ALTER TABLE complaints ADD COLUMN view TEXT;
    ALTER TABLE complaints ADD COLUMN assessed_at REAL;
    ALTER TABLE complaints ADD COLUMN assigned_at REAL;
    ALTER TABLE complaints ADD COLUMN resolved_at REAL;
    ALTER TABLE complaints ADD COLUMN answered_at REAL;
    ALTER TABLE complaints ADD COLUMN followed_up_at REAL;
    ALTER TABLE complaints ADD COLUMN archived_at REAL;
    UPDATE complaints SET status = 'received',
        reference = 'BC' || upper(hex(randomblob(3))),
        day = date(opened_at, 'unixepoch', '+8 hours'),
        contact_due = date(opened_at, 'unixepoch', '+8 hours'),
        due = date(opened_at, 'unixepoch', '+8 hours')
        WHERE reference IS NULL;
    CREATE UNIQUE INDEX complaints_reference ON complaints (reference);
    CREATE INDEX complaints_open ON complaints (status, opened_at);
    CREATE TABLE case_steps (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        case_id INTEGER NOT NULL,
        step TEXT NOT NULL,
        status TEXT NOT NULL,
        time REAL NOT NULL,
        user TEXT,
        note TEXT
    );
    CREATE INDEX case_steps_case ON case_steps (kind, case_id, id);
    """,
    # 3: the audit log append-only and hash-chained (hall/audit.py); rows without a hash were
    # written before the chain and are sealed once when the store opens
    """
    ALTER TABLE audit ADD COLUMN hash TEXT;
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit WHEN OLD.hash IS NOT NULL
    BEGIN
        SELECT RAISE(ABORT, '审计日志只能追加，不能修改');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN
        SELECT RAISE(ABORT, '审计日志只能追加，不能删除');
    END;
    """,
    # 4: daily roll-ups of the report figures (hall/stats.py)
    stats.MIGRATION,
    # 5: hall.service (issue 8.15/8.16/8.19): days a manager opens though the calendar says
    # closed; who granted a ticket's priority (NULL: self-declared at the kiosk); the legal
    # due date of an accepted application (限时办结) and when it was completed.
    """
    CREATE TABLE open_days (
        day TEXT PRIMARY KEY,
        opened_by TEXT,
        opened_at REAL NOT NULL,
        note TEXT
    );
    ALTER TABLE tickets ADD COLUMN priority_by TEXT;
    ALTER TABLE tickets ADD COLUMN due_date TEXT;
    ALTER TABLE tickets ADD COLUMN completed_at REAL;
    CREATE INDEX tickets_due ON tickets (due_date) WHERE due_date IS NOT NULL;
    """,
    # 6: pad login (staff number + PIN), sessions ended by someone else and why, windows a
    # manager assigned (the 办不成事 window), complaints handed to a 首席事务代表 window
    """
    ALTER TABLE users ADD COLUMN staff_no TEXT;
    ALTER TABLE users ADD COLUMN pinhash TEXT;
    CREATE UNIQUE INDEX users_staff_no ON users (staff_no) WHERE staff_no IS NOT NULL;
    ALTER TABLE windows ADD COLUMN assigned TEXT;
    CREATE TABLE ended_sessions (
        id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        ended_at REAL NOT NULL
    );
    ALTER TABLE complaints ADD COLUMN chief_window INTEGER;
    """,
    # 7: device credentials (rating tablets, kiosks) and login failures per name and address
    # (issue 9: hall/credentials.py, hall/lockout.py)
    """
    CREATE TABLE device_credentials (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        window INTEGER,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE login_failures (
        username TEXT NOT NULL,
        source TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locked_until REAL,
        last_at REAL NOT NULL,
        PRIMARY KEY (username, source)
    ) WITHOUT ROWID;
    """,
    # 8: staffing (issue 10.2, hall/staffing.py): runtime overrides over config.toml — temporary
    # windows (潮汐窗口), a window's queues and calling order, closed for the day; a queue's
    # daily cap and 延时服务 (open until empty). NULL means "as config.toml says".
    """
    CREATE TABLE staffing_windows (
        number INTEGER PRIMARY KEY,
        temporary INTEGER NOT NULL DEFAULT 0,
        name TEXT,
        queues TEXT,
        order_rule TEXT,
        closed_day TEXT,
        opened_day TEXT,
        changed_by TEXT,
        changed_at REAL NOT NULL
    );
    CREATE TABLE staffing_queues (
        id TEXT PRIMARY KEY,
        daily_cap INTEGER,
        open_until_empty INTEGER NOT NULL DEFAULT 0,
        changed_by TEXT,
        changed_at REAL NOT NULL
    );
    """,
    # 9: alarms (issue 10.4, hall/alarm_desk.py): one row per stretch of time a condition held,
    # from raised to cleared, with who acknowledged it; at most one uncleared row per condition
    """
    CREATE TABLE alarms (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        raised_at REAL NOT NULL,
        message TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}',
        cleared_at REAL,
        acked_at REAL,
        acked_by TEXT,
        ack_note TEXT
    );
    CREATE UNIQUE INDEX alarms_active ON alarms (kind, key) WHERE cleared_at IS NULL;
    CREATE INDEX alarms_raised ON alarms (raised_at);
    """,
    # 10: appointments and 云取号 (issue 11, hall/booking.py, hall/arrivals.py): bookings and
    # phone tickets with the person's name, ID and phone sealed (hall.sealed) and looked up by
    # keyed hash; `tickets.remote` marks a phone ticket whose holder has not checked in at the
    # hall yet (not callable: hall.routing)
    """
    CREATE TABLE appointments (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        day TEXT NOT NULL,
        slot_start REAL NOT NULL,
        slot_end REAL NOT NULL,
        code TEXT NOT NULL UNIQUE,
        token TEXT NOT NULL UNIQUE,
        name TEXT,
        id_number TEXT NOT NULL,
        phone TEXT NOT NULL,
        id_lookup TEXT NOT NULL,
        phone_lookup TEXT NOT NULL,
        status TEXT NOT NULL,
        ticket_id INTEGER,
        walk_in INTEGER NOT NULL DEFAULT 0,
        booked_at REAL NOT NULL,
        checked_in_at REAL,
        cancelled_at REAL,
        late_at REAL
    );
    CREATE INDEX appointments_slot ON appointments (service, slot_start, status);
    CREATE INDEX appointments_id ON appointments (id_lookup, day);
    CREATE INDEX appointments_phone ON appointments (phone_lookup, day);
    CREATE INDEX appointments_open ON appointments (status, kind, slot_start);
    CREATE INDEX appointments_day ON appointments (day);
    ALTER TABLE tickets ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
    """,
    # 11: 实名取号 (issue 11.4, hall/real_name.py): who a ticket of a real-name queue is for and,
    # for 亲友代取号, who took it. Names and ID numbers only sealed (hall/sealed.py); beside
    # them the keyed lookup of each ID number, which the per-person limits search by. Day
    # and service are copied from the ticket so the limits read one small index; rows older
    # than [real_name] keep_days are deleted (the ticket itself stays, for the figures).
    """
    CREATE TABLE ticket_people (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
        day TEXT NOT NULL,
        service TEXT NOT NULL,
        holder_lookup TEXT NOT NULL,
        holder_name TEXT NOT NULL,
        holder_id TEXT NOT NULL,
        proxy_lookup TEXT,
        proxy_name TEXT,
        proxy_id TEXT,
        source TEXT NOT NULL
    );
    CREATE INDEX ticket_people_holder ON ticket_people (holder_lookup, day);
    CREATE INDEX ticket_people_day ON ticket_people (day);
    CREATE INDEX ticket_people_proxy ON ticket_people (proxy_lookup, day)
        WHERE proxy_lookup IS NOT NULL;
    """,
    # 12: accounts and the audit page (issue 10.3, 10.6: hall/accounts.py, hall/audit_log.py):
    # a password someone else set must be changed at the next login; when each user last
    # logged in and changed their password; the audit log searched by user, action and day
    # (paged by id, newest first)
    """
    ALTER TABLE users ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN last_login_at REAL;
    ALTER TABLE users ADD COLUMN password_changed_at REAL;
    CREATE INDEX audit_user ON audit (user, id);
    CREATE INDEX audit_action ON audit (action, id);
    CREATE INDEX audit_time ON audit (time);
    """,
    # 13: reports (issue 10.1, 10.5): the clerks' productivity rolled up per day from the event log
    # (hall/productivity.py); held now counts tickets ever held. The roll-ups are emptied, and
    # the next start rebuilds every closed day with both (hall.stats.roll_up_closed).
    productivity.MIGRATION + """
    DELETE FROM figures_daily;
    DELETE FROM figures_hist;
    DELETE FROM figures_days;
    """,
]


@dataclass
class Event:
    seq: int
    time: str
    type: str
    data: dict[str, Any]
    _wire: str | None = field(default=None, init=False, repr=False, compare=False)
    _frame: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def message(self) -> str:
        """The wire form, built once and sent to every subscriber as is (a call reaches
        thousands of screens; it used to be encoded again for each)."""
        if self._wire is None:
            self._wire = json.dumps({"seq": self.seq, "type": self.type, "data": self.data,
                                     "time": self.time}, ensure_ascii=False,
                                    separators=(",", ":"))
        return self._wire

    def frame(self) -> bytes:
        """`message()` as one WebSocket text frame, built once for every screen it is written
        to (hall/ws_direct.py)."""
        if self._frame is None:
            self._frame = text_frame(self.message().encode())
        return self._frame


class Tx:
    """One operation's view of the open transaction: the connection and the events it appends."""

    def __init__(self, conn: sqlite3.Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.events: list[Event] = []
        self.after: list[Callable[[], None]] = []

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` in the event loop once this operation is on disk, before its events are
        published (hall.staffing swaps the hall's effective configuration this way, so every
        subscriber that reacts to the event already sees the new windows)."""
        self.after.append(fn)

    def emit(self, type_: str, data: dict[str, Any]) -> Event:
        stamp = self.now.isoformat(timespec="milliseconds")
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        event = Event(seq=self._append(stamp, type_, payload), time=stamp, type=type_,
                      data=data)
        self.events.append(event)
        return event

    def _append(self, stamp: str, type_: str, payload: str) -> int:
        """Write one event to the log; its seq (hall/store_pg.py writes a batch's at once)."""
        cur = self.conn.execute("INSERT INTO events (time, type, data) VALUES (?, ?, ?)",
                                (stamp, type_, payload))
        return int(cur.lastrowid or 0)

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()


@dataclass
class _Op(Generic[T]):
    fn: Callable[[Tx], T]
    now: datetime
    future: asyncio.Future[T]
    result: Any = None
    error: BaseException | None = None
    events: list[Event] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    draft: Any = None  # what PostgreSQL's batch may write ahead for it (hall/store_pg.py)


class Store:
    """Owns the writer connection (the only one that writes) and a reader connection."""

    max_batch = 512

    def __init__(self, path: Path, writer: aiosqlite.Connection,
                 reader: aiosqlite.Connection) -> None:
        self.path = path
        self.db = str(path)
        self.where = str(path)  # what a manager is shown as "the database"
        self.key_path = path.with_suffix(".key")  # hall/sealed.py: kept beside the file
        self.data_dir = path.parent  # voice WAVs and other files of the hall
        self._writer = writer
        self._reader = reader
        self._pending: asyncio.Queue[_Op[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.on_commit: Callable[[list[Event]], None] = lambda events: None

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        path = Path(path)
        private_dir(path.parent)
        # SQLite gives -wal and -shm the database file's mode: make that private first
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE))
        private_files(path)
        writer = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            await writer._execute(_prepare_writer, writer._conn)
            private_files(path)
            reader = await aiosqlite.connect(str(path), isolation_level=None)
        except BaseException:
            await writer.close()  # a live connection thread would keep the process alive
            raise
        try:
            await reader._execute(_prepare_reader, reader._conn)
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        store = cls(path, writer, reader)
        store._task = asyncio.create_task(store._write_loop(), name="hall-store-writer")
        return store

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._writer.close()
        await self._reader.close()

    async def write(self, fn: Callable[[Tx], T], now: datetime, draft: Any = None) -> T:
        """Run `fn` in its own savepoint of the next group commit; return once it is on disk.
        `draft`: the row `fn` will write, said ahead, which a PostgreSQL batch writes together
        with its other changes' (hall/store_pg.py `Draft`); SQLite has no round trips to
        save and lets `fn` write it."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(_Op(fn, now, future, draft=draft))
        return await future

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one read transaction: everything it sees is one committed moment."""
        return await self._reader._execute(_read_snapshot, self._reader._conn, fn)

    async def _write_loop(self) -> None:
        while True:
            ops = [await self._pending.get()]
            while len(ops) < self.max_batch:
                try:
                    ops.append(self._pending.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await self._commit_batch(ops)
            except Exception as exc:  # the COMMIT itself failed: nobody's change is on disk
                for op in ops:
                    op.error, op.events, op.after = exc, [], []
            for op in ops:
                for fn in op.after if op.error is None else ():
                    with contextlib.suppress(Exception):
                        fn()
            events = [event for op in ops if op.error is None for event in op.events]
            if events:
                await self._publish(events)
            for op in ops:
                if op.future.done():
                    continue
                if op.error is not None:
                    op.future.set_exception(_translate(op.error))
                else:
                    op.future.set_result(op.result)


    async def _commit_batch(self, ops: list[_Op[Any]]) -> None:
        """Run `ops`, each in its own savepoint, and commit them as one transaction."""
        await self._writer._execute(_run_batch, self._writer._conn, ops)

    async def _publish(self, events: list[Event]) -> None:
        # a broken subscriber must not lose a committed answer
        with contextlib.suppress(Exception):
            self.on_commit(events)


def _prepare_writer(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    conn.execute("BEGIN IMMEDIATE")
    audit.seal(conn)
    conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger body's `;` does not end its statement."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def _prepare_reader(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA query_only=ON")


def _read_snapshot(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN")
    try:
        return fn(conn)
    finally:
        conn.execute("COMMIT")


def _run_batch(conn: sqlite3.Connection, ops: list[_Op[Any]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for op in ops:
            tx = Tx(conn, op.now)
            conn.execute("SAVEPOINT op")
            try:
                op.result = op.fn(tx)
                op.events, op.after = tx.events, tx.after
                conn.execute("RELEASE op")
            except Exception as exc:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                op.error = exc
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _disk_full(exc: BaseException | None) -> bool:
    """SQLITE_FULL anywhere in the chain: a failed ROLLBACK TO after SQLite already rolled the
    transaction back on a full disk hides the first error behind "no such savepoint"."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, sqlite3.Error) and \
                getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_FULL:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _translate(exc: BaseException) -> BaseException:
    if _disk_full(exc):
        return disk_full()
    return exc


def disk_full() -> errors.HallError:
    """The answer when the database's disk is full, on SQLite and on PostgreSQL alike."""
    return errors.HallError(507, "disk_full", "服务器存储空间已满，本次操作未完成，请联系管理员")


def private_dir(path: Path) -> None:
    """Create the database directory for the owner only; an existing one is left as it is
    (it may be a shared `var/` the hall chose), only the files in it are made private."""
    if not path.exists():
        path.mkdir(mode=PRIVATE_DIR, parents=True)


def private_files(db: Path) -> None:
    """0600 on the database and its companions (and the sealing key beside it, hall/sealed.py),
    also when an older version left them 0644."""
    for file in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
                 db.with_name(db.name + ".lock"), db.with_suffix(".key")):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_mode & 0o077:
                file.chmod(PRIVATE_FILE)


class DatabaseInUse(Exception):
    """Another live process owns this database file."""

    def __init__(self, path: Path, pid: str) -> None:
        super().__init__(f"{path} is in use by process {pid}")
        self.path = path
        self.pid = pid


def lock_database(path: str | Path) -> int:
    """Own `path` for the life of this process (an exclusive `flock` on `path.lock`, which
    names the owner's pid); raise DatabaseInUse when a live process holds it. Returns the file
    descriptor: keep it open (closing it releases the lock)."""
    path = Path(path)
    private_dir(path.parent)
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise DatabaseInUse(path, pid) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE)
    return fd


def now_ts() -> float:
    return time.time()
