"""Caller pads (呼叫器) and evaluator pads (评价器) on one addressed serial bus.

Frames use the shared layout of `devices.transport` (STX, address, command, 2-byte length,
payload, XOR, ETX, with 0x1B escaping), at 9600 baud:

    pad → host  0x20 KEY      payload: seq, key code [, ASCII digits]
    host → pad  0x06 ACK      payload: 0x20, seq               (for every KEY frame)
    host → pad  0x30 DISPLAY  payload: 3 ASCII digits of the ticket + 3 ASCII digits waiting
    host → pad  0x31 ERROR    payload: ASCII code, e.g. "E01" (nobody logged in here)
    host → pad  0x32 STATUS   payload: ASCII text, "OK" (logged in) or "BYE" (logged out)
    pad → host  0x06 ACK      payload: acknowledged command (0x30, 0x31 or 0x32)

Key codes: 0x01 CALL, 0x02 RECALL, 0x03 SKIP, 0x04 START, 0x05 FINISH, 0x06 PAUSE,
0x07 TRANSFER (digits = target window, typed on the pad and sent on its confirm key),
0x08 LOGIN (digits = staff number, `*`, PIN: typed on the pad, sent on the last confirm),
0x09 LOGOUT, 0x31..0x35 evaluator levels 1..5.

Why LOGIN is one frame: a counter without a networked PC has only the pad (domain.md), and
one frame carrying both numbers is atomic: a lost or repeated frame can never leave the host
holding half a login. The PIN crosses the hall's own wired bus in clear, as the keys do; it
is never logged (KeyPress hides its digits from repr).

Why a sequence number: a pad resends a KEY frame until it sees the ACK, and an ACK can be
lost on a noisy bus. The host re-acknowledges a frame whose seq equals the last one from
that pad and drops it, so one press is never two calls. The memory of the last seq expires
after `duplicate_window` seconds, so a pad that rebooted and restarted its counter is
not ignored forever.

Why debounce on top: clerks double-press 呼叫 when the hall is loud; two presses of the
same key on the same pad within 1.5 s count once (domain.md: two 呼叫 within 1–2 s is one
call). That is a different thing from a retransmission: these are two real frames.

The bus knows keys, not queues: mapping a KeyPress to hall.service is the adapter's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from devices.tasks import LineThread
from devices.transport import Frame, Line, encode_frame

CMD_ACK = 0x06
CMD_KEY = 0x20
CMD_DISPLAY = 0x30
CMD_ERROR = 0x31
CMD_STATUS = 0x32
DEBOUNCE_SECONDS = 1.5


class Key(StrEnum):
    CALL = "call"
    RECALL = "recall"
    SKIP = "skip"
    START = "start"
    FINISH = "finish"
    PAUSE = "pause"
    TRANSFER = "transfer"
    LOGIN = "login"
    LOGOUT = "logout"
    RATE_1 = "rate1"
    RATE_2 = "rate2"
    RATE_3 = "rate3"
    RATE_4 = "rate4"
    RATE_5 = "rate5"

    @property
    def level(self) -> int | None:
        """Evaluator level 1..5 (5 非常满意 … 1 非常不满意), None for caller keys."""
        return int(self.value[-1]) if self.value.startswith("rate") else None


KEY_CODES: dict[int, Key] = {
    0x01: Key.CALL, 0x02: Key.RECALL, 0x03: Key.SKIP, 0x04: Key.START, 0x05: Key.FINISH,
    0x06: Key.PAUSE, 0x07: Key.TRANSFER, 0x08: Key.LOGIN, 0x09: Key.LOGOUT,
    0x31: Key.RATE_1, 0x32: Key.RATE_2, 0x33: Key.RATE_3, 0x34: Key.RATE_4, 0x35: Key.RATE_5,
}
CODE_OF_KEY: dict[Key, int] = {key: code for code, key in KEY_CODES.items()}


@dataclass(frozen=True)
class KeyPress:
    address: int
    key: Key
    digits: str = field(default="", repr=False)  # a LOGIN's digits hold the PIN


@dataclass(frozen=True)
class KeyFrame:
    """A decoded KEY frame before duplicate and debounce filtering."""

    address: int
    seq: int
    press: KeyPress


def encode_key(address: int, seq: int, key: Key, digits: str = "") -> bytes:
    """What a pad sends (used by simulators and pad firmware tests)."""
    return encode_frame(address, CMD_KEY, bytes((seq & 0xFF, CODE_OF_KEY[key])) + digits.encode())


def parse_key(frame: Frame) -> KeyFrame | None:
    """A KEY frame's meaning; None for other frames, unknown keys or non-digit digits."""
    if frame.command != CMD_KEY or len(frame.payload) < 2:
        return None
    key = KEY_CODES.get(frame.payload[1])
    digits = frame.payload[2:]
    if key == Key.LOGIN:
        staff, star, pin = digits.partition(b"*")
        if not (star and staff.isdigit() and pin.isdigit()):
            return None
    elif key is None or not (digits.isdigit() or digits == b""):
        return None
    return KeyFrame(frame.address, frame.payload[0],
                    KeyPress(frame.address, key, digits.decode("ascii")))


