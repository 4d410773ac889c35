"""The drivers connected to the hall: a real `hall serve` process talking to simulated devices.

The server is a child process (as in a hall) whose `[[devices]]` are pty slave paths; the
simulators of `tests/devsim.py` serve the master sides in this process and decode what the
server sends with their own decoders. Speech is real (espeak-ng through the worker process);
nothing is mocked: there is no sound card here, so `local_playback` stays off and the WAV is
checked as a file, as the hall screen's browser would fetch it.

One server serves the whole module (it starts in about a second, but the voice worker and the
LED back-off would otherwise be paid per test); each test uses its own windows and queues so
they do not depend on each other's numbers:

* window 3 / queue C (LED screen at address 3),  window 1 / queue A (a mute LED screen, a
  caller pad at address 1, an evaluator at 101 rating through `hall.feedback`),  window 7 /
  queue E (a pad nobody is logged in at),  kiosk-1 / queue D (the printer),  window 9 /
  queue G (the voice).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import struct
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import DEMO_CONFIG, HallServer
from tests.devsim import LedBusSim, PadBusSim, PrinterSim, parse_escpos, wait_for


@dataclass
class Rig:
    server: HallServer
    led: LedBusSim
    mute_led: LedBusSim
    printer: PrinterSim
    pads: PadBusSim


def device_config(tmp: Path, rig_paths: dict[str, str]) -> Path:
    text = DEMO_CONFIG.read_text(encoding="utf-8") + f"""

[[devices]]
kind = "led"
name = "led-3"
url = "{rig_paths['led']}"
address = 3
window = 3

[[devices]]
kind = "led"
name = "led-1"
url = "{rig_paths['mute_led']}"
address = 1
window = 1

[[devices]]
kind = "printer"
name = "printer-kiosk-1"
url = "{rig_paths['printer']}"
kiosk = "kiosk-1"

[[devices]]
kind = "caller"
name = "pad-1"
url = "{rig_paths['pads']}"
address = 1
window = 1

[[devices]]
kind = "caller"
name = "pad-7"
url = "{rig_paths['pads']}"
address = 7
window = 7

