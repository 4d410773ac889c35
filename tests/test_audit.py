"""The audit log is append-only and hash-chained: the server has no path that changes it, and
`python -m hall audit verify` names the first row edited or removed by hand (issue 10.6). Its
API filters, pages and exports it, and tells the chain's state as the command line does."""

from __future__ import annotations

import csv
import io
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hall import audit_log
from hall.audit import GENESIS, row_hash, verify_rows
from hall.store_pg import is_postgres
from tests import backends
from tests.conftest import ROOT, HallServer

ENGLISH = re.compile(r"[A-Za-z]{2,}")


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
    rows = backends.tuples(hall_server.db, "SELECT id FROM audit ORDER BY id")
    assert len(rows) >= 4
    target = rows[2][0]
    # the server's own triggers refuse the edit: someone has to drop them first
    with pytest.raises(Exception, match="只能追加"):
        hall_server.rows("UPDATE audit SET user = 'someone-else' WHERE id = ?", (target,))
    with pytest.raises(Exception, match="只能追加"):
        hall_server.rows("DELETE FROM audit WHERE id = ?", (target,))
    backends.drop_trigger(hall_server.db, "audit_no_update")
    hall_server.rows("UPDATE audit SET user = 'someone-else' WHERE id = ?", (target,))
    bad = verify(hall_server.db)
    assert bad.returncode == 1
    assert f"第{target}条" in bad.stderr


def test_verify_names_a_removed_row(hall_server: HallServer) -> None:
    _actions(hall_server)
    hall_server.stop()
    backends.drop_trigger(hall_server.db, "audit_no_delete")
    hall_server.rows("DELETE FROM audit WHERE id = 2")
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


# ---------------------------------------------------------------- the audit page's API (10.6)


def _auditor(server: HallServer) -> httpx.Client:
    server.ensure_user("audit", "auditor")
    return server.login("audit", None)


def _sqlite3_shell(db: str | Path, sql: str) -> None:
    """Edit the live database as someone at the server would: the sqlite3 shell (or, without
    it, Python's sqlite3 with the same statements); psql on PostgreSQL."""
    if is_postgres(db):
        sql = sql.replace("DROP TRIGGER audit_no_update;", "DROP TRIGGER audit_no_update ON "
                          "audit;").replace(" user ", ' "user" ')
        done = subprocess.run([str(backends.PG_BIN / "psql"), str(db), "-v", "ON_ERROR_STOP=1",
                               "-q"], input=sql, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    elif shutil.which("sqlite3"):
        done = subprocess.run(["sqlite3", str(db)], input=".timeout 5000\n" + sql,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and not done.stderr, done.stderr
    else:  # pragma: no cover - the CI image has the shell
        conn = sqlite3.connect(db, timeout=5)
        conn.executescript(sql)
        conn.close()


def test_filters_pages_and_csv(hall_server: HallServer) -> None:
    _actions(hall_server)
    hall_server.add_user("boss", "manager")
    for _ in range(3):
        httpx.post(hall_server.url + "/api/login", timeout=10,
                   json={"username": "boss", "password": "not-the-one-1"})
    boss = hall_server.login("boss", None)
    ticket = boss.post("/api/tickets", json={"service": "yibao-card", "priority": "disabled"})
    assert ticket.status_code == 201, ticket.text
    auditor = _auditor(hall_server)

    everything = auditor.get("/api/manage/audit", params={"limit": "1000"}).json()
    assert everything["next"] is None
    rows = everything["audit"]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, reverse=True) and len(rows) >= 10
    # pages of 3 by keyset: together exactly the whole log, no row twice
    seen, before = [], None
    while True:
        params = {"limit": "3", **({"before": str(before)} if before else {})}
        page = auditor.get("/api/manage/audit", params=params).json()
        assert len(page["audit"]) <= 3
        seen += [r["id"] for r in page["audit"]]
        before = page["next"]
        if before is None:
            break
    assert seen[:len(ids)] == ids  # (the reads themselves add no rows)

    failed = auditor.get("/api/manage/audit",
                         params={"user": "boss", "action": "login", "success": "0"}).json()
    assert len(failed["audit"]) == 3
    assert all(r["action_name"] == "登录" and r["detail_text"] == "密码错误"
               for r in failed["audit"])
    today = rows[0]["time"][:10]  # the hall's day (its time zone, not this machine's)
    day = auditor.get("/api/manage/audit", params={"from": today, "to": today}).json()["audit"]
    assert len(day) >= len(rows)
    before_day = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    assert auditor.get("/api/manage/audit", params={"to": before_day}).json()["audit"] == []
    after_day = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    assert auditor.get("/api/manage/audit", params={"from": after_day}).json()["audit"] == []
    # a staff member issuing a ticket with a priority is audited
    issued = auditor.get("/api/manage/audit", params={"action": "ticket.issue"}).json()["audit"]
    assert issued[0]["user"] == "boss" and issued[0]["detail_text"] == "残疾人"
    for query in ({"success": "maybe"}, {"from": "yesterday"}, {"before": "x"},
                  {"from": "2026-05-02", "to": "2026-05-01"}, {"user": "u" * 200}):
        r = auditor.get("/api/manage/audit", params=query)
        assert r.status_code == 400 and not ENGLISH.search(r.json()["error"]["message"]), query

    csv_text = auditor.get("/api/manage/audit", params={"format": "csv"}).content
    assert csv_text.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(csv_text.decode("utf-8-sig"))))
    assert table[0] == ["编号", "时间", "操作人", "操作", "对象", "来源", "结果", "详情", "校验值"]
    assert len(table) - 1 >= len(rows)
    assert any(r[3] == "叫号" and r[6] == "成功" for r in table[1:])
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}", r[1])
               for r in table[1:])
    # the export is itself in the log
    exports = auditor.get("/api/manage/audit", params={"action": "audit.export"}).json()
    assert exports["audit"][0]["user"] == "audit"


