"""Pages under the perimeter in real Chromium (issue 9.3, 9.8): a page served on another port
of the same host cannot act with a clerk's cookie, and every page works under the
Content-Security-Policy without a single violation.

Apart from tests/test_perimeter.py: Playwright's sync API keeps an event loop running in this
module's thread, and those tests drive asyncio themselves.
"""

from __future__ import annotations

import http.server
import threading
import time
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser import PASSWORD, login_counter
from tests.conftest import HallServer, free_port


def paused(server: HallServer, window: int) -> bool:
    windows = httpx.get(server.url + "/api/hall", timeout=10).json()["windows"]
    return next(w for w in windows if w["number"] == window)["state"] == "paused"


def test_a_real_browser_page_on_another_port_is_refused(hall_server: HallServer,
                                                        new_page: Any) -> None:
    """The same attack from real Chromium: log in on the pad, then open a page served on
    another port of the same host that POSTs text/plain with credentials."""
    hall_server.add_user("clerk1", "clerk", PASSWORD)
    attacker_port = free_port()
    html = (f"<form id=f method=POST enctype=text/plain action='{hall_server.url}"
            "/api/windows/1/pause'><input name='{\"reason\":\"x\",\"y\":\"' value='\"}'>"
            "</form><script>document.getElementById('f').submit()</script>").encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            pass

    attacker = http.server.HTTPServer(("127.0.0.1", attacker_port), Page)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        pad = new_page(1280, 800)
        login_counter(pad, hall_server.url, "clerk1", 1)
        expect(pad.locator("#win-state")).to_have_text("空闲，可叫号")
        evil = pad.context.new_page()
        with evil.expect_response(lambda r: "/pause" in r.url) as answer:
            evil.goto(f"http://127.0.0.1:{attacker_port}/")
        assert answer.value.status in (403, 415)
        time.sleep(0.3)
        assert not paused(hall_server, 1)
    finally:
        attacker.shutdown()


def test_pages_work_under_the_csp_without_a_violation(hall_server: HallServer,
                                                      new_page: Any) -> None:
    """Each page in real Chromium with the CSP on: no console CSP error, no violation event,
    and the page did its job (scripts ran, the WebSocket connected)."""
    hall_server.add_user("clerk1", "clerk", PASSWORD)
    hall_server.add_user("boss", "manager", PASSWORD)
    token = hall_server.issue()["token"]
    checks = {
        "/kiosk": "button.svc[data-service='yibao-card']",
        "/screen": "#waiting tr[data-queue=yibao]",
        "/counter": "#l-user",
        "/manage": "#l-user",
        f"/t/{token}": "#t-number",
        "/screen/window/1": "body", "/evaluate/1": "body", "/complaint": "body", "/device": "body",
        "/manage/ratings": "body", "/manage/complaints": "body",
    }
    for path, ready in checks.items():
        page = new_page(1280, 800)
        problems: list[str] = []
        page.on("console", lambda m, p=problems: p.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "console.error('Content Security Policy violated: ' + "
                             "e.violatedDirective + ' ' + e.blockedURI));")
        page.goto(hall_server.url + path)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_timeout(500)
        assert page.evaluate("typeof Hall") == "object", path  # the scripts ran
        if path == f"/t/{token}":
            expect(page.locator("#t-number")).to_have_text("A001")
        if path == "/screen":
            expect(page.locator("#waiting tr[data-queue=yibao] .n")).to_have_text("1")
        if path in ("/counter", "/manage"):
            page.fill("#l-user", "clerk1" if path == "/counter" else "boss")
            page.fill("#l-pass", PASSWORD)
            if path == "/counter":
                page.select_option("#l-window", "1")
            page.click("#l-submit")
            if path == "/counter":
                expect(page.locator("#win-state")).to_have_text("空闲，可叫号")
            else:
                expect(page.locator("#mw tr")).to_have_count(12)
            page.wait_for_timeout(300)
        assert problems == [], (path, problems)
