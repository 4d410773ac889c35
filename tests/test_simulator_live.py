"""The live demo (issue 12.3): `hall simulate --live` drives a real server over HTTP with the
demo accounts — tickets at the enrolled kiosk, clerks calling and serving, ratings on the
window tablet and the phone page — and stops when its server stops."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from hall.sim_live import read_sheet
from tests.conftest import ROOT, HallServer


def _demo_hall(tmp_path: Path) -> tuple[HallServer, Path]:
    """A server on a database made ready by scripts/demo_accounts.py, as `make run` does."""
    server = HallServer(tmp_path)
    made = subprocess.run([sys.executable, "scripts/demo_accounts.py", "--db", str(server.db),
                           "--sheet", str(tmp_path / "demo-accounts.txt")],
                          cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    server.start()
    return server, tmp_path / "demo-accounts.txt"


def _live(server: HallServer, sheet: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hall", "simulate", "--live", "--url", server.url,
         "--accounts", str(sheet), "--every", "0.25", "--pace", "400", "--seed", "2",
         "--windows", "2,3,12", *extra], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def test_the_demo_sheet_is_what_the_live_demo_reads(tmp_path: Path) -> None:
    server, sheet = _demo_hall(tmp_path)
    server.stop()
    parsed = read_sheet(sheet.read_text(encoding="utf-8"))
    assert parsed.accounts["manager"][0] == "manager"
    assert {"clerk2", "clerk3", "clerk12"} <= set(parsed.accounts)
    assert set(parsed.tablets) == {1, 2, 3}
    assert parsed.kiosk is not None and parsed.kiosk[0] == "kiosk-1"


def test_the_live_demo_makes_the_hall_busy(tmp_path: Path) -> None:
    server, sheet = _demo_hall(tmp_path)
    try:
        proc = _live(server, sheet, "--duration", "12", "--server-pid", str(server.proc.pid))
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "演示模拟已启动" in out and "2、3、12 号窗口" in out
        assert "演示模拟结束" in out
        hall = httpx.get(server.url + "/api/hall", timeout=10).json()
        called = {call["window"] for call in hall["recent_calls"]}
        assert called and called <= {2, 3, 12}, hall["recent_calls"]
        assert 1 not in called  # window 1 stays the newcomer's
        boss_password = read_sheet(sheet.read_text(encoding="utf-8")).accounts["manager"][1]
        boss = server.login("manager", None, boss_password)
        today = boss.get("/api/manage/stats?by=hall").json()["stats"][0]
        assert today["issued"] >= 15 and today["served"] >= 5, today
        ratings = boss.get("/api/manage/ratings").json()["ratings"]
        assert ratings and {r["window"] for r in ratings} <= {2, 3, 12}
        # the clerks logged out at the end: their windows are closed again
        states = {w["number"]: w["state"] for w in
                  httpx.get(server.url + "/api/hall", timeout=10).json()["windows"]}
        assert states[2] == states[3] == "closed"
    finally:
        server.stop()


def test_the_live_demo_stops_with_its_server(tmp_path: Path) -> None:
    server, sheet = _demo_hall(tmp_path)
    proc = _live(server, sheet, "--server-pid", str(server.proc.pid))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "演示模拟已启动" in first, proc.stderr.read() if proc.stderr else ""
        time.sleep(2)
        assert proc.poll() is None  # running as long as the hall is
    finally:
        server.stop()
    try:
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
