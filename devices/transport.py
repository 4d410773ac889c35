"""Shared serial framing and line handling for the hall's addressed serial devices.

LED window screens and caller/evaluator pads both speak the same frame layout on an RS-485
(or RS-232, or TCP-bridged) line, so the framing lives here once:

    STX 0x02 | address | command | length (2 bytes, big-endian) | payload | checksum | ETX 0x03

* address: 1..254 for one device, 0xFF broadcast (devices never answer a broadcast).
* checksum: XOR of every byte from address to the end of the payload. XOR was chosen over a
  sum because the cheap microcontrollers in screens and pads compute it in one instruction
  and it detects every single-bit error; the length field catches dropped bytes.
* Escaping: between STX and ETX, any 0x02, 0x03 or 0x1B is sent as 0x1B followed by the
  byte XOR 0x20. So STX and ETX never occur inside a frame: a receiver that joins the line
  in the middle of a frame, or loses a byte, resynchronises on the next STX.

Why a home-made frame: no national protocol exists for hall devices (domain.md), every
vendor has its own; this one is the built-in default and vendor codecs plug in beside it.

`Line` wraps a pyserial port opened with `serial_for_url`, so `/dev/ttyUSB0`, a pty path,
`socket://host:port` (a serial server) and `loop://` all work. It deliberately never calls
`rs485_mode` or modem-line ioctls: ptys reject them and a failed `rs485_mode` leaves the
port unusable (stack-notes.md); use an adapter with automatic direction control.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import serial

try:
    from termios import error as _TermiosError
except ImportError:  # Windows has no termios; pyserial raises SerialException there
    _TermiosError = OSError  # type: ignore[assignment,misc]

STX = 0x02
ETX = 0x03
ESC = 0x1B
BROADCAST = 0xFF
MAX_PAYLOAD = 0xFFFF
# A receive buffer without a complete frame is dropped beyond this, so line noise cannot
# grow memory without bound.
MAX_PENDING = 4 * 1024

_SPECIAL = frozenset((STX, ETX, ESC))
# A pty or USB adapter that vanished fails with any of these (tcflush raises termios.error).
IO_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, _TermiosError)


@dataclass(frozen=True)
class Frame:
    """One decoded frame: the unescaped, checksum-verified contents."""

    address: int
    command: int
    payload: bytes = b""


def checksum(data: bytes) -> int:
    """XOR of all bytes; see the module docstring for why XOR."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def escape(data: bytes) -> bytes:
    """Make `data` free of STX/ETX so a frame is self-delimiting."""
    out = bytearray()
    for byte in data:
        if byte in _SPECIAL:
            out.append(ESC)
            out.append(byte ^ 0x20)
        else:
            out.append(byte)
    return bytes(out)


def unescape(data: bytes) -> bytes | None:
    """Inverse of `escape`; None for a malformed escape, so the frame is dropped, not misread."""
    out = bytearray()
    it = iter(data)
    for byte in it:
        if byte == ESC:
            nxt = next(it, None)
            if nxt is None or (nxt ^ 0x20) not in _SPECIAL:
                return None
            out.append(nxt ^ 0x20)
        else:
            out.append(byte)
    return bytes(out)


def encode_frame(address: int, command: int, payload: bytes = b"") -> bytes:
    """Build one wire frame. Raises ValueError for values that do not fit the layout."""
    if not 0 <= address <= 0xFF:
        raise ValueError(f"address out of range: {address}")
    if not 0 <= command <= 0xFF:
        raise ValueError(f"command out of range: {command}")
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload too long: {len(payload)} bytes")
    body = bytes((address, command)) + len(payload).to_bytes(2, "big") + payload
    return bytes((STX,)) + escape(body + bytes((checksum(body),))) + bytes((ETX,))


def _parse_body(raw: bytes) -> Frame | None:
    body = unescape(raw)
    if body is None or len(body) < 5:
        return None
    length = int.from_bytes(body[2:4], "big")
    if len(body) != 5 + length or checksum(body[:-1]) != body[-1]:
        return None
    return Frame(body[0], body[1], bytes(body[4:-1]))


def decode_frames(buffer: bytes) -> tuple[list[Frame], bytes]:
    """Split a receive buffer into valid frames and the unfinished rest.

    Bytes before an STX are noise and dropped; a frame cut short by a new STX is dropped;
    frames with a bad checksum, length or escape are dropped. `rest` starts at the STX of an
    incomplete frame (or is empty), to be prefixed to the next read.
    """
    frames: list[Frame] = []
    i = 0
    while True:
        start = buffer.find(STX, i)
        if start < 0:
            return frames, b""
        end = buffer.find(ETX, start + 1)
        restart = buffer.find(STX, start + 1)
        if restart >= 0 and (end < 0 or restart < end):
            i = restart
            continue
        if end < 0:
            rest = bytes(buffer[start:])
            return frames, (rest if len(rest) <= MAX_PENDING else b"")
        frame = _parse_body(bytes(buffer[start + 1:end]))
        if frame is not None:
            frames.append(frame)
        i = end + 1


