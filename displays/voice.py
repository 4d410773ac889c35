"""The hall's voice: one announcement timeline, rendered offline, served as WAV at `/audio/…`.

Why it is shaped this way:

* Every call gets its own audio URL, `/audio/<call id>.wav`, a random id drawn by
  `audio_for_call` INSIDE the write transaction (no I/O, nothing shared is touched there).
  What that URL answers is decided later, once, in call order, by `displays.voice_plan`:
  the announcement (said `repeat` times, or once when calls back up), or 204 No Content
  when the call merged into a waiting repeat of itself or went stale. So every speaker (each
  speaking screen's browser, the server's own player) plays its queue of URLs in event order
  and obeys the same plan without knowing the rules; a page cannot get them wrong.
* Rendering and planning start after commit, from the bus listener, which must never block:
  it only queues. One task plans and renders the queue in order, one at a time (the renderer
  owns a single pyttsx3 worker process; two renders at once would hang it, stack-notes.md).
  The WAV files themselves are cached by a hash of what changes the sound (phrase, voice,
  rate, volume, readings, chime), so a recall or tomorrow's A001 costs no synthesis.
* The chime is in the WAV (devices/speech.py), the only place it is made: the page plays
  nothing of its own, and `[voice] chime = false` silences it everywhere.
* A speaker that asks for an announcement later than `stale_seconds` (+ a grace for its own
  lag) after the call (a screen replaying calls after a reconnection, say) gets 204 too.
* Playing on the server's own sound device (`[voice] local_playback`) is a second queue
  with its own task: a 5-second announcement playing must not delay the render of the next
  call that the hall screens' browsers are already asking for.
* `GET /audio/{id}.wav` waits (up to `WAIT_SECONDS`) for a call that is not planned yet,
  because a screen receives the call event a few milliseconds after commit, typically
  before the WAV is written. Ids are checked against their form before anything else: no
  path is ever built from a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from devices.speech import LocalPlayer, SpeechRenderer, wav_seconds
from devices.tasks import cancel_and_wait
from displays.phrase import call_phrase
from displays.voice_plan import Decision, Timeline
from hall import errors
from hall.config import HallConfig
from hall.store import Event

log = logging.getLogger(__name__)

NAME = re.compile(r"^[0-9a-f]{32}$")
AUDIO_URL = re.compile(r"^/audio/([0-9a-f]{32})\.wav$")
WAIT_SECONDS = 10.0
# A speaker may lag the plan (fetching, decoding, starting each WAV): this much later than
# `stale_seconds` after its call, an announcement is still given to it.
LATE_GRACE_SECONDS = 5.0
# Planned calls remembered for `GET /audio/…` (a busy hall makes ~1,000 calls a day).
KNOWN_LIMIT = 2000
# Cached announcements older than this are removed at start: the cache is keyed by phrase
# (queue × number × window), which grows to gigabytes over months, and a re-render is ~10 ms.
KEEP_DAYS = 2.0


@dataclass
class Announcement:
    """One call's entry: its phrase, when it was made, and (once planned) what it gets."""

    text: str
    arrived: float
    decision: Decision | None = None
    path: Path | None = None  # the WAV when the decision plays and the render succeeded


