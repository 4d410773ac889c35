"""`python -m hall simulate --live --url URL`: a demo hall that lives, driven over HTTP.

For a newcomer (`make run`): citizens take a ticket at the kiosk every few seconds, clerks log
in with the demo accounts (scripts/demo_accounts.py), call, serve, pause and send on, citizens
rate on the window tablet or their phone page and now and then report 办不成事 — so calls,
screens, voice and ratings happen at once. Real time, plain HTTP through the public API, as
a kiosk, a counter pad and a phone would: nothing here touches the database.

Never on a real hall: it needs the demo's accounts sheet, and `make run DEMO=0` (or `hall
serve` alone) does not start it. Window 1 is left to the person trying the counter pad
(README's tour); a window whose clerk is taken over by a person (their login ends the
simulated clerk's session) is left to them too.

It stops when the server stops: when the process `--server-pid` names is gone, or when the
server has not answered for `GONE_SECONDS` after it first did; or after `--duration`.
"""

from __future__ import annotations

import heapq
import http.cookiejar
import json
import os
import random
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.config import HallConfig
from hall.credentials import HEADER
from hall.sim_model import profile_from_config

GONE_SECONDS = 15.0
START_SECONDS = 120.0  # how long to wait for the server to come up
PACE = 30.0  # the demo's handling is this many times quicker than the configured minutes
LEVELS = ((5, 0.6), (4, 0.25), (3, 0.08), (2, 0.05), (1, 0.02))
COMPLAINTS = ("材料清单与窗口要求不一致，跑了两趟", "系统故障，今天办不了，希望早点修好",
              "需要的证明在外地开不到，能否容缺受理", "窗口说不属于本事项受理范围，不知道该去哪里")


class ServerGone(Exception):
    """The server did not answer."""


@dataclass
class Sheet:
    """What the demo accounts sheet holds: (user, role) -> password, tablets, a kiosk."""

    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (role, pw)
    tablets: dict[int, str] = field(default_factory=dict)  # window -> 登记码
    kiosk: tuple[str, str] | None = None  # (name, 登记码)


def read_sheet(text: str) -> Sheet:
    """Pure: parse var/demo-accounts.txt as scripts/demo_accounts.py writes it."""
    sheet = Sheet()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("clerk", "manager", "admin", "auditor"):
            sheet.accounts[parts[0]] = (parts[1], parts[2])
        elif len(parts) == 2 and (m := re.fullmatch(r"/evaluate/(\d+)", parts[0])):
            sheet.tablets[int(m.group(1))] = parts[1]
        elif len(parts) == 3 and parts[0] == "kiosk":
            sheet.kiosk = (parts[1], parts[2])
    return sheet


