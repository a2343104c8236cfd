"""Asterisk extension names and patterns.

Semantics follow Asterisk's main/pbx.c (``_extension_match_core`` in ``E_MATCH``
mode, ``ext_cmp`` for ordering):

* a name starting with ``_`` is a pattern, anything else is matched literally;
* ``X`` is ``[0-9]``, ``Z`` is ``[1-9]``, ``N`` is ``[2-9]`` (also lower case);
* ``[...]`` is a set of single characters and ranges (``[1-5]``, ``[a-z]``,
  ``[135-7]``), case-sensitive, everything inside taken literally, an empty set
  ``[]`` is ignored and a set without ``]`` never matches;
* ``.`` matches one or more of anything and ``!`` zero or more; the rest of the
  pattern after them is ignored (as Asterisk does);
* other characters match literally (case-sensitive);
* ``-`` is "eye candy" and ignored outside brackets, both in the extension name
  (pattern or not) and in the dialled string;
* spaces outside brackets are removed from names when a dialplan is loaded
  (:func:`clean_name`).

:func:`sort_key` orders extensions exactly like ``ext_cmp``: literal names
first (byte order, dashes ignored), then patterns, most specific first,
compared position by position: a single character beats a smaller set, which
beats a larger set (sets of equal size: the one with the lowest differing
character first), then ``.`` and finally ``!``; a pattern that ends sorts
before a longer one with the same prefix.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "clean_name",
    "compare",
    "is_pattern",
    "match",
    "sort_key",
    "strip_fluff",
]

# Special position values of ext_cmp_pattern_pos.
_POS_DOT = 0x18000
_POS_BANG = 0x28000
_POS_END = 0x30000
_POS_BAD_SET = 0x40000

_DIGITS_N = frozenset(b"23456789")
_DIGITS_X = frozenset(b"0123456789")
_DIGITS_Z = frozenset(b"123456789")

SortKey = tuple[object, ...]


def is_pattern(name: str) -> bool:
    """True when ``name`` is a pattern (starts with ``_``)."""
    return name.startswith("_")


def _strip_outside_brackets(name: str, chars: str) -> str:
    """Drop ``chars`` outside ``[...]`` (brackets only count in patterns)."""
    pattern = is_pattern(name)
    out: list[str] = []
    in_squares = False
    for c in name:
        if c == "[":
            if pattern:
                in_squares = True
        elif c == "]":
            in_squares = False
        elif c in chars and not in_squares:
            continue
        out.append(c)
    return "".join(out)


def clean_name(name: str) -> str:
    """The name as Asterisk stores it: spaces outside brackets removed."""
    return _strip_outside_brackets(name, " ")


def strip_fluff(name: str) -> str:
    """The name used for matching: spaces and ``-`` outside brackets removed."""
    return _strip_outside_brackets(name, " -")


def _set_chars(body: bytes) -> tuple[frozenset[int], int]:
    """Characters of a ``[...]`` body and the lowest range start (cmin)."""
    chars: set[int] = set()
    cmin = 0xFF
    i = 0
    end = len(body)
    while i < end:
        c1 = body[i]
        if i + 2 < end and body[i + 1] == ord("-"):
            c2 = body[i + 2]
            i += 3
        else:
            c2 = c1
            i += 1
        cmin = min(cmin, c1)
        chars.update(range(c1, c2 + 1))
    return frozenset(chars), cmin


@functools.lru_cache(maxsize=4096)
def _pattern_key(body: str) -> tuple[object, ...]:
    """Per-position keys of a pattern body (without ``_``), like ext_cmp_pattern."""
    data = body.encode("utf-8")
    n = len(data)
    i = 0
    out: list[tuple[int, tuple[int, ...]]] = []
    while True:
        while i < n and data[i] == ord("-"):
            i += 1
        if i >= n:
            out.append((_POS_END, ()))
            break
        c = data[i]
        i += 1
        if c in b"nN":
            out.append((0x800 | ord("2"), tuple(sorted(_DIGITS_N))))
        elif c in b"xX":
            out.append((0xA00 | ord("0"), tuple(sorted(_DIGITS_X))))
        elif c in b"zZ":
            out.append((0x900 | ord("1"), tuple(sorted(_DIGITS_Z))))
        elif c == ord("."):
            out.append((_POS_DOT, ()))
        elif c == ord("!"):
            out.append((_POS_BANG, ()))
        elif c == ord("["):
            end = data.find(b"]", i)
            if end < 0:
                # Asterisk logs "Wrong usage of [] in the extension" and goes on
                # scanning after the '['.
                out.append((_POS_BAD_SET, ()))
                continue
            chars, cmin = _set_chars(data[i:end])
            i = end + 1
            if not chars:
                continue  # empty set: ignored
            # Equal scores compare by the set members, lowest differing char first.
            out.append(((len(chars) << 8) | cmin, tuple(sorted(chars))))
        else:
            out.append((0x100 | c, (c,)))
    return tuple(out)


def sort_key(name: str, cid: str | None = None) -> SortKey:
    """Sort key equivalent to Asterisk's ``ext_cmp`` (then the caller-id rule).

    Literal extensions sort before patterns; patterns by specificity.  When a
    caller-id match is given, the extension sorts before the same name without
    one (Asterisk inserts CID-matching extensions first).
    """
    if is_pattern(name):
        base: tuple[object, ...] = (1, _pattern_key(name[1:]))
    else:
        base = (0, name.replace("-", "").encode("utf-8"))
    if cid is None:
        return (base, 1)
    return (base, 0, sort_key(cid))


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 like ``ast_extension_cmp``."""
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)


