"""Call phrases: the text, and how espeak-ng's pinyin voice will actually read it."""

from __future__ import annotations

import re
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from displays.phrase import (
    build_announcement,
    call_phrase,
    display_phrase,
    led_call_text,
    number_to_hanzi,
    speak_number,
    spell_digits,
)


def phonemes(text: str) -> list[str]:
    """espeak-ng's phoneme syllables for `text` with the voice the hall uses."""
    out = subprocess.run(["espeak-ng", "-v", "cmn-latn-pinyin", "-q", "-x", text],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    return [s.strip(" '_,") for s in re.split(r"[_|\s]+", out) if s.strip(" '_,|")]


YI, LING, SAN, SHI, ER, WU, HAO = "j'i55", "l'i35N", "s'a55n", "s.'i.35", "'@r51", "w'u21", "X'Au51"


def strip(p: str) -> str:
    return p.replace("'", "").replace(",", "")


def test_plain_comprehensive_window() -> None:
    assert call_phrase("A001", 3, "3号窗口", "comprehensive") == "请A零零一号到三号窗口办理"
    assert display_phrase("A001", 3, "3号窗口", "comprehensive") == "请A001号到3号窗口办理"
    assert led_call_text("A001", 3, "3号窗口", "comprehensive") == "A001 请到3号窗口"


def test_special_window_by_name() -> None:
    assert call_phrase("A001", 5, "帮办代办窗口", "helpdesk") == "请A零零一号到五号帮办代办窗口办理"
    assert display_phrase("A001", 5, "帮办代办窗口", "helpdesk") == "请A001号到5号帮办代办窗口办理"


def test_window_twelve_is_a_number_and_template_is_honoured() -> None:
    text = call_phrase("B123", 12, "办不成事反映窗口", "complaint",
                       template="{number}号请到{window}")
    assert text == "B一二三号请到十二号办不成事反映窗口"


def test_spoken_text_has_no_arabic_digits_for_the_voice_to_misread() -> None:
    for n in (1, 9, 10, 11, 12, 20, 99, 100, 101, 110, 123):
        assert not re.search(r"\d", call_phrase(f"C{n:03d}", n, f"{n}号窗口", "comprehensive"))


def test_espeak_reads_ticket_digits_one_by_one_with_yi() -> None:
    # "A001": A, 零, 零, 一 (yī: j'i55), never "yāo" and never a number like 一百
    syl = [strip(s) for s in phonemes(call_phrase("A001", 3, "3号窗口", "comprehensive"))]
    assert syl[:5] == [strip(x) for x in ("tS;h'i21N", "'ei51", LING, LING, YI)]
    assert strip(SAN) in syl and syl[syl.index(strip(SAN)) + 1] == strip(HAO)
    # the raw Arabic form would have been merged ("l,i35Nli35N"): that is what we avoid
    raw = "".join(phonemes("请A001号"))
    assert "li35Nli35N" in raw.replace("'", "").replace(",", "")


def test_espeak_reads_window_twelve_as_shi_er_and_ticket_123_digit_by_digit() -> None:
    syl = [strip(s) for s in phonemes(call_phrase("B123", 12, "12号窗口", "comprehensive"))]
    # B 一 二 三 号 … 十 二 号
    assert syl[1:6] == ["pi51", strip(YI), strip(ER), strip(SAN), strip(HAO)]
    i = syl.index(strip(SHI))
    assert syl[i:i + 3] == [strip(SHI), strip(ER), strip(HAO)]
    assert "pai21" not in "".join(syl)  # 百 never appears


def test_number_to_hanzi() -> None:
    assert [number_to_hanzi(n) for n in (0, 3, 10, 12, 20, 21, 100, 105, 110, 999)] == [
        "零", "三", "十", "十二", "二十", "二十一", "一百", "一百零五", "一百一十", "九百九十九"]


@given(st.text(alphabet="ABCDEFGH0123456789", min_size=1, max_size=8))
def test_spell_digits_keeps_letters_and_maps_every_digit(code: str) -> None:
    spelled = spell_digits(code)
    assert len(spelled) == len(code)
    assert not re.search(r"\d", spelled)
    assert [c for c in spelled if c.isascii()] == [c for c in code if c.isalpha()]


def test_build_announcement_repeats() -> None:
    assert build_announcement("请A零零一号到三号窗口办理") == ["请A零零一号到三号窗口办理"] * 2
    assert build_announcement("x", repeat=3) == ["x", "x", "x"]
    with pytest.raises(ValueError):
        build_announcement("x", repeat=0)


def sound(words: list[str]) -> str:
    """What a listener can tell apart: espeak-ng's phonemes without tone and stress marks,
    language switches, or the pinyin glides of yi/wu (yī and ī are one sound, as are
    wǔ and ǔ). Tones alone do not count: "yì yī yī yī" is what E111 sounded like."""
    s = re.sub(r"\((?:en|cmn)\)", "", "".join(words))
    s = re.sub(r"[0-9',]", "", s)
    return re.sub(r"j(?=i)|w(?=u)", "", s)


def test_every_letter_and_digit_is_said_distinctly_in_the_call_phrase() -> None:
    letters, digits = {}, {}
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        words = phonemes(call_phrase(f"{letter}000", 3, "3号窗口", "comprehensive"))
        hao = words.index(HAO)  # 请 | the letter | 零 零 零 | 号
        assert [sound([w]) for w in words[hao - 3:hao]] == [sound([LING])] * 3, letter
        letters[letter] = sound(words[1:hao - 3])
    for digit in "0123456789":
        words = phonemes(call_phrase(f"A{digit * 3}", 3, "3号窗口", "comprehensive"))
        hao = words.index(HAO)
        said = {sound([w]) for w in words[hao - 3:hao]}
        assert len(said) == 1, (digit, words)  # each of the three said alike, one by one
        digits[digit] = said.pop()
    every = list(letters.values()) + list(digits.values())
    assert all(every) and len(set(every)) == 36, (letters, digits)
    assert not set(letters.values()) & set(digits.values())
    # the two the issue names: E111 is not four 一, G is not zhì
    assert letters["E"] != digits["1"] and letters["G"] != "ts.i."
    assert letters["R"] != digits["2"]


def test_speak_number_respells_only_the_letter() -> None:
    assert speak_number(" e111 ") == "eeh一一一"
    assert speak_number("A001") == "A零零一"
    assert call_phrase("R020", 3, "3号窗口", "comprehensive") == "请ar零二零号到三号窗口办理"
