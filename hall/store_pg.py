"""The store on PostgreSQL (asyncpg): the same interface as hall/store.py's Store, for a city
whose halls run several server processes on one database (docs/deployment.md).

Why the operations stay synchronous: the hall's every change is a plain function over an
open transaction (`Tx`), run by the store's writer in one group commit. On PostgreSQL each
connection gets a thread of its own with a private event loop, and `PgConnection.execute`
runs one asyncpg call to completion on it. So the 60 modules that hold the hall's SQL run
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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import threading
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future as ThreadFuture
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from hall import audit, errors
from hall.pg_schema import COMPAT, statements
from hall.pg_sql import Translated, arguments, translate
from hall.store import MIGRATIONS, Event, Store, Tx, _Op, _statements

T = TypeVar("T")

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


class _Loop:
    """A thread that owns one event loop and the asyncpg connection made on it. Jobs run one
    at a time on the thread; a job awaits asyncpg by running the (otherwise idle) loop until
    that one call is done, so the hall's synchronous SQL functions can use it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, name=name, daemon=True)
        self.thread.start()

    def _work(self) -> None:
        asyncio.set_event_loop(self.loop)
        while (job := self._jobs.get()) is not None:
            job()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """On the loop's own thread (inside a job): run `coro` to its end."""
        return self.loop.run_until_complete(coro)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """From the main loop: run `fn` on this thread and await its result."""
        future: ThreadFuture[T] = ThreadFuture()

        def job() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting caller
                future.set_exception(exc)

        self._jobs.put(job)
        return await asyncio.wrap_future(future)

    def stop(self) -> None:
        self._jobs.put(None)
        self.thread.join(timeout=5)


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

    def execute(self, sql: str, params: Any = ()) -> Cursor:
        translated = translate(sql, self.keys, self.generated)
        return self._loop.run(self._execute(translated, arguments(translated, params)))

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
        stmt = await self.conn.prepare(translated.sql)
        args = [_coerce(value, kind) for value, kind in
                zip(args, (p.name for p in stmt.get_parameters()), strict=True)]
        rows = await stmt.fetch(*args)
        status = stmt.get_statusmsg() or ""
        match = _STATUS.match(status)
        rowcount = int(match.group(1)) if match and match.group(1) else len(rows)
        lastrowid = None
        if status.startswith("INSERT") and rows and len(rows[0]) == 1 \
                and isinstance(rows[0][0], int):
            lastrowid = rows[0][0]
        return Cursor(rows, rowcount, lastrowid)


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
        self._writer_loop = _Loop("hall-pg-writer")
        self._reader_loop = _Loop("hall-pg-reader")
        self._writer: PgConnection | None = None
        self._reader: PgConnection | None = None
        self._listener: asyncpg.Connection | None = None

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
        self._reader = await self._reader_loop.call(self._connect_sync, self._reader_loop)
        self._reader.keys, self._reader.generated = writer.keys, writer.generated
        self._delivered = await self._reader_loop.call(
            lambda: int(self._reader.raw("SELECT COALESCE(MAX(seq), 0) FROM events")[0][0]))
        self._listener = await _connect(self.dsn, self.schema)
        await self._listener.add_listener(self.channel, self._notified)
        self._task = asyncio.create_task(self._write_loop(), name="hall-store-writer")

    def _connect_sync(self, loop: _Loop) -> PgConnection:
        if self.schema != "public":
            loop.run(_create_schema(self.dsn, self.schema))
        return PgConnection(loop, loop.run(_connect(self.dsn, self.schema)), self.schema)

    async def close(self) -> None:
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
            loop.stop()

    async def read(self, fn: Callable[[Any], T]) -> T:  # type: ignore[override]
        reader = self._reader
        assert reader is not None
        return await self._reader_loop.call(_read_snapshot, reader, fn)

    async def _commit_batch(self, ops: list[_Op[Any]]) -> None:
        writer = self._writer
        assert writer is not None
        await self._writer_loop.call(_run_batch, writer, ops, self.lock_key, self.channel)

    async def _publish(self, events: list[Event]) -> None:
        """This process's own committed events, after any that committed before them."""
        async with self._feed_lock:
            if events and events[0].seq > self._delivered + 1:
                await self._catch_up(events[0].seq - 1)
            fresh = [e for e in events if e.seq > self._delivered]
            if fresh:
                self._delivered = fresh[-1].seq
                with contextlib.suppress(Exception):
                    self.on_commit(fresh)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            seq = int(payload)
            if seq > self._delivered:
                asyncio.get_running_loop().create_task(self._foreign(seq))

    async def _foreign(self, upto: int) -> None:
        async with self._feed_lock:
            await self._catch_up(upto)

    async def _catch_up(self, upto: int) -> None:
        if upto <= self._delivered:
            return
        since = self._delivered
        rows = await self.read(lambda conn: conn.execute(
            "SELECT seq, time, type, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq",
            (since, upto)).fetchall())
        events = [Event(seq=r["seq"], time=r["time"], type=r["type"],
                        data=json.loads(r["data"])) for r in rows]
        self._delivered = upto
        if events:
            with contextlib.suppress(Exception):
                await self.on_foreign(events)
            with contextlib.suppress(Exception):
                self.on_commit(events)


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
        conn.script(COMPAT)  # every start: a database made by an older version gets new ones
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements(number, script, _statements):
                conn.script(statement)
            conn.raw("UPDATE schema_version SET version = $1", number)
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


def _read_snapshot(conn: PgConnection, fn: Callable[[Any], T]) -> T:
    conn.raw("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        return fn(conn)
    finally:
        conn.raw("ROLLBACK")


def _run_batch(conn: PgConnection, ops: list[_Op[Any]], lock_key: int, channel: str) -> None:
    conn.raw("BEGIN")
    try:
        conn.raw("SELECT pg_advisory_xact_lock($1)", lock_key)
        last = 0
        for op in ops:
            tx = Tx(conn, op.now)  # type: ignore[arg-type]
            conn.raw("SAVEPOINT op")
            try:
                op.result = op.fn(tx)
                op.events, op.after = tx.events, tx.after
                conn.raw("RELEASE SAVEPOINT op")
            except Exception as exc:
                conn.raw("ROLLBACK TO SAVEPOINT op")
                conn.raw("RELEASE SAVEPOINT op")
                op.error = _translate(exc)
                continue
            if op.events:
                last = op.events[-1].seq
        if last:
            conn.raw("SELECT pg_notify($1, $2)", channel, str(last))
        conn.raw("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            conn.raw("ROLLBACK")
        raise


def _translate(exc: BaseException) -> BaseException:
    """A database error inside one operation: the same answers as on SQLite."""
    if isinstance(exc, asyncpg.exceptions.DiskFullError):
        return errors.HallError(507, "disk_full",
                                "服务器存储空间已满，本次操作未完成，请联系管理员")
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
    loop = _Loop("hall-pg-once")

    def job() -> T:
        conn = PgConnection(loop, loop.run(_connect(dsn, schema)), schema)
        try:
            return _read_snapshot(conn, fn)
        finally:
            loop.run(conn.conn.close())

    try:
        return asyncio.run(loop.call(job))
    finally:
        loop.stop()
