"""Caller id text: ``"Name" <number>``, ``Name <number>`` or ``number``."""

from __future__ import annotations

import re

_CALLERID = re.compile(r'^\s*(?:"(?P<qname>[^"]*)"|(?P<name>[^<]*?))\s*<(?P<num>[^>]*)>\s*$')


def parse_callerid(text: str) -> tuple[str, str]:
    """Split caller id text into (name, number), as ``ast_callerid_split`` does."""
    m = _CALLERID.match(text)
    if m:
        return (m.group("qname") or m.group("name") or "").strip(), m.group("num").strip()
    return "", text.strip()
