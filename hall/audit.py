"""The audit log: append-only and hash-chained, so an auditor can prove nothing was changed.

domain.md asks for an append-only log of every action, kept at least six months and read by
the auditor role; issue 10 asks that an edit or a removal be found. Two locks do that:

* triggers refuse every UPDATE and DELETE of a sealed row, so the server has no path that
  changes the log (and neither has anyone who opens the file without first dropping them);
* each row carries `hash = SHA-256(previous row's hash + the row's own fields)`, so a row
  edited or removed with the triggers dropped breaks the chain at that row, and
  `python -m hall audit verify` names it.

The chain cannot tell that the *newest* rows were cut off (nothing comes after them to
disagree); `verify` also reports the head so an auditor can compare it with one noted earlier.
Rows written before this module existed are sealed once, in id order, when the store opens.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
FIELDS = ("id", "time", "user", "action", "target", "source", "success", "detail")

def row_hash(previous: str, row: dict[str, Any]) -> str:
    """Pure: the link of one row, over a canonical form of its fields."""
    body = json.dumps([previous, *(row.get(f) for f in FIELDS)], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(conn: sqlite3.Connection, time: str, user: str | None, action: str,
           target: str | None, source: str | None, success: bool,
           detail: str | None) -> None:
    """One row, linked to the last; runs inside the caller's transaction (the single writer
    makes reading the last row and inserting the next one step)."""
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    row = {"id": last[0] + 1 if last else 1, "time": time, "user": user, "action": action,
           "target": target, "source": source, "success": int(success), "detail": detail}
    previous = last[1] if last and last[1] else GENESIS
    conn.execute(
        "INSERT INTO audit (id, time, user, action, target, source, success, detail, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*(row[f] for f in FIELDS), row_hash(previous, row)))


def seal(conn: sqlite3.Connection) -> int:
    """Link rows written before the chain existed (an upgraded hall); returns how many."""
    rows = conn.execute("SELECT * FROM audit WHERE hash IS NULL ORDER BY id").fetchall()
    if not rows:
        return 0
    previous = GENESIS
    first = rows[0]["id"]
    before = conn.execute("SELECT hash FROM audit WHERE id < ? AND hash IS NOT NULL "
                          "ORDER BY id DESC LIMIT 1", (first,)).fetchone()
    if before:
        previous = before[0]
    for r in rows:
        previous = row_hash(previous, dict(r))
        conn.execute("UPDATE audit SET hash = ? WHERE id = ?", (previous, r["id"]))
    return len(rows)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    head: str
    first_bad: int | None = None
    reason: str = ""


def verify_rows(rows: Iterable[dict[str, Any]]) -> Verdict:
    """Pure: walk the chain in id order. A removed row shows as a gap in the ids or as the
    next row's hash no longer following from its predecessor; an edited row as its own hash
    no longer matching its fields."""
    previous, count, last_id = GENESIS, 0, 0
    for row in rows:
        count += 1
        rid = int(row["id"])
        if rid != last_id + 1:
            return Verdict(False, count, previous, last_id + 1,
                           f"第{last_id + 1}条记录被删除")
        expected = row_hash(previous, row)
        if row.get("hash") != expected:
            return Verdict(False, count, previous, rid, f"第{rid}条记录被修改或其前一条被删除")
        previous, last_id = expected, rid
    return Verdict(True, count, previous)


def verify(conn: sqlite3.Connection) -> Verdict:
    cur = conn.execute("SELECT * FROM audit ORDER BY id")
    cur.row_factory = sqlite3.Row  # type: ignore[assignment]
    return verify_rows(dict(r) for r in cur)