[[devices]]
kind = "evaluator"
name = "eval-1"
url = "{rig_paths['pads']}"
address = 101
window = 1
"""
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("devices")
    led, mute_led = LedBusSim(addresses=(3,)), LedBusSim(addresses=(1,))
    mute_led.mute = True
    printer, pads = PrinterSim("ok"), PadBusSim(addresses=(1, 7, 101))
    sims = (led, mute_led, printer, pads)
    config = device_config(tmp, {"led": led.path, "mute_led": mute_led.path,
                                 "printer": printer.path, "pads": pads.path})
    server = HallServer(tmp, config)
    try:
        server.start()
        yield Rig(server, led, mute_led, printer, pads)
    finally:
        server.stop()
        for sim in sims:
            sim.close()


def screen_text(sim: LedBusSim, address: int) -> str | None:
    return sim.screens[address].areas.get(0)


def test_led_screen_follows_its_window(rig: Rig) -> None:
    led = rig.led
    # nobody at window 3 yet: the screen was set from the state at start
    assert wait_for(lambda: screen_text(led, 3) == "暂停服务", 5), led.screens[3]
    clerk = rig.server.clerk(3)
    assert wait_for(lambda: screen_text(led, 3) == "热情为您服务"), led.screens[3]

    number = rig.server.issue("bdc-transfer")["number"]
    assert number == "C001"
    flashes_before = len(led.screens[3].flashes)
    assert clerk.post("/api/windows/3/call").status_code == 200
    assert wait_for(lambda: screen_text(led, 3) == "C001 请到3号窗口"), led.screens[3]
    assert wait_for(lambda: len(led.screens[3].flashes) > flashes_before)
    # the bytes on the wire are GB2312 (the simulator decoded them as such; check them too)
    shown = [p for a, c, p in led.received if a == 3 and c == 0x10]
    assert "C001 请到3号窗口".encode("gb2312") in [p[1:] for p in shown]

    assert clerk.post("/api/windows/3/finish", json={"outcome": "done"}).status_code == 200
    assert wait_for(lambda: screen_text(led, 3) == "热情为您服务"), led.screens[3]
    assert clerk.post("/api/windows/3/pause", json={"reason": "午休"}).status_code == 200
    assert wait_for(lambda: screen_text(led, 3) == "暂停服务"), led.screens[3]
    assert clerk.post("/api/windows/3/resume").status_code == 200
    assert wait_for(lambda: screen_text(led, 3) == "热情为您服务"), led.screens[3]
    # the clerk leaves: nobody is there, so the screen says 暂停服务 again
    assert clerk.post("/api/logout").status_code == 200
    assert wait_for(lambda: screen_text(led, 3) == "暂停服务"), led.screens[3]


def test_printer_refuses_without_paper_and_prints_with_it(rig: Rig) -> None:
    url = rig.server.url
    rig.printer.state = "paper_out"
    r = httpx.post(url + "/api/tickets", json={"service": "tax-invoice", "kiosk": "kiosk-1"})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "printer_not_ready"
    assert "缺纸" in r.json()["error"]["message"]
    assert bytes(rig.printer.printed) == b""  # nothing but status queries reached the paper

    rig.printer.state = "ok"
    r = httpx.post(url + "/api/tickets", json={"service": "tax-invoice", "kiosk": "kiosk-1"})
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["number"] == "D001"  # the refused request consumed no number
    assert wait_for(lambda: b"\x1d\x56" in rig.printer.printed, 5)
    doc = parse_escpos(bytes(rig.printer.printed))
    assert "D001" in doc.text and "发票申领" in doc.text and "税务" in doc.text
    assert "示范县政务服务中心" in doc.text and "经办人身份证原件" in doc.text
    qr = [e[1] for e in doc.events if e[0] == "qr_store"]
    assert qr == [f"{url}/t/{ticket['token']}"]

    # a ticket from a kiosk without a printer (or none) prints nothing
    printed = len(rig.printer.printed)
    rig.server.issue("tax-invoice", kiosk="kiosk-2")
    time.sleep(0.3)
    assert len(rig.printer.printed) == printed


def called_events(rig: Rig, manager: httpx.Client, window: int) -> list[dict]:
    events = manager.get("/api/manage/events", params={"limit": 1000}).json()["events"]
    return [e for e in events if e["type"] == "ticket.called" and e["data"]["window"] == window]


def manager_client(rig: Rig) -> httpx.Client:
    try:
        rig.server.add_user("boss", "manager")
    except RuntimeError as exc:
        if "已存在" not in str(exc):
            raise
    return rig.server.login("boss", None)


def test_caller_pad_calls_once_and_refuses_without_a_clerk(rig: Rig) -> None:
    pads, server = rig.pads, rig.server
    manager = manager_client(rig)
    first = server.issue("yibao-card")
    second = server.issue("yibao-card")
    server.clerk(1)
    assert wait_for(lambda: pads.pads[1].display == ("000", 2)), pads.pads[1]

    seqs = [pads.press(1, "call"), pads.press(1, "call")]  # a double press, 2 real frames
    assert wait_for(lambda: pads.pads[1].display == ("001", 1)), pads.pads[1]
    assert wait_for(lambda: set(seqs) <= set(pads.pads[1].acks))  # both acknowledged
    time.sleep(0.5)
    assert len(called_events(rig, manager, 1)) == 1
    assert httpx.get(f"{server.url}/api/tickets/{first['token']}").json()["state"] == "called"
    assert httpx.get(f"{server.url}/api/tickets/{second['token']}").json()["state"] == "waiting"
    # the pad acted as the clerk logged in at its window, and the audit log says through what
    server.add_user("auditor", "auditor")
    rows = server.login("auditor", None).get("/api/manage/audit").json()["audit"]
    calls = [r for r in rows if r["action"] == "call" and r["target"] == "window:1"]
    assert [(r["user"], r["source"], r["success"]) for r in calls] == [
        ("clerk1", "caller:pad-1", 1)]

    # FINISH on the pad finishes as the logged-in clerk; the pad shows no ticket again
    pads.press(1, "finish")
    assert wait_for(lambda: pads.pads[1].display == ("000", 1)), pads.pads[1]
    assert httpx.get(f"{server.url}/api/tickets/{first['token']}").json()["state"] == "done"
    # the citizen presses 非常满意 on the window's evaluator: A001, just finished, is rated
    seq = pads.press(101, "rate5")
    assert wait_for(lambda: seq in pads.pads[101].acks)

    def ratings() -> list[dict]:
        r = manager.get("/api/manage/ratings", params={"window": 1})
        assert r.status_code == 200, r.text
        return r.json()["ratings"]

    assert wait_for(lambda: len(ratings()) == 1), ratings()
    rating = ratings()[0]
    assert (rating["number"], rating["level"], rating["channel"]) == (
        "A001", 5, "serial_evaluator"), rating

    # window 7: nobody is logged in; the pad says E01 and nothing changes
    waiting = server.issue("hukou-move")
    pads.press(7, "call")
    assert wait_for(lambda: pads.pads[7].error == "E01"), pads.pads[7]
    time.sleep(0.3)
    assert httpx.get(f"{server.url}/api/tickets/{waiting['token']}").json()["state"] == "waiting"
    assert called_events(rig, manager, 7) == []
    # a refused step shows its code: SKIP with no ticket at window 1 is E05
    pads.press(1, "skip")
    assert wait_for(lambda: pads.pads[1].error == "E05"), pads.pads[1]


def measure(wav_bytes: bytes) -> tuple[int, float, float]:
    with wave.open(BytesIO(wav_bytes), "rb") as w:
        frames = w.readframes(w.getnframes())
        rate = w.getframerate()
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return rate, len(samples) / rate, rms


def test_call_event_carries_a_playable_announcement(rig: Rig) -> None:
    server = rig.server
    clerk = server.clerk(9)
    server.issue("consult")

    async def called_event() -> dict:
        async with websockets.connect(server.ws_url) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            r = await asyncio.to_thread(clerk.post, "/api/windows/9/call")
            assert r.status_code == 200, r.text
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if event["type"] == "ticket.called":
                    return event

    event = asyncio.run(called_event())
    assert event["data"]["number"] == "G001"
    audio = event["data"]["audio"]
    assert re.fullmatch(r"/audio/[0-9a-f]{32}\.wav", audio), audio
    # asked for at once, as a hall screen does: the route waits for the render
    r = httpx.get(server.url + audio, timeout=15)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("audio/")
    assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE"
    rate, seconds, rms = measure(r.content)
    assert rate == 22050
    assert 2.0 < seconds < 15.0
    assert rms > 0.02

    # a recall is a call of its own (tests/test_voice.py); the first one's WAV does not change
    r = clerk.post("/api/windows/9/recall")
    assert r.status_code == 200
    assert httpx.get(server.url + audio).content == httpx.get(server.url + audio).content

    for bad in ("/audio/" + "0" * 32 + ".wav", "/audio/..%2F..%2Fhall.db.wav",
                "/audio/ABC.wav", "/audio/%2e%2e.wav"):
        r = httpx.get(server.url + bad)
        assert r.status_code == 404, (bad, r.text)
        assert set(r.json()["error"]) == {"code", "message"}


def test_devices_page_shows_every_device(rig: Rig) -> None:
    manager = manager_client(rig)
    expected = {"led-3": "ok", "led-1": "no answer", "printer-kiosk-1": "ok", "pad-1": "ok",
                "pad-7": "ok", "eval-1": "ok", "voice": "ok"}

    def health() -> dict[str, str]:
        r = manager.get("/api/manage/devices")
        assert r.status_code == 200, r.text
        return {d["name"]: d["health"] for d in r.json()["devices"]}

    assert wait_for(lambda: health() == expected, 5), health()
    rows = {d["name"]: d for d in manager.get("/api/manage/devices").json()["devices"]}
    assert rows["led-3"] == {"name": "led-3", "kind": "led", "url": rig.led.path, "window": 3,
                             "kiosk": None, "health": "ok"}
    assert rows["printer-kiosk-1"]["kiosk"] == "kiosk-1"
    assert rows["eval-1"]["kind"] == "evaluator"
    # clerks may not look
    clerk = rig.server.clerk(2)
    assert clerk.get("/api/manage/devices").status_code == 403
