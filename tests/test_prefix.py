"""One hall's whole app under a URL prefix (issue 13: several halls in one deployment, each at
`/h/{hall}/...`), served by a real server whose app is mounted at `/h/demo`
(tests/prefixed_serve.py), in a real Chromium: the pages, their scripts, styles, API calls,
WebSockets, QR codes, voice and cookies all stay under the prefix, nothing of the hall answers
outside it, and two halls on one host keep their own sessions. The two guards at the end fail
on any link a template or a script would write without the prefix. docs/url-prefix.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect
from starlette.routing import Route

from hall.app import build_app
from hall.auth import COOKIE
from hall.config import load_config
from hall.prefix import base_of, cookie_path, route_path
from tests.browser import PASSWORD, login_counter
from tests.conftest import DEMO_CONFIG, ROOT, HallServer

PREFIX = "/h/demo"
STATIC_DIRS = ("hall/web/static", "displays/static", "counters/static", "managers/static")


def _serve(tmp: Path, prefix: str = PREFIX) -> HallServer:
    tmp.mkdir(parents=True, exist_ok=True)
    server = HallServer(tmp, prefix=prefix)
    server.start()
    return server


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[HallServer]:
    server = _serve(tmp_path)
    try:
        yield server
    finally:
        server.stop()


class Traffic:
    """Every URL a page asked for, every WebSocket it opened, every script error it hit."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.sockets: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))
        page.on("response", lambda r: r.status >= 400 and "/static/" in r.url
                and self.failed.append(r.url))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def all_under(self, server: HallServer) -> None:
        assert self.requests and self.sockets
        outside = [u for u in self.requests
                   if not u.startswith(server.url + "/") and not u.startswith("data:")]
        assert outside == []
        ws_base = server.ws_url.removesuffix("/ws")
        assert [u for u in self.sockets if not u.startswith(ws_base + "/ws")] == []
        assert self.failed == [] and self.errors == []


