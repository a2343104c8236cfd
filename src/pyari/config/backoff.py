"""pyari's own back-off options for failed logins (decision 0016), read from ari.conf's
``[general]`` and from pjsip.conf's ``type=global`` section:

* ``auth_failure_limit`` — failed logins from one address that start a block (0: never);
* ``auth_failure_window`` — seconds those failures must fall within;
* ``auth_failure_block`` — seconds the address is then refused without any check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pyari.config.parser import Entry
from pyari.config.values import parse_int

__all__ = ["AuthBackoff"]

_MAX = 86400 * 365


@dataclass(frozen=True, slots=True)
class AuthBackoff:
    """``limit`` failures within ``window`` seconds block an address for ``block`` seconds."""

    limit: int = 10
    window: int = 60
    block: int = 60

    @classmethod
    def from_entries(cls, values: Mapping[str, Entry]) -> Self:
        """From the entries of a section, keyed by their case-folded names."""
        d = cls()
        limit, window, block = (
            values.get(f"auth_failure_{key}") for key in ("limit", "window", "block")
        )
        return cls(
            limit=parse_int(limit, 0, _MAX) if limit is not None else d.limit,
            window=parse_int(window, 1, _MAX) if window is not None else d.window,
            block=parse_int(block, 1, _MAX) if block is not None else d.block,
        )
