"""Kiosk ticket printer: ESC/POS bytes for a queue ticket, and real-time status checks.

Why a small encoder instead of python-escpos (3.1, checked): its text path sends GB18030
only for characters in U+4E00..U+9FA5 and never sends FS & (Hanzi mode), so full-width
punctuation such as "（" "：" "、" in material lists falls to code-page guessing; it pulls in
Pillow, PyYAML, python-barcode and more for features a ticket does not use; and its status
helpers do not map DLE EOT 2 (cover open) to a reason we can show a citizen. A ticket needs
a dozen commands, all in the ESC/POS reference, so they are written out here and tested
byte for byte.

Byte sequence of a ticket (`encode_ticket`):

    ESC @                      initialise
    FS &                       Hanzi mode on: text below is GB18030
    ESC a 1, ESC E 1 …         centred, bold hall name; queue · service
    GS ! 0x11  <number>  GS ! 0x00      number at double width and height
    people ahead, estimated wait, time of issue; ESC a 0: materials (一次性告知), skip rule
    GS ( k  model 2, module size 6, error correction M, store <qr_url>, print
    ESC d 4, FS ., GS V 66 0   feed, leave Hanzi mode, partial cut (feed to cutter first)

Status (`status`): DLE EOT n answered with one byte each, bits per the ESC/POS reference:

    n=1 printer:        bit3 offline
    n=2 offline cause:  bit2 cover open, bit3 paper fed by button, bit5 stopped: paper end,
                        bit6 error
    n=4 paper sensor:   bits2+3 paper near end, bits5+6 paper end
    every answer has bit1 and bit4 set, bit0 and bit7 clear (0x12 pattern): others are noise.

The kiosk asks `ready()` before issuing: a ticket that cannot be printed must not consume a
number (domain.md), hence `PrinterNotReady` carries a reason a citizen can read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from devices.transport import Line

ESC, GS, FS, DLE, EOT, LF = 0x1B, 0x1D, 0x1C, 0x10, 0x04, 0x0A

INIT = bytes((ESC, 0x40))
HANZI_ON = bytes((FS, 0x26))
HANZI_OFF = bytes((FS, 0x2E))
DOUBLE_SIZE = bytes((GS, 0x21, 0x11))
NORMAL_SIZE = bytes((GS, 0x21, 0x00))
PARTIAL_CUT = bytes((GS, 0x56, 66, 0))
BOLD_ON, BOLD_OFF = bytes((ESC, 0x45, 1)), bytes((ESC, 0x45, 0))
QR_MODULE_SIZE = 6

REASON_NO_ANSWER = "打印机无响应"
REASON_PAPER_OUT = "打印机缺纸"
REASON_COVER_OPEN = "打印机盖未关"
REASON_ERROR = "打印机故障"
REASON_OFFLINE = "打印机离线"


@dataclass
class PrintedTicket:
    """What a paper ticket carries: ticket number and window only, never a name or ID."""

    hall_name: str
    queue_name: str
    service_name: str
    number: str
    people_ahead: int
    eta_minutes: int
    issued_at: str
    materials: list[str] = field(default_factory=list)
    skip_rule: str = ""
    qr_url: str = ""


class PrinterNotReady(Exception):  # noqa: N818 - the name says what the kiosk shows
    """The ticket cannot be printed now; `reason` is Chinese text for the kiosk screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def printable(text: str) -> str:
    """Control characters replaced by spaces.

    A stray ESC, GS or DLE EOT inside a service name or a material would be executed by
    the printer as a command (cut, resize, answer a status byte mid-ticket), so text can
    never carry one.
    """
    return "".join(" " if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text)


def _text(text: str) -> bytes:
    return printable(text).encode("gb18030", errors="replace") + bytes((LF,))


def _align(n: int) -> bytes:
    return bytes((ESC, 0x61, n))


def qr_code(data: str, module_size: int = QR_MODULE_SIZE) -> bytes:
    """GS ( k: model 2, module size, error correction M, store data, print."""
    payload = printable(data).encode("utf-8")
    if len(payload) > 7089:
        raise ValueError("QR data too long")
    store_len = len(payload) + 3
    return b"".join([
        bytes((GS, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0)),           # fn 165: model 2
        bytes((GS, 0x28, 0x6B, 3, 0, 0x31, 0x43, module_size)),        # fn 167: module size
        bytes((GS, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31)),               # fn 169: level M
        bytes((GS, 0x28, 0x6B, store_len & 0xFF, store_len >> 8, 0x31, 0x50, 0x30)),
        payload,                                                        # fn 180: store
        bytes((GS, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30)),               # fn 181: print
    ])


