"""The hall's voice: one announcement queue, rendered offline, served as WAV at `/audio/…`.

Why it is shaped this way:

* `audio_for_call` runs INSIDE the write transaction (in the store's writer thread), so it
  only computes a name: the renderer names its cache files by a hash of everything that
  changes the sound (text, voice, rate, volume, repeat, chime), so the URL is known before
  the WAV exists and no I/O happens while the database is locked.
* Rendering starts after commit, from the bus listener, which must never block: it only
  queues. One task renders the queue in order, one at a time (the renderer owns a single
  pyttsx3 worker process; two renders at once would hang it, stack-notes.md).
* A recall re-queues the same text; if that text is still waiting in the queue, the older
  entry is stale and dropped, so one impatient clerk pressing 重呼 three times does not make
  the hall hear the same number three times after everyone else (domain.md: "stale
  duplicates are dropped"). The newer entry keeps its place at the end, in call order.
* Playing on the server's own sound device (`[voice] local_playback`) is a second queue
  with its own task: a 5-second announcement playing must not delay the render of the next
  call that the hall screens' browsers are already asking for.
* `GET /audio/{name}.wav` waits (up to `WAIT_SECONDS`) for a render that is queued or
  running, because a hall screen receives the call event a few milliseconds after commit,
  typically before the WAV is written. Names are checked against the hash form before any
  path is built: no path traversal, no probing of the file system.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from devices.speech import LocalPlayer, SpeechRenderer
from devices.tasks import cancel_and_wait
from displays.phrase import call_phrase
from hall import errors
from hall.config import HallConfig
from hall.store import Event

log = logging.getLogger(__name__)

NAME = re.compile(r"^[0-9a-f]{32}$")
WAIT_SECONDS = 10.0
# A name → phrase memory, so a WAV asked for after the cache was pruned can be re-rendered.
KNOWN_LIMIT = 2000
# Cached announcements older than this are removed at start: the cache is keyed by phrase
# (queue × number × window), which grows to gigabytes over months, and a re-render is ~10 ms.
KEEP_DAYS = 2.0


class VoiceScheduler:
    """Turns `ticket.called` events into announcement WAVs (and optional local playback)."""

    def __init__(self, config: HallConfig, renderer: SpeechRenderer,
                 player: LocalPlayer | None = None) -> None:
        self.config = config
        self.renderer = renderer
        if player is None and config.voice.local_playback:
            player = LocalPlayer()
        self.player = player
        self._render_queue: OrderedDict[str, str] = OrderedDict()  # name → text, call order
        self._play_queue: OrderedDict[str, Path] = OrderedDict()
        self._done: dict[str, asyncio.Event] = {}  # queued or rendering → set when finished
        self._known: OrderedDict[str, str] = OrderedDict()
        self._render_wake = asyncio.Event()
        self._play_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self.dropped = 0  # stale duplicates removed from the queue
        self.failures = 0

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

    def name_for(self, number: str, window: int) -> str:
        """The cache name of a call's announcement: pure computation, safe in any thread."""
        text = self.phrase(number, window)
        return self.renderer.cache_path(text, self.config.voice.repeat).stem

    def audio_for_call(self, number: str, window: int) -> str:
        """`service.audio_for_call`: the URL the `ticket.called` event carries."""
        return f"/audio/{self.name_for(number, window)}.wav"

    def on_event(self, event: Event) -> None:
        """Bus listener (synchronous, in order): queue the announcement of every call."""
        if not self._running or event.type != "ticket.called":
            return
        number, window = event.data.get("number"), event.data.get("window")
        if not isinstance(number, str) or not isinstance(window, int):
            return
        if not self.config.has_window(window):
            return
        text = self.phrase(number, window)
        self.enqueue(self.renderer.cache_path(text, self.config.voice.repeat).stem, text)

    def enqueue(self, name: str, text: str) -> None:
        if name in self._render_queue:
            del self._render_queue[name]
            self.dropped += 1
        self._render_queue[name] = text
        self._done.setdefault(name, asyncio.Event())
        self._known[name] = text
        self._known.move_to_end(name)
        while len(self._known) > KNOWN_LIMIT:
            self._known.popitem(last=False)
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

    async def wav(self, name: str, wait: float = WAIT_SECONDS) -> Path | None:
        """The WAV of `name`, waiting for a queued or running render; None if there is none."""
        if not NAME.fullmatch(name):
            return None
        path = self.renderer.cache_dir / f"{name}.wav"
        if path.is_file():
            return path
        if name not in self._done and name in self._known and self._running:
            self.enqueue(name, self._known[name])  # pruned or failed before: render again
        done = self._done.get(name)
        if done is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), wait)
        return path if path.is_file() else None

    # -- the two queues --------------------------------------------------------------------

    async def _render_loop(self) -> None:
        while True:
            if not self._render_queue:
                self._render_wake.clear()
                await self._render_wake.wait()
                continue
            name, text = self._render_queue.popitem(last=False)
            try:
                path = await self.renderer.render(text, self.config.voice.repeat)
            except Exception as exc:  # noqa: BLE001 - one bad phrase must not silence the hall
                self.failures += 1
                log.warning("voice: could not render %r: %s", text, exc)
                path = None
            if name not in self._render_queue:  # re-queued meanwhile: its waiters stay
                event = self._done.pop(name, None)
                if event is not None:
                    event.set()
            if path is not None and self.player is not None:
                self._play_queue.pop(name, None)
                self._play_queue[name] = path
                self._play_wake.set()

    async def _play_loop(self) -> None:
        assert self.player is not None
        while True:
            if not self._play_queue:
                self._play_wake.clear()
                await self._play_wake.wait()
                continue
            _, path = self._play_queue.popitem(last=False)
            try:
                if not await self.player.play(path):
                    log.warning("voice: local playback of %s failed", path.name)
            except Exception as exc:  # noqa: BLE001 - a missing sound card must not stop calls
                log.warning("voice: local playback error: %s", exc)


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
    """GET /audio/{name}.wav — the announcement for a call, as the event's `audio` URL says."""
    name = request.path_params["name"]
    scheduler: VoiceScheduler | None = getattr(request.app.state, "voice", None)
    path = await scheduler.wav(name) if scheduler is not None else None
    if path is None:
        raise errors.not_found("没有这段叫号语音", "unknown_audio")
    # the name is a hash of the content: the same name is always the same sound
    return FileResponse(path, media_type="audio/wav",
                        headers={"Cache-Control": "public, max-age=86400"})


def routes() -> list[BaseRoute]:
    return [Route("/audio/{name}.wav", audio, methods=["GET"], name="audio")]