def test_citizens_ratings_and_complaints_are_audited_without_contacts(
        hall_server: HallServer) -> None:
    clerk = hall_server.clerk(1)
    ticket = hall_server.issue()
    for step in ("call", "start"):
        assert clerk.post(f"/api/windows/1/{step}").status_code == 200
    assert clerk.post("/api/windows/1/finish", json={"outcome": "done"}).status_code == 200
    rated = httpx.post(f"{hall_server.url}/api/tickets/{ticket['token']}/rating",
                       json={"level": 2, "comment": "态度一般"}, timeout=10)
    assert rated.status_code == 201, rated.text
    opened = httpx.post(hall_server.url + "/api/complaints", timeout=10, json={
        "description": "营业执照办了三次", "contact": "13912345678"})
    assert opened.status_code == 201, opened.text
    auditor = _auditor(hall_server)
    rows = auditor.get("/api/manage/audit").json()["audit"]
    rating = next(r for r in rows if r["action"] == "rating")
    assert rating["action_name"] == "群众评价" and rating["source_name"] == "号票二维码页面"
    assert rating["detail_text"] == "1号窗口" and rating["user"] is None
    complaint = next(r for r in rows if r["action"] == "complaint.open")
    assert complaint["target"] == f"complaint:{opened.json()['id']}"
    text = auditor.get("/api/manage/audit?format=csv").text + str(rows)
    for private in ("13912345678", "营业执照", "态度一般"):
        assert private not in text


def test_the_chain_status_names_a_row_edited_with_the_sqlite3_shell(
        hall_server: HallServer) -> None:
    _actions(hall_server)
    auditor = _auditor(hall_server)
    status = auditor.get("/api/manage/audit/chain").json()
    assert status["ok"] and status["guarded"] and status["rows"] >= 4
    assert status["first_bad"] is None
    _sqlite3_shell(hall_server.db, "DROP TRIGGER audit_no_update;\n"
                   "UPDATE audit SET user = 'someone-else' WHERE id = 3;\n")
    status = auditor.get("/api/manage/audit/chain").json()
    assert not status["ok"] and status["first_bad"] == 3
    assert status["reason"] == "第3条记录被修改或其前一条被删除"
    assert status["guarded"] is False  # and the missing trigger is told too
    # the same verdict as the command line
    assert "第3条" in verify(hall_server.db).stderr


@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["u1", "u2", None]),
                          st.sampled_from(["call", "login"]), st.booleans()), max_size=40),
       st.integers(0, 5), st.integers(0, 5), st.sampled_from([None, "u1", "u2"]),
       st.sampled_from([None, "call", "login"]), st.sampled_from([None, True, False]),
       st.integers(1, 7))
def test_pages_are_exactly_the_filtered_log(
        rows: list[tuple[int, str | None, str, bool]], first: int, span: int,
        user: str | None, action: str | None, success: bool | None, limit: int) -> None:
    """Every page together is the log filtered by hand, newest first, whatever the filters
    and even when the clock stepped back between rows (days out of id order)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, time TEXT, user TEXT, "
                 "action TEXT, target TEXT, source TEXT, success INTEGER, detail TEXT, "
                 "hash TEXT)")
    conn.execute("CREATE INDEX audit_time ON audit (time)")
    for i, (day, who, what, ok) in enumerate(rows, start=1):
        conn.execute("INSERT INTO audit VALUES (?, ?, ?, ?, NULL, NULL, ?, NULL, NULL)",
                     (i, f"2026-03-0{day + 1}T09:00:00.000+08:00", who, what, int(ok)))
    days = (date(2026, 3, 1 + first), date(2026, 3, 1 + first + span))
    f = audit_log.AuditFilter(days[0], days[1], user, action, success)
    expected = [i for i, (day, who, what, ok) in enumerate(rows, start=1)
                if first <= day <= first + span and (user is None or who == user)
                and (action is None or what == action) and (success is None or ok == success)]
    got, before = [], None
    while True:
        page, before = audit_log.page(conn, f, before, limit)
        assert len(page) <= limit
        got += [r["id"] for r in page]
        if before is None:
            break
    assert got == sorted(expected, reverse=True)
