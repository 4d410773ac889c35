"""Ticket printer: ESC/POS bytes parsed back, and status answers from a pty printer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.printer import (
    PrintedTicket,
    PrinterNotReady,
    PrinterStatus,
    TicketPrinter,
    encode_ticket,
    printable,
)
from tests.devsim import PrinterSim, parse_escpos, until

TICKET = PrintedTicket(
    hall_name="示范县政务服务中心", queue_name="医保", service_name="社会保障卡(医保)申领",
    number="A001", people_ahead=4, eta_minutes=24, issued_at="2025-03-03 09:12",
    materials=["居民身份证原件", "近期一寸免冠彩色照片(可现场拍摄)"],
    skip_rule="过号请到原窗口重新叫号，当日有效",
    qr_url="https://hall.example.cn/t/Zq3xK9-token_ABC")


@pytest.fixture
def printer_sim() -> Iterator[PrinterSim]:
    sim = PrinterSim()
    yield sim
    sim.close()


def test_ticket_bytes_parse_back() -> None:
    doc = parse_escpos(encode_ticket(TICKET))
    assert doc.events[0] == ("init",)
    assert doc.events[1] == ("hanzi", True)
    text = doc.text
    for needle in ("示范县政务服务中心", "社会保障卡(医保)申领", "A001", "前面还有 4 人",
                   "约 24 分钟", "居民身份证原件", "近期一寸免冠彩色照片(可现场拍摄)",
                   "过号请到原窗口重新叫号", "2025-03-03 09:12"):
        assert needle in text
    # the number is printed at double width+height, and size goes back to normal after it
    number_at = doc.index("text", "A001")
    assert doc.events[number_at - 1] == ("size", 0x11)
    assert doc.events[number_at + 1] == ("size", 0x00)
    # QR: model 2, error correction M (49), the payload is exactly the token URL, printed
    assert ("qr_model", 0x32) in doc.events and ("qr_ec", 0x31) in doc.events
    store = doc.index("qr_store")
    assert doc.events[store][1] == TICKET.qr_url
    assert doc.index("qr_print") > store
    # leaves Hanzi mode, then a partial cut is the very last thing
    assert doc.events[-2] == ("hanzi", False)
    assert doc.events[-1] == ("cut", 66, 0)


@given(service=st.text(min_size=1, max_size=30).filter(lambda s: "\n" not in s),
       url=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                   max_size=400))
def test_any_service_name_and_url_survive(service: str, url: str) -> None:
    t = PrintedTicket("厅", "队列", service, "B012", 0, 0, "09:00", [], "", url)
    doc = parse_escpos(encode_ticket(t))
    # control characters never reach the printer as commands; the rest prints verbatim
    assert f"队列 · {printable(service)}" in doc.text.split("\n")
    assert doc.events[doc.index("qr_store")][1] == url
    assert doc.events[-1] == ("cut", 66, 0)


async def test_prints_when_ready(printer_sim: PrinterSim) -> None:
    printer = TicketPrinter("kiosk-1", printer_sim.path, status_timeout=0.3)
    try:
        assert await printer.ready() is None
        await printer.print_ticket(TICKET)
        assert await until(lambda: bytes(printer_sim.printed).endswith(b"\x1dV\x42\x00"))
        doc = parse_escpos(bytes(printer_sim.printed))
        assert "A001" in doc.text and "居民身份证原件" in doc.text
        assert printer.health() == "ok"
    finally:
        await printer.close()


async def test_paper_out_refuses_with_chinese_reason(printer_sim: PrinterSim) -> None:
    printer_sim.state = "paper_out"
    printer = TicketPrinter("kiosk-1", printer_sim.path, status_timeout=0.3)
    try:
        with pytest.raises(PrinterNotReady) as info:
            await printer.print_ticket(TICKET)
        assert "缺纸" in info.value.reason
        assert printer.health() == "paper out"
        assert bytes(printer_sim.printed) == b""  # nothing printed, status asked 3 times
        assert printer_sim.status_requests == 3
    finally:
        await printer.close()


async def test_cover_open(printer_sim: PrinterSim) -> None:
    printer_sim.state = "cover_open"
    printer = TicketPrinter("kiosk-1", printer_sim.path, status_timeout=0.3)
    try:
        assert await printer.ready() == "打印机盖未关"
        assert printer.health() == "cover open"
    finally:
        await printer.close()


async def test_silent_printer_is_no_answer(printer_sim: PrinterSim) -> None:
    printer_sim.state = "silent"
    printer = TicketPrinter("kiosk-1", printer_sim.path, status_timeout=0.1)
    try:
        with pytest.raises(PrinterNotReady) as info:
            await printer.print_ticket(TICKET)
        assert "无响应" in info.value.reason
        assert printer.health() == "no answer"
        assert bytes(printer_sim.printed) == b""
    finally:
        await printer.close()


async def test_near_end_still_prints_but_warns(printer_sim: PrinterSim) -> None:
    printer_sim.state = "near_end"
    printer = TicketPrinter("kiosk-1", printer_sim.path, status_timeout=0.3)
    try:
        await printer.print_ticket(TICKET)
        assert printer.health() == "paper near end"
    finally:
        await printer.close()


async def test_missing_device_is_not_ready() -> None:
    printer = TicketPrinter("kiosk-2", "/dev/no-such-printer", status_timeout=0.1)
    assert await printer.ready() == "打印机无响应"
    assert printer.health().startswith("cannot open /dev/no-such-printer")


def test_status_noise_is_not_trusted() -> None:
    assert PrinterStatus.parse(0xFF, 0x12, 0x12).reason() == "打印机无响应"
    assert PrinterStatus.parse(0x12, 0x12, 0x12).reason() is None
