"""Simulated devices at the far end of a real pty pair, shared by the device tests.

Each simulator owns the master side of `os.openpty()`; the driver under test opens the
slave path (`os.ttyname`) through `serial.serial_for_url`, exactly as it would open
/dev/ttyUSB0. The simulators parse frames with their OWN small decoder (not the one in
`devices.transport`), so a bug shared by encoder and decoder cannot hide behind symmetry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import time
import tty
from dataclasses import dataclass, field

STX, ETX, ESC = 0x02, 0x03, 0x1B


# -- independent frame helpers -----------------------------------------------------------

def sim_parse(raw: bytes) -> tuple[int, int, bytes] | None:
    """Parse the bytes between STX and ETX; None when escape, length or XOR is wrong."""
    body = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == ESC:
            if i + 1 >= len(raw):
                return None
            body.append(raw[i + 1] ^ 0x20)
            i += 2
        else:
            body.append(raw[i])
            i += 1
    if len(body) < 5:
        return None
    xor = 0
    for b in body[:-1]:
        xor ^= b
    if xor != body[-1] or (body[2] << 8 | body[3]) != len(body) - 5:
        return None
    return body[0], body[1], bytes(body[4:-1])


def sim_build(address: int, command: int, payload: bytes) -> bytes:
    body = bytes([address, command, len(payload) >> 8, len(payload) & 0xFF]) + payload
    xor = 0
    for b in body:
        xor ^= b
    out = bytearray([STX])
    for b in body + bytes([xor]):
        if b in (STX, ETX, ESC):
            out += bytes([ESC, b ^ 0x20])
        else:
            out.append(b)
    out.append(ETX)
    return bytes(out)


def split_frames(buffer: bytearray) -> list[bytes]:
    """Remove and return the raw insides of complete STX..ETX frames from `buffer`."""
    out: list[bytes] = []
    while True:
        start = buffer.find(bytes([STX]))
        if start < 0:
            buffer.clear()
            return out
        end = buffer.find(bytes([ETX]), start)
        if end < 0:
            del buffer[:start]
            return out
        out.append(bytes(buffer[start + 1:end]))
        del buffer[:end + 1]


# -- pty plumbing --------------------------------------------------------------------------

class PtySim:
    """A pty pair whose master side is served by `handle(data)` in a thread."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                time.sleep(0.01)
                continue
            if data:
                self.handle(data)

    def handle(self, data: bytes) -> None:
        raise NotImplementedError

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def wait_for(predicate, timeout: float = 3.0) -> bool:  # noqa: ANN001 - test helper
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


