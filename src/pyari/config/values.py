"""Typed readings of entry values; each raises :class:`ConfigError` at the entry's line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "last_entries",
    "parse_bool",
    "parse_hostport",
    "parse_int",
    "parse_port",
    "split_list",
]

TRUE_WORDS = frozenset({"yes", "true", "y", "t", "on", "1"})
"""Asterisk's words for yes (``ast_true``), lower case: in .conf files, ARI parameters ..."""
FALSE_WORDS = frozenset({"no", "false", "n", "f", "off", "0"})
"""Asterisk's words for no (``ast_false``), lower case."""
_INT = re.compile(r"[+-]?[0-9]+")
_MAX_DIGITS = 30
"""Significant digits read at most: more is out of any range pyari has (and past 4300
Python's ``int()`` refuses the text)."""


def _number(text: str) -> int | None:
    """``text`` as an integer, or None when it is not one or has too many digits."""
    if not _INT.fullmatch(text) or len(text.lstrip("+-").lstrip("0")) > _MAX_DIGITS:
        return None
    return int(text)


def _fail(entry: Entry, reason: str) -> ConfigError:
    return ConfigError(entry.file, entry.line, f"{entry.key} = {entry.value!r}: {reason}")


def last_entries(
    sections: Iterable[Section], aliases: Mapping[str, str] | None = None
) -> dict[str, Entry]:
    """The last entry of each key over ``sections`` in order, keyed by the lower-cased key
    (or by ``aliases[key]`` for an alternative spelling)."""
    found: dict[str, Entry] = {}
    for section in sections:
        for entry in section.entries:
            key = entry.key.casefold()
            found[aliases.get(key, key) if aliases else key] = entry
    return found


def parse_bool(entry: Entry) -> bool:
    """Asterisk's booleans: yes/no, true/false, on/off, 1/0, y/n, t/f (any case)."""
    word = entry.value.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _fail(entry, "not a boolean (use yes or no)")


def parse_int(entry: Entry, minimum: int | None = None, maximum: int | None = None) -> int:
    """A decimal integer, optionally bounded (both bounds included)."""
    text = entry.value.strip()
    if not _INT.fullmatch(text):
        raise _fail(entry, "not an integer")
    number = _number(text)
    if (
        number is None
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        low = "" if minimum is None else str(minimum)
        high = "" if maximum is None else str(maximum)
        raise _fail(entry, f"out of range {low}..{high}")
    return number


def parse_port(entry: Entry) -> int:
    """A TCP/UDP port, 0..65535 (0: let the system choose)."""
    port = _number(entry.value.strip())
    if port is None or not 0 <= port <= 65535:
        raise _fail(entry, "not a port number (0..65535)")
    return port


def parse_hostport(entry: Entry, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address (no port)."""
    text = entry.value.strip()
    port_text = ""
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise _fail(entry, "IPv6 address has no closing ']'")
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise _fail(entry, "unexpected text after ']'")
            port_text = rest[1:]
            if not port_text:
                raise _fail(entry, "empty port after ':'")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text:
            raise _fail(entry, "empty port after ':'")
    else:
        host = text  # a name, an IPv4 address or an unbracketed IPv6 address
    if not host:
        raise _fail(entry, "no host or address")
    if not port_text:
        return host, default_port
    port = _number(port_text)
    if port is None or not 0 <= port <= 65535:
        raise _fail(entry, f"bad port {port_text[:40]!r} (0..65535)")
    return host, port


def split_list(value: str) -> tuple[str, ...]:
    """A comma separated list, items stripped, empty items dropped."""
    return tuple(item.strip() for item in value.split(",") if item.strip())
