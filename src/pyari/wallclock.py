"""What time it is (wall clock and monotonic), and ARI's timestamp format.

:data:`clock` is the time that ARI timestamps (events, snapshots,
``/asterisk/info``), the login back-off and security events, and the bus
topics' statistics read; tests replace it (``pyari.wallclock.clock = FakeClock()``)
or pass :func:`now`/:func:`monotonic` stand-ins in.

It is not the only time source: the sans-IO protocol cores (SIP, RTP) are given
``now`` by their callers, the 20 ms media tick is
:class:`pyari.media.ticker.MediaClock`, HTTP session limits have their own
injectable clock (:mod:`pyari.http.sessions`), and some modules read
``time.time()``, ``time.monotonic()`` or the event loop's time directly (the CLI's
uptimes, channel creation times, the SIP and RTP transports).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock and monotonic time."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


clock = Clock()
_SYSTEM = clock
"""The clock of a process whose tests did not replace it: read without a method call."""


def monotonic() -> float:
    return time.monotonic() if clock is _SYSTEM else clock.monotonic()


def now() -> float:
    return time.time() if clock is _SYSTEM else clock.time()


_second_cache: tuple[int, str] = (-1, "")
_milli_cache: tuple[int, int, str] = (-1, -1, "")
"""The last timestamp made: messages within one millisecond share it."""


def ari_timestamp(ts: float | None = None) -> str:
    """Format a time as ARI does: ``2026-11-26T03:35:43.153+0000``."""
    global _second_cache, _milli_cache
    if ts is None:
        ts = time.time() if clock is _SYSTEM else clock.time()
    second = int(ts // 1)
    millis = int((ts - second) * 1000)
    last = _milli_cache
    if last[1] == millis and last[0] == second:
        return last[2]
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _second_cache = (second, prefix)
    text = f"{prefix}{millis:03d}+0000"
    _milli_cache = (second, millis, text)
    return text
