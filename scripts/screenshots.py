"""Regenerate the screenshots of every page into docs/screenshots/*.png.

Why a script: the pages are judged by eye at the sizes they run at in a hall (a 1920×1080 TV,
a 10-inch 1280×800 tablet, a 390×844 phone); a reviewer should see the current pages without
setting up a hall. It starts its own `python -m hall serve` on a temporary database with the
demo config, puts a realistic morning in it (tickets, open windows, calls, a pause; earlier
citizens' ratings, two 差评 cases and three 办不成事 reports) through the public API, and
photographs each page with Debian's Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
PASSWORD = "Tulip-7741-q"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One script plays a whole hall's morning from one address: the per-client ticket limits
# (issue 9.2) would refuse it, so the demo config is served with them off.
NO_LIMITS = ("\n[limits]\ntickets_per_minute_per_client = 0\ntickets_per_day_per_client = 0\n"
             "tickets_per_minute_per_kiosk = 0\ntickets_per_day_per_kiosk = 0\n")


def _config(tmp: Path) -> Path:
    path = tmp / "config.toml"
    if not path.exists():
        path.write_text((ROOT / "config.toml").read_text(encoding="utf-8") + NO_LIMITS,
                        encoding="utf-8")
    return path


def _device(tmp: Path, name: str, window: int) -> str:
    """A rating tablet enrolled for `window` (issue 9.1); its 登记码."""
    result = subprocess.run(
        [sys.executable, "-m", "hall", "device", "add", name, "--kind", "tablet", "--window",
         str(window), "--db", str(tmp / "hall.db"), "--config", str(_config(tmp))],
        cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip().splitlines()[-1]


def _serve(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "hall", "serve", "--config", str(_config(tmp)),
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
                    "--db", str(tmp / "hall.db"), "--config", str(_config(tmp)),
                    "--password-stdin"], cwd=ROOT, input=PASSWORD + "\n", text=True,
                   check=True, capture_output=True)


def _clerk(url: str, name: str, window: int | None) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    client.post("/api/login", json={"username": name, "password": PASSWORD,
                                    "window": window}).raise_for_status()
    return client


def _serve_one(url: str, clerk: httpx.Client, window: int, service: str,
               outcome: str = "done", note: str | None = None) -> dict:
    """Issue a ticket and have `window` call, start and finish it; the ticket as issued."""
    ticket = httpx.post(url + "/api/tickets", json={"service": service, "channel": "kiosk"},
                        timeout=10)
    ticket.raise_for_status()
    clerk.post(f"/api/windows/{window}/call", json={}).raise_for_status()
    clerk.post(f"/api/windows/{window}/start").raise_for_status()
    body = {"outcome": outcome, **({"note": note} if note else {})}
    clerk.post(f"/api/windows/{window}/finish", json=body).raise_for_status()
    return ticket.json()


def _counter_at_window_3(p: Page, url: str) -> None:
    """The counter pad logged in at window 3, where a citizen has just been called."""
    p.goto(url + "/counter")
    p.fill("#l-user", "lijun")
    p.fill("#l-pass", PASSWORD)
    p.select_option("#l-window", "3")
    p.click("#l-submit")
    p.locator("#cur-number").wait_for(state="visible")


def _rate(url: str, token: str, **body: object) -> None:
    httpx.post(f"{url}/api/tickets/{token}/rating", json=body, timeout=10).raise_for_status()


def _earlier(tmp: Path, url: str) -> dict[str, object]:
    """Citizens served before the morning rush, at windows closed since: ratings (two of them
    差评), a failed case, 办不成事 reports, and the manager's first steps on two cases.
    Returns the token of a served ticket not yet rated and the ids of the cases shown."""
    w4 = _clerk(url, "zhouqiang", 4)
    w7 = _clerk(url, "wuhong", 7)
    w8 = _clerk(url, "zhengyu", 8)
    good = _serve_one(url, w4, 4, "bdc-query")
    _rate(url, good["token"], level=5, reasons=["办事快", "态度好"])
    tablet = _serve_one(url, w4, 4, "tax-invoice")
    t4 = httpx.Client(base_url=url, timeout=10)
    t4.post("/api/devices/enrol", json={"code": _device(tmp, "tablet-4a", 4)}).raise_for_status()
    t4.post("/api/evaluate/4", json={"number": tablet["number"], "level": 4,
                                     "reasons": ["告知清楚"]}).raise_for_status()
    bad = _serve_one(url, w7, 7, "hukou-move")
    _rate(url, bad["token"], level=2, reasons=["态度不好"], comment="窗口人员态度生硬",
          contact="13912345678")
    worse = _serve_one(url, w7, 7, "hukou-move")
    _rate(url, worse["token"], level=1, reasons=["等待时间长", "多次跑腿"],
          contact="王先生 13700001111")
    _serve_one(url, w8, 8, "company-setup", outcome="failed",
               note="企业名称自主申报系统故障，无法提交")
    unrated = _serve_one(url, w8, 8, "company-setup")
    public = httpx.post(url + "/api/complaints", timeout=10, json={
        "description": "户口迁移跑了三次，每次要求的材料都不一样", "service": "hukou-move",
        "window": 7, "contact": "王女士 13812341234"})
    public.raise_for_status()
    httpx.post(url + "/api/complaints", timeout=10, json={
        "description": "二手房过户说要补材料，但没说清楚要哪些", "ticket": good["token"]},
    ).raise_for_status()
    boss = _clerk(url, "zhuren", None)
    rect = boss.get("/api/manage/rectifications").json()["rectifications"]
    case = next(c for c in rect if c["number"] == worse["number"])["id"]
    boss.post(f"/api/manage/rectifications/{case}/callback", json={
        "note": "已电话联系群众，说明当日人多，致歉并听取意见"}).raise_for_status()
    boss.post(f"/api/manage/rectifications/{case}/classify", json={
        "classification": "fix_now", "note": "高峰期增开 7 号旁临时窗口"}).raise_for_status()
    complaint = public.json()["id"]
    boss.post(f"/api/manage/complaints/{complaint}/assess", json={
        "class": "complex", "category": "材料要求不明确"}).raise_for_status()
    for client in (w4, w7, w8, boss):
        client.post("/api/logout", json={}).raise_for_status()
    return {"unrated": unrated["token"], "rectification": case, "complaint": complaint,
            "tablet4": _device(tmp, "tablet-4", 4), "tablet1": _device(tmp, "tablet-1", 1)}


def _morning(tmp: Path, url: str) -> tuple[str, dict[str, object]]:
    """A plausible hall at 9:40; returns the token of a ticket still waiting, and what
    `_earlier` returns."""
    for name, role in (("wangfang", "clerk"), ("lijun", "clerk"), ("zhaomin", "clerk"),
                       ("chenjing", "clerk"), ("sunli", "clerk"), ("zhouqiang", "clerk"),
                       ("wuhong", "clerk"), ("zhengyu", "clerk"),
                       ("zhuren", "manager")):
        _user(tmp, name, role)
    earlier = _earlier(tmp, url)
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
    return token, earlier


def _shot(page: Page, out: Path, name: str, full_page: bool = False) -> None:
    page.wait_for_timeout(400)
    page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)
    print("wrote", out / f"{name}.png")


def _feedback_pages(page_at: Callable[[str], Page], url: str, out: Path,
                    earlier: dict[str, object]) -> None:
    """The 好差评 and 办不成事 pages: the window tablet, rating and reporting on the phone,
    the public report page, and the manager's lists and case pages."""
    p = page_at("tablet")
    p.goto(url + "/evaluate/4")
    p.get_by_label("登记码").fill(str(earlier["tablet4"]))
    p.get_by_role("button", name="登记").click()
    p.locator("#idle").wait_for()
    _shot(p, out, "evaluate-idle-tablet")
    p.goto(url + "/evaluate/1")  # window 1 has just finished a ticket
    p.get_by_label("登记码").fill(str(earlier["tablet1"]))
    p.get_by_role("button", name="登记").click()
    p.locator("#e-number").wait_for()
    _shot(p, out, "evaluate-tablet")
    p.get_by_text("满意", exact=True).click()
    p.get_by_text("办事快", exact=True).click()
    _shot(p, out, "evaluate-chosen-tablet")
    p.context.close()

    p = page_at("phone")
    p.goto(f"{url}/t/{earlier['unrated']}")
    p.locator("#t-rate .rating-form").wait_for()
    _shot(p, out, "ticket-rate-phone", full_page=True)
    p.get_by_text("不满意", exact=True).click()
    p.get_by_text("业务不熟练", exact=True).click()
    p.get_by_role("button", name="我要反映办不成事").click()
    _shot(p, out, "ticket-rate-bad-phone", full_page=True)
    p.context.close()

    for size in ("phone", "tablet"):
        p = page_at(size)
        p.goto(url + "/complaint")
        _shot(p, out, f"complaint-{size}", full_page=size == "phone")
        if size == "phone":
            p.get_by_label("没办成的事情").fill("社保卡补办说要单位证明，单位已注销开不了")
            p.get_by_role("button", name="提交反映").click()
            p.locator("#c-done").wait_for()
            _shot(p, out, "complaint-done-phone")
        p.context.close()

    p = page_at("tv")
    p.goto(url + "/manage/ratings")
    p.fill("#l-user", "zhuren")
    p.fill("#l-pass", PASSWORD)
    p.click("#l-submit")
    p.locator("#ratings tr[data-rating]").first.wait_for()
    _shot(p, out, "manage-ratings-tv", full_page=True)
    for path, name in (("/manage/rectifications", "manage-rectifications-tv"),
                       (f"/manage/rectifications/{earlier['rectification']}",
                        "manage-rectification-case-tv"),
                       ("/manage/complaints", "manage-complaints-tv"),
                       (f"/manage/complaints/{earlier['complaint']}",
                        "manage-complaint-case-tv")):
        p.goto(url + path)
        p.locator("#cases tr[data-case], #timeline li").first.wait_for()
        _shot(p, out, name)
    p.context.close()
    p = page_at("tablet")
    p.goto(url + "/manage/ratings")
    p.fill("#l-user", "zhuren")
    p.fill("#l-pass", PASSWORD)
    p.click("#l-submit")
    p.locator("#ratings tr[data-rating]").first.wait_for()
    _shot(p, out, "manage-ratings-tablet")
    p.context.close()


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
            token, earlier = _morning(tmp, url)
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
                    p.wait_for_function(
                        "() => document.querySelector('.qstat .w').textContent !== '–'")
                    _shot(p, out, f"kiosk-{size}")
                    p.get_by_text("老年人", exact=True).click()
                    p.locator('button.svc[data-service="yibao-reimburse"]').click()
                    p.locator("#t-number").wait_for(state="visible")
                    p.wait_for_function("() => document.getElementById('t-qr').complete")
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
                    p.wait_for_function(f"() => document.body.dataset.state === '{state}'")
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
                    _counter_at_window_3(p, url)
                    _shot(p, out, f"counter-{size}")
                    p.context.close()
                p = page_at("tablet")  # pausing needs a free window: finish the call first
                _counter_at_window_3(p, url)
                p.keyboard.press("Digit1")
                p.locator("#cur-none").wait_for(state="visible")
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
                    p.locator("#md tr").first.wait_for()
                    _shot(p, out, f"manage-{size}")
                    p.context.close()

                _feedback_pages(page_at, url, out, earlier)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
