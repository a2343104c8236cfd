"""English ``say`` expansions (Asterisk's ``main/say.c``): numbers, digits, characters.

Each function returns the sound ids played in order. ``say_number`` does not
check the files (Asterisk doesn't either); ``say_digits`` and
``say_characters`` keep only the ids for which ``exists`` says a file exists,
as Asterisk does, so an unknown character is silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)


def say_number(num: int) -> list[str]:
    """Sound ids for ``num`` in American English (``digits/1``, ``digits/hundred`` …)."""
    if num == 0:
        return ["digits/0"]
    if not INT_MIN <= num <= INT_MAX:
        raise ValueError(f"number {num} is out of range")
    out: list[str] = []
    if num < 0:
        out.append("digits/minus")
        num = -num if num > INT_MIN else 0
    if num >= 1_000_000_000:
        if num >= INT_MAX:
            raise ValueError(f"number {num} is too big")
        out += [*say_number(num // 1000000000), "digits/billion"]
        num %= 1_000_000_000
    if num >= 1_000_000:
        out += [*say_number(num // 1000000), "digits/million"]
        num %= 1_000_000
    if num >= 1000:
        out += [*say_number(num // 1000), "digits/thousand"]
        num %= 1000
    if num >= 100:
        out += [f"digits/{num // 100}", "digits/hundred"]
        num %= 100
    if num >= 20:
        out.append(f"digits/{num // 10 * 10}")
        num %= 10
    if num:
        out.append(f"digits/{num}")
    return out


_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


def parse_number(text: str) -> int | None:
    """The leading integer of ``text`` (like ``sscanf("%30d")``), ``None`` if there is none."""
    m = _LEADING_INT.match(text)
    if m is None:
        return None
    value = int(m.group(1))
    return value if INT_MIN <= value <= INT_MAX else None


_DIGIT_FILES = {"*": "digits/star", "#": "digits/pound", "-": "digits/minus"}

_CHARACTER_FILES = {
    "*": "digits/star",
    "#": "digits/pound",
    "!": "letters/exclaimation-point",
    "@": "letters/at",
    "$": "letters/dollar",
    "-": "letters/dash",
    ".": "letters/dot",
    "=": "letters/equals",
    "+": "letters/plus",
    "/": "letters/slash",
    " ": "letters/space",
}


def say_digits(text: str, exists: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    for ch in text:
        fn = f"digits/{ch}" if ch.isascii() and ch.isdigit() else _DIGIT_FILES.get(ch)
        if fn is not None and exists(fn):
            out.append(fn)
    return out


def say_characters(text: str, exists: Callable[[str], bool]) -> list[str]:
    out: list[str] = []
    for ch in text:
        if ch in _CHARACTER_FILES:
            fn = _CHARACTER_FILES[ch]
        elif ch.isascii() and ch.isdigit():
            fn = f"digits/{ch}"
        else:
            fn = f"letters/{ch.lower()}"
        if exists(fn):
            out.append(fn)
        elif ord(ch) < 128 and exists(f"letters/ascii{ord(ch)}"):
            out.append(f"letters/ascii{ord(ch)}")
    return out
