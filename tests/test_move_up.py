"""Moving up (issue 13.4): `python -m hall migrate` copies a live hall's SQLite history into a
real PostgreSQL database (tests/backends.py), and a hall server started on the copy carries on
where the SQLite hall was: same accounts, same numbering, same event log, same figures, same
sealed texts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from hall import audit
from hall.move_up_plan import (
    BadValue,
    EventDigest,
    converter,
    copy_order,
    count_differences,
    row_converter,
    schema_problems,
)
from tests import backends
from tests.conftest import ROOT, HallServer, free_port, roomy_config

# the source is a SQLite file and the target PostgreSQL whichever backend the run is on, so a
# run on PostgreSQL would only repeat this file
pytestmark = pytest.mark.sqlite_only("moves a SQLite file up to PostgreSQL")

COMPLAINT = "退休审批说要单位盖章，单位已注销，跑了三次"
COMMENT = "叫号后等了很久才开始办理"
PASSWORD = "Tulip-7741-q"


def migrate(source: Path | str, target: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hall", "migrate", "--from", str(source), "--to", target],
        cwd=ROOT, env={**_env(), "HALL_DATA_DIR": str(data_dir)}, capture_output=True,
        text=True, timeout=120)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "HALL_DATA_DIR"}


async def replay(server: HallServer) -> list[dict[str, Any]]:
    """Every event the public `/ws` replays from the start, in the order it sends them."""
    out = []
    async with websockets.connect(server.ws_url + "?since=0") as ws:
        while True:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 1.0))
            except TimeoutError:
                return out
            if message.get("type") != "ping":
                out.append(message)


def history(server: HallServer) -> dict[str, Any]:
    """A morning of a hall: tickets issued, called, served, skipped and waiting, a bad rating
    with a comment, a complaint with a contact, a staffing change; what a user saw of it."""
    boss_name = "boss"
    server.add_user(boss_name, "manager")
    boss = server.login(boss_name, None)
    clerk = server.clerk(1)
    tickets = [server.issue("yibao-card") for _ in range(5)]
    for ticket in tickets[:3]:
        for step, body in (("call", {"number": ticket["number"]}), ("start", None),
                           ("finish", {"outcome": "done"})):
            r = clerk.post(f"/api/windows/1/{step}", json=body)
            assert r.status_code == 200, r.text
    clerk.post("/api/windows/1/call", json={"number": tickets[3]["number"]}).raise_for_status()
    clerk.post("/api/windows/1/skip", json={}).raise_for_status()
    rated = httpx.post(f"{server.url}/api/tickets/{tickets[0]['token']}/rating",
                       json={"level": 2, "reasons": ["等待时间长"], "comment": COMMENT})
    assert rated.status_code == 201, rated.text
    complaint = httpx.post(f"{server.url}/api/complaints", json={
        "description": COMPLAINT, "service": "shebao-retire", "contact": "13987654321"})
    assert complaint.status_code == 201, complaint.text
    boss.patch("/api/manage/windows/3", json={"queues": ["shuiwu", "budongchan"]}
               ).raise_for_status()
    stats = boss.get("/api/manage/stats", params={"by": "queue"})
    assert stats.status_code == 200, stats.text
    rows = stats.json()["stats"]
    assert (sum(r["issued"] for r in rows), sum(r["served"] for r in rows),
            sum(r["ratings"] for r in rows), sum(r["complaints"] for r in rows)) == (5, 3, 1, 1)
    return {"boss": boss, "tickets": tickets, "complaint": complaint.json()["id"],
            "stats": stats.json()}


def test_a_running_hall_moves_up_to_postgresql_and_carries_on(tmp_path: Path) -> None:
    config = roomy_config(tmp_path)
    old = HallServer(tmp_path / "sqlite", config, db=tmp_path / "sqlite" / "hall.db")
    old.tmp.mkdir()
    old.start()
    try:
        seen = history(old)
        events = asyncio.run(replay(old))
        target = backends.cluster().database()
        data_dir = tmp_path / "pg" / "var"

        moved = migrate(old.db, target, data_dir)  # the SQLite hall is still serving
        assert moved.returncode == 0, moved.stderr
        out = moved.stdout
        hashes = [re.search(r"[0-9a-f]{64}", line)[0] for line in out.splitlines()
                  if line.startswith("事件日志哈希")]
        assert len(hashes) == 2 and hashes[0] == hashes[1], out
        digest = EventDigest()
        for row in backends.rows(old.db, "SELECT seq, time, type, data FROM events ORDER BY seq"):
            digest.add(row["seq"], row["time"], row["type"], row["data"])
        assert hashes[0] == digest.hexdigest()
        last = backends.rows(old.db, "SELECT MAX(seq) AS s FROM events")[0]["s"]
        assert events[-1]["seq"] <= last
        copied_audit = backends.rows(old.db, "SELECT COUNT(*) AS n FROM audit")[0]["n"]
        assert f"事件序号 {last} 为止" in out and "审计日志完整" in out and "与源一致" in out
        for table in ("tickets", "events", "audit", "ratings", "complaints", "users",
                      "staffing_windows", "waiting_counts", "counters"):
            a = backends.rows(old.db, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
            b = backends.rows(target, f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
            assert a == b and a > 0, (table, a, b)
        # the key is where the PostgreSQL hall looks for it, the owner's only
        key = data_dir / f"{target.rsplit('/', 1)[1]}.public.key"
        assert key.read_bytes() == old.db.with_suffix(".key").read_bytes()
        assert key.stat().st_mode & 0o777 == 0o600

        # after the snapshot the SQLite hall goes on: that ticket is not moved
        late = old.issue("yibao-card")
    finally:
        old.stop()
    assert not backends.rows(target, "SELECT id FROM tickets WHERE token = ?", (late["token"],))

    new = HallServer(tmp_path / "pg", config, db=target)
    new.start()
    try:
        boss = new.login("boss", None, PASSWORD)  # the old password
        # a manager signed in before the move stays signed in (sessions and their secret moved)
        assert seen["boss"].get(new.url + "/api/manage/alarms").status_code == 200
        stats = boss.get("/api/manage/stats", params={"by": "queue"})
        assert stats.status_code == 200, stats.text
        assert stats.json() == seen["stats"]
        replayed = asyncio.run(replay(new))
        assert [e for e in replayed if e["seq"] <= last] == events
        assert [e["seq"] for e in replayed] == sorted({e["seq"] for e in replayed})

        case = boss.get(f"/api/manage/complaints/{seen['complaint']}")
        assert case.status_code == 200 and case.json()["description"] == COMPLAINT
        ratings = boss.get("/api/manage/ratings").json()["ratings"]
        assert [r["comment"] for r in ratings] == [COMMENT]

        numbers = {t["number"] for t in seen["tickets"]}
        fresh = new.issue("yibao-card")
        assert fresh["number"] not in numbers
        assert fresh["number"] == late["number"]  # the day's numbering goes on from the copy
        clerk = new.login("clerk1", 1)
        called = clerk.post("/api/windows/1/call", json={})
        assert called.status_code == 200, called.text
        assert called.json()["current"]["number"] == seen["tickets"][4]["number"]
        later = [e for e in asyncio.run(replay(new)) if e["seq"] > last]
        assert later[0]["seq"] == last + 1  # the event log goes on without a gap
        types = [e["type"] for e in later]
        assert types.index("ticket.issued") < types.index("ticket.called")
        ids = [r["id"] for r in backends.rows(target, "SELECT id FROM tickets ORDER BY id")]
        assert len(ids) == 6 and ids[-1] == max(ids[:-1]) + 1
        # the audit chain goes on from the copied rows: it still verifies, with more rows
        chain = audit.verify_rows(backends.rows(target, "SELECT * FROM audit ORDER BY id"))
        assert chain.ok and chain.rows > copied_audit
    finally:
        new.stop()

    again = migrate(old.db, target, data_dir)
    assert again.returncode == 1
    assert "已有数据" in again.stderr and "拒绝迁移" in again.stderr
    assert "Traceback" not in again.stderr


def test_bad_source_or_target_is_told_in_chinese(tmp_path: Path) -> None:
    target = backends.cluster().database()
    missing = migrate(tmp_path / "nothing.db", target, tmp_path / "var")
    assert missing.returncode == 2 and "源数据库文件不存在" in missing.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    for source, url, said in (
            (junk, target, "无法读取源数据库"),
            (junk, "mysql://root:secret@127.0.0.1/hall", "须为 PostgreSQL 数据库地址"),
            (junk, "postgresql://[::1", "目标数据库地址不对")):
        r = migrate(source, url, tmp_path / "var")
        assert r.returncode == 2 and said in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and "secret" not in r.stderr
    db = small_hall(tmp_path)
    for url in (f"postgresql://postgres@127.0.0.1:{free_port()}/hall",
                backends.cluster().url + "/no_such_database",
                target + "?search_path=Not-A-Schema"):
        r = migrate(db, url, tmp_path / "var")
        assert r.returncode == 2 and "目标数据库" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def small_hall(tmp: Path) -> Path:
    """A hall's SQLite file at the current schema with one account (and its audit row)."""
    db = tmp / "hall.db"
    for name in ("boss", "clerk1"):
        made = subprocess.run([sys.executable, "-m", "hall", "user", "add", name, "--role",
                               "manager", "--db", str(db), "--password-stdin"], cwd=ROOT,
                              input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
    return db


def test_an_edited_audit_log_is_not_moved(tmp_path: Path) -> None:
    db = small_hall(tmp_path)
    with sqlite3.connect(db) as conn:  # someone with the file drops the lock and edits a row
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET user = 'nobody' WHERE id = 1")
    target = backends.cluster().database()
    r = migrate(db, target, tmp_path / "var")
    assert r.returncode == 1 and "审计日志校验失败" in r.stderr and "第1条" in r.stderr
    assert backends.rows(target, "SELECT COUNT(*) AS n FROM audit")[0]["n"] == 0


def test_a_file_of_another_version_is_not_moved(tmp_path: Path) -> None:
    db = small_hall(tmp_path)
    with sqlite3.connect(db) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {version - 1}")
    r = migrate(db, backends.cluster().database(), tmp_path / "var")
    assert r.returncode == 1 and "请先用本版本的大厅服务启动一次" in r.stderr, r.stderr


def test_a_different_key_at_the_target_is_never_overwritten(tmp_path: Path) -> None:
    db = small_hall(tmp_path)
    db.with_suffix(".key").write_bytes(b"the-hall-s-own-key")
    target = backends.cluster().database()
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    theirs = data_dir / f"{target.rsplit('/', 1)[1]}.public.key"
    theirs.write_bytes(b"another-hall-s-key")
    r = migrate(db, target, data_dir)
    assert r.returncode == 1 and "拒绝覆盖" in r.stderr, r.stderr
    assert theirs.read_bytes() == b"another-hall-s-key"
    assert backends.rows(target, "SELECT COUNT(*) AS n FROM users")[0]["n"] == 0
    theirs.unlink()  # the operator moved it away: now the copy goes through
    r = migrate(db, target, data_dir)
    assert r.returncode == 0, r.stderr
    assert theirs.read_bytes() == b"the-hall-s-own-key"
    assert backends.rows(target, "SELECT username FROM users ORDER BY username") == [
        {"username": "boss"}, {"username": "clerk1"}]


def test_tables_are_copied_after_the_tables_they_refer_to() -> None:
    order = copy_order({"ticket_people": {"tickets"}, "tickets": set(), "audit": set(),
                        "a": {"b"}, "b": {"c"}, "c": set(), "self": {"self"}})
    assert order.index("tickets") < order.index("ticket_people")
    assert order.index("c") < order.index("b") < order.index("a")
    assert sorted(order) == sorted(["ticket_people", "tickets", "audit", "a", "b", "c", "self"])


def test_values_sqlite_kept_become_what_the_postgresql_column_holds() -> None:
    assert converter("text")(3) == "3" and converter("text")(None) is None
    assert converter("int8")(2.0) == 2 and converter("int8")("17") == 17
    assert converter("float8")(5) == 5.0 and isinstance(converter("float8")(5), float)
    with pytest.raises(BadValue):
        converter("int8")(2.5)
    convert = row_converter(["id", "level"], ["int8", "int8"])
    with pytest.raises(BadValue, match="列 level"):
        convert((1, "高"))
    assert row_converter(["a"], ["unknown"])((b"x",)) == (b"x",)


def test_differences_are_named() -> None:
    assert schema_problems({"t": ["a", "b"], "u": ["x"]}, {"t": ["a"], "v": ["y"]}) == [
        "目标数据库缺少表 u", "目标数据库多出表 v（源数据库没有）", "目标数据库的表 t 缺少列 b"]
    assert count_differences({"t": 3, "u": 1}, {"t": 3, "u": 2}) == [
        "表 u 行数不一致：源 1，目标 2"]
    one, two = EventDigest(), EventDigest()
    one.add(1, "t", "ticket.issued", '{"n":1}')
    two.add(1, "t", "ticket.issued", '{"n":2}')
    assert one.hexdigest() != two.hexdigest() and one.last_seq == 1
