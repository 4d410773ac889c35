"""Several `python -m hall serve` processes on one PostgreSQL database behind a real haproxy
(Debian's package), for tests/test_cluster.py and bench/cluster.py.

Why haproxy and these settings (docs/deployment.md shows the same for a hall):
* `balance roundrobin`: haproxy balances every request, also on a kept-alive connection, so
  kiosks and windows really are spread over the processes (the answer names its process in
  `X-Hall-Process`, which the tests use to prove the spread).
* Health check `GET /api/hall` every 250 ms, two failures mark a process down, and so does
  the first connection real traffic finds refused: a dead process is out of the rotation
  at once. A slow answer is no failure (`timeout check 5s`): on a loaded machine every
  process is slow, and taking them all out would stop the hall.
* `retries` with `option redispatch 1`: a request that could not be *sent* (connection
  refused: the process is gone) is tried again on another process, and so is a GET (a
  screen's WebSocket upgrade) that a dying process accepted but never answered. A POST that
  was sent is never repeated by the balancer (it may have committed): the kiosk's
  `Idempotency-Key` is what makes its own retry safe.
* WebSockets pass through as they are (haproxy follows the Upgrade in HTTP mode); `timeout
  tunnel` of an hour keeps a hall screen's connection open between the server's 25 s
  heartbeats, and a process that dies closes its screens' connections, which then reconnect
  through the balancer with `since`.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
PASSWORD = "Tulip-7741-q"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def haproxy_config(port: int, servers: Sequence[tuple[str, int]], maxconn: int = 20000,
                   check_ms: int = 250, log: bool = False) -> str:
    """The balancer's configuration: `servers` as (name, loopback port); `log`: a line per
    request on stdout (the tests keep it, the benchmark does not pay for it). Pure."""
    lines = [
        "global",
        f"    maxconn {maxconn}",
        "    nbthread 1",  # on two shared cores a second thread only adds contention
        *(["    log stdout format raw local0"] if log else []),
        "defaults",
        "    mode http",
        *(["    log global", "    option httplog"] if log else []),
        "    option forwardfor",
        "    option redispatch 1",
        "    retries 3",
        # a process killed between accepting a connection and answering leaves it empty:
        # such a request is sent again to another process, unless it may have changed
        # something (a POST is the kiosk's to retry, with its Idempotency-Key)
        "    retry-on conn-failure empty-response",
        "    timeout connect 2s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout queue 10s",
        "    timeout tunnel 1h",
        "    timeout client-fin 5s",
        "    timeout server-fin 5s",
        "frontend hall",
        f"    bind 127.0.0.1:{port}",
        f"    maxconn {maxconn}",
        "    default_backend processes",
        "backend processes",
        "    balance roundrobin",
        "    http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS",
        "    option httpchk GET /api/hall",
        "    http-check expect status 200",
        "    http-response set-header X-Hall-Process %[srv_name]",
        # a slow answer under load is no failure (timeout check); a refused connection is,
        # and the first one seen by real traffic takes the process out at once
        "    timeout check 5s",
        f"    default-server inter {check_ms}ms fastinter {check_ms}ms "
        f"downinter {check_ms * 2}ms fall 2 rise 2 maxconn {maxconn} "
        "observe layer4 error-limit 1 on-error mark-down",
    ]
    lines += [f"    server {name} 127.0.0.1:{p} check" for name, p in servers]
    return "\n".join(lines) + "\n"


def wait_http(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None,
              log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited: {log.read_text() if log else ''}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up: {log.read_text() if log else ''}")


class Node:
    """One `hall serve` process of the cluster."""

    def __init__(self, name: str, tmp: Path, config: Path, db: str,
                 env: dict[str, str]) -> None:
        self.name = name
        self.config = config
        self.db = db
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log = tmp / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hall", "serve", "--config", str(self.config),
                 "--db", self.db, "--port", str(self.port), "--no-hours"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def wait_up(self, timeout: float = 30.0) -> None:
        wait_http(self.url + "/api/hall", timeout, self.proc, self.log)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a power cut or an OOM kill."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Balancer:
    """haproxy in the foreground, on a free loopback port, in front of `nodes`."""

    def __init__(self, tmp: Path, nodes: Sequence[Node], maxconn: int = 20000,
                 log: bool = True) -> None:
        # haproxy wants two descriptors per connection (client and server side) and refuses
        # to start when the open-files limit cannot give them
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard != resource.RLIM_INFINITY:
            maxconn = min(maxconn, (hard - 200) // 2)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.path = tmp / "haproxy.cfg"
        self.path.write_text(haproxy_config(self.port, [(n.name, n.port) for n in nodes],
                                            maxconn, log=log))
        self.log = tmp / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([HAPROXY, "-f", str(self.path), "-db"],
                                         stdout=log, stderr=subprocess.STDOUT)
        wait_http(self.url + "/api/hall", 20, self.proc, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class HallCluster:
    """`processes` hall servers on the database `db` (a `postgresql://` URL) sharing one data
    directory (the sealing key, the voice), behind one haproxy."""

    def __init__(self, tmp: Path, config: Path, db: str, processes: int = 3,
                 maxconn: int = 20000, log: bool = True) -> None:
        self.tmp = tmp
        self.config = config
        self.db = db
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "HALL_DATA_DIR": str(tmp / "var")}
        self.nodes = [Node(f"p{i + 1}", tmp, config, db, self.env) for i in range(processes)]
        self.balancer = Balancer(tmp, self.nodes, maxconn, log)
        self.url = self.balancer.url
        self.ws_url = self.balancer.ws_url

    def start(self) -> None:
        # the first process applies the migrations (under the hall's lock); the others find
        # them done, so they may start together
        first, *rest = self.nodes
        first.launch()
        first.wait_up()
        for node in rest:
            node.launch()
        for node in rest:
            node.wait_up()
        self.balancer.start()

    def stop(self) -> None:
        self.balancer.stop()
        for node in self.nodes:
            node.stop()

    def add_user(self, username: str, role: str, password: str = PASSWORD) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "hall", "user", "add", username, "--role", role,
             "--db", self.db, "--config", str(self.config), "--password-stdin"],
            cwd=ROOT, env=self.env, input=password + "\n", capture_output=True, text=True,
            timeout=60)
        if result.returncode != 0:
            raise RuntimeError(result.stderr)

    def __enter__(self) -> HallCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