def test_a_ticket_taken_called_and_announced_under_the_prefix(
        hall: HallServer, new_page: Any, tmp_path: Path) -> None:
    """Kiosk, hall screen, counter pad and phone page at /h/demo/...: the call made on the pad
    reaches the screen over the hall's WebSocket, the screen plays the call's WAV from under
    the prefix, the kiosk's QR opens the phone page under it, and the clerk's session cookie
    belongs to this hall's path only."""
    traffic = Traffic()
    hall.add_user("clerk1", "clerk", PASSWORD)
    screen = traffic.watch(new_page(1920, 1080))
    screen.add_init_script("""window.__played = [];
        const play = HTMLMediaElement.prototype.play;
        HTMLMediaElement.prototype.play = function () {
            window.__played.push(this.src); return play.apply(this, arguments);
        };""")
    screen.goto(hall.url + "/screen")
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("0")
    screen.locator("#sound").click()  # no autoplay flag in tests: one click enables sound
    assert screen.evaluate("[Hall.url('/api/x'), Hall.url('/h/demo/api/x'), Hall.url('//e/x')]"
                           ) == ["/h/demo/api/x", "/h/demo/api/x", "//e/x"]

    kiosk = traffic.watch(new_page(1280, 800))
    # the installer enrols the kiosk at /device?next=/kiosk (a path of the hall): it lands on
    # this hall's kiosk page, which then also opens the ID card reader's /ws/kiosk
    kiosk.goto(hall.url + "/device?next=/kiosk")
    kiosk.fill("#d-code", hall.add_device("kiosk-1", "kiosk"))
    kiosk.click("#d-submit")
    expect(kiosk).to_have_url(hall.url + "/kiosk")
    kiosk.locator('button.svc[data-service="yibao-card"]').click()
    expect(kiosk.locator("#t-number")).to_have_text("A001")
    src = kiosk.locator("#t-qr").get_attribute("src") or ""
    token = src.split("/")[4]
    assert src == f"{PREFIX}/t/{token}/qr.svg"
    kiosk.wait_for_function(
        "() => { const img = document.getElementById('t-qr');"
        " return img.complete && img.naturalWidth > 0; }")
    shot = tmp_path / "qr.png"
    kiosk.locator("#t-qr").screenshot(path=str(shot))
    assert [c.text for c in zxingcpp.read_barcodes(Image.open(shot))] == [
        f"{hall.root}{PREFIX}/t/{token}"]
    expect(screen.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("1")

    phone = traffic.watch(new_page(390, 844))
    phone.goto(f"{hall.url}/t/{token}")
    expect(phone.locator("#t-state")).to_have_text("等待叫号中")

    pad = traffic.watch(new_page(1280, 800))
    login_counter(pad, hall.url, "clerk1", 1)
    expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
    session = [c for c in pad.context.cookies() if c["name"] == COOKIE]
    assert [c["path"] for c in session] == [PREFIX + "/"]
    pad.locator('button[data-op="call"]').click()
    expect(pad.locator("#cur-number")).to_have_text("A001")
    expect(screen.locator("#latest-text")).to_contain_text("A001")
    expect(screen.locator("#latest-text")).to_contain_text("1号窗口")
    expect(phone.locator("#t-call")).to_have_text("请到 1号窗口 办理")
    screen.wait_for_function("() => window.__played.length === 1", timeout=20_000)
    played = screen.evaluate("window.__played[0]")
    assert re.fullmatch(rf"{re.escape(hall.url)}/audio/[0-9a-f]{{32}}\.wav", played)
    wav = httpx.get(played, timeout=15)
    assert wav.status_code == 200 and wav.content[:4] == b"RIFF"

    window_screen = traffic.watch(new_page(1920, 1080))
    window_screen.goto(hall.url + "/screen/window/1")
    expect(window_screen.locator("#wnum")).to_have_text("A001")
    assert hall.ws_url.removesuffix("/ws") + "/ws/kiosk" in traffic.sockets
    traffic.all_under(hall)


def _table(page: Page, body: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{body} tr", "rows => rows.map(r => Array.from(r.children, c => c.textContent))")


def test_manager_pages_load_their_scripts_and_data_under_the_prefix(
        hall: HallServer, new_page: Any) -> None:
    """/h/demo/manage/reports: login, the figures table, the charts, the CSV link; the live
    view's private WebSocket; the navigation stays in this hall."""
    clerk = hall.clerk(1)
    hall.issue()
    for step in ("call", "start"):
        clerk.post(f"/api/windows/1/{step}", json={}).raise_for_status()
    clerk.post("/api/windows/1/finish", json={"outcome": "done"}).raise_for_status()
    hall.add_user("boss", "manager", PASSWORD)
    traffic = Traffic()
    page = traffic.watch(new_page(1600, 1000))
    page.goto(hall.url + "/manage/reports")
    page.fill("#l-user", "boss")
    page.fill("#l-pass", PASSWORD)
    page.click("#l-submit")
    expect(page.locator("#stats-body tr").first).to_be_visible()
    head = page.eval_on_selector_all("#stats-head th", "ths => ths.map(t => t.textContent)")
    [row] = [dict(zip(head, r, strict=True)) for r in _table(page, "stats-body")]
    assert (row["取号数"], row["办理数"]) == ("1", "1")
    expect(page.locator("#chart-arrivals .chart-svg[data-state=ready] svg")).to_be_visible()
    href = page.locator("#csv-stats").get_attribute("href") or ""
    assert href.startswith(PREFIX + "/api/manage/stats?")
    assert page.request.get(hall.root + href).body().decode("utf-8-sig").startswith(head[0])
    nav = page.eval_on_selector_all("#mnav a", "as => as.map(a => a.getAttribute('href'))")
    assert nav and all(h.startswith(PREFIX + "/manage") for h in nav)
    page.click("#mnav a[href='/h/demo/manage']")
    expect(page).to_have_url(hall.url + "/manage")
    expect(page.locator("#view")).to_be_visible()  # same session: this hall's cookie went along
    page.wait_for_function("() => document.getElementById('conn').hidden")  # /ws/manage is up
    assert any(u.startswith(hall.ws_url + "/manage") for u in traffic.sockets)
    traffic.all_under(hall)


def test_nothing_of_the_hall_answers_outside_its_prefix(hall: HallServer) -> None:
    """The same server without the prefix is not the hall; the hall's cookies name its path."""
    for path in ("/kiosk", "/manage", "/api/hall", "/static/hall/hall.js", "/t/abcdefgh12345678"):
        assert httpx.get(hall.root + path, timeout=10).status_code == 404, path
        assert httpx.get(hall.url + path, timeout=10).status_code == 200, path
    refused = httpx.post(hall.root + "/api/tickets", json={"service": "yibao-card"}, timeout=10)
    assert refused.status_code == 404
    with pytest.raises(websockets.exceptions.InvalidStatus):
        websockets.sync.client.connect(f"ws://127.0.0.1:{hall.port}/ws", open_timeout=5)
    with websockets.sync.client.connect(hall.ws_url, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"

    hall.add_user("boss", "manager", PASSWORD)
    client = httpx.Client(base_url=hall.url, timeout=10)
    login = client.post("/api/login", json={"username": "boss", "password": PASSWORD})
    assert login.status_code == 200
    assert "path=/h/demo/;" in login.headers["set-cookie"].lower()
    assert login.headers["cache-control"] == "no-store"  # the perimeter knows the path
    logout = client.post("/api/logout", json={})
    assert "path=/h/demo/;" in logout.headers["set-cookie"].lower()
    assert "max-age=0" in logout.headers["set-cookie"].lower()
    code = hall.add_device("kiosk-9", "kiosk")
    enrol = httpx.post(hall.url + "/api/devices/enrol", json={"code": code}, timeout=10)
    assert enrol.status_code == 200 and "path=/h/demo/;" in enrol.headers["set-cookie"].lower()
    # the JSON-only rule of the perimeter holds under the prefix too
    plain = httpx.post(hall.url + "/api/tickets", content=b'{"service": "yibao-card"}',
                       headers={"content-type": "text/plain"}, timeout=10)
    assert plain.status_code == 415


def test_two_halls_on_one_host_keep_their_own_sessions(tmp_path: Path, new_page: Any) -> None:
    """Cookies do not tell ports apart: one browser logged in to two halls of one host (here two
    servers on 127.0.0.1, /h/east and /h/west) stays logged in to both."""
    east, west = _serve(tmp_path / "east", "/h/east"), _serve(tmp_path / "west", "/h/west")
    try:
        page = new_page(1280, 800)
        for hall in (east, west):
            hall.add_user("boss", "manager", PASSWORD)
            page.goto(hall.url + "/manage")
            page.fill("#l-user", "boss")
            page.fill("#l-pass", PASSWORD)
            page.click("#l-submit")
            expect(page.locator("#view")).to_be_visible()
        for hall in (east, west):
            page.goto(hall.url + "/manage")
            expect(page.locator("#view")).to_be_visible()
            expect(page.locator("#login")).to_be_hidden()
        assert sorted(c["path"] for c in page.context.cookies() if c["name"] == COOKIE) == [
            "/h/east/", "/h/west/"]
    finally:
        east.stop()
        west.stop()


# ---------------------------------------------------------------- guards over the whole site

class _Paths(HTMLParser):
    """Every attribute value of a page that is a path of this host ("/..." but not "//...")."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.paths += [v for _, v in attrs if v and v.startswith("/") and not v.startswith("//")]


def _page_paths(tmp: Path) -> list[str]:
    """Every GET route of the hall app outside /api and /audio, its parameters filled in."""
    app = build_app(load_config(DEMO_CONFIG), tmp / "unused.db")
    values = {"n": "1", "id": "1", "token": "abcdefgh12345678"}
    paths = []
    for route in app.routes:
        if (isinstance(route, Route) and "GET" in (route.methods or ())
                and not route.path.startswith(("/api/", "/audio/"))):
            paths.append(re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], route.path))
    return paths


def test_every_page_links_only_under_the_prefix(hall: HallServer, tmp_path: Path) -> None:
    """The HTML of every page route (and the 403 page a role may not open), parsed: each link,
    script, stylesheet, image and form target that is a path of this host carries the prefix."""
    hall.add_user("reader", "auditor", PASSWORD)
    auditor = hall.login("reader", None)
    pages = [(p, httpx.get(hall.url + p, timeout=10)) for p in _page_paths(tmp_path)]
    pages.append(("/manage as an auditor", auditor.get("/manage")))
    checked = []
    for name, answer in pages:
        assert answer.status_code in (200, 403), name
        if not answer.headers["content-type"].startswith("text/html"):
            continue
        assert f'data-base="{PREFIX}"' in answer.text, name
        parser = _Paths()
        parser.feed(answer.text)
        assert parser.paths, name  # every page loads at least hall.js
        assert [p for p in parser.paths
                if p != PREFIX and not p.startswith(PREFIX + "/")] == [], name
        checked.append(name)
    assert len(checked) >= 20 and "/manage as an auditor" in checked


# a quoted path of this server in a script: "/api/...", '/ws', `/t/`...
_HELPERS = re.compile(r"(?:Hall\.api|Hall\.url|Hall\.wsUrl|M\.url)\s*$")
_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def _literals(source: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of every string literal of a script, skipping comments and regex literals
    (a small tokenizer: enough for hand-written page scripts)."""
    i, n = 0, len(source)
    last = ""  # the last significant character, to tell a regex literal from a division
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        elif c in "\"'`":
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            yield i, source[i + 1:j]
            i, last = j + 1, c
        elif c == "/" and last in _REGEX_BEFORE:
            j, in_class = i + 1, False
            while in_class or source[j] != "/":
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i, last = j + 1, "/"
        else:
            if not c.isspace():
                last = c
            i += 1


def _inside_helper(source: str, at: int) -> bool:
    """Is the literal at `at` an argument of a URL helper (anywhere in its parentheses), or the
    `path:` option of Hall.live (a path of the hall app, given to Hall.wsUrl)?"""
    if re.search(r"\bpath:\s*$", source[:at]):
        return True
    depth = 0
    for k in range(at - 1, -1, -1):
        ch = source[k]
        if ch == ")":
            depth += 1
        elif ch == "(" and depth > 0:
            depth -= 1
        elif ch == "(" and _HELPERS.search(source[:k]):
            return True  # an enclosing parenthesis that is a helper's call
        elif ch in ";{}" and depth == 0:
            return False
    return False


def _bare_paths(source: str) -> list[str]:
    """The paths of this server a script writes outside the URL helpers: a string literal that
    starts a path ("/api/...", "/t/", "/ws") and is no argument of Hall.api / Hall.url /
    Hall.wsUrl / M.url (which add the hall's prefix) nor Hall.live's `path:`. A literal after
    `+` continues a URL whose head is checked (`url + "/late"`). Building a URL from
    `location.host` is the helper's job alone."""
    bare = [text for at, text in _literals(source)
            if re.match(r"/[A-Za-z]", text) and not re.search(r"\+\s*$", source[:at])
            and not _inside_helper(source, at)]
    return bare + (["location.host"] if "location.host" in source else [])


def test_scripts_write_no_path_of_the_server_outside_the_url_helpers() -> None:
    """Every script of every page but hall.js, the helper itself."""
    scripts = [p for d in STATIC_DIRS for p in sorted((ROOT / d).glob("*.js"))]
    assert len(scripts) >= 25
    found, bare = 0, {}
    for path in scripts:
        source = path.read_text(encoding="utf-8")
        found += sum(1 for _, text in _literals(source) if re.match(r"/[A-Za-z]", text))
        name = path.relative_to(ROOT).as_posix()
        if name != "hall/web/static/hall.js" and _bare_paths(source):
            bare[name] = _bare_paths(source)
    assert found > 100  # the tokenizer found the scripts' paths at all
    assert bare == {}


def test_the_guard_catches_a_bare_path() -> None:
    """The script guard is not blind: the shapes of the old code are caught, helpers pass."""
    for bad in ('x.src = "/t/" + t;', "const u = '/api/me'; Hall.api('GET', u);",
                "new WebSocket(proto + '//' + location.host + '/ws/kiosk');",
                "new WebSocket(`/ws/kiosk`);",
                'location.assign("/manage/audit"); // "/api/" in a comment is fine'):
        assert _bare_paths(bad), bad
    for good in ('Hall.api("GET", "/api/me" + (a ? "/x" : ""));', 'x.src = Hall.url("/t/" + t);',
                 "Hall.live({ path: '/ws/manage' }); const re = /\\/a\\/(x)'/;",
                 'M.url("/api/manage/stats", q); // "/api/" in a comment',
                 'act("POST", url + "/late");'):
        assert _bare_paths(good) == [], good


def test_the_prefix_is_read_from_the_scope_alone() -> None:
    """hall.prefix: a mounted hall (Starlette keeps the full path, the mount in root_path), a
    hall at the root, and a path outside the mount (left as it is, never cut short)."""
    mounted = {"root_path": "/h/demo", "path": "/h/demo/api/tickets"}
    assert (base_of(mounted), route_path(mounted), cookie_path(mounted)) == (
        "/h/demo", "/api/tickets", "/h/demo/")
    root = {"root_path": "", "path": "/api/tickets"}
    assert (base_of(root), route_path(root), cookie_path(root)) == ("", "/api/tickets", "/")
    assert route_path({"root_path": "/h/demo/", "path": "/h/demo"}) == "/"
    assert route_path({"root_path": "/h/demo", "path": "/h/demolition/api"}) == "/h/demolition/api"
