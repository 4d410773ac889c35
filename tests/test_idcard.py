"""The ID card reader driver on bytes and on a real pty: frames as readers send them, a bad
checksum dropped, the photo never taken, one read per placing, a silent reader reported."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import fields
from datetime import date

import pytest

from devices.idcard import (
    FIND_CARD,
    NO_CARD,
    READ_BASE,
    SELECT_CARD,
    CardFailure,
    IdCard,
    IdCardReader,
    decode_answers,
    encode_answer,
    encode_command,
    parse_base_info,
)
from tests.devsim import PHOTO_MARK, IdCardSim, sam_answer, sam_text, until

NUMBER = "11010519491231002X"  # GB 11643's worked example
TEXT = sam_text("张小三", NUMBER, "19491231")


@pytest.fixture
def sim() -> Iterator[IdCardSim]:
    s = IdCardSim()
    yield s
    s.close()


def test_commands_are_the_frames_readers_document() -> None:
    # the bytes printed in reader manuals: find card, select card, read base info
    assert encode_command(*FIND_CARD) == bytes.fromhex("AAAAAA9669 0003 2001 22")
    assert encode_command(*SELECT_CARD) == bytes.fromhex("AAAAAA9669 0003 2002 21")
    assert encode_command(*READ_BASE) == bytes.fromhex("AAAAAA9669 0003 3001 32")


def test_answers_decode_across_reads_and_noise() -> None:
    found = bytes.fromhex("AAAAAA9669 0008 00009F 00000000 97")  # a manual's "card found"
    assert encode_answer(0x9F, bytes(4)) == found
    none = sam_answer(0x80)
    noise = b"\x00\xff noise"
    stream = noise + found + none
    cut = len(noise) + 9  # inside the first answer
    answers, rest = decode_answers(stream[:cut])
    assert answers == [] and rest == found[:9]
    answers, rest = decode_answers(rest + stream[cut:])
    assert [a.status for a in answers] == [0x9F, 0x80] and rest == b""
    # a preamble cut in two by the read is kept for the next one
    answers, rest = decode_answers(found + none[:3])
    assert [a.status for a in answers] == [0x9F] and rest == none[:3]


def test_a_bad_checksum_is_dropped_and_the_next_answer_still_read() -> None:
    good = sam_answer(0x90, b"\x01\x02")
    bad = good[:-1] + bytes([good[-1] ^ 1])
    answers, _ = decode_answers(bad + good)
    assert len(answers) == 1 and answers[0].data == b"\x01\x02"
    # an impossible length is noise, not a reason to wait for 60 kB
    answers, rest = decode_answers(bytes.fromhex("AAAAAA9669 FFFF 00") + good)
    assert len(answers) == 1 and rest == b""


def test_base_info_gives_name_number_and_birth_and_never_the_photo() -> None:
    photo = (PHOTO_MARK * 103)[:1024]
    data = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + TEXT + photo
    card = parse_base_info(data)
    assert card == IdCard("张小三", NUMBER, date(1949, 12, 31), "resident")
    # the driver's read has no room for a photo, an address or anything else
    assert [f.name for f in fields(IdCard)] == ["name", "id_number", "birth", "card_type"]
    assert "张" not in repr(card) and NUMBER not in repr(card) and "WLT" not in repr(card)
    hmt = sam_text("陈大文", "810000199001011234", "19900101", card_type="J")
    assert parse_base_info(data[:4] + hmt + photo) == IdCard(
        "陈大文", "810000199001011234", date(1990, 1, 1), "hmt_residence")
    foreign = sam_text("SMITH", "9" * 18, "19800101", card_type="I")
    assert parse_base_info(data[:4] + foreign + photo) == CardFailure("unsupported card type")
    assert isinstance(parse_base_info(data[:100]), CardFailure)
    bad_birth = sam_text("张小三", NUMBER, "1949AB31")
    assert parse_base_info(data[:4] + bad_birth + photo) == CardFailure("bad birth date")


def test_one_placing_is_one_read_on_a_real_pty(sim: IdCardSim) -> None:
    reader = IdCardReader("idcard-1", sim.path, poll_interval=0.05)
    try:
        assert reader.poll() == NO_CARD
        sim.place(TEXT)
        card = reader.poll()
        assert isinstance(card, IdCard) and card.id_number == NUMBER
        assert sim.commands[-3:] == [FIND_CARD, SELECT_CARD, READ_BASE]
        assert reader.poll() == NO_CARD  # still lying there: not read again
        assert sim.reads() == 1
        sim.lift()
        assert reader.poll() == NO_CARD
        sim.place(TEXT)
        assert isinstance(reader.poll(), IdCard)
        assert sim.reads() == 2
        assert reader.health() == "ok"
    finally:
        asyncio.run(reader.stop())


def test_a_corrupted_answer_is_not_a_read(sim: IdCardSim) -> None:
    reader = IdCardReader("idcard-1", sim.path, answer_timeout=0.3, read_timeout=0.3)
    try:
        sim.place(TEXT)
        sim.corrupt = 1
        assert reader.poll() is None  # the FIND answer had a bad checksum: nothing heard
        card = reader.poll()
        assert isinstance(card, IdCard) and card.name == "张小三"
    finally:
        asyncio.run(reader.stop())


async def test_the_thread_delivers_each_read_and_a_silent_reader_says_so(sim: IdCardSim) -> None:
    got: list[IdCard] = []

    async def on_read(card: IdCard) -> None:
        got.append(card)

    reader = IdCardReader("idcard-1", sim.path, on_read=on_read, poll_interval=0.05,
                          answer_timeout=0.1)
    reader.start()
    try:
        sim.place(TEXT)
        assert await until(lambda: len(got) == 1)
        await asyncio.sleep(0.3)
        assert len(got) == 1  # the card stayed: one read
        sim.mute = True
        assert await until(lambda: reader.health() == "no answer", 3)
        sim.mute = False
        assert await until(lambda: reader.health() == "ok", 3)
    finally:
        await reader.stop()


async def test_a_missing_port_is_named_in_health() -> None:
    reader = IdCardReader("idcard-9", "/dev/no-such-reader", poll_interval=0.05)
    reader.start()
    try:
        assert await until(lambda: reader.health().startswith("cannot open /dev/no-such-reader"))
    finally:
        await reader.stop()
