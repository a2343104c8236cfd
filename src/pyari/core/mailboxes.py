"""Mailboxes whose message counts are set from outside (Asterisk's res_mwi_external).

Each mailbox is kept in the astdb as Asterisk's sorcery astdb wizard keeps it:
family ``mwi_external/mailboxes``, key the mailbox id, value a JSON object of
its fields (``msgs_new``, ``msgs_old``) as strings.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from pyari.core.astdb import AstDb

__all__ = ["FAMILY", "FIELDS", "Mailbox", "Mailboxes"]

FAMILY = "mwi_external/mailboxes"
FIELDS = ("msgs_new", "msgs_old")
_UINT_MAX = 2**32 - 1


class Mailbox(msgspec.Struct, frozen=True):
    """ARI's Mailbox model."""

    name: str
    old_messages: int
    new_messages: int

    def fields(self) -> dict[str, str]:
        """The object's sorcery fields, as strings."""
        return {"msgs_new": str(self.new_messages), "msgs_old": str(self.old_messages)}


def parse_uint(text: str) -> int | None:
    """An unsigned 32-bit field value (``OPT_UINT_T``), or None when it is not one."""
    text = text.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if value <= _UINT_MAX else None


class Mailboxes:
    """The external mailboxes, stored in the astdb."""

    def __init__(self, astdb: AstDb) -> None:
        self.astdb = astdb

    @staticmethod
    def _decode(name: str, raw: str) -> Mailbox:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        new = parse_uint(str(data.get("msgs_new", "0"))) or 0
        old = parse_uint(str(data.get("msgs_old", "0"))) or 0
        return Mailbox(name=name, old_messages=old, new_messages=new)

    def get(self, name: str) -> Mailbox | None:
        if not name:
            return None
        raw = self.astdb.get(FAMILY, name)
        return None if raw is None else self._decode(name, raw)

    def all(self) -> list[Mailbox]:
        return [self._decode(k, v) for k, v in self.astdb.tree(FAMILY).items()]

    def put(self, mailbox: Mailbox) -> None:
        """Create or replace a mailbox."""
        self.astdb.put(FAMILY, mailbox.name, json.dumps(mailbox.fields(), separators=(",", ":")))

    def update(self, name: str, old_messages: int, new_messages: int) -> Mailbox:
        box = Mailbox(name=name, old_messages=old_messages, new_messages=new_messages)
        self.put(box)
        return box

    def delete(self, name: str) -> bool:
        """Remove a mailbox; False when there was none."""
        return bool(name) and self.astdb.delete(FAMILY, name)
