"""LED window screens against a simulated RS-485 bus on a real pty pair."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.led import IDLE_TEXT, PAUSED_TEXT, LedScreen
from devices.transport import Frame, decode_frames, encode_frame
from tests.devsim import LedBusSim, until

FAST = (0.05, 0.1, 0.15)


@pytest.fixture
def bus() -> Iterator[LedBusSim]:
    sim = LedBusSim(addresses=(3, 5))
    yield sim
    sim.close()


def screen(url: str, address: int = 3, **kw: object) -> LedScreen:
    return LedScreen(f"window-{address}", url, address, ack_timeouts=FAST, **kw)  # type: ignore[arg-type]


async def test_call_reaches_the_addressed_screen_in_gb2312_and_flashes(bus: LedBusSim) -> None:
    led = screen(bus.path)
    try:
        assert await led.show_call("A001 请到3号窗口") is True
        assert bus.screens[3].areas == {0: "A001 请到3号窗口"}
        assert bus.screens[3].flashes and bus.screens[3].flashes[-1][1] > 0
        # the other screen on the same bus saw the frame but did not take it
        assert bus.screens[5].areas == {}
        assert led.health() == "ok"
        raw = [r for r in bus.received if r[1] == 0x10][0]
        assert raw[0] == 3 and raw[2][1:] == "A001 请到3号窗口".encode("gb2312")
    finally:
        await led.close()


async def test_paused_and_idle_texts(bus: LedBusSim) -> None:
    led = screen(bus.path, address=5)
    try:
        await led.show_paused()
        assert bus.screens[5].areas[0] == PAUSED_TEXT == "暂停服务"
        await led.show_idle()
        assert bus.screens[5].areas[0] == IDLE_TEXT == "热情为您服务"
        assert bus.screens[5].flashes == []
    finally:
        await led.close()


async def test_screen_at_unknown_address_gets_no_answer_and_others_untouched(
        bus: LedBusSim) -> None:
    led = screen(bus.path, address=7)
    try:
        started = time.monotonic()
        assert await led.show_call("A002 请到7号窗口") is False
        elapsed = time.monotonic() - started
        assert led.health() == "no answer"
        assert elapsed >= sum(FAST) * 0.9  # every retry waited its back-off
        assert len([r for r in bus.received if r[1] == 0x10]) == 3  # three tries
        assert bus.screens[3].areas == {} and bus.screens[5].areas == {}
    finally:
        await led.close()


async def test_text_outside_gb2312_is_replaced_not_fatal(bus: LedBusSim) -> None:
    led = screen(bus.path)
    try:
        assert await led.show_text("A003 😀") is True
        assert bus.screens[3].areas[0] == "A003 ?"
    finally:
        await led.close()


async def test_mute_screen_recovers_and_gets_state_resent(bus: LedBusSim) -> None:
    led = screen(bus.path, probe_interval=0.05)
    try:
        bus.mute = True
        assert await led.show_call("A004 请到3号窗口") is False
        assert led.health() == "no answer"
        led.start()
        # while down, new state is only recorded: the caller is not kept waiting
        started = time.monotonic()
        await led.show_call("A005 请到3号窗口")
        assert time.monotonic() - started < 0.05
        bus.reboot(3)  # the screen was power-cycled: RAM empty
        bus.mute = False
        assert await until(lambda: bus.screens[3].areas.get(0) == "A005 请到3号窗口")
        assert await until(lambda: led.health() == "ok")
        assert led.resends >= 1
    finally:
        await led.close()


async def test_healthy_screen_that_rebooted_gets_state_back(bus: LedBusSim) -> None:
    led = screen(bus.path, probe_interval=0.05, keepalive_interval=0.05)
    try:
        await led.show_text("A006 请到3号窗口")
        led.start()
        bus.reboot(3)
        assert bus.screens[3].areas == {}
        assert await until(lambda: bus.screens[3].areas.get(0) == "A006 请到3号窗口")
    finally:
        await led.close()


async def test_unplugged_port_is_reopened_and_state_resent(tmp_path: Path) -> None:
    """A USB adapter is pulled and plugged back: the device path comes back on a new pty."""
    link = tmp_path / "ttyLED"
    first = LedBusSim(addresses=(3,))
    os.symlink(first.path, link)
    led = screen(str(link), probe_interval=0.05)
    second: LedBusSim | None = None
    try:
        assert await led.show_call("A007 请到3号窗口") is True
        first.close()
        link.unlink()
        assert await led.show_idle() is False
        assert led.health() != "ok"
        led.start()
        second = LedBusSim(addresses=(3,))
        os.symlink(second.path, link)
        sim = second
        assert await until(lambda: sim.screens[3].areas.get(0) == IDLE_TEXT)
        assert await until(lambda: led.health() == "ok")
    finally:
        await led.close()
        if second is not None:
            second.close()


def test_port_that_cannot_open_reports_why() -> None:
    led = LedScreen("w9", "/dev/does-not-exist-ttyUSB9", 9, ack_timeouts=(0.01,))
    import asyncio

    assert asyncio.run(led.show_idle()) is False
    assert led.health().startswith("cannot open /dev/does-not-exist-ttyUSB9")


def test_bad_address_rejected() -> None:
    with pytest.raises(ValueError):
        LedScreen("w0", "loop://", 0)


@given(address=st.integers(0, 255), command=st.integers(0, 255),
       payload=st.binary(max_size=300) | st.lists(st.sampled_from([2, 3, 0x1B, 0x22]),
                                                   max_size=40).map(bytes))
def test_frame_round_trip(address: int, command: int, payload: bytes) -> None:
    wire = encode_frame(address, command, payload)
    inner = wire[1:-1]
    assert 0x02 not in inner and 0x03 not in inner  # self-delimiting
    frames, rest = decode_frames(wire)
    assert frames == [Frame(address, command, payload)] and rest == b""


@given(payloads=st.lists(st.binary(max_size=50), min_size=1, max_size=5),
       noise=st.binary(max_size=20).filter(lambda b: 0x02 not in b), cut=st.integers(0, 200))
def test_decode_stream_with_noise_and_partial_tail(payloads: list[bytes], noise: bytes,
                                                    cut: int) -> None:
    wires = [encode_frame(3, 0x10, p) for p in payloads]
    stream = noise + b"".join(wires)
    cut = min(cut, len(stream))
    first, rest = decode_frames(stream[:cut])
    second, rest2 = decode_frames(rest + stream[cut:])
    assert [f.payload for f in first + second] == payloads
    assert rest2 == b""


def test_corrupted_frame_is_dropped_and_next_one_survives() -> None:
    good = encode_frame(3, 0x10, b"\x00abc")
    bad = bytearray(encode_frame(3, 0x10, b"\x00xyz"))
    bad[6] ^= 0x01  # flip a payload bit: checksum mismatch
    truncated = encode_frame(4, 0x10, b"\x00lost")[:5]
    frames, rest = decode_frames(bytes(bad) + truncated + good)
    assert frames == [Frame(3, 0x10, b"\x00abc")] and rest == b""