_NEVER = re.compile(r"(?!)")


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a pattern body (without the leading ``_``) to a regex."""
    parts: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "-":
            i += 1
            continue
        if c == "/":
            break
        if c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                parts.append("(?!)")
                break
            body = pattern[i + 1 : end]
            i = end + 1
            if not body:
                continue  # empty set ignored
            items: list[str] = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    lo, hi = body[j], body[j + 2]
                    if lo <= hi:
                        items.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 3
                else:
                    items.append(re.escape(body[j]))
                    j += 1
            parts.append(f"[{''.join(items)}]" if items else "(?!)")
            continue
        if c in "nN":
            parts.append("[2-9]")
        elif c in "xX":
            parts.append("[0-9]")
        elif c in "zZ":
            parts.append("[1-9]")
        elif c == ".":
            parts.append(".+")
            break
        elif c == "!":
            parts.append(".*")
            break
        else:
            parts.append(re.escape(c))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def match(pattern: str, exten: str) -> bool:
    """Does the dialled ``exten`` match the extension name ``pattern``?

    ``pattern`` may be a literal name (compared ignoring ``-``) or a ``_``
    pattern.  As in Asterisk, a dialled string that is itself a pattern equal
    to ``pattern`` (same specificity at every position) also matches.
    """
    if not is_pattern(pattern):
        return pattern.replace("-", "") == exten.replace("-", "")
    if is_pattern(exten) and _pattern_key(pattern[1:]) == _pattern_key(exten[1:]):
        return True
    return _compile(pattern[1:]).fullmatch(exten.replace("-", "")) is not None


def match_more(pattern: str, exten: str) -> bool:
    """Could ``exten`` followed by more digits match ``pattern`` (``E_MATCHMORE``)?"""
    dialled = exten.replace("-", "")
    if not is_pattern(pattern):
        name = pattern.replace("-", "")
        return len(name) > len(dialled) and name.startswith(dialled)
    body = pattern[1:]
    for cut in range(len(body) + 1):
        head = _compile(body[:cut]).pattern
        if _compile(body[:cut]).fullmatch(dialled) is None:
            continue
        if head.endswith((".+", ".*")):
            return True
        rest = _compile(body[cut:]).pattern
        if rest and "(?!)" not in rest:
            return True
    return False