class Client:
    """One browser or device: its own cookies, JSON in and out."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base.rstrip("/")
        self.headers = headers or {}
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                return exc.code, json.loads(exc.read() or b"null")
            except ValueError:
                return exc.code, None
        except (urllib.error.URLError, OSError) as exc:
            raise ServerGone(str(exc)) from None


@dataclass
class Clerk:
    window: int
    user: str
    client: Client
    queues: tuple[str, ...]
    number: str | None = None  # the ticket at the window
    active: bool = True


class LiveHall:
    """The demo's citizens and clerks, each action at its moment in real time."""

    def __init__(self, config: HallConfig, base: str, sheet: Sheet, every: float,
                 rng: random.Random, out: Callable[[str], None] = print,
                 windows: tuple[int, ...] | None = None, pace: float = PACE) -> None:
        self.config = config
        self.base = base
        self.sheet = sheet
        self.every = every
        self.rng = rng
        self.out = out
        self.only = windows
        self.pace = pace
        self.quick = PACE / pace  # the clerks' and citizens' own moments, scaled alike
        self.sim = config.simulate
        self.profile = profile_from_config(config)
        self.heap: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = 0
        self.clerks: dict[int, Clerk] = {}
        self.tokens: dict[str, str] = {}  # ticket number -> token (its phone page)
        self.kiosk = Client(base, {HEADER: sheet.kiosk[1]} if sheet.kiosk else {})
        self.tablets = {n: Client(base, {HEADER: code}) for n, code in sheet.tablets.items()}
        self.staff: Client | None = None  # issues tickets when no kiosk is enrolled
        self.counts = {"tickets": 0, "calls": 0, "finished": 0, "ratings": 0,
                       "complaints": 0, "pauses": 0}

    def at(self, delay: float, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (time.monotonic() + delay, self.seq, action))

    # ------------------------------------------------------------------ setting up

    def open_windows(self) -> list[int]:
        """Log the demo clerks in: clerkN at window N, except window 1 (the newcomer's) unless
        named; the 办不成事 window's clerk is assigned by the demo manager first."""
        manager = next(((u, pw) for u, (role, pw) in self.sheet.accounts.items()
                        if role == "manager"), None)
        if manager is not None:
            self.staff = Client(self.base)
            status, _ = self.staff.send("POST", "/api/login",
                                        {"username": manager[0], "password": manager[1]})
            if status != 200:
                self.staff = None
        for user, (role, password) in sorted(self.sheet.accounts.items()):
            m = re.fullmatch(r"clerk(\d+)", user)
            if role != "clerk" or m is None or not self.config.has_window(int(m.group(1))):
                continue
            n = int(m.group(1))
            if (self.only is not None and n not in self.only) or (self.only is None and n == 1):
                continue
            client = Client(self.base)
            body = {"username": user, "password": password, "window": n}
            status, answer = client.send("POST", "/api/login", body)
            if status == 403 and self.staff is not None and (answer or {}).get(
                    "error", {}).get("code") == "needs_manager":
                self.staff.send("PATCH", f"/api/manage/windows/{n}", {"assign": user})
                status, answer = client.send("POST", "/api/login", body)
            if status != 200:
                self.out(f"演示人员 {user} 无法登录 {n} 号窗口："
                         f"{(answer or {}).get('error', {}).get('message', status)}")
                continue
            self.clerks[n] = Clerk(n, user, client, self.config.window(n).queues)
            self.at(self.quick * self.rng.uniform(0.5, 3), lambda c=self.clerks[n]: self.call(c))
        return sorted(self.clerks)

    def services(self) -> list[tuple[str, float]]:
        """Services someone serves today, weighted by the profile's expected arrivals."""
        served = {q for c in self.clerks.values() for q in c.queues}
        weights = [(sp.service, sp.expected()) for sp in self.profile.services
                   if sp.queue in served and sp.expected() > 0]
        return weights or [(s.id, 1.0) for s in self.config.services
                           if s.queue in served]

    # ------------------------------------------------------------------ citizens

    def arrive(self) -> None:
        self.at(self.rng.expovariate(1.0 / self.every), self.arrive)
        choices = self.services()
        if not choices:
            return
        service = _pick(self.rng, choices)
        body: dict[str, Any] = {"service": service}
        if self.sheet.kiosk:
            body["kiosk"] = self.sheet.kiosk[0]
        self_declared = [r.id for r in self.config.priority_reasons if r.self_declared]
        if self_declared and self.rng.random() < self.sim.priority_share:
            body["priority"] = self.rng.choice(self_declared)
        elif self.config.service(service).helpdesk and self.rng.random() < self.sim.help_share:
            body["needs_help"] = True
        client = self.kiosk if self.sheet.kiosk or self.staff is None else self.staff
        status, ticket = client.send("POST", "/api/tickets", body)
        if status == 201:
            self.tokens[ticket["number"]] = ticket["token"]
            self.counts["tickets"] += 1

    def rate(self, window: int, number: str) -> None:
        level = int(_pick(self.rng, [(str(k), w) for k, w in LEVELS]))
        offered = list(self.config.ratings.reasons.get(level, ()))
        reasons = self.rng.sample(offered, min(len(offered), self.rng.randint(0, 2)))
        tablet = self.tablets.get(window)
        if tablet is not None:
            status, _ = tablet.send("POST", f"/api/evaluate/{window}",
                                    {"number": number, "level": level, "reasons": reasons})
        elif number in self.tokens:
            status, _ = Client(self.base).send(
                "POST", f"/api/tickets/{self.tokens[number]}/rating",
                {"level": level, "reasons": reasons})
        else:
            return
        self.counts["ratings"] += status == 201

    def complain(self, number: str) -> None:
        body: dict[str, Any] = {"description": self.rng.choice(COMPLAINTS)}
        if number in self.tokens:
            body["ticket"] = self.tokens[number]
        status, _ = Client(self.base).send("POST", "/api/complaints", body)
        self.counts["complaints"] += status == 201

    # ------------------------------------------------------------------ clerks

    def act(self, clerk: Clerk, step: str, body: Any = None) -> tuple[int, Any]:
        status, answer = clerk.client.send("POST", f"/api/windows/{clerk.window}/{step}", body)
        if status in (401, 403):  # a person logged in here: the window is theirs now
            clerk.active = False
            self.out(f"{clerk.window} 号窗口已由工作人员接手，演示模拟不再操作该窗口")
        return status, answer

    def call(self, clerk: Clerk) -> None:
        """As a clerk does: a look at the pad first, and call only when someone waits (a
        call with nobody waiting is refused, and audited as such)."""
        if not clerk.active:
            return
        status, pad = clerk.client.send("GET", f"/api/windows/{clerk.window}")
        if status == 200 and not (sum(q["waiting"] for q in pad["queues"])
                                  + pad["directed_waiting"]):
            self.at(self.quick * self.rng.uniform(2, 4), lambda: self.call(clerk))
            return
        status, detail = self.act(clerk, "call")
        if status != 200:
            if clerk.active:
                self.at(self.quick * self.rng.uniform(2, 4), lambda: self.call(clerk))
            return
        clerk.number = detail["current"]["number"]
        self.counts["calls"] += 1
        if self.rng.random() < self.sim.no_show_share * 3:  # a demo shows 过号 more often
            self.at(self.quick * self.rng.uniform(8, 12), lambda: self.skip(clerk))
        else:
            ticket = detail["current"]
            self.at(self.quick * self.rng.uniform(3, 8), lambda: self.start(clerk, ticket))

    def start(self, clerk: Clerk, ticket: dict[str, Any]) -> None:
        if not clerk.active or self.act(clerk, "start")[0] != 200:
            return
        minutes = self.sim.handling_minutes.get(ticket["service"], 8.0)
        seconds = max(5.0 / self.pace, self.rng.lognormvariate(0, 0.4) * minutes * 60 / self.pace)
        if self.rng.random() < self.sim.transfer_share:
            others = [q for q in self.profile.transfer_queues
                      if q != ticket["queue"] and any(q in c.queues
                                                      for c in self.clerks.values())]
            if others:
                self.at(seconds / 2, lambda: self.transfer(clerk, self.rng.choice(others)))
                return
        self.at(seconds, lambda: self.finish(clerk))

    def finish(self, clerk: Clerk) -> None:
        outcome = _pick(self.rng, list(self.sim.outcomes.items()))
        body = {"outcome": outcome}
        if outcome == "rejected":
            body["note"] = "材料不齐全，已一次性告知所需材料"
        if outcome == "failed":
            body["note"] = "需跨部门协调，已登记办不成事"
        if not clerk.active or self.act(clerk, "finish", body)[0] != 200:
            return
        number = clerk.number or ""
        self.counts["finished"] += 1
        if self.rng.random() < self.sim.rating_share:
            self.at(self.quick * self.rng.uniform(2, 6), lambda: self.rate(clerk.window, number))
        if self.rng.random() < self.sim.complaint_share:
            self.at(self.quick * self.rng.uniform(5, 20), lambda: self.complain(number))
        self.next(clerk)

    def skip(self, clerk: Clerk) -> None:
        if clerk.active and self.act(clerk, "skip")[0] == 200:
            self.next(clerk)

    def transfer(self, clerk: Clerk, queue: str) -> None:
        if clerk.active and self.act(clerk, "transfer", {"queue": queue})[0] == 200:
            self.next(clerk)

    def next(self, clerk: Clerk) -> None:
        clerk.number = None
        pauses = self.sim.breaks_per_day
        # now and then, a short break
        if pauses and self.rng.random() < pauses / 40 and \
                self.act(clerk, "pause", {"reason": "休息"})[0] == 200:
            self.counts["pauses"] += 1
            self.at(self.quick * self.rng.uniform(20, 40), lambda: self.resume(clerk))
            return
        self.at(self.quick * self.rng.uniform(1, 3), lambda: self.call(clerk))

    def resume(self, clerk: Clerk) -> None:
        if clerk.active:
            self.act(clerk, "resume")
            self.at(self.quick * self.rng.uniform(1, 2), lambda: self.call(clerk))

    def summary(self) -> str:
        c = self.counts
        return (f"演示模拟结束：取号 {c['tickets']}，叫号 {c['calls']}，办结 {c['finished']}，"
                f"评价 {c['ratings']}，办不成事反映 {c['complaints']}，暂停 {c['pauses']}")

    def leave(self) -> None:
        for clerk in self.clerks.values():
            if clerk.active:
                try:
                    clerk.client.send("POST", "/api/logout", {})
                except ServerGone:
                    return


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    total = sum(w for _, w in weighted)
    u, acc = rng.random() * total, 0.0
    for key, weight in weighted:
        acc += weight
        if u < acc:
            return key
    return weighted[-1][0]


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(base: str, pid: int | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    probe = Client(base)
    while time.monotonic() < deadline and alive(pid):
        try:
            if probe.send("GET", "/api/hall")[0] == 200:
                return True
        except ServerGone:
            pass
        time.sleep(0.5)
    return False


def run_live(config: HallConfig, base: str, accounts: Path, every: float,
             duration: float | None, seed: int | None, server_pid: int | None = None,
             windows: tuple[int, ...] | None = None, pace: float = PACE) -> int:
    if not accounts.exists():
        print(f"找不到演示账户表 {accounts}（由 scripts/demo_accounts.py 生成）；"
              "演示模拟只用于演示大厅", file=sys.stderr)
        return 1
    if not wait_for(base, server_pid, START_SECONDS):
        print(f"大厅服务 {base} 没有响应，演示模拟未启动", file=sys.stderr)
        return 1
    rng = random.Random(seed)
    hall = LiveHall(config, base, read_sheet(accounts.read_text(encoding="utf-8")),
                    every, rng, out=lambda line: print(line, flush=True), windows=windows,
                    pace=pace)
    try:
        opened = hall.open_windows()
        if not opened:
            print("没有可登录的演示窗口人员，演示模拟未启动", file=sys.stderr)
            return 1
        print(f"演示模拟已启动：约每 {every:g} 秒一位群众取号，"
              f"{'、'.join(str(n) for n in opened)} 号窗口由模拟人员叫号办理"
              f"（1 号窗口留给您试用）", flush=True)
        hall.at(0.5, hall.arrive)
        _loop(hall, duration, server_pid)
    except ServerGone:
        pass
    except KeyboardInterrupt:
        hall.leave()
    print(hall.summary(), flush=True)
    return 0


def _loop(hall: LiveHall, duration: float | None, server_pid: int | None) -> None:
    began = time.monotonic()
    silent_since: float | None = None
    while hall.heap:
        if duration is not None and time.monotonic() - began >= duration:
            hall.leave()
            return
        if not alive(server_pid):
            return
        when, _, action = hall.heap[0]
        delay = when - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 0.5))
            continue
        heapq.heappop(hall.heap)
        try:
            action()
            silent_since = None
        except ServerGone:
            silent_since = silent_since or time.monotonic()
            if time.monotonic() - silent_since > GONE_SECONDS:
                return
            hall.at(1.0, action)
