"""Shared fixtures: a real `hall serve` process on loopback over a real SQLite file, or a
real PostgreSQL database with `pytest --backend=postgresql` (tests/backends.py).

The server runs as a separate process (as in a hall), so tests can `kill -9` it and restart it
on the same database. Its opening-hours check is off (`--no-hours`) so tests run at any hour.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hall.store_pg import is_postgres
from tests import backends

# the Chromium fixtures `browser` and `new_page`, for the page tests
pytest_plugins = ["tests.browser"]

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config.toml"

# Tests that are not about the scalping limits (hall/limits.py) issue hundreds of tickets from
# one loopback address; they run with the limits off unless their config has a `[limits]`
# table (tests/test_trust.py gives one).
NO_LIMITS = ("\n[limits]\ntickets_per_minute_per_client = 0\ntickets_per_day_per_client = 0\n"
             "tickets_per_minute_per_kiosk = 0\ntickets_per_day_per_kiosk = 0\n")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", choices=("sqlite", "postgresql"), default=None,
                     help="the database every hall server under test runs on")


def pytest_configure(config: pytest.Config) -> None:
    backend = config.getoption("--backend")
    if backend:
        backends.BACKEND = backend
        os.environ["HALL_TEST_BACKEND"] = backend
    config.addinivalue_line("markers", "sqlite_only(reason): about the SQLite file itself")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backends.BACKEND == "sqlite":
        return
    pending = backends.pg_pending()
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "about the SQLite file"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        elif any(item.nodeid.startswith(p) for p in pending):
            item.add_marker(pytest.mark.skip(reason="not yet on PostgreSQL "
                                             "(tests/pg_pending.txt)"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HallServer:
    """A `python -m hall serve` child process and the means to add users, kill and restart.

    `prefix` ("/h/demo"): the hall's app is mounted there (tests/prefixed_serve.py), as one
    hall of several in a deployment; `url` and `ws_url` then include it, so every helper below
    talks to the hall under its prefix, and `root` is the server's bare origin.
    `db`: this database whatever the run's backend (a SQLite path, or a PostgreSQL URL whose
    files go to `tmp/var`), else a fresh one of the run's backend."""

    ready_path = "/api/hall"  # answers 200 once the server serves

    def __init__(self, tmp: Path, config: Path = DEMO_CONFIG, extra: tuple[str, ...] = (),
                 prefix: str = "", db: str | Path | None = None) -> None:
        self.tmp = tmp
        self.config = config
        self.db = backends.new_db(tmp) if db is None else db
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **backends.server_env(tmp)}
        if db is not None:
            self.env.pop("HALL_DATA_DIR", None)
            if is_postgres(db):
                self.env["HALL_DATA_DIR"] = str(tmp / "var")
        self.port = free_port()
        self.prefix = prefix
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = self.root + prefix
        self.ws_url = f"ws://127.0.0.1:{self.port}{prefix}/ws"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / "server.log"

    def served_config(self) -> Path:
        """The config the server runs with: `config`, with the ticket limits off unless it
        sets them (NO_LIMITS)."""
        text = self.config.read_text(encoding="utf-8")
        if re.search(r"^\[limits\]", text, re.MULTILINE):
            return self.config
        path = self.tmp / "served-config.toml"
        path.write_text(text + NO_LIMITS, encoding="utf-8")
        return path

    def start(self, timeout: float = 20.0) -> None:
        env = self.env
        program = ["tests.prefixed_serve", self.prefix] if self.prefix else ["hall"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *program, "serve", "--config", str(self.served_config()),
                 "--db", str(self.db), "--port", str(self.port), "--no-hours", *self.extra],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def add_user(self, username: str, role: str, password: str = "Tulip-7741-q",
                 staff_no: str | None = None, pin: str | None = None,
                 scope: tuple[str, ...] = ()) -> None:
        """`staff_no` and `pin`: the clerk can log in on a hardware caller pad too. `scope`:
        in a city config, `("--hall", ID)` or `("--city",)` (CityServer)."""
        pad = ["--staff-no", staff_no] if staff_no else []
        result = subprocess.run(
            [sys.executable, "-m", "hall", "user", "add", username, "--role", role,
             "--db", str(self.db), "--config", str(self.config), "--password-stdin", *pad,
             *scope],
            cwd=ROOT, env=self.env, input=password + "\n" + (f"{pin}\n" if pin else ""),
            capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(result.stderr)

    def add_device(self, name: str, kind: str = "tablet", window: int | None = None) -> str:
        """Enrol a device with `python -m hall device add`; return its enrolment code."""
        args = ["--window", str(window)] if window is not None else []
        result = subprocess.run(
            [sys.executable, "-m", "hall", "device", "add", name, "--kind", kind, *args,
             "--db", str(self.db), "--config", str(self.config)],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(result.stderr)
        return result.stdout.strip().splitlines()[-1]

    def rows(self, sql: str, params: tuple[object, ...] = ()) -> list[dict[str, object]]:
        """The hall's rows as the server stored them, on either database."""
        return backends.rows(self.db, sql, params)

    def tablet(self, window: int) -> httpx.Client:
        """A client holding the enrolment cookie of window `window`'s rating tablet."""
        client = httpx.Client(base_url=self.url, timeout=10)
        code = self.add_device(f"tablet-{window}", "tablet", window)
        client.post("/api/devices/enrol", json={"code": code}).raise_for_status()
        return client

    def login(self, username: str, window: int | None, password: str = "Tulip-7741-q"
              ) -> httpx.Client:
        """A client holding the session cookie of `username` at `window`."""
        client = httpx.Client(base_url=self.url, timeout=10)
        r = client.post("/api/login", json={"username": username, "password": password,
                                             "window": window})
        assert r.status_code == 200, r.text
        return client

    def clerk(self, window: int) -> httpx.Client:
        """`clerk{window}` logged in at `window`; at a window that takes only an assigned
        clerk (the 办不成事 window), a manager account `lead` assigns them first."""
        name = f"clerk{window}"
        self.ensure_user(name, "clerk")
        r = httpx.post(self.url + "/api/login", json={
            "username": name, "password": "Tulip-7741-q", "window": window}, timeout=10)
        if r.status_code == 403 and r.json()["error"]["code"] == "needs_manager":
            self.ensure_user("lead", "manager")
            lead = self.login("lead", None)
            assign = lead.patch(f"/api/manage/windows/{window}", json={"assign": name})
            assert assign.status_code == 200, assign.text
        return self.login(name, window)

    def ensure_user(self, username: str, role: str) -> None:
        try:
            self.add_user(username, role)
        except RuntimeError as exc:
            if "已存在" not in str(exc):
                raise

    def issue(self, service: str = "yibao-card", **body: object) -> dict:
        r = httpx.post(self.url + "/api/tickets", json={"service": service, **body}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()


class CityServer(HallServer):
    """`python -m hall serve` of a city config (hall/city_app.py): hall ID at `/h/ID`, the
    city overview at `/city`; each hall's store beside `hall.db` (hall-ID.db)."""

    def __init__(self, tmp: Path, config: Path, halls: tuple[str, ...]) -> None:
        super().__init__(tmp, config)
        self.halls = halls
        self.ready_path = f"/h/{halls[-1]}/api/hall"  # the last hall starts last

    def hall_url(self, hall: str) -> str:
        return f"{self.url}/h/{hall}"

    def hall_client(self, hall: str) -> httpx.Client:
        return httpx.Client(base_url=self.hall_url(hall), timeout=10)

    def add_hall_user(self, hall: str, username: str, role: str) -> None:
        self.add_user(username, role, scope=("--hall", hall))

    def add_city_user(self, username: str, role: str = "manager") -> None:
        self.add_user(username, role, scope=("--city",))

    def hall_login(self, hall: str, username: str, window: int | None,
                   password: str = "Tulip-7741-q") -> httpx.Client:
        """A client on hall `hall`'s URLs holding `username`'s session there."""
        client = self.hall_client(hall)
        r = client.post("/api/login", json={"username": username, "password": password,
                                             "window": window})
        assert r.status_code == 200, r.text
        return client

    def city_login(self, username: str, password: str = "Tulip-7741-q") -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=10)
        r = client.post("/api/city/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return client

    def hall_issue(self, hall: str, service: str) -> dict:
        r = httpx.post(self.hall_url(hall) + "/api/tickets", json={"service": service},
                       timeout=10)
        assert r.status_code == 201, r.text
        return r.json()


def roomy_config(tmp: Path, **hall: object) -> Path:
    """The demo hall with every queue's daily cap at its 999 maximum, for load tests, and
    extra `[hall]` keys."""
    text = re.sub(r"daily_cap = \d+", "daily_cap = 999", DEMO_CONFIG.read_text(encoding="utf-8"))
    extra = "".join(f"{key} = {value}\n" for key, value in hall.items())
    text = text.replace("[hall]\n", "[hall]\n" + extra, 1)
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def roomy_server(tmp_path: Path) -> Iterator[HallServer]:
    server = HallServer(tmp_path, roomy_config(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hall_server(tmp_path: Path) -> Iterator[HallServer]:
    server = HallServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
