"""Regenerate the screenshots of every page into docs/screenshots/*.png.

Why a script: the pages are judged by eye at the sizes they run at in a hall (a 1920×1080 TV,
a 10-inch 1280×800 tablet, a 390×844 phone); a reviewer should see the current pages without
setting up a hall. It starts its own `python -m hall serve` on a temporary database with the
demo config, puts a realistic morning in it (tickets, open windows, calls, a pause) through the
public API, and photographs each page with Debian's Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # as a hall runs its screens (docs/pages.md): sound without a first click
                 "--autoplay-policy=no-user-gesture-required"]
SIZES = {"tv": (1920, 1080), "tablet": (1280, 800), "phone": (390, 844)}
PASSWORD = "password123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall", "serve", "--config", str(ROOT / "config.toml"),
         "--db", str(tmp / "hall.db"), "--port", str(port), "--no-hours"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/hall", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError((tmp / "server.log").read_text())


def _user(tmp: Path, name: str, role: str) -> None:
    subprocess.run([sys.executable, "-m", "hall", "user", "add", name, "--role", role,
                    "--db", str(tmp / "hall.db"), "--config", str(ROOT / "config.toml"),
                    "--password-stdin"], cwd=ROOT, input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)


def _clerk(url: str, name: str, window: int) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    client.post("/api/login", json={"username": name, "password": PASSWORD,
                                    "window": window}).raise_for_status()
    return client


def _morning(tmp: Path, url: str) -> str:
    """A plausible hall at 9:40; returns the token of a ticket still waiting."""
    for name, role in (("wangfang", "clerk"), ("lijun", "clerk"), ("zhaomin", "clerk"),
                       ("chenjing", "clerk"), ("sunli", "clerk"),
                       ("zhuren", "manager")):
        _user(tmp, name, role)
    token = ""
    plan = ["yibao-card", "yibao-reimburse", "shebao-retire", "yibao-transfer", "bdc-transfer",
            "bdc-query", "tax-invoice", "shebao-pension", "yibao-card", "hukou-move",
            "company-setup", "bdc-mortgage", "yibao-card", "consult", "yibao-reimburse"]
    for i, service in enumerate(plan):
        body = {"service": service, "channel": "kiosk",
                "priority": "elderly" if i == 4 else None, "needs_help": i == 9}
        r = httpx.post(url + "/api/tickets", json=body, timeout=10)
        r.raise_for_status()
        if service == "yibao-card":
            token = r.json()["token"]
    w1 = _clerk(url, "wangfang", 1)
    w3 = _clerk(url, "lijun", 3)
    w2 = _clerk(url, "zhaomin", 2)
    w6 = _clerk(url, "chenjing", 6)
    _clerk(url, "sunli", 9)  # open and idle: its screen says 热情为您服务
    for c, n in ((w1, 1), (w3, 3), (w2, 2)):
        c.post(f"/api/windows/{n}/call", json={}).raise_for_status()
    w1.post("/api/windows/1/start").raise_for_status()
    w1.post("/api/windows/1/finish", json={"outcome": "done"}).raise_for_status()
    w1.post("/api/windows/1/call", json={}).raise_for_status()
    w3.post("/api/windows/3/start").raise_for_status()
    w6.post("/api/windows/6/pause", json={"reason": "午休"}).raise_for_status()
    w2.post("/api/windows/2/recall").raise_for_status()
    return token


def _shot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(out / f"{name}.png"))
    print("wrote", out / f"{name}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        proc, url = _serve(tmp)
        try:
            token = _morning(tmp, url)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=CHROMIUM_ARGS)

                def page_at(size: str) -> Page:
                    w, h = SIZES[size]
                    ctx = browser.new_context(viewport={"width": w, "height": h},
                                              locale="zh-CN", timezone_id="Asia/Shanghai")
                    return ctx.new_page()

                for size in ("tv", "tablet", "phone"):
                    p = page_at(size)
                    p.goto(url + "/kiosk")
                    p.wait_for_function("document.querySelector('.qstat .w').textContent !== '–'")
                    _shot(p, out, f"kiosk-{size}")
                    p.get_by_text("老年人", exact=True).click()
                    p.locator('button.svc[data-service="yibao-reimburse"]').click()
                    p.locator("#t-number").wait_for(state="visible")
                    p.wait_for_function("document.getElementById('t-qr').complete")
                    _shot(p, out, f"kiosk-ticket-{size}")
                    p.context.close()

                for size in ("tv", "tablet"):
                    p = page_at(size)
                    p.goto(url + "/screen")
                    p.locator("#calls tr").first.wait_for()
                    _shot(p, out, f"screen-{size}")
                    p.context.close()

                for n, state in ((1, "called"), (6, "paused"), (9, "idle")):
                    p = page_at("tv")
                    p.goto(url + f"/screen/window/{n}")
                    p.wait_for_function(f"document.body.dataset.state === '{state}'")
                    _shot(p, out, f"window-screen-{state}-tv")
                    p.context.close()

                for size in ("phone", "tablet"):
                    p = page_at(size)
                    p.goto(url + f"/t/{token}")
                    p.locator("#t-number").wait_for(state="visible")
                    _shot(p, out, f"ticket-page-{size}")
                    p.context.close()

                p = page_at("tablet")
                p.goto(url + "/counter")
                _shot(p, out, "counter-login-tablet")
                p.context.close()
                for size in ("tv", "tablet", "phone"):
                    p = page_at(size)
                    p.goto(url + "/counter")
                    p.fill("#l-user", "lijun")
                    p.fill("#l-pass", PASSWORD)
                    p.select_option("#l-window", "3")
                    p.click("#l-submit")
                    p.locator("#cur-number").wait_for(state="visible")
                    _shot(p, out, f"counter-{size}")
                    if size == "tablet":
                        p.keyboard.press("KeyP")
                        p.locator("#dlg-reason").wait_for(state="visible")
                        _shot(p, out, "counter-pause-dialog-tablet")
                    p.context.close()

                for size in ("tv", "tablet"):
                    p = page_at(size)
                    p.goto(url + "/manage")
                    p.fill("#l-user", "zhuren")
                    p.fill("#l-pass", PASSWORD)
                    p.click("#l-submit")
                    p.locator("#mw tr").first.wait_for()
                    p.locator("#me li").first.wait_for()
                    _shot(p, out, f"manage-{size}")
                    p.context.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
