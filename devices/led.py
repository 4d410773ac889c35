"""LED window screens (窗口屏): the built-in RS-485 text protocol and an async driver.

Frame (layout and escaping in `devices.transport`):

    02 | addr | cmd | len_hi len_lo | payload | XOR(addr..payload) | 03
    (0x02, 0x03, 0x1B inside are sent as 0x1B, byte ^ 0x20)

Commands host → screen:

    0x05 PING        payload: empty                 (probe; the ACK tells if RAM is blank)
    0x10 SHOW_TEXT   payload: area (1 byte) + GB2312 text
    0x11 FLASH       payload: area, seconds (1 byte each)
    0x12 CLEAR       payload: area
    0x13 BRIGHTNESS  payload: level 0..15

Answers screen → host (only the addressed screen answers; nobody answers broadcast 0xFF):

    0x06 ACK  payload: acknowledged command [, flags]   flags bit0 (PING only): RAM is blank
    0x15 NAK  payload: refused command, error code

Text goes to RAM areas ("dynamic areas") only. There is deliberately no command that writes
the screen's flash: a busy window calls hundreds of numbers a day and flash endures only
~10^4-10^5 writes, so writing it per call wears screens out within months. The price is
that a screen forgets its text when it reboots; the driver keeps the desired state and
re-sends it whenever the screen reappears (after no answer, or a PING ACK saying RAM is
blank), which domain.md asks for anyway.

Vendor protocols plug in as another `Codec`; `BuiltinCodec` is the default.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from devices.tasks import cancel_and_wait
from devices.transport import (
    BROADCAST,
    Frame,
    Line,
    acquire_line,
    decode_frames,
    encode_frame,
    release_line,
)

CMD_PING = 0x05
CMD_ACK = 0x06
CMD_SHOW_TEXT = 0x10
CMD_FLASH = 0x11
CMD_CLEAR = 0x12
CMD_BRIGHTNESS = 0x13
CMD_NAK = 0x15

FLAG_RAM_BLANK = 0x01
MAIN_AREA = 0
CALL_FLASH_SECONDS = 10
PAUSED_TEXT = "暂停服务"
IDLE_TEXT = "热情为您服务"

__all__ = [
    "BuiltinCodec", "Codec", "LedScreen", "Reply", "decode_frames", "encode_frame",
    "encode_text",
]


def encode_text(text: str) -> bytes:
    """GB2312 bytes for a screen; characters outside GB2312 become '?' instead of failing.

    A rare character in a name or a service must never stop a call from being shown.
    """
    return text.encode("gb2312", errors="replace")


@dataclass(frozen=True)
class Reply:
    """A screen's answer to one command."""

    address: int
    command: int
    ok: bool
    ram_blank: bool = False
    error: int = 0


class Codec(abc.ABC):
    """Turns screen operations into bytes and bytes into replies; one per vendor protocol."""

    @abc.abstractmethod
    def show_text(self, address: int, area: int, text: str) -> bytes: ...

    @abc.abstractmethod
    def flash(self, address: int, area: int, seconds: int) -> bytes: ...

    @abc.abstractmethod
    def clear(self, address: int, area: int) -> bytes: ...

    @abc.abstractmethod
    def brightness(self, address: int, level: int) -> bytes: ...

    @abc.abstractmethod
    def probe(self, address: int) -> bytes: ...

    @abc.abstractmethod
    def command_of(self, request: bytes) -> int:
        """Which command code a request built by this codec carries (to match its ACK)."""

    @abc.abstractmethod
    def reply(self, frame: Frame) -> Reply | None:
        """Interpret a received frame; None if it is not an answer."""


class BuiltinCodec(Codec):
    """The protocol in this module's docstring."""

    def show_text(self, address: int, area: int, text: str) -> bytes:
        return encode_frame(address, CMD_SHOW_TEXT, bytes((area,)) + encode_text(text))

    def flash(self, address: int, area: int, seconds: int) -> bytes:
        return encode_frame(address, CMD_FLASH, bytes((area, max(0, min(seconds, 255)))))

    def clear(self, address: int, area: int) -> bytes:
        return encode_frame(address, CMD_CLEAR, bytes((area,)))

    def brightness(self, address: int, level: int) -> bytes:
        if not 0 <= level <= 15:
            raise ValueError(f"brightness must be 0..15, got {level}")
        return encode_frame(address, CMD_BRIGHTNESS, bytes((level,)))

    def probe(self, address: int) -> bytes:
        return encode_frame(address, CMD_PING)

    def command_of(self, request: bytes) -> int:
        frames, _ = decode_frames(request)
        return frames[0].command

    def reply(self, frame: Frame) -> Reply | None:
        if frame.command == CMD_ACK and frame.payload:
            flags = frame.payload[1] if len(frame.payload) > 1 else 0
            return Reply(frame.address, frame.payload[0], True,
                         ram_blank=bool(flags & FLAG_RAM_BLANK))
        if frame.command == CMD_NAK and frame.payload:
            code = frame.payload[1] if len(frame.payload) > 1 else 0
            return Reply(frame.address, frame.payload[0], False, error=code)
        return None


@dataclass(frozen=True)
class _State:
    text: str
    flash: bool


