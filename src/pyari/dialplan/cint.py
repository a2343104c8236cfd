"""C ``int`` readings of dialplan text (``sscanf("%d")``, ``atoi``), safe on any input.

Asterisk reads offsets, lengths, priorities and conditions into a C ``int``; what
happens with a number too big for one is undefined there. pyari saturates it at
``INT_MIN``/``INT_MAX``, so text of any length (even past Python's 4300-digit limit
for ``int()``) gives an answer and never an exception. Digits are ASCII only, as in C.
"""

from __future__ import annotations

import re

__all__ = ["INT_MAX", "INT_MIN", "INT_PREFIX", "c_int", "scan_int"]

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)

INT_PREFIX = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)")
"""What ``%d`` reads: optional white space, a sign, decimal digits (group 1)."""


def c_int(text: str) -> int:
    """``[+-]digits`` (as matched by :data:`INT_PREFIX`) as a C int, saturated."""
    negative = text.startswith("-")
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > 10:
        return INT_MIN if negative else INT_MAX
    value = int(digits or "0")
    return max(INT_MIN, -value) if negative else min(INT_MAX, value)


def scan_int(text: str, pos: int = 0) -> tuple[int, int] | None:
    """``sscanf(text + pos, "%d")``: the number and where it ends, or None."""
    m = INT_PREFIX.match(text, pos)
    if m is None:
        return None
    return c_int(m.group(1)), m.end()
