"""Speech: real WAVs rendered by espeak-ng through pyttsx3 in the worker process, measured.

The sound card is the one thing not available here, so `LocalPlayer` is tested only by the
command it would run; everything up to the WAV file is real.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import struct
import time
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devices.chime import SAMPLE_RATE, chime_pcm, chime_samples, write_wav
from devices.speech import LocalPlayer, SpeechError, SpeechRenderer
from displays.phrase import call_phrase

A001 = call_phrase("A001", 3, "3号窗口", "comprehensive")


def measure(path: Path) -> tuple[int, int, int, float, float]:
    """(rate, channels, sample width, seconds, RMS of the samples in 0..1)."""
    with wave.open(str(path), "rb") as w:
        frames = w.readframes(w.getnframes())
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return rate, channels, width, len(samples) / rate, rms


@pytest.fixture
async def renderer(tmp_path: Path) -> AsyncIterator[SpeechRenderer]:
    r = SpeechRenderer(tmp_path / "voice", timeout=10)
    yield r
    await r.close()


async def test_call_is_a_real_audible_wav(renderer: SpeechRenderer) -> None:
    path = await renderer.render(A001, repeat=2)
    assert path.read_bytes()[:4] == b"RIFF" and path.read_bytes()[8:12] == b"WAVE"
    rate, channels, width, seconds, rms = measure(path)
    assert (rate, channels, width) == (22050, 1, 2)
    assert 2.0 < seconds < 15.0
    assert rms > 0.02
    # twice the phrase is clearly longer than once (the repeat is really in the file)
    once = await renderer.render(A001, repeat=1)
    assert measure(path)[3] > 1.7 * (measure(once)[3] - 1.5)


async def test_same_phrase_comes_from_cache(renderer: SpeechRenderer) -> None:
    first = await renderer.render(A001)
    mtime = first.stat().st_mtime_ns
    started = time.perf_counter()
    second = await renderer.render(A001)
    assert time.perf_counter() - started < 0.05
    assert second == first and second.stat().st_mtime_ns == mtime
    assert renderer.renders == 1
    # a different rate is a different sound, so a different file
    other = SpeechRenderer(renderer.cache_dir, rate=120)
    try:
        assert await other.render(A001) != first
    finally:
        await other.close()


async def test_concurrent_calls_are_rendered_one_after_another_in_order(
        renderer: SpeechRenderer) -> None:
    texts = [call_phrase(f"B00{i}", i, f"{i}号窗口", "comprehensive") for i in (2, 3, 4)]
    paths = await asyncio.gather(*(renderer.render(t) for t in texts))
    assert len(set(paths)) == 3 and renderer.renders == 3
    mtimes = [p.stat().st_mtime_ns for p in paths]
    assert mtimes == sorted(mtimes)


async def test_the_first_phrase_of_a_worker_is_said_at_the_hall_rate(tmp_path: Path) -> None:
    """The engine's own start-up rate (200) once won over the hall's 150 for a worker's first
    phrase on a loaded machine: the call sounded hurried and 1.3 s short."""
    seconds = {}
    for rate in (150, 200):
        r = SpeechRenderer(tmp_path / str(rate), rate=rate, timeout=10)
        try:
            first = measure(await r.render(A001, repeat=1))[3]
            r.cache_path(A001, 1).unlink()
            again = measure(await r.render(A001, repeat=1))[3]
        finally:
            await r.close()
        assert abs(first - again) < 0.05  # the first call sounds like every later one
        seconds[rate] = first
    assert 0.65 < seconds[200] / seconds[150] < 0.8


async def test_killed_worker_is_replaced(renderer: SpeechRenderer) -> None:
    await renderer.render(A001)
    pid = renderer.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    path = await renderer.render(call_phrase("A002", 3, "3号窗口", "comprehensive"))
    assert measure(path)[4] > 0.02
    assert renderer.worker_pid not in (None, pid)


async def test_hung_worker_is_killed_after_timeout_and_render_succeeds(tmp_path: Path) -> None:
    renderer = SpeechRenderer(tmp_path, timeout=1.0)
    try:
        await renderer.render("请A零零一号到三号窗口办理", repeat=1)
        pid = renderer.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # frozen engine: never answers
        started = time.monotonic()
        path = await renderer.render("请A零零二号到三号窗口办理", repeat=1)
        assert 1.0 <= time.monotonic() - started < 8
        assert renderer.restarts == 1 and renderer.health() == "ok"
        assert measure(path)[4] > 0.02
    finally:
        await renderer.close()


async def test_unknown_voice_is_an_error_not_silent_english(tmp_path: Path) -> None:
    renderer = SpeechRenderer(tmp_path, voice="no/such-voice", timeout=10)
    try:
        with pytest.raises(SpeechError, match="unknown voice"):
            await renderer.render("请A零零一号")
        assert renderer.health().startswith("speech failed")
    finally:
        await renderer.close()


async def test_event_loop_keeps_running_during_render(renderer: SpeechRenderer) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await renderer.render(call_phrase("C099", 4, "4号窗口", "comprehensive"))
    elapsed = time.monotonic() - started
    task.cancel()
    assert ticks >= int(elapsed / 0.01 * 0.5)


def test_chime_is_two_tones_of_the_right_format(tmp_path: Path) -> None:
    samples = chime_samples()
    assert 0.8 < len(samples) / SAMPLE_RATE < 2.0
    assert max(samples) > 10000 and max(abs(s) for s in samples) <= 32767
    path = write_wav(tmp_path / "chime.wav", chime_pcm())
    rate, channels, width, seconds, rms = measure(path)
    assert (rate, channels, width) == (22050, 1, 2) and rms > 0.05

    def zero_crossings(part: list[int]) -> float:
        return sum(1 for a, b in zip(part, part[1:], strict=False) if a < 0 <= b) / (
            len(part) / SAMPLE_RATE)

    half = int(0.45 * SAMPLE_RATE)
    ding, dong = zero_crossings(samples[:half]), zero_crossings(samples[half:])
    assert ding > dong * 1.15  # ding is the higher tone


def test_local_player_command() -> None:
    player = LocalPlayer()
    assert player.command_for(Path("/var/voice/a.wav")) == ["aplay", "-q", "/var/voice/a.wav"]
    assert player.health() == ("ok" if player.available() else "aplay not installed")


async def test_many_calls_in_a_row_each_get_their_whole_announcement(
        renderer: SpeechRenderer) -> None:
    # pyttsx3 now and then writes a header-only WAV (measured: 1 render in 15-200); a hall
    # renders hundreds of calls a day, and every one of them must be heard.
    texts = [call_phrase(f"A{i:03d}", i % 9 + 1, "", "comprehensive") for i in range(120)]
    for text in texts:
        assert measure(await renderer.render(text, repeat=1))[3] > 1.0
    assert renderer.renders == 120