class VoiceScheduler:
    """Turns `ticket.called` events into a planned timeline of WAVs (and local playback)."""

    def __init__(self, config: HallConfig, renderer: SpeechRenderer,
                 player: LocalPlayer | None = None) -> None:
        self._config = config
        # the hall as it runs (app.py: the service's): a temporary window's calls are spoken
        self.current_config: Callable[[], HallConfig] = lambda: self._config
        self.renderer = renderer
        if player is None and config.voice.local_playback:
            player = LocalPlayer()
        self.player = player
        self.timeline = Timeline(config.voice.repeat, config.voice.stale_seconds)
        self._calls: OrderedDict[str, Announcement] = OrderedDict()  # call id → entry
        self._render_queue: OrderedDict[str, Announcement] = OrderedDict()  # not planned yet
        self._play_queue: OrderedDict[str, Announcement] = OrderedDict()
        self._done: dict[str, asyncio.Event] = {}  # queued → set when planned
        self._render_wake = asyncio.Event()
        self._play_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self.dropped = 0  # calls merged into a waiting repeat, or stale
        self.failures = 0

    @property
    def config(self) -> HallConfig:
        return self.current_config()

    @classmethod
    def for_hall(cls, config: HallConfig, cache_dir: Path) -> VoiceScheduler:
        """The scheduler with a renderer set from `[voice]`."""
        v = config.voice
        renderer = SpeechRenderer(cache_dir, voice=v.voice, rate=v.rate, volume=v.volume,
                                  chime=v.chime)
        return cls(config, renderer)

    # -- what the service and the bus call ------------------------------------------------

    def phrase(self, number: str, window: int) -> str:
        w = self.config.window(window)
        return call_phrase(number, w.number, w.name, w.kind, self.config.voice.template)

    def audio_for_call(self, number: str, window: int) -> str:
        """`service.audio_for_call`: the URL the `ticket.called` event carries (pure, any
        thread: a fresh id, planned when the committed event reaches `on_event`)."""
        return f"/audio/{secrets.token_hex(16)}.wav"

    def on_event(self, event: Event) -> None:
        """Bus listener (synchronous, in order): queue the announcement of every call."""
        if not self._running or event.type != "ticket.called":
            return
        number, window = event.data.get("number"), event.data.get("window")
        match = AUDIO_URL.fullmatch(str(event.data.get("audio") or ""))
        if not isinstance(number, str) or not isinstance(window, int) or match is None:
            return
        if not self.config.has_window(window):
            return
        self.enqueue(match.group(1), self.phrase(number, window), _event_time(event))

    def enqueue(self, call_id: str, text: str, arrived: float) -> None:
        entry = Announcement(text, arrived)
        self._calls[call_id] = entry
        self._render_queue[call_id] = entry
        self._done.setdefault(call_id, asyncio.Event())
        while len(self._calls) > KNOWN_LIMIT:
            old, _ = self._calls.popitem(last=False)
            self._render_queue.pop(old, None)
            done = self._done.pop(old, None)
            if done is not None:
                done.set()
        self._render_wake.set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the render (and playback) tasks; prune old cached announcements first."""
        await asyncio.to_thread(prune_cache, self.renderer.cache_dir, KEEP_DAYS)
        self._running = True
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._render_loop(), name="voice-render"))
        if self.player is not None:
            self._tasks.append(loop.create_task(self._play_loop(), name="voice-play"))

    async def stop(self) -> None:
        self._running = False
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        for event in self._done.values():
            event.set()
        await self.renderer.close()

    def health(self) -> list[dict[str, Any]]:
        """The voice as a row of the manager's devices page (speech can break too)."""
        rows = [{"name": "voice", "kind": "voice", "url": None, "window": None,
                 "kiosk": None, "health": self.renderer.health()}]
        if self.player is not None:
            rows.append({"name": "voice-playback", "kind": "voice", "url": None,
                         "window": None, "kiosk": None, "health": self.player.health()})
        return rows

    # -- serving WAVs ----------------------------------------------------------------------

    def too_late(self, entry: Announcement, now: float | None = None) -> bool:
        limit = entry.arrived + self.config.voice.stale_seconds + LATE_GRACE_SECONDS
        return (time.time() if now is None else now) > limit

    async def wav(self, call_id: str,
                  wait: float = WAIT_SECONDS) -> Path | Literal[False] | None:
        """The WAV to play for a call; False when the plan says nothing is to be played for
        it (merged, stale, or asked too late); None when there is no such call."""
        if not NAME.fullmatch(call_id):
            return None
        entry = self._calls.get(call_id)
        if entry is None:
            return None
        done = self._done.get(call_id)
        if entry.decision is None and done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), wait)
        decision = entry.decision
        if decision is None:
            return None
        if not decision.plays or self.too_late(entry):
            return False
        if entry.path is None:
            return None  # the render failed: logged, counted in `failures`
        if not entry.path.is_file():  # pruned meanwhile: the cache renders it again
            entry.path = await self.renderer.render(entry.text, decision.repeat)
        return entry.path

    # -- the two queues --------------------------------------------------------------------

    async def _render_loop(self) -> None:
        while True:
            if not self._render_queue:
                self._render_wake.clear()
                await self._render_wake.wait()
                continue
            call_id, entry = self._render_queue.popitem(last=False)
            decision = self.timeline.decide(entry.text, entry.arrived)
            if decision.plays:
                try:
                    entry.path = await self.renderer.render(entry.text, decision.repeat)
                    seconds = await asyncio.to_thread(wav_seconds, entry.path)
                except Exception as exc:  # noqa: BLE001 - one bad phrase must not silence the hall
                    self.failures += 1
                    log.warning("voice: could not render %r: %s", entry.text, exc)
                    entry.path = None
                else:
                    self.timeline.book(entry.text, decision, seconds)
            else:
                self.dropped += 1
            entry.decision = decision
            done = self._done.pop(call_id, None)
            if done is not None:
                done.set()
            if entry.path is not None and self.player is not None:
                self._play_queue[call_id] = entry
                self._play_wake.set()

    async def _play_loop(self) -> None:
        assert self.player is not None
        while True:
            if not self._play_queue:
                self._play_wake.clear()
                await self._play_wake.wait()
                continue
            _, entry = self._play_queue.popitem(last=False)
            if entry.path is None or self.too_late(entry):
                continue
            try:
                if not await self.player.play(entry.path):
                    log.warning("voice: local playback of %s failed", entry.path.name)
            except Exception as exc:  # noqa: BLE001 - a missing sound card must not stop calls
                log.warning("voice: local playback error: %s", exc)


def _event_time(event: Event) -> float:
    """The call's wall-clock time, as every speaker sees it in the event."""
    try:
        return datetime.fromisoformat(event.time).timestamp()
    except (TypeError, ValueError):
        return time.time()


def prune_cache(cache_dir: Path, keep_days: float) -> int:
    """Remove announcements older than `keep_days` and temp files a crash left behind."""
    limit = time.time() - keep_days * 86400
    removed = 0
    for path in cache_dir.glob("*.wav"):
        with contextlib.suppress(OSError):
            if path.name.startswith(".") or path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
    for path in cache_dir.glob(".*.wav"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    return removed


async def audio(request: Request) -> Response:
    """GET /audio/{id}.wav — a call's announcement as planned: the WAV, or 204 for none."""
    name = request.path_params["name"]
    scheduler: VoiceScheduler | None = getattr(request.app.state, "voice", None)
    path = await scheduler.wav(name) if scheduler is not None else None
    if path is None:
        raise errors.not_found("没有这段叫号语音", "unknown_audio")
    if path is False:  # planned silent: merged into a waiting repeat, stale, or too late
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    # a call's announcement, once planned, never changes
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "private, max-age=86400"})


def routes() -> list[BaseRoute]:
    return [Route("/audio/{name}.wav", audio, methods=["GET"], name="audio")]
