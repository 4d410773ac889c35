"""Second-generation ID card readers (二代证阅读器) on a serial line, GA/T 467-2019 style.

The readers halls buy (神思, 华视, 新中新, 精伦 …) all carry the Ministry's SAM security module,
and on a serial line (RS-232, or USB-serial at 115200 baud) they speak the SAM module's frames:

    host → reader   AA AA AA 96 69 | LEN (2, big-endian) | CMD | PARA | data | CHK
    reader → host   AA AA AA 96 69 | LEN (2, big-endian) | SW1 SW2 SW3 | data | CHK

* LEN counts every byte after itself, the checksum included.
* CHK is the XOR of every byte from LEN to the end of the data.
* SW3 is the status: 90 done, 9F card found, 80 no card found, 81 select failed, 41 read
  failed, 10 bad checksum, 11 bad length, 21 unknown command (SW1, SW2 are 00).

The host polls: FIND CARD (20 01) every `poll_interval` (0.3 s; readers ask for ≥ 300 ms);
on 9F, SELECT CARD (20 02) then READ BASE INFO (30 01). Its answer's data:

    text length (2, big-endian: 0x0100) | photo length (2: 0x0400) | text (256) | photo (1024)

The text is UCS-2 little-endian, space-padded: name (15 characters), sex (1), nation (2),
birth date YYYYMMDD (8), address (35), ID number (18), issuing office (15), valid from (8),
valid to (8, or 长期), reserved (18; its character 124 is the card type: space for a 居民身份证,
`J` for a 港澳台居民居住证, which shares the layout). The photo is a compressed image (WLT).

What is taken (domain.md: name, ID number, birth date only; never the photo): `IdCard`
holds the name, the number and the birth date and nothing else. The address and the other
fields are never decoded; the photo bytes are never read out of the answer, stored or passed
on. A card of another type (the 外国人永久居留身份证 has its own layout) is reported as an
unsupported card, and the kiosk asks for the number to be typed.

A card stays on the reader while the citizen chooses: after a read the reader is not read
again until a FIND CARD says the card is gone, so one placing is one read.

Health: "ok"; "no answer" after `misses` FIND CARDs without a valid answer (unplugged, wrong
baud rate); or the line's error ("cannot open /dev/ttyUSB0: …").

Vendor readers that speak something else plug in by subclassing `IdCardReader` and
overriding `poll()` (one blocking poll: an `IdCard`, a `CardFailure`, `NO_CARD`, or None for
no answer); the thread, the callbacks and health stay the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date

from devices.tasks import LineThread
from devices.transport import Line

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
MAX_LENGTH = 4096  # a base-info-and-fingerprint answer is 2324 bytes; anything longer is noise

FIND_CARD = (0x20, 0x01)
SELECT_CARD = (0x20, 0x02)
READ_BASE = (0x30, 0x01)
SAM_STATUS = (0x11, 0xFF)

ST_OK = 0x90
ST_FOUND = 0x9F
ST_NO_CARD = 0x80

TEXT_BYTES = 256
# (offset, bytes) in the text block, UCS-2LE
NAME = (0, 30)
BIRTH = (36, 16)
ID_NUMBER = (122, 36)
CARD_TYPE = (248, 2)
CARD_TYPES = {" ": "resident", "\x00": "resident", "J": "hmt_residence"}
UNSUPPORTED_TYPE = "unsupported card type"


@dataclass(frozen=True)
class Answer:
    """One decoded reader answer; `data` as sent (for READ BASE it still holds the photo,
    which nothing here copies out)."""

    sw1: int
    sw2: int
    status: int
    data: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class IdCard:
    """What the hall takes of a card. repr hides the person: a log line of a read never
    carries a name or a number."""

    name: str = field(repr=False)
    id_number: str = field(repr=False)
    birth: date = field(repr=False)
    card_type: str = "resident"


@dataclass(frozen=True)
class CardFailure:
    """A card was there but could not be read or is not one we read (for the kiosk to say
    "place it again" or "type the number")."""

    reason: str


NO_CARD = "no card"
Poll = IdCard | CardFailure | str | None


def checksum(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def encode_command(command: int, para: int, data: bytes = b"") -> bytes:
    """A host → reader frame."""
    body = bytes((command, para)) + data
    head = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + head + body + bytes((checksum(head + body),))


def encode_answer(status: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader → host frame (for firmware-side tests; the simulator has its own)."""
    body = bytes((sw1, sw2, status)) + data
    head = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + head + body + bytes((checksum(head + body),))


def decode_answers(buffer: bytes) -> tuple[list[Answer], bytes]:
    """Split received bytes into valid answers and the unfinished rest.

    Bytes before a preamble are noise; an answer whose length is impossible or whose
    checksum is wrong is dropped and the search resumes one byte after its preamble, so a
    corrupted answer never hides the next good one."""
    answers: list[Answer] = []
    i = 0
    while True:
        start = buffer.find(PREAMBLE, i)
        if start < 0:
            # keep a tail that may be the start of a preamble cut by the read
            tail = buffer[max(i, len(buffer) - len(PREAMBLE) + 1):]
            keep = next((tail[k:] for k in range(len(tail))
                         if PREAMBLE.startswith(tail[k:])), b"")
            return answers, bytes(keep)
        head = start + len(PREAMBLE)
        if len(buffer) < head + 2:
            return answers, bytes(buffer[start:])
        length = int.from_bytes(buffer[head:head + 2], "big")
        if not 4 <= length <= MAX_LENGTH:
            i = start + 1
            continue
        end = head + 2 + length
        if len(buffer) < end:
            return answers, bytes(buffer[start:])
        frame = buffer[head:end]
        if checksum(frame[:-1]) != frame[-1]:
            i = start + 1
            continue
        answers.append(Answer(frame[2], frame[3], frame[4], bytes(frame[5:-1])))
        i = end


