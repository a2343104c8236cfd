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


def ari_timestamp(ts: float | None = None) -> str:
    """Format a time as ARI does: ``2026-11-26T03:35:43.153+0000``."""
    if ts is None:
        ts = clock.time()
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def format_duration(seconds: float) -> str:
    """``HH:MM:SS`` as the Asterisk CLI prints durations."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
