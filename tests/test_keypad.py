"""Caller pads and evaluators against simulated pads on a real pty pair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.keypad import (
    Debouncer,
    DuplicateFilter,
    Key,
    KeypadBus,
    KeyPress,
    display_payload,
    encode_key,
    parse_key,
)
from devices.transport import decode_frames
from tests.devsim import PadBusSim, until


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self) -> None:
        self.sim = PadBusSim(addresses=(1, 2))
        self.clock = FakeClock()
        self.presses: list[KeyPress] = []
        self.bus = KeypadBus("pads", self.sim.path, clock=self.clock,
                             ack_timeouts=(0.1, 0.1, 0.1))

    async def on_key(self, press: KeyPress) -> None:
        self.presses.append(press)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = Rig()
    r.bus.start(r.on_key)
    yield r
    await r.bus.stop()
    r.sim.close()


async def test_two_fast_calls_make_one_and_both_are_acked(rig: Rig) -> None:
    s1 = rig.sim.press(1, "call")
    s2 = rig.sim.press(1, "call")
    assert await until(lambda: rig.sim.pads[1].acks == [s1, s2])
    await asyncio.sleep(0.1)
    assert rig.presses == [KeyPress(1, Key.CALL, "")]


async def test_calls_two_seconds_apart_make_two(rig: Rig) -> None:
    rig.sim.press(1, "call")
    assert await until(lambda: len(rig.presses) == 1)
    rig.clock.now += 2.0
    rig.sim.press(1, "call")
    assert await until(lambda: len(rig.presses) == 2)


async def test_same_key_on_another_pad_is_not_debounced(rig: Rig) -> None:
    rig.sim.press(1, "call")
    rig.sim.press(2, "call")
    assert await until(lambda: {p.address for p in rig.presses} == {1, 2})


async def test_retransmitted_frame_is_delivered_once_and_acked_each_time(rig: Rig) -> None:
    seq = rig.sim.press(2, "finish", repeat_frame=2)
    assert await until(lambda: rig.sim.pads[2].acks == [seq, seq])
    # the pad retries late, past the debounce window: only the seq can tell it is the same
    rig.clock.now += 2.0
    rig.sim.resend(2)
    assert await until(lambda: rig.sim.pads[2].acks == [seq, seq, seq])
    await asyncio.sleep(0.1)
    assert rig.presses == [KeyPress(2, Key.FINISH, "")]
    # a new press (next seq) of the same key, after the window, does count
    rig.sim.press(2, "finish")
    assert await until(lambda: len(rig.presses) == 2)


async def test_transfer_carries_target_window_and_evaluator_level(rig: Rig) -> None:
    rig.sim.press(1, "transfer", digits="12")
    rig.sim.press(2, "rate5")
    assert await until(lambda: len(rig.presses) == 2)
    by_pad = {p.address: p for p in rig.presses}
    assert by_pad[1] == KeyPress(1, Key.TRANSFER, "12")
    assert by_pad[2].key.level == 5


async def test_display_and_error_reach_the_pad(rig: Rig) -> None:
    assert await rig.bus.show(1, "A001", 1500) is True
    assert rig.sim.pads[1].display == ("001", 999)
    assert await rig.bus.show(2, "C123", 7) is True
    assert rig.sim.pads[2].display == ("123", 7)
    assert await rig.bus.show_error(1, "E01") is True
    assert rig.sim.pads[1].error == "E01"
    assert rig.bus.health() == "ok"


async def test_pad_that_does_not_ack_a_display_is_reported(rig: Rig) -> None:
    rig.sim.mute = True
    assert await rig.bus.show(1, "A002", 3) is False
    assert rig.bus.health() == "pad 1: no answer"
    rig.sim.mute = False
    assert await rig.bus.show(1, "A002", 3) is True
    assert rig.bus.health() == "ok"


def test_debouncer_with_injected_clock() -> None:
    clock = FakeClock()
    d = Debouncer(1.5, clock)
    call = KeyPress(1, Key.CALL)
    assert d.accept(call)
    clock.now += 1.0
    assert not d.accept(call)
    assert d.accept(KeyPress(1, Key.RECALL))
    clock.now += 0.6  # 1.6 s after the accepted press
    assert d.accept(call)


@given(gaps=st.lists(st.floats(0, 3, allow_nan=False), max_size=30))
def test_debounced_presses_are_at_least_a_window_apart(gaps: list[float]) -> None:
    clock = FakeClock()
    d = Debouncer(1.5, clock)
    accepted: list[float] = []
    for gap in gaps:
        clock.now += gap
        if d.accept(KeyPress(3, Key.CALL)):
            accepted.append(clock.now)
    assert all(b - a >= 1.5 for a, b in zip(accepted, accepted[1:], strict=False))
    # and nothing is lost: every press 1.5 s after the last accepted one is accepted
    t, last = 1000.0, None
    expected = 0
    for gap in gaps:
        t += gap
        if last is None or t - last >= 1.5:
            expected, last = expected + 1, t
    assert len(accepted) == expected


def test_duplicate_filter_expires() -> None:
    clock = FakeClock()
    f = DuplicateFilter(5.0, clock)
    assert not f.is_duplicate(1, 7)
    assert f.is_duplicate(1, 7)
    assert not f.is_duplicate(2, 7)
    clock.now += 6
    assert not f.is_duplicate(1, 7)  # a rebooted pad restarting at the same seq is heard


@given(seq=st.integers(0, 255), address=st.integers(1, 254),
       key=st.sampled_from(list(Key)), digits=st.text(alphabet="0123456789", max_size=4))
def test_key_frame_round_trip(seq: int, address: int, key: Key, digits: str) -> None:
    if key == Key.LOGIN:  # staff number * PIN
        digits = f"{digits}1*{digits}2"
    frames, rest = decode_frames(encode_key(address, seq, key, digits))
    parsed = parse_key(frames[0])
    assert parsed is not None and rest == b""
    assert (parsed.seq, parsed.press) == (seq, KeyPress(address, key, digits))


def test_login_frame_needs_a_staff_number_and_a_pin() -> None:
    for digits in ("1234", "*1234", "1023*", "10*23*45", "1a*1234"):
        frames, _ = decode_frames(encode_key(1, 1, Key.LOGIN, digits))
        assert parse_key(frames[0]) is None, digits
    frames, _ = decode_frames(encode_key(1, 1, Key.LOGIN, "1023*4711"))
    parsed = parse_key(frames[0])
    assert parsed is not None and parsed.press.digits == "1023*4711"
    assert "4711" not in repr(parsed)  # the PIN never reaches a log line


def test_display_payload_caps_and_pads() -> None:
    assert display_payload("A001", 1500) == b"001999"
    assert display_payload("B12", -3) == b"012000"
    assert display_payload("C1234", 42) == b"234042"