def _text(block: bytes, where: tuple[int, int]) -> str:
    offset, size = where
    return block[offset:offset + size].decode("utf-16-le", "replace").strip(" \x00")


def parse_base_info(data: bytes) -> IdCard | CardFailure:
    """The READ BASE INFO answer's data → the name, number and birth date; the photo block
    after the text is skipped without being looked at."""
    if len(data) < 4:
        return CardFailure("short answer")
    text_length = int.from_bytes(data[0:2], "big")
    photo_length = int.from_bytes(data[2:4], "big")
    if text_length < TEXT_BYTES or len(data) < 4 + text_length + photo_length:
        return CardFailure("short answer")
    block = data[4:4 + text_length]
    kind = CARD_TYPES.get(block[CARD_TYPE[0]:sum(CARD_TYPE)].decode("utf-16-le", "replace"))
    if kind is None:
        return CardFailure(UNSUPPORTED_TYPE)
    name = _text(block, NAME)
    number = _text(block, ID_NUMBER).upper()
    born = _text(block, BIRTH)
    try:
        birth = date(int(born[0:4]), int(born[4:6]), int(born[6:8]))
    except ValueError:
        return CardFailure("bad birth date")
    if not name or len(number) != 18:
        return CardFailure("bad text block")
    return IdCard(name, number, birth, kind)


ReadCallback = Callable[[IdCard], Awaitable[None]]
FailureCallback = Callable[[CardFailure], Awaitable[None]]


class IdCardReader:
    """One reader on one serial line: polls in a thread, delivers each card to `on_read`
    (and an unreadable one to `on_failure`) on the event loop."""

    def __init__(self, name: str, url: str, baudrate: int = 115200, *,
                 on_read: ReadCallback | None = None,
                 on_failure: FailureCallback | None = None,
                 poll_interval: float = 0.3, answer_timeout: float = 0.5,
                 read_timeout: float = 2.0, misses: int = 3) -> None:
        self.name = name
        self.url = url
        self.on_read = on_read
        self.on_failure = on_failure
        self.poll_interval = poll_interval
        self.answer_timeout = answer_timeout
        self.read_timeout = read_timeout
        self.misses = misses
        self._line = Line(url, baudrate)
        self._missed = 0
        self._present = False  # a card was read and has not left the reader since
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker = LineThread(f"idcard:{name}", self._run, self._line, 3)
        self._stop = self._worker.stopping

    def health(self) -> str:
        if self._line.error:
            return self._line.error
        if self._missed >= self.misses:
            return "no answer"
        return "ok"

    def start(self) -> None:
        """Start polling; must be called from the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._worker.start()

    async def stop(self) -> None:
        await self._worker.stop()

    # -- blocking: the polling thread (and tests) ----------------------------------------

    def exchange(self, command: tuple[int, int], timeout: float) -> Answer | None:
        """Send one command, wait for its answer; None when none came in time."""
        with self._line.lock:
            self._line.discard_input()
            if not self._line.write(encode_command(*command)):
                return None
            deadline = time.monotonic() + timeout
            pending = b""
            while time.monotonic() < deadline:
                chunk = self._line.read_raw(4096, 0.02)
                if not chunk:
                    if not self._line.is_open:
                        return None
                    continue
                answers, pending = decode_answers(pending + chunk)
                if answers:
                    return answers[0]
        return None

    def poll(self) -> Poll:
        """One poll: FIND CARD, and on a card not read yet SELECT and READ BASE INFO."""
        found = self.exchange(FIND_CARD, self.answer_timeout)
        if found is None:
            return None
        if found.status != ST_FOUND:
            self._present = False
            return NO_CARD
        if self._present:
            return NO_CARD  # the card read last is still lying there
        selected = self.exchange(SELECT_CARD, self.answer_timeout)
        if selected is None:
            return None
        if selected.status != ST_OK:
            return CardFailure("select failed")
        base = self.exchange(READ_BASE, self.read_timeout)
        if base is None:
            return None
        self._present = True
        if base.status != ST_OK:
            return CardFailure("read failed")
        return parse_base_info(base.data)

    def _run(self) -> None:
        """Runs until stop(); a dead polling thread would silently turn the reader into a
        plastic box, so any error is recorded as a line error and polling goes on."""
        while not self._stop.is_set():
            if not self._line.open():
                self._stop.wait(0.5)
                continue
            try:
                result = self.poll()
            except Exception as exc:  # noqa: BLE001 - see docstring
                self._line.error = f"reader error: {exc!r}"
                self._line.close()
                self._stop.wait(0.5)
                continue
            self._missed = self._missed + 1 if result is None else 0
            if isinstance(result, IdCard) and self.on_read is not None:
                self._deliver(self.on_read(result))
            elif isinstance(result, CardFailure) and self.on_failure is not None:
                self._deliver(self.on_failure(result))
            self._stop.wait(self.poll_interval)

    def _deliver(self, coroutine: Awaitable[None]) -> None:
        loop = self._loop
        if loop is None:
            with contextlib.suppress(Exception):
                coroutine.close()  # type: ignore[attr-defined]
            return
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            asyncio.run_coroutine_threadsafe(coroutine, loop)  # type: ignore[arg-type]