async def until(predicate, timeout: float = 3.0) -> bool:  # noqa: ANN001 - test helper
    """Like wait_for, but lets the event loop (and the driver's background task) run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


# -- LED screens -----------------------------------------------------------------------------

@dataclass
class SimScreen:
    address: int
    areas: dict[int, str] = field(default_factory=dict)
    flashes: list[tuple[int, int]] = field(default_factory=list)
    brightness: int = 8
    ram_blank: bool = True


class LedBusSim(PtySim):
    """Screens on one RS-485 bus; each answers only frames for its own address."""

    def __init__(self, addresses: tuple[int, ...] = (3,)) -> None:
        self.screens = {a: SimScreen(a) for a in addresses}
        self.mute = False
        self.received: list[tuple[int, int, bytes]] = []
        self.bad_frames = 0
        self._buf = bytearray()
        super().__init__()

    def reboot(self, address: int) -> None:
        """Power cycle: the RAM areas are gone."""
        self.screens[address] = SimScreen(address)

    def handle(self, data: bytes) -> None:
        self._buf += data
        for raw in split_frames(self._buf):
            parsed = sim_parse(raw)
            if parsed is None:
                self.bad_frames += 1
                continue
            self.received.append(parsed)
            address, command, payload = parsed
            for screen in self.screens.values():
                if address in (screen.address, 0xFF):
                    self._apply(screen, command, payload, answer=address == screen.address)

    def _apply(self, screen: SimScreen, command: int, payload: bytes, answer: bool) -> None:
        flags = 0
        if command == 0x10:
            screen.areas[payload[0]] = payload[1:].decode("gb2312")
            screen.ram_blank = False
        elif command == 0x11:
            screen.flashes.append((payload[0], payload[1]))
        elif command == 0x12:
            screen.areas.pop(payload[0], None)
        elif command == 0x13:
            screen.brightness = payload[0]
        elif command == 0x05:
            flags = 1 if screen.ram_blank else 0
        if answer and not self.mute:
            body = bytes([command, flags]) if command == 0x05 else bytes([command])
            self.send(sim_build(screen.address, 0x06, body))


# -- ESC/POS ticket printer -----------------------------------------------------------------

PRINTER_STATES: dict[str, tuple[int, int, int]] = {
    # answers to DLE EOT 1, 2, 4 (fixed bits 0x12 always set)
    "ok": (0x12, 0x12, 0x12),
    "paper_out": (0x1A, 0x32, 0x7E),
    "cover_open": (0x1A, 0x16, 0x12),
    "near_end": (0x12, 0x12, 0x1E),
}


class PrinterSim(PtySim):
    """Answers DLE EOT n in real time (as printers do) and collects everything else."""

    def __init__(self, state: str = "ok") -> None:
        self.state = state  # a PRINTER_STATES key, or "silent"
        self.printed = bytearray()
        self.status_requests = 0
        super().__init__()

    def handle(self, data: bytes) -> None:
        self.printed += data
        while True:
            i = self.printed.find(b"\x10\x04")
            if i < 0 or i + 2 >= len(self.printed):
                return
            n = self.printed[i + 2]
            del self.printed[i:i + 3]
            self.status_requests += 1
            if self.state != "silent":
                answer = PRINTER_STATES[self.state]
                self.send(bytes([answer[{1: 0, 2: 1, 4: 2}[n]]]))


@dataclass
class EscPosDoc:
    """What a ticket stream means: text lines in order and the commands around them."""

    events: list[tuple] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(e[1] for e in self.events if e[0] == "text")

    def index(self, kind: str, value: object = None) -> int:
        for i, e in enumerate(self.events):
            if e[0] == kind and (value is None or e[1] == value):
                return i
        raise ValueError((kind, value))


def parse_escpos(data: bytes) -> EscPosDoc:
    """Decode the ESC/POS subset a ticket uses; unknown commands fail the test loudly."""
    doc = EscPosDoc()
    hanzi = False
    line = bytearray()
    i = 0

    def flush() -> None:
        if line:
            doc.events.append(("text", line.decode("gb18030" if hanzi else "ascii")))
            line.clear()

    while i < len(data):
        b = data[i]
        if b == 0x1B:
            flush()
            op = data[i + 1]
            if op == 0x40:
                doc.events.append(("init",))
                i += 2
            elif op in (0x61, 0x45, 0x64):
                doc.events.append(({0x61: "align", 0x45: "bold", 0x64: "feed"}[op], data[i + 2]))
                i += 3
            else:
                raise ValueError(f"unknown ESC {op:#x}")
        elif b == 0x1C:
            flush()
            hanzi = data[i + 1] == 0x26
            doc.events.append(("hanzi", hanzi))
            i += 2
        elif b == 0x1D:
            flush()
            op = data[i + 1]
            if op == 0x21:
                doc.events.append(("size", data[i + 2]))
                i += 3
            elif op == 0x56:
                doc.events.append(("cut", data[i + 2], data[i + 3]))
                i += 4
            elif op == 0x28 and data[i + 2] == 0x6B:
                length = data[i + 3] | data[i + 4] << 8
                cn, fn, params = data[i + 5], data[i + 6], data[i + 7:i + 5 + length]
                assert cn == 0x31, "QR commands use cn=49"
                name = {0x41: "qr_model", 0x43: "qr_size", 0x45: "qr_ec", 0x50: "qr_store",
                        0x51: "qr_print"}[fn]
                value = params[1:].decode() if fn == 0x50 else params[0]
                doc.events.append((name, value))
                i += 5 + length
            else:
                raise ValueError(f"unknown GS {op:#x}")
        elif b == 0x0A:
            flush()
            i += 1
        else:
            line.append(b)
            i += 1
    flush()
    return doc


# -- caller pads and evaluators --------------------------------------------------------------

KEY_CODES_SIM = {"call": 0x01, "recall": 0x02, "skip": 0x03, "start": 0x04, "finish": 0x05,
                 "pause": 0x06, "transfer": 0x07, "rate1": 0x31, "rate2": 0x32, "rate3": 0x33,
                 "rate4": 0x34, "rate5": 0x35, "login": 0x08, "logout": 0x09}


@dataclass
class SimPad:
    address: int
    seq: int = 0
    display: tuple[str, int] | None = None
    error: str | None = None
    errors: list[str] = field(default_factory=list)  # every ERROR code shown, in order
    status: list[str] = field(default_factory=list)  # every STATUS text shown ("OK", "BYE")
    acks: list[int] = field(default_factory=list)  # seqs the host acknowledged
    last_frame: bytes = b""


class PadBusSim(PtySim):
    """Pads on one bus: press keys (real KEY frames), record host ACKs and DISPLAY/ERROR."""

    def __init__(self, addresses: tuple[int, ...] = (1,)) -> None:
        self.pads = {a: SimPad(a) for a in addresses}
        self.mute = False
        self._buf = bytearray()
        super().__init__()

    def press(self, address: int, key: str, digits: str = "", repeat_frame: int = 1) -> int:
        """One key press; `repeat_frame` > 1 resends the same frame (a lost-ACK retry)."""
        pad = self.pads[address]
        pad.seq = (pad.seq + 1) & 0xFF
        frame = sim_build(address, 0x20, bytes([pad.seq, KEY_CODES_SIM[key]]) + digits.encode())
        pad.last_frame = frame
        for _ in range(repeat_frame):
            self.send(frame)
        return pad.seq

    def login(self, address: int, staff_no: str, pin: str) -> int:
        """The clerk presses 登录, types the staff number, 确认, the PIN, 确认: the pad sends
        one LOGIN frame with "STAFF*PIN" (the pad's * key separates them)."""
        return self.press(address, "login", f"{staff_no}*{pin}")

    def resend(self, address: int) -> None:
        """The pad did not see the ACK in time and sends the same frame again."""
        self.send(self.pads[address].last_frame)

    def handle(self, data: bytes) -> None:
        self._buf += data
        for raw in split_frames(self._buf):
            parsed = sim_parse(raw)
            if parsed is None:
                continue
            address, command, payload = parsed
            pad = self.pads.get(address)
            if pad is None:
                continue
            if command == 0x06 and payload[:1] == b"\x20":
                pad.acks.append(payload[1])
            elif command == 0x30:
                pad.display = (payload[:3].decode(), int(payload[3:6].decode()))
            elif command == 0x31:
                pad.error = payload.decode()
                pad.errors.append(pad.error)
            elif command == 0x32:
                pad.status.append(payload.decode())
            if command in (0x30, 0x31, 0x32) and not self.mute:
                self.send(sim_build(address, 0x06, bytes([command])))


# -- ID card reader (the SAM module's frames, GA/T 467-2019 style) ---------------------------

SAM_PREAMBLE = bytes([0xAA, 0xAA, 0xAA, 0x96, 0x69])
PHOTO_MARK = b"WLT-PHOTO-"  # what the simulated photo block is made of, to look for elsewhere


def sam_text(name: str, id_number: str, birth: str, *, sex: str = "1", nation: str = "01",
             address: str = "北京市东城区景山前街4号", authority: str = "北京市公安局东城分局",
             valid_from: str = "20200101", valid_to: str = "20400101",
             card_type: str = " ") -> bytes:
    """The 256-byte text block of a card, laid out field by field as readers send it."""
    def put(text: str, chars: int) -> bytes:
        return text.ljust(chars)[:chars].encode("utf-16-le")

    block = (put(name, 15) + put(sex, 1) + put(nation, 2) + put(birth, 8) + put(address, 35)
             + put(id_number, 18) + put(authority, 15) + put(valid_from, 8) + put(valid_to, 8)
             + put(" " * 14 + card_type, 18))
    assert len(block) == 256
    return block


def sam_answer(status: int, data: bytes = b"") -> bytes:
    body = bytes([0, 0, status]) + data
    head = (len(body) + 1).to_bytes(2, "big")
    xor = 0
    for b in head + body:
        xor ^= b
    return SAM_PREAMBLE + head + body + bytes([xor])


class IdCardSim(PtySim):
    """The reader's side: answers FIND / SELECT / READ BASE INFO for the card lying on it."""

    def __init__(self) -> None:
        self.card: bytes | None = None  # the text block of the card on the reader
        self.photo = (PHOTO_MARK * 103)[:1024]
        self.mute = False
        self.corrupt = 0  # the next N answers go out with a wrong checksum
        self.commands: list[tuple[int, int]] = []
        self.bad_frames = 0
        self._buf = bytearray()
        super().__init__()

    def place(self, text: bytes) -> None:
        self.card = text

    def lift(self) -> None:
        self.card = None

    def reads(self) -> int:
        return self.commands.count((0x30, 0x01))

    def handle(self, data: bytes) -> None:
        self._buf += data
        while True:
            start = self._buf.find(SAM_PREAMBLE)
            if start < 0 or len(self._buf) < start + 7:
                return
            length = self._buf[start + 5] << 8 | self._buf[start + 6]
            end = start + 7 + length
            if len(self._buf) < end:
                return
            frame = bytes(self._buf[start + 5:end])
            del self._buf[:end]
            xor = 0
            for b in frame[:-1]:
                xor ^= b
            if xor != frame[-1] or length < 3:
                self.bad_frames += 1
                continue
            self.commands.append((frame[2], frame[3]))
            if not self.mute:
                self._answer(frame[2], frame[3])

    def _answer(self, command: int, para: int) -> None:
        card = self.card
        if (command, para) == (0x20, 0x01):
            out = sam_answer(0x9F, bytes(4)) if card else sam_answer(0x80)
        elif (command, para) == (0x20, 0x02):
            out = sam_answer(0x90, bytes(8)) if card else sam_answer(0x81)
        elif (command, para) == (0x30, 0x01):
            out = (sam_answer(0x90, (256).to_bytes(2, "big") + (1024).to_bytes(2, "big")
                              + card + self.photo) if card else sam_answer(0x41))
        elif (command, para) == (0x11, 0xFF):
            out = sam_answer(0x90)
        else:
            out = sam_answer(0x21)
        if self.corrupt > 0:
            self.corrupt -= 1
            out = out[:-1] + bytes([out[-1] ^ 0x5A])
        self.send(out)
