"""ARI timestamps: the per-second prefix and the last millisecond are kept, never stale."""

from __future__ import annotations

from datetime import UTC, datetime

from pyari import wallclock


def expected(ts: float) -> str:
    second = int(ts // 1)
    millis = int((ts - second) * 1000)
    when = datetime.fromtimestamp(second, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis:03d}+0000"


def test_each_time_formatted_as_ari_does_in_any_order() -> None:
    times = [1_796_000_000.1234, 1_796_000_000.1239, 1_796_000_000.124, 1_796_000_001.1234]
    times += [1_796_000_000.1234, 86_400.0, 86_400.999, 1_796_000_001.1234, 1_796_000_001.0]
    for ts in times:
        assert wallclock.ari_timestamp(ts) == expected(ts), ts
    assert wallclock.ari_timestamp(1_796_000_000.5) == "2026-11-30T00:53:20.500+0000"
