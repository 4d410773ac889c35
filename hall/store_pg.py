"""The store on PostgreSQL (asyncpg): the same interface as hall/store.py's Store, for a city
whose halls run several server processes on one database (docs/deployment.md).

Why the operations stay synchronous: the hall's every change is a plain function over an
open transaction (`Tx`), run by the store's writer in one group commit. On PostgreSQL such a
function runs in a greenlet (`_Loop`), and `PgConnection.execute` hands one asyncpg call to
the event loop and waits for its result. So the 60 modules that hold the hall's SQL run
unchanged on both databases, and asyncpg (typed binary protocol, prepared statements kept
per connection) does the talking.

Why one writer per hall at a time, across processes: `pg_advisory_xact_lock` on the hall's
key is the first statement of every write batch. Three things need it: numbering and "call
next" must see each other's rows (two kiosks never get the same number, two windows never
the same ticket); the audit log's hash chain needs the previous row; and the event log's
`seq` must commit in order, or a screen replaying `since` N could pass over an event that
commits later with a smaller `seq`. Row locks (`FOR UPDATE SKIP LOCKED`) would serve the
first alone; the lock serves all three, and group commit keeps its cost to one lock per
batch, not per ticket (bench/cluster.py measures it).

Why events are published from the table: every process LISTENs on the hall's channel; a
batch NOTIFYs its last `seq` at commit. A process publishes to its own screens strictly in
`seq` order: its own batch at once, after filling any gap below it from the table (a batch
of another process that committed first), and another process's events when their NOTIFY
arrives. So `since` replay is unchanged and every screen on every process sees one order.
The seqs are numbered by the batch under the lock (MAX + 1 on), not by an identity column:
a rolled-back change would leave a hole there, and a screen replaying `since` just before a
hole would be told to resync (hall/ws.py).

Why the store connects again by itself: PostgreSQL restarts, fails over or ends a session;
the process must not stay broken until someone restarts it. A lost writer connection fails
the batch in hand with 503 `database_unavailable` (never retried blindly: its COMMIT may
have happened; a kiosk's retry goes by its Idempotency-Key) and the next batch connects
anew; a read is tried once more; the listener LISTENs again and publishes what it missed
from the table (tests/test_cluster.py ends every connection of three processes under load).

Cost (bench/cluster.py, docs/bench-cluster.md): while a batch holds the hall's lock every
other process waits, and each statement is a round trip, so the batch spends three round
trips beside its changes' own statements. A ticket is one statement (hall/ticket_rows.py),
and a batch's plain tickets together are one: each says its row ahead (`Draft`), the batch
writes them all in one call before its changes run, tickets first, and each change takes
its row from `PgConnection.prefetched`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import greenlet
from asyncpg.prepared_stmt import PreparedStatement

from hall import audit, errors
from hall.pg_schema import COMPAT, ISSUE_TICKETS, TICKET_TAKES, statements
from hall.pg_sql import Translated, arguments, translate
from hall.store import MIGRATIONS, Event, Store, Tx, _Op, _statements, disk_full

T = TypeVar("T")

# A connection that is gone: the server restarted or ended it, or the network broke. The store
# connects again (see PgStore); the change in hand is answered 503, never retried blindly (its
# COMMIT may have happened), so a kiosk's retry goes by its Idempotency-Key.
# InternalClientError: asyncpg found the connection mid-way through another statement (one cut
# off by the server's end of it); a new connection is the way out of that too.
LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError, asyncpg.InternalClientError,
        OSError)

_STATUS = re.compile(r"^(?:INSERT \d+|UPDATE|DELETE|SELECT|MOVE|FETCH|COPY) ?(\d+)?$")


def is_postgres(db: str | Path) -> bool:
    return str(db).startswith(("postgresql://", "postgres://"))


def split_dsn(db: str) -> tuple[str, str]:
    """(the DSN without the hall's schema, the schema). `search_path=hall_x` names a hall of a
    city (hall/locate.py); without it the hall lives in `public`."""
    parts = urlsplit(db)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "search_path"), "public")
    rest = urlencode([(k, v) for k, v in query if k != "search_path"])
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise ValueError("search_path must be a plain lower-case schema name")
    return urlunsplit(parts._replace(query=rest)), schema


async def _nothing(events: list[Event]) -> None:
    return None


def _without_password(db: str) -> str:
    parts = urlsplit(db)
    if parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{parts.username}@{host}"
                               + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


class _Bridge(greenlet.greenlet):
    """The greenlet a `_Loop` job runs in: the hall's synchronous code, which hands each
    database call to the event loop (`_Loop.run`) and gets its result back."""


class _Loop:
    """Runs the hall's synchronous SQL functions against one asyncpg connection on the
    running event loop. A job runs in a greenlet; each database call in it switches to the
    coroutine that started the job, which awaits the call on the loop and switches back with
    the result. Jobs run one at a time (one connection, one transaction at a time).

    Why greenlets and not a thread with a loop of its own (the first version): there, every
    statement paid for a `run_until_complete` (a task, a turn of the loop) and for taking the
    GIL back from the thread serving HTTP, 0.1-0.3 ms on two loaded cores, where asyncpg's
    own round trip is 20-50 us; a ticket is about ten statements. Here a statement costs
    a greenlet switch and the round trip, and the loop serves other requests while the
    database answers."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Inside a job: await `coro` on the loop and return its result."""
        current = greenlet.getcurrent()
        if not isinstance(current, _Bridge):
            coro.close()
            raise RuntimeError("database call outside a store job")
        return current.parent.switch(coro)  # type: ignore[union-attr]

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` as a job and return what it returns (or raise what it raises)."""
        async with self._lock:
            job = _Bridge(fn)
            pending = job.switch(*args)
            while not job.dead:
                try:
                    value = await pending
                except BaseException as exc:  # noqa: BLE001 - raised inside the job
                    pending = job.throw(exc)
                else:
                    pending = job.switch(value)
            return pending


class Cursor:
    """What the hall's code reads from `execute`: sqlite3's cursor, as far as it is used."""

    def __init__(self, rows: list[asyncpg.Record], rowcount: int,
                 lastrowid: int | None) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> asyncpg.Record | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[asyncpg.Record]:
        rows, self._at = self._rows[self._at:], len(self._rows)
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class PgConnection:
    """sqlite3.Connection's face over one asyncpg connection, for the thread that owns it."""

    def __init__(self, loop: _Loop, conn: asyncpg.Connection, schema: str) -> None:
        self._loop = loop
        self.conn = conn
        self.schema = schema
        self.keys: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self.generated: tuple[tuple[str, str], ...] = ()
        self.in_transaction = False
        self._prepared: dict[str, tuple[PreparedStatement, tuple[str, ...]]] = {}
        self.pid = conn.get_server_pid()  # the server process, also once the connection is gone
        # what a batch wrote ahead for its changes, taken by each as it runs (`Draft`)
        self.prefetched: dict[str, Any] = {}

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        translated = translate(sql, self.keys, self.generated)
        return self._loop.run(self._execute(translated, arguments(translated, params)))

    def native(self, sql: str, params: tuple[Any, ...]) -> asyncpg.Record:
        """The one row of a statement written in PostgreSQL's own dialect (`$n`), prepared
        once like the rest: for the hot path only (hall/ticket_rows.py)."""
        cursor = self._loop.run(self._execute(Translated(sql, None, len(params)), list(params)))
        row = cursor.fetchone()
        if row is None:
            raise ValueError("the statement returned no row")
        return row

    def executemany(self, sql: str, seq: Any) -> Cursor:
        total = 0
        for params in seq:
            total += self.execute(sql, params).rowcount
        return Cursor([], total, None)

    def script(self, sql: str) -> None:
        """Statements without parameters, `$$` bodies and all (the schema)."""
        self._loop.run(self.conn.execute(sql))

    def raw(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return self._loop.run(self.conn.fetch(sql, *args))

    async def _execute(self, translated: Translated, args: list[Any]) -> Cursor:
        stmt, kinds = await self._statement(translated.sql)
        args = [_coerce(value, kind) for value, kind in zip(args, kinds, strict=True)]
        try:
            rows = await stmt.fetch(*args)
        except (asyncpg.exceptions.CharacterNotInRepertoireError,
                asyncpg.exceptions.UntranslatableCharacterError) as exc:
            # SQLite stores a NUL character in text; PostgreSQL refuses it
            raise errors.HallError(400, "invalid_text",
                                   "输入含有无法保存的字符，请检查后重新提交") from exc
        except (OverflowError, asyncpg.exceptions.DataError,
                asyncpg.exceptions.NumericValueOutOfRangeError) as exc:
            # SQLite takes any number; PostgreSQL's BIGINT ends at 2**63: a value from the
            # street that large is a bad request, not a server fault
            raise errors.HallError(400, "out_of_range", "输入的数值超出范围") from exc
        status = stmt.get_statusmsg() or ""
        match = _STATUS.match(status)
        rowcount = int(match.group(1)) if match and match.group(1) else len(rows)
        lastrowid = None
        if status.startswith("INSERT") and rows and len(rows[0]) == 1 \
                and isinstance(rows[0][0], int):
            lastrowid = rows[0][0]
        return Cursor(rows, rowcount, lastrowid)


    async def _statement(self, sql: str) -> tuple[PreparedStatement, tuple[str, ...]]:
        """The statement prepared once per connection (asyncpg's `prepare` parses it on the
        server again at every call: a round trip and a plan per statement, which cost the
        hall nine tenths of its speed), with its parameters' types."""
        known = self._prepared.get(sql)
        if known is None:
            stmt = await self.conn.prepare(sql)
            known = (stmt, tuple(p.name for p in stmt.get_parameters()))
            self._prepared[sql] = known
        return known


def _coerce(value: Any, kind: str) -> Any:
    """SQLite takes any value anywhere; PostgreSQL's typed parameters do not. The hall's code
    passes what SQLite took (an int for a text column, a bool for an integer)."""
    if value is None:
        return None
    if kind in ("text", "varchar", "name", "bpchar"):
        if isinstance(value, bool):
            return str(int(value))
        return value if isinstance(value, str) else str(value)
    if kind in ("int8", "int4", "int2"):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        return value
    if kind in ("float8", "float4", "numeric"):
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return value
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    return value


def _numeric(text: str) -> int | float:
    """SUM over integers is `numeric` in PostgreSQL: an int where SQLite gave one."""
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


async def _connect(dsn: str, schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, statement_cache_size=1024,
                                 server_settings={"search_path": schema,
                                                  "application_name": "hall",
                                                  # compiling a report's plan costs more than
                                                  # it saves (a day's productivity: 1 s of 2)
                                                  "jit": "off"})
    await conn.set_type_codec("numeric", encoder=str, decoder=_numeric, schema="pg_catalog",
                              format="text")
    return conn


class PgStore(Store):
    """Store's interface over PostgreSQL; see the module's docstring for the why."""

    # A batch run again after a refusal makes each change a savepoint, and a transaction
    # with more than 64 of them that wrote makes every other session's visibility checks look
    # into pg_subtrans (PostgreSQL's subtransaction cache overflows), slowing all processes'
    # reads. (200 instead measured the same tickets/s within the noise, bench/cluster.py.)
    max_batch = 60

    def __init__(self, db: str, dsn: str, schema: str) -> None:
        self.db = db
        self.where = _without_password(db)
        directory = data_dir()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        database = urlsplit(dsn).path.strip("/") or "hall"
        self.path = directory / f"{database}.{schema}.db"  # no such file: names the key's
        self.key_path = directory / f"{database}.{schema}.key"
        self.data_dir = directory
        self.dsn = dsn
        self.schema = schema
        self.lock_key = zlib.crc32(schema.encode()) & 0x7FFFFFFF
        self.channel = f"hall_events_{schema}"
        self._pending: asyncio.Queue[_Op[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.on_commit: Callable[[list[Event]], None] = lambda events: None
        # events another process committed (hall.service refreshes what it keeps in memory)
        self.on_foreign: Callable[[list[Event]], Awaitable[None]] = _nothing
        self._delivered = 0
        self._feed_lock = asyncio.Lock()
        self._writer_loop = _Loop()
        self._reader_loop = _Loop()
        self._writer: PgConnection | None = None
        self._reader: PgConnection | None = None
        self._listener: asyncpg.Connection | None = None
        self._keys: tuple[Any, Any] = ((), ())  # the schema's keys, for a new connection
        self._closing = False
        self._read_lock = asyncio.Lock()
        self._relisten: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, path: str | Path) -> PgStore:  # type: ignore[override]
        db = str(path)
        dsn, schema = split_dsn(db)
        store = cls(db, dsn, schema)
        try:
            await store._open()
        except BaseException:
            await store._shutdown()
            raise
        return store

    async def _open(self) -> None:
        writer = await self._writer_loop.call(self._connect_sync, self._writer_loop)
        self._writer = writer
        await self._writer_loop.call(_migrate, writer, self.lock_key)
        self._keys = (writer.keys, writer.generated)
        self._delivered = await self.read(_last_seq, snapshot=False)
        await self._listen()
        self._task = asyncio.create_task(self._write_loop(), name="hall-store-writer")

    def _connect_sync(self, loop: _Loop) -> PgConnection:
        if self.schema != "public":
            loop.run(_create_schema(self.dsn, self.schema))
        conn = PgConnection(loop, loop.run(_connect(self.dsn, self.schema)), self.schema)
        conn.keys, conn.generated = self._keys
        return conn

    async def _ready(self, loop: _Loop, conn: PgConnection | None) -> PgConnection:
        """`conn`, or a new connection where it is gone (a server restart, a broken network:
        the process keeps serving once PostgreSQL answers again)."""
        if conn is not None and not conn.conn.is_closed():
            return conn
        return await loop.call(self._connect_sync, loop)

    async def _listen(self) -> None:
        listener = await _connect(self.dsn, self.schema)
        await listener.add_listener(self.channel, self._notified)
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _listener_lost(self, conn: Any) -> None:
        if not self._closing and (self._relisten is None or self._relisten.done()):
            self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        """LISTEN again, then publish what other processes committed meanwhile (the table
        has it all: nothing is lost, only late)."""
        while not self._closing:
            try:
                await self._listen()
                await self._foreign(await self.read(_last_seq, snapshot=False))
                return
            except (*LOST, errors.HallError):
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        self._closing = True
        if self._relisten is not None:
            self._relisten.cancel()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=2)
        for loop, conn in ((self._writer_loop, self._writer), (self._reader_loop, self._reader)):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await loop.call(lambda c=conn, lp=loop: lp.run(c.conn.close(timeout=2)))

    async def read(self, fn: Callable[[Any], T],  # type: ignore[override]
                   snapshot: bool = True) -> T:
        """Run `fn` in one read transaction (`snapshot=False`: `fn` runs one statement,
        which sees one moment by itself; two round trips fewer). A request that goes away
        meanwhile (its client closed) leaves the read to finish: cut off halfway, it would
        leave the connection in the middle of a statement for the next read."""
        job = asyncio.ensure_future(self._read(fn, _read_snapshot if snapshot else _read_once))
        job.add_done_callback(_retrieved)
        return await asyncio.shield(job)

    async def _read(self, fn: Callable[[Any], T],
                    how: Callable[[PgConnection, Callable[[Any], T]], T]) -> T:
        """A read whose connection was lost is tried once more on a new one (reads change
        nothing, so trying again is safe)."""
        async with self._read_lock:
            for attempt in range(2):
                try:
                    self._reader = await self._ready(self._reader_loop, self._reader)
                    return await self._reader_loop.call(how, self._reader, fn)
                except LOST as exc:
                    _drop(self._reader)
                    if attempt:
                        raise _unavailable() from exc
        raise AssertionError("unreachable")

    async def _commit_batch(self, ops: list[_Op[Any]]) -> None:
        try:
            self._writer = await self._ready(self._writer_loop, self._writer)
            await self._writer_loop.call(_run_batch, self._writer, ops, self.lock_key,
                                         self.channel, self._more)
        except LOST as exc:
            _drop(self._writer)
            raise _unavailable() from exc

    def _more(self, batch: int) -> list[_Op[Any]]:
        """Inside a batch of `batch` changes, once the lock is held: what else is waiting,
        up to `max_batch` in all."""
        taken: list[_Op[Any]] = []
        while batch + len(taken) < self.max_batch:
            try:
                taken.append(self._pending.get_nowait())
            except asyncio.QueueEmpty:
                break
        return taken

    async def _publish(self, events: list[Event]) -> None:
        """This process's own committed events, after any that committed before them. When
        those cannot be read now (the connection is being made again), these wait too, and
        are read back from the table in order a moment later."""
        async with self._feed_lock:
            behind = bool(events) and events[0].seq > self._delivered + 1
            if behind and not await self._catch_up(events[0].seq - 1):
                self._later(events[-1].seq)
                return
            fresh = [e for e in events if e.seq > self._delivered]
            if fresh:
                self._delivered = fresh[-1].seq
                with contextlib.suppress(Exception):
                    self.on_commit(fresh)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        """Another process's batch committed. Our own writer's NOTIFY (its backend's `pid`)
        is left to `_publish`, which has the events already: reading them back from the
        table would cost a read per batch."""
        if self._writer is not None and pid == self._writer.pid:
            return
        with contextlib.suppress(ValueError):
            seq = int(payload)
            if seq > self._delivered:
                asyncio.get_running_loop().create_task(self._foreign(seq))

    async def _foreign(self, upto: int) -> None:
        async with self._feed_lock:
            if not await self._catch_up(upto):
                self._later(upto)

    def _later(self, upto: int) -> None:
        async def again() -> None:
            await asyncio.sleep(0.5)
            await self._foreign(upto)

        if not self._closing:
            asyncio.get_running_loop().create_task(again())

    async def _catch_up(self, upto: int) -> bool:
        """Publish the events up to `upto` that this process has not: False when they could
        not be read (nothing is skipped then; `_delivered` stays where it was)."""
        if upto <= self._delivered:
            return True
        since = self._delivered
        try:
            rows = await self.read(lambda conn: conn.execute(
                "SELECT seq, time, type, data FROM events WHERE seq > ? AND seq <= ? "
                "ORDER BY seq", (since, upto)).fetchall(), snapshot=False)
        except errors.HallError:
            return False
        events = [Event(seq=r["seq"], time=r["time"], type=r["type"],
                        data=json.loads(r["data"])) for r in rows]
        self._delivered = upto
        if events:
            with contextlib.suppress(Exception):
                await self.on_foreign(events)
            with contextlib.suppress(Exception):
                self.on_commit(events)
        return True


def _retrieved(job: asyncio.Future[Any]) -> None:
    """A read whose requester left: its outcome is nobody's, and not worth a warning."""
    if not job.cancelled():
        job.exception()


def _last_seq(conn: PgConnection) -> int:
    return int(conn.raw("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0])


def _drop(conn: PgConnection | None) -> None:
    """Give up a connection that failed (the next use connects anew)."""
    if conn is not None:
        with contextlib.suppress(Exception):
            conn.conn.terminate()


def _unavailable() -> errors.HallError:
    return errors.HallError(503, "database_unavailable",
                            "数据库暂时无法连接，本次操作未完成，请稍后重试")


async def _create_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except asyncpg.UniqueViolationError:
        pass  # another process created it at the same moment
    finally:
        await conn.close()


def _migrate(conn: PgConnection, lock_key: int) -> None:
    """Apply the migrations this schema lacks, under the hall's lock (several processes may
    start at once), then learn the tables' keys for the SQL translator."""
    conn.raw("BEGIN")
    try:
        conn.raw("SELECT pg_advisory_xact_lock($1)", lock_key)
        conn.raw("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        rows = conn.raw("SELECT version FROM schema_version")
        version = rows[0][0] if rows else 0
        if not rows:
            conn.raw("INSERT INTO schema_version VALUES (0)")
        # every start: a newer hall may bring more of SQLite's functions (CREATE OR REPLACE)
        conn.script(COMPAT)
        conn.script(TICKET_TAKES)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements(number, script, _statements):
                conn.script(statement)
            conn.raw("UPDATE schema_version SET version = $1", number)
        conn.script(ISSUE_TICKETS)  # after the migrations: it returns the tickets' row type
        conn.raw("COMMIT")
    except BaseException:
        conn.raw("ROLLBACK")
        raise
    keys: dict[str, list[str]] = {}
    for table, column in conn.raw(
            "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = "
            "tc.constraint_name AND kcu.constraint_schema = tc.constraint_schema "
            "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() "
            "ORDER BY tc.table_name, kcu.ordinal_position"):
        keys.setdefault(table, []).append(column)
    conn.keys = tuple((t, tuple(c)) for t, c in sorted(keys.items()))
    conn.generated = tuple(sorted((r[0], r[1]) for r in conn.raw(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES'")))
    conn.raw("BEGIN")
    try:
        conn.raw("SELECT pg_advisory_xact_lock($1)", lock_key)
        audit.seal(conn)  # type: ignore[arg-type]
        conn.raw("COMMIT")
    except BaseException:
        conn.raw("ROLLBACK")
        raise


def _read_once(conn: PgConnection, fn: Callable[[Any], T]) -> T:
    return fn(conn)


def _read_snapshot(conn: PgConnection, fn: Callable[[Any], T]) -> T:
    conn.raw("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        return fn(conn)
    finally:
        conn.raw("ROLLBACK")


class _Log:
    """A batch's events, numbered 1, 2, … under the hall's lock and written at its end, where
    the statement that writes them adds the log's last seq (one round trip fewer per batch)."""

    def __init__(self) -> None:
        self.last = 0
        self.rows: list[tuple[int, str, str, str]] = []


class PgTx(Tx):
    """Tx whose events are numbered within the batch's log (`_Log`; the statement that writes
    them at the batch's end adds the log's last seq): one round trip fewer per change, and
    seqs without holes,
    where an identity column would leave one for every change rolled back (and a screen
    replaying `since` just before such a hole would be told to resync, hall/ws.py)."""

    def __init__(self, conn: PgConnection, now: datetime, log: _Log) -> None:
        super().__init__(conn, now)  # type: ignore[arg-type]
        self._log = log

    def _append(self, stamp: str, type_: str, payload: str) -> int:
        self._log.last += 1
        self._log.rows.append((self._log.last, stamp, type_, payload))
        return self._log.last


# $1.. $4 the batch's events numbered from 1, $5 the hall's channel, $6 how many: the events
# follow the log's last seq (read here, under the lock), and the NOTIFY carries the new last.
APPEND_EVENTS = ("WITH base AS (SELECT COALESCE(MAX(seq), 0) AS last FROM events), "
                 "added AS (INSERT INTO events (seq, time, type, data) "
                 "SELECT base.last + e.n, e.time, e.type, e.data FROM base, "
                 "unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) "
                 "AS e(n, time, type, data)) "
                 "SELECT last, pg_notify($5, (last + $6::bigint)::text) FROM base")


def _run_batch(conn: PgConnection, ops: list[_Op[Any]], lock_key: int, channel: str,
               more: Callable[[int], list[_Op[Any]]]) -> None:
    """One group commit under the hall's lock. Round trips are what it costs (while the lock
    is held, every other process waits), so a batch spends three beside its changes' own
    statements: BEGIN with the lock, the events with their seqs and NOTIFY, COMMIT.
    The changes run first without a savepoint each (a savepoint is one more round trip per
    change); when one is refused, the batch goes back to its start and runs again with one
    savepoint per change, so the refusal undoes only its own rows. `more(n)`: the changes
    that arrived while this process waited for the lock, which join the batch of `n`."""
    conn.script(f"BEGIN; SELECT pg_advisory_xact_lock({int(lock_key)}); SAVEPOINT batch")
    try:
        ops.extend(more(len(ops)))
        try:
            _write_ahead(conn, ops)
        except LOST:
            raise
        except Exception:
            # a row the database refuses (a NUL in a kiosk's name) fails no batch: each
            # change writes its own row, and only that one is refused
            _back_to_start(conn)
        log = _Log()
        if not _run_ops(conn, ops, log, savepoints=False):
            _back_to_start(conn)
            log = _Log()
            _run_ops(conn, ops, log, savepoints=True)
        if log.rows:
            seqs, times, types, data = (list(column) for column in zip(*log.rows, strict=True))
            base = int(conn.raw(APPEND_EVENTS, seqs, times, types, data, channel,
                                log.last)[0][0])
            for op in ops:
                for event in op.events:
                    event.seq += base
        conn.script("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            conn.script("ROLLBACK")
        raise
    finally:
        conn.prefetched.clear()


def _back_to_start(conn: PgConnection) -> None:
    """The batch undone to just after its lock, rows written ahead included: from here each
    change writes its own."""
    conn.script("ROLLBACK TO SAVEPOINT batch")
    conn.prefetched.clear()


class Draft(Protocol):
    """What a change can say of itself before it runs, so that a batch writes the rows of all
    its changes of one kind in one round trip (hall/ticket_rows.py `TicketDraft`): the change
    then finds its row in `PgConnection.prefetched` instead of writing it."""

    @staticmethod
    def write_all(conn: PgConnection, drafts: list[Any]) -> None: ...


def _write_ahead(conn: PgConnection, ops: list[_Op[Any]]) -> None:
    """Changes with a draft go first, in their order, their rows written together; the others
    follow in theirs. Changes in one batch were all waiting at once, so any order of them is
    one the hall could have seen; this one keeps the event log in the order the rows were
    written (a call in the same batch comes after the tickets it may call)."""
    drafts: list[Draft] = [op.draft for op in ops if op.draft is not None]
    if len(drafts) < 2:  # one alone costs the same round trip either way
        return
    ops.sort(key=lambda op: op.draft is None)  # stable: each group keeps its order
    for kind in dict.fromkeys(type(d) for d in drafts):
        kind.write_all(conn, [d for d in drafts if type(d) is kind])


def _run_ops(conn: PgConnection, ops: list[_Op[Any]], log: _Log, savepoints: bool) -> bool:
    """Run `ops` in order; False as soon as one raises when there are no savepoints (the
    caller rolls the batch back), otherwise each refusal rolls back its own savepoint."""
    for op in ops:
        op.result, op.error, op.events, op.after = None, None, [], []
        if savepoints:
            conn.script("SAVEPOINT op")
        mark = (log.last, len(log.rows))
        tx = PgTx(conn, op.now, log)
        try:
            op.result = op.fn(tx)
            op.events, op.after = tx.events, tx.after
        except Exception as exc:
            if not savepoints:
                return False
            conn.script("ROLLBACK TO SAVEPOINT op")
            log.last = mark[0]
            del log.rows[mark[1]:]
            op.error = _translate(exc)
    return True


def _translate(exc: BaseException) -> BaseException:
    """A database error inside one operation: the same answers as on SQLite."""
    if isinstance(exc, asyncpg.exceptions.DiskFullError):
        return disk_full()
    return exc


def data_dir() -> Path:
    """Where a hall on PostgreSQL keeps its files (the sealing key, voice WAVs): not in the
    database, so a backup of one never holds the other (docs/security.md). `--data-dir`
    (`HALL_DATA_DIR`), by default `var/`."""
    return Path(os.environ.get("HALL_DATA_DIR", "var"))


async def open_store(db: str | Path) -> Store:
    """SQLite for a file, PostgreSQL for a `postgresql://` URL."""
    if is_postgres(db):
        return await PgStore.open(str(db))
    return await Store.open(db)


def read_once(db: str, fn: Callable[[Any], T]) -> T:
    """For a command or a child process: `fn` over one read-only snapshot of the hall on
    PostgreSQL, on a connection of its own (the audit chain's long walk never holds up the
    server's reader), without migrating anything."""
    dsn, schema = split_dsn(db)
    loop = _Loop()

    def job() -> T:
        conn = PgConnection(loop, loop.run(_connect(dsn, schema)), schema)
        try:
            return _read_snapshot(conn, fn)
        finally:
            loop.run(conn.conn.close())

    return asyncio.run(loop.call(job))
