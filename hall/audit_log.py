"""Reading the audit log (issue 10.6): filters, keyset pages, Chinese names and the chain check.

Why keyset paging: the log only grows (nothing purges it, see below), so a busy hall has
millions of rows within a year; `OFFSET` would read every skipped row again on each page.
A page is "the newest `limit` rows with an id below `before`" on the primary key, or on the
(user, id) / (action, id) indexes when a user or an action is chosen. A day range compares the
`time` text: it is written in the hall's time zone, so its first ten characters are the hall's
calendar day.

Retention: at least six months (domain.md); the hall keeps every row for good. The triggers of
hall/audit.py refuse every DELETE, nothing in the server deletes audit rows, and the store never
VACUUMs or rebuilds the table. A hall that must archive older years does it offline from a copy
(`python -m hall audit verify` first, the copy's chain head noted), never on the live file. At
about 250 bytes a row with its indexes, a hall with 5,000 actions a day grows by ~450 MB a year.

Who reads it: the auditor (domain.md) and the admin (who answers for accounts and lockouts);
not hall managers: the log holds every login's address and every clerk's every step, which
supervising a hall's service does not need (its reports do), and in 三员分立 the people the log
watches are not its readers. Reading is not audited; exporting the log is (`audit.export`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hall import audit as chain
from hall import errors
from hall.store_pg import is_postgres, read_once

COLUMNS = ("id", "time", "user", "action", "target", "source", "success", "detail", "hash")
PAGE = 100
MAX_PAGE = 1000


@dataclass(frozen=True)
class AuditFilter:
    first: date | None = None
    last: date | None = None
    user: str | None = None
    action: str | None = None
    success: bool | None = None


def parse_success(raw: str | None) -> bool | None:
    """Pure: `success=1|0` (成功/失败); absent or empty: both."""
    if raw is None or raw == "":
        return None
    if raw in ("1", "true"):
        return True
    if raw in ("0", "false"):
        return False
    raise errors.bad_request("结果只能选择 成功 或 失败", "invalid_query", "success")


def parse_text(raw: str | None, field: str) -> str | None:
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > 128:
        raise errors.bad_request("查询条件过长", "invalid_query", field)
    return raw.strip()


def _day_bounds(f: AuditFilter) -> tuple[list[str], list[Any]]:
    """Pure: the `time` conditions of the day range (`time` is hall-local ISO text)."""
    where: list[str] = []
    params: list[Any] = []
    if f.first is not None:
        where.append("time >= ?")
        params.append(f.first.isoformat())
    if f.last is not None:
        where.append("time < ?")
        params.append((f.last + timedelta(days=1)).isoformat())
    return where, params


def query(f: AuditFilter, before: int | None, limit: int,
          ids: tuple[int, int] | None = None) -> tuple[str, list[Any]]:
    """Pure: the SQL of one page, newest first (one row more than `limit`, to know whether
    another page follows). `ids`: the first and last id of the day range (`id_span`), so the
    page walks the primary key, not the `time` index (which would sort a year of rows for
    each page); the day conditions stay, unindexed (`time || ''`, which both SQLite and
    PostgreSQL read as "no index here"), so the answer is exact even if the clock once
    stepped back."""
    where, params = _day_bounds(f)
    where = [w.replace("time", "(time || '')", 1) for w in where]
    if ids is not None:
        where.append("id BETWEEN ? AND ?")
        params.extend(ids)
    if f.user is not None:
        where.append("user = ?")
        params.append(f.user)
    if f.action is not None:
        where.append("action = ?")
        params.append(f.action)
    if f.success is not None:
        where.append("success = ?")
        params.append(int(f.success))
    if before is not None:
        where.append("id < ?")
        params.append(before)
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY id DESC LIMIT ?", [*params, limit + 1]


def id_span(conn: sqlite3.Connection, f: AuditFilter) -> tuple[int, int] | None:
    """The smallest and largest id written in the day range, on the `time` index (reading
    only as much of it as the range covers)."""
    where, params = _day_bounds(f)
    row = conn.execute(f"SELECT MIN(id), MAX(id) FROM audit WHERE {' AND '.join(where)}",
                       params).fetchone()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def page(conn: sqlite3.Connection, f: AuditFilter, before: int | None,
         limit: int) -> tuple[list[dict[str, Any]], int | None]:
    """One page of rows and the `before` of the next page (None: this was the last)."""
    ids = None
    if f.first is not None or f.last is not None:
        ids = id_span(conn, f)
        if ids is None:
            return [], None
    sql, params = query(f, before, limit, ids)
    rows = [dict(zip(COLUMNS, r, strict=True)) for r in conn.execute(sql, params)]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (int(rows[-1]["id"]) if more and rows else None)


@dataclass(frozen=True)
class ChainStatus:
    ok: bool
    rows: int
    head: str
    first_bad: int | None
    reason: str
    guarded: bool  # both triggers that refuse UPDATE and DELETE are in place

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok and self.guarded, "chain_ok": self.ok, "rows": self.rows,
                "head": self.head, "first_bad": self.first_bad, "reason": self.reason,
                "guarded": self.guarded}


TRIGGERS = ("audit_no_update", "audit_no_delete")


def check_file(path: str | Path) -> ChainStatus:
    """The same check as `python -m hall audit verify`, on its own read-only connection (a
    long walk over the chain never holds up the server's reader), plus whether the triggers
    are still there (someone who edited a row may have dropped them)."""
    if is_postgres(path):
        def walk(conn: Any) -> tuple[chain.Verdict, set[str]]:
            return chain.verify(conn), {r[0] for r in conn.raw(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass")}
        verdict, names = read_once(str(path), walk)
    else:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = chain.verify(conn)
            names = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'")}
        finally:
            conn.close()
    return ChainStatus(verdict.ok, verdict.rows, verdict.head, verdict.first_bad,
                       verdict.reason, all(t in names for t in TRIGGERS))


_one_check = asyncio.Lock()


async def check(path: str | Path) -> ChainStatus:
    """`check_file` in a child process (`python -m hall.audit_log FILE`): a year of a busy hall
    is a million rows, some 15 s of hashing, which in a thread would hold the GIL against
    the server's own requests. One check at a time: a reload storm on the audit page must not
    start a walk each."""
    async with _one_check:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hall.audit_log", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
    if proc.returncode != 0:
        raise errors.HallError(500, "audit_check_failed", "无法读取审计日志，请联系管理员")
    return ChainStatus(**json.loads(out))


def main(argv: list[str]) -> int:
    """The child of `check`: one file checked, the status as JSON on stdout."""
    print(json.dumps(dataclasses.asdict(check_file(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
