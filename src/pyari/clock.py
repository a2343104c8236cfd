"""Time sources, injectable so tests can control them.

Everything in pyari that reads the time goes through :data:`clock`, whose
methods tests may replace (``pyari.clock.clock = FakeClock()``) or pass in.
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


def monotonic() -> float:
    return clock.monotonic()


def now() -> float:
    return clock.time()


_second_cache: tuple[int, str] = (-1, "")


def ari_timestamp(ts: float | None = None) -> str:
    """Format a time as ARI does: ``2026-11-26T03:35:43.153+0000``."""
    global _second_cache
    if ts is None:
        ts = clock.time()
    second = int(ts // 1)
    millis = int((ts - second) * 1000)
    cached_second, prefix = _second_cache
    if second != cached_second:
        prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _second_cache = (second, prefix)
    return f"{prefix}{millis:03d}+0000"


def format_duration(seconds: float) -> str:
    """``HH:MM:SS`` as the Asterisk CLI prints durations."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