def encode_ticket(t: PrintedTicket) -> bytes:
    """The complete ESC/POS byte stream of one ticket (see the module docstring)."""
    out = bytearray(INIT + HANZI_ON + _align(1))
    out += BOLD_ON + _text(t.hall_name) + BOLD_OFF
    out += _text(f"{t.queue_name} · {t.service_name}")
    out += _text("您的号码")
    out += DOUBLE_SIZE + _text(t.number) + NORMAL_SIZE
    out += _text(f"前面还有 {t.people_ahead} 人，预计等待约 {t.eta_minutes} 分钟")
    out += _text(f"取号时间：{t.issued_at}")
    out += _align(0)
    if t.materials:
        out += _text("请备齐以下材料：")
        for i, item in enumerate(t.materials, 1):
            out += _text(f"{i}. {item}")
    if t.skip_rule:
        out += _text(t.skip_rule)
    if t.qr_url:
        out += _align(1) + qr_code(t.qr_url) + bytes((LF,))
        out += _text("扫码查看排队进度，办结后可评价")
    out += _align(0) + bytes((ESC, 0x64, 4)) + HANZI_OFF + PARTIAL_CUT
    return bytes(out)


def _valid(byte: int) -> bool:
    return byte & 0x93 == 0x12


@dataclass(frozen=True)
class PrinterStatus:
    """Decoded DLE EOT answers; `answered` False means the printer stayed silent."""

    answered: bool
    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False

    @classmethod
    def parse(cls, printer: int, offline_cause: int, paper: int) -> PrinterStatus:
        if not all(_valid(b) for b in (printer, offline_cause, paper)):
            return cls(answered=False)
        return cls(
            answered=True,
            offline=bool(printer & 0x08),
            cover_open=bool(offline_cause & 0x04),
            paper_out=bool(offline_cause & 0x20) or (paper & 0x60) == 0x60,
            paper_near_end=(paper & 0x0C) == 0x0C,
            error=bool(offline_cause & 0x40),
        )

    def reason(self) -> str | None:
        """Chinese reason why a ticket cannot be printed, or None when it can."""
        if not self.answered:
            return REASON_NO_ANSWER
        if self.paper_out:
            return REASON_PAPER_OUT
        if self.cover_open:
            return REASON_COVER_OPEN
        if self.error:
            return REASON_ERROR
        if self.offline:
            return REASON_OFFLINE
        return None

    def health(self) -> str:
        if not self.answered:
            return "no answer"
        for flag, text in ((self.paper_out, "paper out"), (self.cover_open, "cover open"),
                           (self.error, "printer error"), (self.offline, "offline"),
                           (self.paper_near_end, "paper near end")):
            if flag:
                return text
        return "ok"


class TicketPrinter:
    """An ESC/POS printer on a serial line or `socket://host:9100`; blocking I/O in threads."""

    def __init__(self, name: str, url: str, baudrate: int = 9600, *,
                 status_timeout: float = 0.5) -> None:
        self.name = name
        self.url = url
        self.status_timeout = status_timeout
        self._line = Line(url, baudrate)
        self._lock = asyncio.Lock()
        self._health = "not checked"

    def health(self) -> str:
        return self._health

    async def status(self) -> PrinterStatus:
        async with self._lock:
            return await asyncio.to_thread(self._status)

    async def ready(self) -> str | None:
        """None when a ticket can be printed now, else the Chinese reason."""
        return (await self.status()).reason()

    async def print_ticket(self, t: PrintedTicket) -> None:
        """Check status, then print; raises PrinterNotReady before anything is printed."""
        data = encode_ticket(t)
        async with self._lock:
            state = await asyncio.to_thread(self._status)
            reason = state.reason()
            if reason is not None:
                raise PrinterNotReady(reason)
            if not await asyncio.to_thread(self._line.write, data):
                self._health = self._line.error or "line error"
                raise PrinterNotReady(REASON_NO_ANSWER)

    async def close(self) -> None:
        await asyncio.to_thread(self._line.close)

    def _status(self) -> PrinterStatus:
        """Blocking: DLE EOT 1, 2, 4, one answer byte each within `status_timeout`."""
        answers: list[int] = []
        line = self._line
        with line.lock:
            if not line.open():
                self._health = line.error or "cannot open"
                return PrinterStatus(answered=False)
            line.discard_input()
            for n in (1, 2, 4):
                if not line.write(bytes((DLE, EOT, n))):
                    self._health = line.error or "line error"
                    return PrinterStatus(answered=False)
                byte = self._read_byte()
                if byte is None:
                    self._health = "no answer"
                    return PrinterStatus(answered=False)
                answers.append(byte)
        state = PrinterStatus.parse(*answers)
        self._health = state.health()
        return state

    def _read_byte(self) -> int | None:
        data = self._line.read_raw(1, self.status_timeout)
        return data[0] if data else None
