"""The password rules and the temporary passwords an admin hands out (issue 10.3).

Why these rules: the hall's accounts guard citizens' complaints, contacts and the audit log, and
Chinese government systems are assessed against 等级保护 (GB/T 22239), which asks for passwords
of some length and complexity, changed when someone else set them. The rules are few, so a clerk
can follow them, and each refusal says which one was broken:

* 10 to 128 characters (length is what makes a password hard to guess; 128 bounds the hashing);
* at least two kinds of character among 大写字母, 小写字母, 数字 and 符号 (anything else,
  Chinese characters too, counts as a 符号);
* not the username, and not containing it (for usernames of 3 characters or more);
* not one of the passwords every guessing list starts with (`COMMON`, compared without case);
* a new password differs from the current one (checked where the current one is known).

Pure functions without I/O: the API, the command line and the tests use the same ones, and the
pages show `RULES` as they are.
"""

from __future__ import annotations

import secrets
import string

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_CLASSES = 2

RULES = (
    f"长度 {MIN_LENGTH} 至 {MAX_LENGTH} 位",
    "至少包含大写字母、小写字母、数字、符号中的两类",
    "不能与用户名相同，也不能包含用户名",
    "不能使用常见的弱密码（如 1234567890、键盘上连续的字符）",
    "新密码不能与当前密码相同",
)

# Passwords of 10 characters or more found at the top of every leaked-password list, and the
# ones people in a Chinese office make of the pinyin they would type first.
COMMON = frozenset({
    "1234567890", "0123456789", "12345678910", "123456789a", "a123456789", "1q2w3e4r5t",
    "1qaz2wsx3edc", "qwertyuiop", "qwerty1234", "qwerty123456", "password12", "password123",
    "password1234", "passw0rd123", "p@ssw0rd123", "p@ssword123", "admin12345", "admin123456",
    "administrator", "abc1234567", "abcd123456", "abcdefg123", "iloveyou12", "woaini1314",
    "woaini520520", "woaini123456", "zhang123456", "wang123456", "1234qwer!@#$", "aa12345678",
    "qq123456789", "asdfghjkl1", "zxcvbnm123", "111111111a", "88888888aa", "changeme123",
    "welcome123", "letmein123", "hall123456", "huawei@123", "admin@1234", "root123456",
})

# Temporary passwords: no characters read alike on paper or a screen (0/O, 1/l/I).
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_DIGITS = "23456789"
TEMPORARY_LENGTH = 12


def classes(password: str) -> int:
    """How many of the four kinds of character `password` uses."""
    kinds = set()
    for ch in password:
        if ch in string.ascii_uppercase:
            kinds.add("upper")
        elif ch in string.ascii_lowercase:
            kinds.add("lower")
        elif ch in string.digits:
            kinds.add("digit")
        else:
            kinds.add("symbol")
    return len(kinds)


def problem(password: str, username: str | None = None) -> str | None:
    """Pure: the first rule `password` breaks, as a Chinese sentence; None when it keeps them."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > MAX_LENGTH:
        return f"密码不能超过 {MAX_LENGTH} 位"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        return "密码不能包含控制字符"
    if classes(password) < MIN_CLASSES:
        return "密码至少要包含大写字母、小写字母、数字、符号中的两类"
    if username:
        name, lowered = username.lower(), password.lower()
        if lowered == name or (len(name) >= 3 and name in lowered):
            return "密码不能与用户名相同，也不能包含用户名"
    if password.lower() in COMMON:
        return "这是常见的弱密码，很容易被猜到，请换一个"
    return None


def temporary() -> str:
    """A random password that keeps every rule, for an admin to hand over once (the user must
    change it at the next login). 12 characters of 57: about 70 bits."""
    alphabet = _UPPER + _LOWER + _DIGITS
    while True:
        word = "".join(secrets.choice(alphabet) for _ in range(TEMPORARY_LENGTH))
        if (any(c in _UPPER for c in word) and any(c in _LOWER for c in word)
                and any(c in _DIGITS for c in word)):
            return word
