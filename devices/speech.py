"""Offline speech for calls: pyttsx3 on espeak-ng, rendered to cached WAV files.

Why the shape (stack-notes.md records each trap as seen on this machine):

* pyttsx3 keeps ONE cached engine per process and can hang for good (e.g. `runAndWait`
  from two threads). So the engine lives in a separate worker process
  (`python -m devices.speech --worker`) that the renderer kills and restarts when a
  render exceeds its timeout; the server process never touches pyttsx3 itself.
* One `save_to_file` per `runAndWait` (a second queued one is silently lost), and the file
  is complete only after the `finished-utterance` event, so the worker waits for it.
* A wrong voice name raises nothing in pyttsx3; the worker checks it against the engine's
  voice list and answers an error instead of silently speaking English.
* espeak-ng applies the rate and volume on a thread of its own, later, in its command queue,
  while pyttsx3's engine sets the voice at once and its own start-up rate (200) is still
  queued. A loaded CI machine once rendered a hall's first phrase at 200 instead of 150 (the
  WAV 1.34 s short, exactly rate 200's length). So the worker's voice, rate and volume are
  fixed for its life (its command line); before every phrase it reads the rate in effect
  back from espeak and sets it again until espeak's thread has applied it (`_Espeak.ensure`;
  `espeak_Synchronize` alone was not enough), so a phrase is never said at a rate nobody
  asked for.
* The speech is synthesised once and the announcement (chime + gap + speech + gap +
  speech …) is assembled with the `wave` module, so repetition costs no extra synthesis
  and the chime needs no second engine call.

One worker, one asyncio lock: renders never overlap and are served in the order asked.
Files are named by a hash of everything that changes the sound (text, voice, rate,
volume, repeat, chime), so a recall or the next day's A001 comes straight from the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import sys
import threading
import time
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devices.chime import chime_pcm, samples_to_bytes, silence_samples

DEFAULT_VOICE = "sit/cmn-Latn-pinyin"
# pyttsx3's espeak driver now and then writes an empty WAV (header only) for a phrase it
# renders fine when asked again: measured here, 1 render in 15-200. Asked again at once, in
# the same worker, it comes out whole; a phrase empty three times running is an error.
EMPTY_RETRIES = 2
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class SpeechError(RuntimeError):
    """A phrase could not be rendered (even after restarting the worker)."""


class SpeechRenderer:
    """Renders call announcements to WAV files in `cache_dir` without blocking the loop."""

    name = "speech"

    def __init__(self, cache_dir: Path | str, voice: str = DEFAULT_VOICE, rate: int = 150,
                 volume: float = 1.0, chime: bool = True, *, timeout: float = 20.0,
                 gap_seconds: float = 0.5) -> None:
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.voice = voice
        self.rate = rate
        self.volume = volume
        self.chime = chime
        self.timeout = timeout
        self.gap_seconds = gap_seconds
        self._lock = asyncio.Lock()
        self._proc: asyncio.subprocess.Process | None = None
        self._health = "ok"
        self.renders = 0  # announcements actually synthesised (cache misses)
        self.restarts = 0

    def health(self) -> str:
        return self._health

    @property
    def worker_pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    def cache_path(self, text: str, repeat: int = 2) -> Path:
        key = json.dumps([text, self.voice, self.rate, self.volume, repeat, self.chime],
                         ensure_ascii=False)
        return self.cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".wav")

    async def render(self, text: str, repeat: int = 2) -> Path:
        """Chime + `text` × `repeat` as ONE WAV; from the cache when rendered before."""
        if repeat < 1:
            raise ValueError(f"repeat must be at least 1, got {repeat}")
        target = self.cache_path(text, repeat)
        if target.exists():
            return target
        async with self._lock:
            if target.exists():  # rendered by the request queued just before this one
                return target
            speech = target.with_name(f".{target.stem}.speech.wav")
            try:
                await self._synthesise(text, speech)
                await asyncio.to_thread(self._assemble, speech, target, repeat)
            finally:
                speech.unlink(missing_ok=True)
            self.renders += 1
            return target

    async def close(self) -> None:
        """Stop the worker process (it also exits by itself when its stdin closes)."""
        await self._kill()

    # -- worker management ----------------------------------------------------------------

    async def _start(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
        settings = json.dumps({"voice": self.voice, "rate": self.rate, "volume": self.volume},
                              ensure_ascii=False)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devices.speech", "--worker", settings,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, env=env, cwd=str(_PACKAGE_ROOT))
        return self._proc

    async def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)

    async def _ask(self, request: dict[str, object]) -> dict[str, object]:
        proc = await self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
        await proc.stdin.drain()
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), self.timeout)
        except asyncio.CancelledError:
            # The answer would arrive later and be taken for the next request's: drop the
            # worker so the next request starts clean.
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            self._proc = None
            raise
        if not line:
            raise ConnectionError("speech worker exited")
        return json.loads(line)

    async def _synthesise(self, text: str, path: Path) -> None:
        request = {"text": text, "path": str(path)}
        last_error = ""
        for attempt in range(2):
            try:
                answer = await self._ask(request)
            except (TimeoutError, ConnectionError, BrokenPipeError, ConnectionResetError,
                    json.JSONDecodeError) as exc:
                # Hung or dead engine: the only cure is a fresh process (stack-notes.md).
                last_error = f"worker {'timed out' if isinstance(exc, TimeoutError) else exc}"
                await self._kill()
                if attempt == 0:
                    self.restarts += 1
                continue
            if answer.get("ok"):
                self._health = "ok"
                return
            last_error = str(answer.get("error", "unknown error"))
            break
        self._health = f"speech failed: {last_error}"
        raise SpeechError(last_error)

    def _assemble(self, speech: Path, target: Path, repeat: int) -> None:
        """Blocking: chime, gap, (speech, gap) × repeat, written atomically."""
        with wave.open(str(speech), "rb") as src:
            if src.getnchannels() != 1 or src.getsampwidth() != 2:
                raise SpeechError("engine produced a WAV that is not mono 16-bit")
            rate = src.getframerate()
            spoken = src.readframes(src.getnframes())
        gap = samples_to_bytes(silence_samples(self.gap_seconds, rate))
        parts: list[bytes] = []
        if self.chime:
            parts += [chime_pcm(rate), samples_to_bytes(silence_samples(0.3, rate))]
        for i in range(repeat):
            parts.append(spoken)
            if i < repeat - 1:
                parts.append(gap)
        tmp = target.with_name(f".{target.stem}.tmp.wav")
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(b"".join(parts))
        os.replace(tmp, target)


def wav_seconds(path: Path | str) -> float:
    """How long a WAV plays (header only: cheap)."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


