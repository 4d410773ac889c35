"""Which database the servers under test run on: SQLite (the default) or a real PostgreSQL
server that this module starts from Debian's packages (`pytest --backend=postgresql`).

Why an option of the run and not a copy of the tests: every test that starts a hall server
runs unchanged on either database (`make test` runs the suite on both). A test that is about
the SQLite file itself (its permissions, its lock, a full disk) says so with
`@pytest.mark.sqlite_only`.

The PostgreSQL cluster is made once per run in a temporary directory (`initdb`, then
`pg_ctl start` on a free loopback port; as root, both run as the `postgres` user, since
PostgreSQL refuses to run as root) and every server under test gets a fresh database of it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hall.store_pg import is_postgres

BACKEND = os.environ.get("HALL_TEST_BACKEND", "sqlite")
PG_BIN = Path(os.environ.get("HALL_PG_BIN", "/usr/lib/postgresql/15/bin"))
_numbers = itertools.count(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class Cluster:
    """One PostgreSQL server for the whole test run."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hall-pg-"))
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}"
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True)
        # fsync stays on: a test that kills a server -9 must see what PostgreSQL keeps
        subprocess.run(_as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w", "start",
            "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                  "-c max_connections=400 -c shared_buffers=64MB"]),
            check=True, capture_output=True)
        atexit.register(self.stop)

    def database(self) -> str:
        name = f"hall_test_{os.getpid()}_{next(_numbers)}"
        self.sql(f"CREATE DATABASE {name}")
        return f"{self.url}/{name}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", "postgres", "-d", database, "-q", "-c", statement],
                       check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"),
                                     "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


_cluster: Cluster | None = None


def cluster() -> Cluster:
    global _cluster
    if _cluster is None:
        _cluster = Cluster()
    return _cluster


_databases: dict[Path, str] = {}


def new_db(tmp: Path) -> str | Path:
    """A fresh database for one hall server: a file in `tmp`, or a new PostgreSQL database.
    Asked again for the same `tmp` (a test reopening its hall), the same database, as the
    same file would be."""
    if BACKEND == "postgresql":
        # a store opened in the test's own process keeps its files in the test's dir too
        os.environ["HALL_DATA_DIR"] = str(tmp / "var")
        if tmp not in _databases:
            _databases[tmp] = cluster().database()
        return _databases[tmp]
    return tmp / "hall.db"


def server_env(tmp: Path) -> dict[str, str]:
    """A server on PostgreSQL keeps its files (sealing key, voice) in the test's own dir."""
    return {"HALL_DATA_DIR": str(tmp / "var")} if BACKEND == "postgresql" else {}


def rows(db: str | Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Read (or, to set up a test's past, change) the hall's rows on either database, in the
    hall's own SQL dialect (hall/pg_sql.py turns it into PostgreSQL's). A change is committed
    at once, as a second writer beside the running server. Also from inside an async test
    (on a thread of its own then)."""
    if is_postgres(db):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_pg_rows(str(db), sql, params))
        # called from an async test: its loop is busy, so read on a thread of our own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, _pg_rows(str(db), sql, params)).result()
    import sqlite3
    conn = sqlite3.connect(str(db), timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        result = [dict(r) for r in conn.execute(sql, params).fetchall()]
        conn.commit()
        return result
    finally:
        conn.close()


async def _pg_rows(db: str, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    import asyncpg

    from hall.pg_sql import arguments, translate
    from hall.store_pg import split_dsn
    dsn, schema = split_dsn(db)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        translated = translate(sql)
        return [dict(r) for r in await conn.fetch(translated.sql,
                                                    *arguments(translated, params))]
    finally:
        await conn.close()


def tuples(db: str | Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """`rows` as plain tuples, as sqlite3 gives them."""
    return [tuple(r.values()) for r in rows(db, sql, params)]


class _ThisThread:
    """An event loop of the calling thread, for a PostgreSQL connection a test uses
    synchronously (hall.store_pg runs it on a thread of its own; a test has no other work)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


def connect(db: str | Path) -> Any:
    """A synchronous connection to the hall's database, as the hall's SQL functions take one
    (sqlite3's, or hall.store_pg's on PostgreSQL), each statement committed on its own; for a
    test that writes a past or calls a report function on it, from synchronous code (not
    inside a running event loop). Close it with `close`."""
    if not is_postgres(db):
        import sqlite3
        conn = sqlite3.connect(str(db), timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn
    from hall.store_pg import PgConnection, _connect, split_dsn
    dsn, schema = split_dsn(str(db))
    here = _ThisThread()
    return PgConnection(here, here.run(_connect(dsn, schema)), schema)  # type: ignore[arg-type]


def migrated(tmp: Path) -> Any:
    """A connection (`connect`) to a new, empty hall database with the hall's schema: in
    memory on SQLite, a fresh database on PostgreSQL."""
    if BACKEND != "postgresql":
        import sqlite3

        from hall.store import _prepare_writer
        conn = sqlite3.connect(":memory:", isolation_level=None)
        _prepare_writer(conn)
        return conn
    from hall.store_pg import _migrate
    conn = connect(new_db(tmp))
    _migrate(conn, 1)
    return conn


def close(conn: Any) -> None:
    """Close a connection `connect` or `migrated` gave."""
    if hasattr(conn, "_loop"):
        conn._loop.run(conn.conn.close())
        conn._loop.loop.close()
    else:
        conn.close()


def migrate(db: str | Path) -> None:
    """Give a new PostgreSQL database the hall's schema, as a server's first start would,
    without the events a start writes (a past copied in afterwards stays in time order)."""
    if is_postgres(db):
        from hall.store_pg import _migrate
        conn = connect(db)
        try:
            _migrate(conn, 1)
        finally:
            close(conn)


def copy_rows(src: Path, db: str | Path, table: str) -> int:
    """Add the rows of `table` in the SQLite file `src` (a simulation's days, say) to the
    hall's database `db`, which has the schema, keys and all (on PostgreSQL a generated key
    then goes on after the last one copied). How many rows."""
    import sqlite3
    with sqlite3.connect(str(src)) as source:
        cursor = source.execute(f"SELECT * FROM {table} ORDER BY rowid")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    conn = connect(db)
    try:
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) "
                         f"VALUES ({', '.join('?' for _ in names)})", rows)
        if is_postgres(db):
            for (column,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = ? AND is_identity = 'YES'", (table,)):
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                             f"(SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}), false)")
        conn.execute("COMMIT")
    finally:
        close(conn)
    return len(rows)


def stored_bytes(db: str | Path) -> bytes:
    """Everything the database holds, as bytes on disk would show it to someone who took it:
    the SQLite file and its WAL, or a full `pg_dump` of the PostgreSQL database."""
    if is_postgres(db):
        return subprocess.run([str(PG_BIN / "pg_dump"), "--no-owner", str(db)],
                              check=True, capture_output=True).stdout
    path = Path(db)
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")
                    if not p.name.endswith((".lock", ".key")))


def drop_trigger(db: str | Path, name: str) -> None:
    """What someone tampering with the audit log would do first."""
    rows(db, f"DROP TRIGGER {name}" + (" ON audit" if is_postgres(db)
                                       else ""))


def pg_pending() -> list[str]:
    """Tests that do not pass on PostgreSQL yet, one node id (or prefix) per line of
    tests/pg_pending.txt: skipped there with that reason, so the list is the work left and
    shrinks as the hall's SQL is made portable (docs/deployment.md)."""
    path = Path(__file__).with_name("pg_pending.txt")
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]
