"""The audit log is append-only and hash-chained: the server has no path that changes it, and
`python -m hall audit verify` names the first row edited or removed by hand (issue 10.6)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall.audit import GENESIS, row_hash, verify_rows
from tests.conftest import ROOT, HallServer


def verify(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hall", "audit", "verify", "--db", str(db)],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)


def _actions(server: HallServer) -> None:
    clerk = server.clerk(1)
    server.issue()
    assert clerk.post("/api/windows/1/call").status_code == 200
    assert clerk.post("/api/windows/1/start").status_code == 200
    assert clerk.post("/api/windows/1/finish", json={"outcome": "done"}).status_code == 200
    clerk.post("/api/logout")


def test_verify_passes_then_names_the_edited_row(hall_server: HallServer) -> None:
    _actions(hall_server)
    hall_server.stop()
    ok = verify(hall_server.db)
    assert ok.returncode == 0, ok.stderr
    assert "审计日志完整" in ok.stdout
    conn = sqlite3.connect(hall_server.db)
    rows = conn.execute("SELECT id FROM audit ORDER BY id").fetchall()
    assert len(rows) >= 4
    target = rows[2][0]
    # the server's own triggers refuse the edit: someone has to drop them first
    with pytest.raises(sqlite3.DatabaseError, match="只能追加"):
        conn.execute("UPDATE audit SET user = 'someone-else' WHERE id = ?", (target,))
    with pytest.raises(sqlite3.DatabaseError, match="只能追加"):
        conn.execute("DELETE FROM audit WHERE id = ?", (target,))
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET user = 'someone-else' WHERE id = ?", (target,))
    conn.commit()
    conn.close()
    bad = verify(hall_server.db)
    assert bad.returncode == 1
    assert f"第{target}条" in bad.stderr


def test_verify_names_a_removed_row(hall_server: HallServer) -> None:
    _actions(hall_server)
    hall_server.stop()
    conn = sqlite3.connect(hall_server.db)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE id = 2")
    conn.commit()
    conn.close()
    bad = verify(hall_server.db)
    assert bad.returncode == 1
    assert "第2条记录被删除" in bad.stderr


def test_chain_survives_restart(hall_server: HallServer) -> None:
    _actions(hall_server)
    hall_server.kill()
    hall_server.start()
    _actions(hall_server)
    hall_server.stop()
    result = verify(hall_server.db)
    assert result.returncode == 0, result.stderr


def _chain(n: int) -> list[dict[str, object]]:
    rows, previous = [], GENESIS
    for i in range(1, n + 1):
        row: dict[str, object] = {"id": i, "time": f"2026-12-01T09:00:{i % 60:02d}",
                                  "user": f"u{i % 3}", "action": "call", "target": str(i),
                                  "source": "127.0.0.1", "success": 1, "detail": None}
        previous = row_hash(previous, row)
        rows.append({**row, "hash": previous})
    return rows


@given(st.integers(2, 30), st.data())
def test_any_single_edit_or_removal_is_found_at_its_row(n: int, data: st.DataObject) -> None:
    rows = _chain(n)
    assert verify_rows(rows).ok
    k = data.draw(st.integers(0, n - 2))  # not the last row: nothing follows it to disagree
    edited = [dict(r) for r in rows]
    field = data.draw(st.sampled_from(["time", "user", "action", "target", "source",
                                       "detail"]))
    edited[k][field] = "x" if edited[k][field] != "x" else "y"
    verdict = verify_rows(edited)
    assert not verdict.ok and verdict.first_bad == k + 1
    removed = rows[:k] + rows[k + 1:]
    verdict = verify_rows(removed)
    assert not verdict.ok and verdict.first_bad == k + 1