class Line:
    """A serial line shared by every device on one bus, opened lazily and reopenable.

    Several screens (or pads) hang on one RS-485 pair; they share the port, and a
    request/acknowledge exchange must own the bus until it ends: `lock` serialises those.
    All methods block: call them from a worker thread, never from the event loop.
    """

    def __init__(self, url: str, baudrate: int = 9600, read_timeout: float = 0.02) -> None:
        self.url = url
        self.baudrate = baudrate
        self.read_timeout = read_timeout
        self.lock = threading.RLock()
        self._port: serial.SerialBase | None = None
        self.error: str | None = None
        self._pending = b""

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> bool:
        """Open if closed; on failure remember a short error text for health()."""
        with self.lock:
            if self._port is not None:
                return True
            try:
                self._port = serial.serial_for_url(
                    self.url, baudrate=self.baudrate, timeout=self.read_timeout,
                    write_timeout=2.0)
            except (*IO_ERRORS, ValueError) as exc:
                self.error = f"cannot open {self.url}: {exc}"
                return False
            self.error = None
            self._pending = b""
            return True

    def close(self) -> None:
        with self.lock:
            port, self._port = self._port, None
            if port is not None:
                with contextlib.suppress(IO_ERRORS):
                    port.close()

    def _broken(self, exc: Exception) -> None:
        self.error = f"line {self.url} broken: {exc}"
        self.close()

    def write(self, data: bytes) -> bool:
        """Send bytes; False (and the port closed for a later reopen) if the line broke."""
        with self.lock:
            if not self.open():
                return False
            assert self._port is not None
            try:
                self._port.write(data)
                self._port.flush()
            except IO_ERRORS as exc:
                self._broken(exc)
                return False
            return True

    def read_frames(self, wait: float) -> list[Frame]:
        """Read for up to `wait` seconds; return as soon as at least one frame arrived.

        Reading does not take `lock`: a POSIX fd or socket may be read in one thread while
        another writes, and a bus reader thread (caller pads) that held the lock while
        waiting would starve the writers. A request/answer exchange that must own the bus
        holds `lock` itself around write and read.
        """
        deadline = time.monotonic() + wait
        if not self.open():
            time.sleep(max(0.0, wait))
            return []
        port = self._port
        if port is None:
            return []
        while True:
            try:
                chunk = port.read(port.in_waiting or 1)
            except (*IO_ERRORS, ValueError, TypeError) as exc:
                # ValueError/TypeError: the port was closed by another thread mid-read.
                self._broken(exc)
                return []
            if chunk:
                frames, self._pending = decode_frames(self._pending + chunk)
                if frames:
                    return frames
            if time.monotonic() >= deadline:
                return []

    def read_raw(self, count: int, timeout: float) -> bytes:
        """Up to `count` unframed bytes within `timeout` (for byte-oriented devices)."""
        deadline = time.monotonic() + timeout
        out = b""
        with self.lock:
            if not self.open():
                return b""
            assert self._port is not None
            while len(out) < count and time.monotonic() < deadline:
                try:
                    out += self._port.read(count - len(out))
                except IO_ERRORS as exc:
                    self._broken(exc)
                    break
        return out

    def discard_input(self) -> None:
        """Forget stale bytes (late answers to an earlier try) before a new request."""
        with self.lock:
            self._pending = b""
            if self._port is not None:
                try:
                    self._port.reset_input_buffer()
                except IO_ERRORS as exc:
                    self._broken(exc)


_lines: dict[str, tuple[Line, int]] = {}
_lines_lock = threading.Lock()


def acquire_line(url: str, baudrate: int = 9600) -> Line:
    """The one `Line` object for `url`, shared by all devices on that bus (reference counted)."""
    with _lines_lock:
        line, count = _lines.get(url, (None, 0))
        if line is None:
            line = Line(url, baudrate)
        _lines[url] = (line, count + 1)
        return line


def release_line(line: Line) -> None:
    """Drop one reference; the port closes when the last device on the bus lets go."""
    with _lines_lock:
        entry = _lines.get(line.url)
        if entry is None or entry[0] is not line:
            line.close()
            return
        count = entry[1] - 1
        if count <= 0:
            del _lines[line.url]
            line.close()
        else:
            _lines[line.url] = (line, count)
