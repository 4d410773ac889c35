"""A real hall server on loopback whose clock the test sets: the app of `hall serve`
(`hall.app.build_app`, the same routes, middleware, store and lifespan) run by uvicorn in a
thread of the test process, over a real SQLite file, with an injected clock. Bookings need
one: a slot, its check-in window and a no-show bar are about moments a test must reach
without waiting for them."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from hall.app import build_app
from hall.config import HallConfig, Limits, load_config
from tests import backends
from tests.conftest import DEMO_CONFIG, free_port

TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def demo_config(**booking: Any) -> HallConfig:
    """The shipped demo hall with the client ticket limits off (tests book from one address)
    and `[booking]` settings replaced by `booking`."""
    config = load_config(DEMO_CONFIG)
    return replace(config, limits=Limits(0, 0, 0, 0),
                   booking=replace(config.booking, **booking))


class ClockedServer:
    def __init__(self, tmp: Path, now: datetime, config: HallConfig | None = None,
                 db: str | Path | None = None) -> None:
        """`db`: a database another server uses too (tests/test_cluster.py)."""
        self.tmp = tmp
        self.db = db or backends.new_db(tmp)
        os.environ.update(backends.server_env(tmp))  # in-process: the store reads it
        self.clock = Clock(now)
        self.config = config or demo_config()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.app = build_app(self.config, self.db, clock=self.clock, public_url=self.url)
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning",
            ws="websockets-sansio", ws_per_message_deflate=False))  # as hall/cli.py
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._clients: list[httpx.Client] = []

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.server.serve())
        self.loop.close()

    def start(self) -> ClockedServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the clocked hall server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(20)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run a coroutine on the server's own loop (a sweep the timer would run later)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def client(self) -> httpx.Client:
        """A client closed with the server."""
        client = httpx.Client(base_url=self.url, timeout=10)
        self._clients.append(client)
        return client

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The hall's rows as the server stored them, on either database."""
        return backends.rows(self.db, sql, params)

    def add_user(self, username: str, role: str, password: str = "Tulip-7741-q") -> None:
        """Through the server's own Auth, not `hall user add`: the command line opens the
        database with the real clock, and its start-up would close the test's "today" as a
        past day."""
        self.run(self.app.state.auth.add_user(username, role, password))

    def login(self, username: str, window: int | None, role: str = "clerk") -> httpx.Client:
        self.add_user(username, role)
        client = self.client()
        r = client.post("/api/login", json={"username": username, "password": "Tulip-7741-q",
                                             "window": window})
        assert r.status_code == 200, r.text
        return client