def encode_ack(address: int, command: int, seq: int | None = None) -> bytes:
    payload = bytes((command,)) if seq is None else bytes((command, seq & 0xFF))
    return encode_frame(address, CMD_ACK, payload)


def display_payload(digits3: str, waiting: int) -> bytes:
    """Last 3 digits of the ticket ('A001' → '001') and the waiting count capped at 999."""
    only_digits = "".join(c for c in digits3 if c.isdigit())[-3:].rjust(3, "0")
    count = max(0, min(int(waiting), 999))
    return f"{only_digits}{count:03d}".encode("ascii")


def encode_display(address: int, digits3: str, waiting: int) -> bytes:
    return encode_frame(address, CMD_DISPLAY, display_payload(digits3, waiting))


def encode_error(address: int, code: str) -> bytes:
    text = code.encode("ascii", errors="replace")[:8]
    return encode_frame(address, CMD_ERROR, text)


def encode_status(address: int, text: str) -> bytes:
    return encode_frame(address, CMD_STATUS, text.encode("ascii", errors="replace")[:8])


class Debouncer:
    """Drops a second press of the same key on the same pad within `window` seconds.

    The window is measured from the last ACCEPTED press, so a clerk hammering the key
    still gets at most one call per window. The clock is injectable for tests.
    """

    def __init__(self, window: float = DEBOUNCE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._last: dict[tuple[int, Key, str], float] = {}

    def accept(self, press: KeyPress) -> bool:
        now = self.clock()
        slot = (press.address, press.key, press.digits)
        last = self._last.get(slot)
        if last is not None and now - last < self.window:
            return False
        self._last[slot] = now
        return True


class DuplicateFilter:
    """Recognises a pad's retransmission of a frame the host already took (same seq)."""

    def __init__(self, window: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._last: dict[int, tuple[int, float]] = {}

    def is_duplicate(self, address: int, seq: int) -> bool:
        now = self.clock()
        last = self._last.get(address)
        self._last[address] = (seq, now)
        return last is not None and last[0] == seq and now - last[1] < self.window


KeyCallback = Callable[[KeyPress], Awaitable[None]]


class KeypadBus:
    """All pads on one serial line: reads in a thread, delivers KeyPress to `on_key`.

    The reader thread acknowledges each KEY frame at once (the pad is waiting for it) and
    hands accepted presses to the event loop; `show` and `show_error` send to a pad and
    wait for its ACK with retries, off the event loop.
    """

    def __init__(self, name: str, url: str, baudrate: int = 9600, *,
                 on_key: KeyCallback | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 debounce_seconds: float = DEBOUNCE_SECONDS,
                 ack_timeouts: Sequence[float] = (0.2, 0.4, 0.8)) -> None:
        self.name = name
        self.url = url
        self.on_key = on_key
        self.ack_timeouts = tuple(ack_timeouts)
        self.debouncer = Debouncer(debounce_seconds, clock)
        self.duplicates = DuplicateFilter(clock=clock)
        self._line = Line(url, baudrate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker = LineThread(f"keypad:{name}", self._reader, self._line, 2)
        self._stop = self._worker.stopping
        self._acks: dict[tuple[int, int], threading.Event] = {}
        self._acks_lock = threading.Lock()
        self._send_lock = asyncio.Lock()
        self._pad_problem: dict[int, str] = {}

    def health(self) -> str:
        """'ok', a line error, or which pads did not acknowledge the last display update."""
        if self._line.error:
            return self._line.error
        if self._pad_problem:
            return "; ".join(f"pad {a}: {p}" for a, p in sorted(self._pad_problem.items()))
        return "ok"

    def start(self, on_key: KeyCallback | None = None) -> None:
        """Start the reader thread; must be called from the running event loop."""
        if on_key is not None:
            self.on_key = on_key
        self._loop = asyncio.get_running_loop()
        # Open now (a quick syscall) rather than in the thread: pyserial flushes the input
        # buffer on open, which would eat a press made in between.
        self._line.open()
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    async def show(self, address: int, digits3: str, waiting: int) -> bool:
        """Push the current ticket's last 3 digits and the waiting count to one pad."""
        return await self._send(address, CMD_DISPLAY, encode_display(address, digits3, waiting))

    async def show_error(self, address: int, code: str) -> bool:
        """Show an error code on the pad, e.g. 'E01' when nobody is logged in there."""
        return await self._send(address, CMD_ERROR, encode_error(address, code))

    async def show_status(self, address: int, text: str) -> bool:
        """Show a short status on the pad: 'OK' after a login, 'BYE' after a logout."""
        return await self._send(address, CMD_STATUS, encode_status(address, text))

    # -- internals -------------------------------------------------------------------------

    async def _send(self, address: int, command: int, frame: bytes) -> bool:
        async with self._send_lock:
            ok = await asyncio.to_thread(self._send_blocking, address, command, frame)
        if ok:
            self._pad_problem.pop(address, None)
        else:
            self._pad_problem[address] = "no answer"
        return ok

    def _send_blocking(self, address: int, command: int, frame: bytes) -> bool:
        event = threading.Event()
        with self._acks_lock:
            self._acks[(address, command)] = event
        try:
            for timeout in self.ack_timeouts:
                if self._line.write(frame) and event.wait(timeout):
                    return True
                if not self._line.is_open:
                    time.sleep(timeout)
            return False
        finally:
            with self._acks_lock:
                self._acks.pop((address, command), None)

    def _reader(self) -> None:
        """Runs until stop(); survives anything a frame or the line can throw at it.

        A dead reader thread would silently turn every pad in the hall into a dead key, so
        an unexpected error is recorded for health() and reading goes on.
        """
        while not self._stop.is_set():
            if not self._line.open():
                self._stop.wait(0.5)
                continue
            try:
                for frame in self._line.read_frames(0.05):
                    self._handle(frame)
            except Exception as exc:  # noqa: BLE001 - see docstring
                self._line.error = f"keypad reader error: {exc!r}"
                self._line.close()
                self._stop.wait(0.1)

    def _handle(self, frame: Frame) -> None:
        if frame.command == CMD_ACK and frame.payload:
            with self._acks_lock:
                event = self._acks.get((frame.address, frame.payload[0]))
            if event is not None:
                event.set()
            return
        parsed = parse_key(frame)
        if parsed is None:
            return
        self._line.write(encode_ack(parsed.address, CMD_KEY, parsed.seq))
        if self.duplicates.is_duplicate(parsed.address, parsed.seq):
            return
        if not self.debouncer.accept(parsed.press):
            return
        loop, callback = self._loop, self.on_key
        if loop is not None and callback is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                asyncio.run_coroutine_threadsafe(callback(parsed.press), loop)