class LedScreen:
    """One addressed window screen; remembers what it should show and makes sure it does.

    Serial I/O runs in worker threads (`asyncio.to_thread`), so a dead screen never stalls
    the event loop. Each command is tried `len(ack_timeouts)` times, waiting longer for the
    acknowledgement each time (back-off); without one the screen is marked "no answer".
    `start()` runs a background task that re-probes an unhealthy screen (reopening a port
    that failed or broke) and re-sends the current text when it answers again.
    """

    def __init__(self, name: str, url: str, address: int, baudrate: int = 9600,
                 codec: Codec | None = None, *, area: int = MAIN_AREA,
                 ack_timeouts: Sequence[float] = (0.2, 0.4, 0.8),
                 probe_interval: float = 5.0, keepalive_interval: float = 30.0,
                 flash_seconds: int = CALL_FLASH_SECONDS) -> None:
        if not 1 <= address <= 254 and address != BROADCAST:
            raise ValueError(f"screen address must be 1..254 (or 255 broadcast), got {address}")
        self.name = name
        self.url = url
        self.address = address
        self.baudrate = baudrate
        self.codec: Codec = codec if codec is not None else BuiltinCodec()
        self.area = area
        self.ack_timeouts = tuple(ack_timeouts)
        self.probe_interval = probe_interval
        self.keepalive_interval = keepalive_interval
        self.flash_seconds = flash_seconds
        self._line: Line = acquire_line(url, baudrate)
        self._state: _State | None = None
        self._health = "not started"
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.resends = 0

    # -- public API -------------------------------------------------------------------

    def health(self) -> str:
        """'ok', 'no answer', or a short error (cannot open …, line broken …, refused …)."""
        return self._health

    @property
    def current_text(self) -> str | None:
        return self._state.text if self._state else None

    async def show_call(self, text: str) -> bool:
        """A new call: show e.g. 'A001 请到3号窗口' and flash it to catch the eye."""
        return await self.show_text(text, flash=True)

    async def show_paused(self) -> bool:
        return await self.show_text(PAUSED_TEXT)

    async def show_idle(self) -> bool:
        return await self.show_text(IDLE_TEXT)

    async def show_text(self, text: str, flash: bool = False) -> bool:
        """Make `text` the screen's state and send it; True if the screen acknowledged.

        When the screen is already known to be down and the background task runs, the
        state is only recorded and the task delivers it on recovery: a caller must not wait
        through every retry of a screen that is switched off.
        """
        self._state = _State(text, flash)
        if self._task is not None and self._health != "ok":
            self._wake.set()
            return False
        async with self._lock:
            return await self._send_state(self._state, flash=flash)

    async def set_brightness(self, level: int) -> bool:
        request = self.codec.brightness(self.address, level)
        async with self._lock:
            return await asyncio.to_thread(self._exchange, [request])

    async def probe(self) -> bool:
        """One PING; on an answer re-send the state if the screen was down or lost its RAM."""
        async with self._lock:
            was_down = self._health != "ok"
            reply = await asyncio.to_thread(self._request, self.codec.probe(self.address),
                                            self.ack_timeouts[:1])
            if reply is None or not reply.ok:
                return False
            if (was_down or reply.ram_blank) and self._state is not None:
                self.resends += 1
                return await self._send_state(self._state, flash=False)
            self._health = "ok"
            return True

    def start(self) -> None:
        """Begin watching the screen; must be called from a running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(),
                                                                name=f"led:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait([task])

    async def close(self) -> None:
        await self.stop()
        await asyncio.to_thread(release_line, self._line)

    # -- internals ------------------------------------------------------------------

    async def _send_state(self, state: _State, flash: bool) -> bool:
        requests = [self.codec.show_text(self.address, self.area, state.text)]
        if flash:
            requests.append(self.codec.flash(self.address, self.area, self.flash_seconds))
        return await asyncio.to_thread(self._exchange, requests)

    async def _watch(self) -> None:
        while True:
            await self.probe()
            interval = self.keepalive_interval if self._health == "ok" else self.probe_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()

    def _exchange(self, requests: list[bytes]) -> bool:
        """Blocking: send each request until acknowledged; stop at the first failure."""
        if self.address == BROADCAST:
            ok = all(self._line.write(r) for r in requests)
            self._health = "ok" if ok else (self._line.error or "line error")
            return ok
        for request in requests:
            reply = self._request(request, self.ack_timeouts)
            if reply is None or not reply.ok:
                return False
        return True

    def _request(self, request: bytes, timeouts: Sequence[float]) -> Reply | None:
        """Blocking: one command with retries; updates health from the outcome."""
        command = self.codec.command_of(request)
        with self._line.lock:
            for timeout in timeouts:
                self._line.discard_input()
                if not self._line.write(request):
                    self._health = self._line.error or "line error"
                    time.sleep(timeout)
                    continue
                reply = self._await_reply(command, timeout)
                if reply is None:
                    continue
                if reply.ok:
                    self._health = "ok"
                else:
                    self._health = f"refused command 0x{command:02X} (error {reply.error})"
                return reply
            if self._line.is_open:
                self._health = "no answer"
            else:
                self._health = self._line.error or "line error"
            return None

    def _await_reply(self, command: int, timeout: float) -> Reply | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for frame in self._line.read_frames(left):
                reply = self.codec.reply(frame)
                if reply and reply.address == self.address and reply.command == command:
                    return reply
            if not self._line.is_open:
                return None
        return None
