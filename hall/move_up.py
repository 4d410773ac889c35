"""`python -m hall migrate --from var/hall.db --to postgresql://USER@HOST/DB`: a hall's whole
history from its SQLite file into an empty PostgreSQL database (issue 13.4, docs/moving-up.md).

Why one read transaction on the source: the file may belong to a live server (WAL mode); a
read transaction sees one committed moment however long the copy takes, so tickets, events,
audit rows and counters agree with each other. What the hall does after that moment is not
copied: the command prints the last event `seq` it took, and the docs say to stop the hall
(or send its kiosks to the new one) at the moment of moving.

Why an empty target only, and no `--force`: merging two halls' histories would clash on every
ticket id, event `seq` and audit row, and overwriting loses one of them. A target holding any
row is refused; the fix is a fresh database, which is cheap. Refusing is the safe choice.

Why binary COPY from a generator: a year of a busy hall is about a million tickets and
several million events; rows stream from a SQLite cursor straight into asyncpg's COPY, so
memory stays flat whatever the size. All of it is one PostgreSQL transaction, under the
hall's advisory lock (no hall server writes in between): a failed or refused copy leaves the
target as empty as it was.

Why the INSERT triggers are off during the copy: they derive rows from the inserted ones
(`waiting_counts` from `tickets`), and those derived rows are copied as the source has them.
The audit log's triggers refuse UPDATE and DELETE only (hall/pg_schema.py), so its rows,
which arrive with their hashes, go in with them armed; the chain is verified afterwards.

Why the checks run before COMMIT: row counts per table, a hash of the event log
(hall/move_up_plan.py) and the audit chain are compared on both sides inside the copy's
transaction, so a mismatch rolls everything back instead of leaving a half-trusted hall.

Why the sealing key is copied first: citizens' free text and contacts are sealed with the key
beside the SQLite file (hall/sealed.py); a hall on PostgreSQL reads its key from
`HALL_DATA_DIR` (hall/store_pg.py PgStore.key_path). A moved hall without it could not open a
single complaint, so the key is in place before any row is, and a different key already there
is never overwritten.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall import audit
from hall.move_up_plan import (
    BadValue,
    EventDigest,
    copy_order,
    count_differences,
    row_converter,
    schema_problems,
)
from hall.pg_schema import PG_ONLY_TABLES

BATCH = 5000
EXIT_REFUSED = 1  # refused, or the copy did not check out: the target is left unchanged
EXIT_INPUT = 2  # no such file, not a hall's database, not a PostgreSQL URL

EVENTS_SQL = "SELECT seq, time, type, data FROM events ORDER BY seq"
AUDIT_SQL = "SELECT * FROM audit ORDER BY id"


class Refused(Exception):
    """The migration will not (or did not) happen; `message` says why, in Chinese."""

    def __init__(self, message: str, code: int = EXIT_REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Side:
    """What one database showed of the copied history."""

    counts: dict[str, int] = field(default_factory=dict)
    event_hash: str = ""
    last_seq: int = 0
    audit: audit.Verdict | None = None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Source:
    """The hall's SQLite file, opened read-only, everything read in one transaction."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise Refused(f"源数据库文件不存在：{path}", EXIT_INPUT)
        self.path = path
        try:
            self.conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise Refused(f"无法打开源数据库 {path}：{exc}", EXIT_INPUT) from exc
        try:
            self.conn.execute("PRAGMA busy_timeout=5000")
            self.conn.execute("BEGIN")  # the snapshot: taken at the first read below
            self.version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
            self.tables = self._tables()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise Refused(f"无法读取源数据库 {path}：{exc}（不是大厅的 SQLite 数据库文件？）",
                          EXIT_INPUT) from exc
        if "events" not in self.tables or "audit" not in self.tables:
            self.conn.close()
            raise Refused(f"{path} 不是大厅的数据库文件（没有事件日志和审计日志）", EXIT_INPUT)

    def _tables(self) -> dict[str, list[str]]:
        names = [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
        return {n: [c[1] for c in self.conn.execute(f"PRAGMA table_info({_q(n)})")]
                for n in names}

    def references(self) -> dict[str, set[str]]:
        return {t: {r[2] for r in self.conn.execute(f"PRAGMA foreign_key_list({_q(t)})")}
                for t in self.tables}

    def rows(self, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
        cur = self.conn.execute(
            f"SELECT {', '.join(_q(c) for c in columns)} FROM {_q(table)}")
        while batch := cur.fetchmany(BATCH):
            yield from batch

    def side(self) -> Side:
        side = Side(counts={t: int(self.conn.execute(f"SELECT COUNT(*) FROM {_q(t)}")
                                   .fetchone()[0]) for t in self.tables})
        digest = EventDigest()
        for row in self.conn.execute(EVENTS_SQL):
            digest.add(*row)
        side.event_hash, side.last_seq = digest.hexdigest(), digest.last_seq
        side.audit = audit.verify(self.conn)
        return side

    def close(self) -> None:
        self.conn.close()


class Target:
    """The PostgreSQL database, on a connection of this command's own, driven step by step
    from plain code (`run`), so a generator can stream rows in and out of it."""

    def __init__(self, run: Callable[[Coroutine[Any, Any, Any]], Any], url: str) -> None:
        import asyncpg

        from hall.store_pg import PgStore

        self.run = run
        self.where = where(url)
        errors = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError,
                  ValueError)
        try:
            # the hall's own store brings the schema to this version (hall/pg_schema.py)
            store = run(PgStore.open(url))
            run(store.close())
            self.conn = run(asyncpg.connect(
                store.dsn, server_settings={"search_path": store.schema,
                                            "application_name": "hall-migrate"}))
        except errors as exc:
            raise Refused(f"无法打开目标数据库 {self.where}：{exc}", EXIT_INPUT) from exc
        self.schema = store.schema
        self.lock_key = store.lock_key
        self.key_path = store.key_path
        self.version = int(self.fetch("SELECT version FROM schema_version")[0][0])
        self.kinds: dict[str, dict[str, str]] = {}
        for table, column, kind in self.fetch(
                "SELECT c.table_name, c.column_name, c.udt_name FROM information_schema.columns c "
                "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
                "AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE' "
                "WHERE c.table_schema = current_schema() AND c.table_name <> ALL($1::text[]) "
                "ORDER BY c.table_name, c.ordinal_position", list(PG_ONLY_TABLES)):
            self.kinds.setdefault(table, {})[column] = kind

    def fetch(self, sql: str, *args: Any) -> list[Any]:
        return self.run(self.conn.fetch(sql, *args))

    def execute(self, sql: str, *args: Any) -> str:
        return self.run(self.conn.execute(sql, *args))

    def stream(self, sql: str) -> Iterator[Any]:
        """Rows in batches from a server-side cursor (inside the open transaction)."""
        async def open_cursor() -> Any:
            return await self.conn.cursor(sql)

        cursor = self.run(open_cursor())
        while rows := self.run(cursor.fetch(BATCH)):
            yield from rows

    def tables(self) -> dict[str, list[str]]:
        return {t: list(columns) for t, columns in self.kinds.items()}

    def filled(self) -> list[str]:
        return [t for t in sorted(self.kinds)
                if self.fetch(f"SELECT EXISTS (SELECT 1 FROM {_q(t)})")[0][0]]

    def insert_triggers(self) -> list[tuple[str, str]]:
        """(table, trigger) of the hall's own triggers that fire on INSERT (tgtype bit 2)."""
        return [(r[0], r[1]) for r in self.fetch(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND NOT t.tgisinternal AND (t.tgtype & 4) <> 0 ORDER BY 1, 2")]

    def copy(self, table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
        convert = row_converter(columns, [self.kinds[table][c] for c in columns])

        def converted() -> Iterator[tuple[Any, ...]]:
            for row in rows:
                try:
                    yield convert(row)
                except BadValue as exc:
                    raise Refused(f"表 {table} 有一行无法写入 PostgreSQL（{exc}），"
                                  "已全部撤销") from exc

        status = self.run(self.conn.copy_records_to_table(
            table, records=converted(), columns=columns, schema_name=self.schema))
        return int(status.split()[-1])

    def advance_identities(self) -> None:
        """Each generated key continues after the copied rows: the next ticket, event and
        audit row get fresh ids."""
        for table, column in self.fetch(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND is_identity = 'YES'"):
            self.execute(
                f"SELECT setval(pg_get_serial_sequence($1, $2), m) FROM "
                f"(SELECT MAX({_q(column)}) AS m FROM {_q(table)}) AS x WHERE m IS NOT NULL",
                f"{_q(self.schema)}.{_q(table)}", column)

    def side(self, tables: list[str]) -> Side:
        side = Side(counts={t: int(self.fetch(f"SELECT COUNT(*) FROM {_q(t)}")[0][0])
                            for t in tables})
        digest = EventDigest()
        for row in self.stream(EVENTS_SQL):
            digest.add(row[0], row[1], row[2], row[3])
        side.event_hash, side.last_seq = digest.hexdigest(), digest.last_seq
        side.audit = audit.verify_rows(dict(r) for r in self.stream(AUDIT_SQL))
        return side

    def close(self) -> None:
        self.run(self.conn.close())


def where(url: str) -> str:
    """The target as it may be printed (no password); refuses a URL that is not one."""
    from hall.store_pg import _without_password, is_postgres, split_dsn

    if not is_postgres(url):
        given = url.split("://", 1)[0] + "://…" if "://" in url else repr(url)
        raise Refused(f"--to 须为 PostgreSQL 数据库地址，形如 postgresql://用户@主机/数据库"
                      f"（给出的是 {given}）", EXIT_INPUT)
    try:
        split_dsn(url)
        return _without_password(url)
    except ValueError as exc:
        raise Refused(f"目标数据库地址不对（{exc}）：应形如 postgresql://用户@主机/数据库",
                      EXIT_INPUT) from exc


def source_key(source: Path) -> Path:
    """Where a hall on SQLite keeps its sealing key (hall/store.py Store.key_path)."""
    return source.with_suffix(".key")


def check_key(source: Path, target: Path) -> bytes | None:
    """The key to copy (None: nothing to copy); refuses a different key at the target."""
    if not source.is_file():
        return None
    key = source.read_bytes().strip()
    if target.exists():
        if target.read_bytes().strip() != key:
            raise Refused(f"{target} 已有另一把密钥，拒绝覆盖：覆盖后原来用它加密的内容将无法"
                          f"读取。请确认哪把密钥属于哪个大厅；若目标位置的密钥不再需要，先把它移走，"
                          f"再重新迁移（源密钥：{source}）")
        return None
    return key


def write_key(path: Path, key: bytes) -> None:
    """0600 in a 0700 directory, never over an existing file (as hall/sealed.py makes it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())


def migrate(source_path: Path, url: str, say: Callable[[str], None]) -> Side:
    """Copy and check; returns the target's side of the checks. Raises Refused."""
    from hall.store import MIGRATIONS

    where(url)
    source = Source(source_path)
    loop = asyncio.new_event_loop()
    try:
        if source.version < len(MIGRATIONS):
            raise Refused(f"源数据库为第{source.version}版，本程序为第{len(MIGRATIONS)}版："
                          "请先用本版本的大厅服务启动一次源数据库（启动时自动升级），再迁移")
        if source.version > len(MIGRATIONS):
            raise Refused(f"源数据库为第{source.version}版，比本程序（第{len(MIGRATIONS)}版）"
                          "新：请用与源大厅同一版本的程序迁移")
        say(f"源数据库 {source_path}（第{source.version}版），在一个读事务中读取（一致快照）")
        target = Target(loop.run_until_complete, url)
        try:
            return _copy(source, target, source_path, say)
        finally:
            target.close()
    finally:
        source.close()
        loop.close()


def _copy(source: Source, target: Target, source_path: Path,
          say: Callable[[str], None]) -> Side:
    if target.version != source.version:
        raise Refused(f"目标数据库为第{target.version}版，源数据库为第{source.version}版，"
                      "版本不同，不能迁移")
    problems = schema_problems(source.tables, target.tables())
    if problems:
        raise Refused("目标数据库的表结构与源数据库不一致：\n" + "\n".join(problems))
    say(f"目标数据库 {target.where}：已建好第{target.version}版表结构")
    filled = target.filled()
    if filled:
        raise Refused(_not_empty(target.where, filled))
    key_from, key_to = source_key(source_path), target.key_path
    key = check_key(key_from, key_to)
    before = source.side()
    if not before.audit or not before.audit.ok:
        verdict = before.audit
        raise Refused(f"源数据库的审计日志校验失败：{verdict.reason if verdict else ''}"
                      f"（第{verdict.first_bad if verdict else '?'}条）。请先由审计员核查"
                      "（python -m hall audit verify），不迁移一份已被改动的日志")
    if key is not None:
        write_key(key_to, key)
        say(f"密钥文件：已复制 {key_from} → {key_to}（仅所有者可读写）")
    elif key_from.is_file():
        say(f"密钥文件：{key_to} 已是同一把密钥")
    else:
        say(f"提示：源数据库旁没有密钥文件 {key_from}（该大厅尚未加密保存过内容），未复制密钥")

    order = copy_order(source.references())
    transaction = target.conn.transaction()
    target.run(transaction.start())
    try:
        target.execute("SELECT pg_advisory_xact_lock($1)", target.lock_key)
        filled = target.filled()  # a hall server may have written before the lock was ours
        if filled:
            raise Refused(_not_empty(target.where, filled))
        triggers = target.insert_triggers()
        for table, trigger in triggers:
            target.execute(f"ALTER TABLE {_q(table)} DISABLE TRIGGER {_q(trigger)}")
        for table in order:
            columns = source.tables[table]
            copied = target.copy(table, columns, source.rows(table, columns))
            say(f"  复制 {table}：{copied} 行")
        for table, trigger in triggers:
            target.execute(f"ALTER TABLE {_q(table)} ENABLE TRIGGER {_q(trigger)}")
        target.advance_identities()
        after = target.side(order)
        _report(before, after, say)
        if not _agrees(before, after):
            raise Refused("核对不一致，已全部撤销，目标数据库保持为空")
        target.run(transaction.commit())
    except BaseException as exc:
        with contextlib.suppress(Exception):
            target.run(transaction.rollback())
        if isinstance(exc, Exception) and not isinstance(exc, Refused):
            raise Refused(f"复制失败，已全部撤销，目标数据库保持为空：{exc}") from exc
        raise
    say(f"迁移完成：已复制到事件序号 {before.last_seq} 为止的全部记录。"
        f"此后源大厅新产生的取号、叫号等不在目标数据库中；目标已非空，再次迁移会被拒绝。")
    return after


def _not_empty(where: str, filled: list[str]) -> str:
    return (f"目标数据库 {where} 已有数据（{'、'.join(filled)}），拒绝迁移：迁移只写入空数据库，"
            "不合并、不覆盖（两个大厅的记录编号会冲突，覆盖会丢失其中一份）。"
            "请新建一个空数据库作为目标")


def _agrees(before: Side, after: Side) -> bool:
    return (not count_differences(before.counts, after.counts)
            and before.event_hash == after.event_hash and before.last_seq == after.last_seq
            and after.audit is not None and after.audit.ok
            and before.audit is not None and after.audit.head == before.audit.head
            and after.audit.rows == before.audit.rows)


def _report(before: Side, after: Side, say: Callable[[str], None]) -> None:
    say("核对（行数）：表 源 目标")
    for table in sorted(before.counts):
        a, b = before.counts[table], after.counts.get(table)
        say(f"  {table} {a} {b}{'' if a == b else '  ← 不一致'}")
    for line in count_differences(before.counts, after.counts):
        say(line)
    say(f"事件日志哈希 源 {before.event_hash}（{before.counts.get('events', 0)}条，"
        f"最后序号 {before.last_seq}）")
    say(f"事件日志哈希 目标 {after.event_hash}（{after.counts.get('events', 0)}条，"
        f"最后序号 {after.last_seq}）"
        + ("" if before.event_hash == after.event_hash else "  ← 不一致"))
    verdict = after.audit
    if verdict is None or not verdict.ok:
        reason = f"{verdict.reason}（第{verdict.first_bad}条）" if verdict else ""
        say(f"目标数据库审计日志校验失败：{reason}")
    else:
        same = before.audit is not None and verdict.head == before.audit.head
        say(f"目标数据库审计日志完整：共{verdict.rows}条，末条校验值 {verdict.head}"
            + ("（与源一致）" if same else "  ← 与源不一致"))


def cmd_migrate(args: argparse.Namespace) -> int:
    import asyncpg

    try:
        migrate(Path(args.source), args.target, lambda line: print(line, flush=True))
    except Refused as exc:
        print(exc.message, file=sys.stderr)
        return exc.code
    except (sqlite3.Error, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # outside the copy's transaction (which turns its own errors into Refused): reading
        # the source, or writing the key; nothing was committed to the target
        print(f"迁移未完成，目标数据库未写入任何记录：{exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", default="var/hall.db",
                        help="the hall's SQLite file (default var/hall.db)")
    parser.add_argument("--to", dest="target", required=True,
                        help="an empty PostgreSQL database: postgresql://USER@HOST/DB; the "
                        "sealing key goes to HALL_DATA_DIR (default var/)")
    parser.set_defaults(fn=cmd_migrate)
