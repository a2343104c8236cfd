"""pyari's own options for applications' event logs (docs/event-streams.md), read from
ari.conf's ``[general]``:

* ``event_retention`` — seconds an event is kept, and an away application with it
  (0: off, Asterisk's behaviour);
* ``event_retention_bytes`` — bytes of events kept per application;
* ``stasis_grace`` — seconds a channel entering ``Stasis(app)`` waits for an away
  application (0: it fails at once, as in Asterisk);
* ``event_log`` — where the logs are kept: ``memory`` (default) or ``nats`` (JetStream,
  docs/decisions/0024-jetstream-event-log.md; read at start only);
* ``nats_url`` — the NATS server(s) for ``event_log = nats`` (comma-separated URLs).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry
from pyari.config.values import parse_int

__all__ = ["EventStreamSettings"]

_MAX_SECONDS = 86400.0 * 7
_MAX_BYTES = 1 << 40


def _seconds(entry: Entry) -> float:
    """Decimal seconds, 0 .. a week."""
    text = entry.value.strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= _MAX_SECONDS or text[:1] in "+-":
        raise ConfigError(
            entry.file,
            entry.line,
            f"{entry.key} = {entry.value!r}: not a number of seconds (0..{int(_MAX_SECONDS)})",
        )
    return value


@dataclass(frozen=True, slots=True)
class EventStreamSettings:
    """Retention of applications' events and the grace of ``Stasis()`` for away apps."""

    retention: float = 0.0
    retention_bytes: int = 16 * 1024 * 1024
    grace: float = 0.0
    log: str = "memory"
    nats_url: str = "nats://127.0.0.1:4222"
    log_given: bool = False
    """Whether ari.conf says ``event_log`` (else, with the cluster on, the logs go to its NATS)."""

    @classmethod
    def from_entries(cls, values: Mapping[str, Entry]) -> Self:
        """From the entries of a section, keyed by their case-folded names."""
        d = cls()
        retention = values.get("event_retention")
        size = values.get("event_retention_bytes")
        grace = values.get("stasis_grace")
        kind = values.get("event_log")
        if kind is not None and kind.value.strip().lower() not in ("memory", "nats"):
            raise ConfigError(
                kind.file, kind.line, f"event_log = {kind.value!r}: not 'memory' or 'nats'"
            )
        url = values.get("nats_url")
        if url is not None and not all(
            u.strip().startswith(("nats://", "tls://")) for u in url.value.split(",")
        ):
            raise ConfigError(url.file, url.line, f"nats_url = {url.value!r}: not nats:// URLs")
        return cls(
            retention=_seconds(retention) if retention is not None else d.retention,
            retention_bytes=parse_int(size, 0, _MAX_BYTES)
            if size is not None
            else d.retention_bytes,
            grace=_seconds(grace) if grace is not None else d.grace,
            log=kind.value.strip().lower() if kind is not None else d.log,
            nats_url=url.value.strip() if url is not None else d.nats_url,
            log_given=kind is not None,
        )
