"""Call phrases: what the hall SAYS and what screens SHOW for one call.

Spoken text is written for espeak-ng's `sit/cmn-Latn-pinyin` voice, which reads Arabic
digits by its own rules ("001" digit by digit, but "123" as 一百二十三 and "12号" as 十二号,
stack-notes.md). So the spoken text never contains Arabic digits:

* A ticket number is a code: its digits are spelled one by one as Hanzi (A001 → A零零一),
  with 1 read as 一 (yī), as domain.md asks; 幺 (yāo, the telephone reading) is not used.
* Its letter is said as Chinese halls say English letters (A "ei", B "bi", F "aif" …), from
  `LETTER_SPOKEN`, a table measured with `espeak-ng -x`. The voice's own reading is kept
  where it is that name; three letters are respelled because the voice reads them as
  Mandarin syllables a citizen takes for something else: E as yì (一: "E111" was heard
  "yì yī yī yī"), G as zhì, R as ér (二). E has no Mandarin reading that is not yī, so it is
  said as the English letter name, long "ee" (the voice switches to English for "eeh"); G
  is 吉 jí and R is a'er (阿尔), as people say them; Y is said wài, not wuài.
* A window number is a number, not a code: 3 → 三, 12 → 十二 ("十二号窗口"), because that is
  how people say and look for windows, and signs read "12号窗口".
* Special windows are announced by their name after the number: helpdesk window 5 named
  "帮办代办窗口" → "五号帮办代办窗口"; a window whose name already is "3号窗口" → "三号窗口".
  Digits elsewhere in a window name are a code and are spelled one by one.

Screens (`display_phrase`) keep Arabic digits: people read "A001" faster than "A零零一".
"""

from __future__ import annotations

import re

DEFAULT_TEMPLATE = "请{number}号到{window}办理"
HANZI_DIGITS = "零一二三四五六七八九"


# How the voice must be written to say each prefix letter (tests/test_phrase.py checks all 26
# against the ten digits and each other on espeak-ng's phonemes). Letters absent here are
# said right by the voice as they are.
LETTER_RESPELLED = {
    "E": "eeh",   # English "ee" (i:), not yì = 一
    "G": "ji2",   # 吉 jí, not zhì
    "R": "ar",    # a'er, not ér = 二
    "Y": "wai4",  # wài, not wuài
}
LETTER_SPOKEN = {c: LETTER_RESPELLED.get(c, c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


def speak_number(number: str) -> str:
    """A ticket number as the voice must read it: 'E111' → 'eeh一一一'."""
    return "".join(LETTER_SPOKEN.get(c, c) for c in spell_digits(number.strip().upper()))


def spell_digits(text: str) -> str:
    """Every ASCII digit as its Hanzi digit, so the voice reads it alone (1 → 一)."""
    return "".join(HANZI_DIGITS[int(c)] if c.isascii() and c.isdigit() else c for c in text)


def number_to_hanzi(n: int) -> str:
    """A cardinal number as spoken: 3 → 三, 10 → 十, 12 → 十二, 20 → 二十, 105 → 一百零五."""
    if n < 0:
        raise ValueError(f"negative number: {n}")
    if n < 10:
        return HANZI_DIGITS[n]
    if n < 20:
        return "十" + (HANZI_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return HANZI_DIGITS[n // 10] + "十" + (HANZI_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        head = HANZI_DIGITS[n // 100] + "百"
        if rest == 0:
            return head
        if rest < 10:
            return head + "零" + HANZI_DIGITS[rest]
        if rest < 20:
            return head + "一" + number_to_hanzi(rest)
        return head + number_to_hanzi(rest)
    return spell_digits(str(n))


def _window_text(window_number: int, window_name: str, window_kind: str) -> str:
    """The window as written on screens: '3号窗口' or '5号帮办代办窗口'."""
    name = window_name.strip()
    prefix = f"{window_number}号"
    if not name:
        return prefix + "窗口"
    if name.startswith(prefix):
        return name
    if window_kind == "comprehensive" and re.fullmatch(r"\d+号窗口", name):
        # A comprehensive window renamed by number ("3号窗口" on window 3 is handled above);
        # the configured name wins over the internal number.
        return name
    return prefix + name


def _speak_window(window_text: str) -> str:
    """'12号帮办代办窗口' → '十二号帮办代办窗口'.

    The leading number is said as a number; any other digits are a code, spelled.
    """
    match = re.match(r"(\d+)号", window_text)
    if match:
        head = number_to_hanzi(int(match.group(1))) + "号"
        return head + spell_digits(window_text[match.end():])
    return spell_digits(window_text)


def call_phrase(number: str, window_number: int, window_name: str, window_kind: str,
                template: str = DEFAULT_TEMPLATE) -> str:
    """The text to SPEAK for a call: '请A零零一号到三号窗口办理'.

    `template` is the hall's `[voice] template` with `{number}` and `{window}`.
    """
    spoken_number = speak_number(number)
    spoken_window = _speak_window(_window_text(window_number, window_name, window_kind))
    return template.format(number=spoken_number, window=spoken_window)


def display_phrase(number: str, window_number: int, window_name: str, window_kind: str,
                   template: str = DEFAULT_TEMPLATE) -> str:
    """The same call as text for screens: '请A001号到5号帮办代办窗口办理'."""
    return template.format(number=number.strip().upper(),
                           window=_window_text(window_number, window_name, window_kind))


def led_call_text(number: str, window_number: int, window_name: str, window_kind: str) -> str:
    """Short text for a window LED screen: 'A001 请到3号窗口'."""
    window = _window_text(window_number, window_name, window_kind)
    return f"{number.strip().upper()} 请到{window}"


def build_announcement(phrase: str, repeat: int = 2) -> list[str]:
    """The spoken segments rendered after the chime: the phrase `repeat` times.

    Repetition is the norm in halls: the first reading catches attention, the second is the
    one people actually hear.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    return [phrase] * repeat