class LocalPlayer:
    """Plays a WAV on the server's own sound device with `aplay` (config: local_playback).

    Calls are queued one at a time by the caller's voice scheduler; `play` waits for the
    sound to end so the next call never overlaps it.
    """

    name = "local-playback"

    def __init__(self, command: Sequence[str] = ("aplay", "-q")) -> None:
        self.command = tuple(command)

    def available(self) -> bool:
        return shutil.which(self.command[0]) is not None

    def health(self) -> str:
        return "ok" if self.available() else f"{self.command[0]} not installed"

    def command_for(self, path: Path | str) -> list[str]:
        return [*self.command, str(path)]

    async def play(self, path: Path | str) -> bool:
        """True when the player ran to the end without error."""
        if not self.available():
            return False
        proc = await asyncio.create_subprocess_exec(
            *self.command_for(path), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        return await proc.wait() == 0


# -- the worker process ------------------------------------------------------------------------

class _Espeak:
    """The calls of espeak-ng's C API that the worker makes itself: setting a parameter,
    reading the value in effect, and waiting for espeak's command queue. The library is the
    one pyttsx3 loaded (same soname, same handle)."""

    RATE, VOLUME = 1, 2

    def __init__(self) -> None:
        lib = ctypes.CDLL("libespeak-ng.so.1")
        self._synchronize = lib.espeak_Synchronize
        self._synchronize.restype = ctypes.c_int
        self._get = lib.espeak_GetParameter
        self._get.argtypes = (ctypes.c_int, ctypes.c_int)
        self._get.restype = ctypes.c_int
        self._set = lib.espeak_SetParameter
        self._set.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
        self._set.restype = ctypes.c_int

    def settle(self) -> None:
        """Return once espeak's own thread is idle (the last phrase's callbacks over)."""
        self._synchronize()

    def current(self, parameter: int) -> int:
        return int(self._get(parameter, 1))

    def ensure(self, rate: int, volume: float, within: float = 5.0) -> bool:
        """The rate and volume in effect before a phrase, set again until espeak's thread has
        applied them. Waiting for the queue alone was not enough: on a loaded CI machine the
        rate still read 200 (pyttsx3's start-up value) after `espeak_Synchronize`, which
        only waits while a command runs, not while one is still queued."""
        deadline = time.monotonic() + within
        while True:
            self.settle()
            if self.current(self.RATE) == rate:
                return True
            if time.monotonic() > deadline:
                return False
            self._set(self.RATE, rate, 0)
            self._set(self.VOLUME, int(round(volume * 100)), 0)
            time.sleep(0.02)


def _worker_main(settings: dict[str, Any]) -> None:
    """Serve JSON-line render requests on stdin; answer on the original stdout.

    The espeak driver prints "Audio saved to …" on stdout, so the protocol channel is a
    duplicate of fd 1 and fd 1 itself is pointed at /dev/null.
    """
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)

    import pyttsx3

    engine = pyttsx3.init("espeak")  # strong reference for the life of the worker
    espeak = _Espeak()
    finished = threading.Event()
    errors: list[str] = []
    engine.connect("finished-utterance", lambda name, completed: finished.set())
    engine.connect("error", lambda name, exception: errors.append(repr(exception)))
    rate, volume = int(settings["rate"]), float(settings["volume"])
    voices = {v.id.lower(): v.id for v in engine.getProperty("voices")}
    voice = voices.get(str(settings["voice"]).lower())
    refusal = f"unknown voice {settings['voice']!r}" if voice is None else ""
    if voice is not None:
        espeak.settle()  # the driver's start-up rate and volume, applied before ours
        engine.setProperty("voice", voice)
        engine.runAndWait()  # nothing to say yet: runs the setting
        espeak.ensure(rate, volume)

    for raw in sys.stdin:
        try:
            if refusal:
                raise ValueError(refusal)
            req = json.loads(raw)
            path = Path(req["path"])
            path.unlink(missing_ok=True)
            for attempt in range(EMPTY_RETRIES + 1):
                if not espeak.ensure(rate, volume):  # and the last phrase's callbacks over
                    raise RuntimeError(f"espeak rate is {espeak.current(_Espeak.RATE)}, "
                                       f"not {rate}")
                finished.clear()
                errors.clear()
                engine.save_to_file(str(req["text"]), str(path))
                engine.runAndWait()
                if not finished.wait(30):
                    raise TimeoutError("no finished-utterance event")
                if errors:
                    raise RuntimeError(errors[0])
                if path.exists() and path.stat().st_size > 44:
                    break
                if attempt == EMPTY_RETRIES:
                    raise RuntimeError("engine wrote no audio")
            answer: dict[str, object] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        proto.write(json.dumps(answer) + "\n")


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"] and len(sys.argv) == 3:
    _worker_main(json.loads(sys.argv[2]))
