"""The media clock: manual ticks, drift-free scheduling, stats, failures."""

from __future__ import annotations

import asyncio

import pytest

from pyari.media.ticker import MediaClock


def test_manual_ticks_and_stats() -> None:
    clock = MediaClock()
    seen: list[int] = []
    clock.add_handler(seen.append)
    for _ in range(3):
        clock.tick()
    assert seen == [0, 1, 2]
    summary = clock.stats.summary()
    assert summary["ticks"] == 3 and summary["duration_max_ms"] >= 0
    clock.remove_handler(seen.append)
    clock.tick()
    assert seen == [0, 1, 2]


def test_a_failing_handler_does_not_stop_the_others() -> None:
    clock = MediaClock()
    seen: list[int] = []

    def broken(tick: int) -> None:
        raise RuntimeError("boom")

    clock.add_handler(broken)
    clock.add_handler(seen.append)
    clock.tick()
    clock.tick()
    assert seen == [0, 1] and clock.stats.errors == 2


async def test_runs_on_the_loop_without_drift() -> None:
    clock = MediaClock(interval=0.005)
    loop = asyncio.get_running_loop()
    times: list[float] = []
    done = asyncio.Event()

    def handler(tick: int) -> None:
        times.append(loop.time())
        if tick == 40:
            done.set()

    clock.add_handler(handler)
    start = loop.time()
    clock.start()
    await asyncio.wait_for(done.wait(), 5)
    clock.stop()
    assert not clock.running
    # Tick k is due at start + (k + 1) × interval: no accumulated drift.
    # (generous bounds: the suite may run on a busy machine)
    assert times[40] - start == pytest.approx(41 * 0.005, abs=0.03)
    assert times[40] - start >= 41 * 0.005 - 0.001
    assert clock.stats.summary()["ticks"] >= 41


async def test_catches_up_after_a_blocked_loop_then_resyncs() -> None:
    now = [100.0]
    clock = MediaClock(interval=0.02, time_source=lambda: now[0], max_catch_up=5)
    seen: list[int] = []
    clock.add_handler(seen.append)
    clock.start()  # schedule starts at the fake time 100.0
    try:
        assert clock.run_due() == 0  # nothing due yet
        now[0] = 100.0 + 0.02 * 3.5  # tick 1 is 2.5 intervals late: it and 2 more run
        assert clock.run_due() == 3
        assert seen == [0, 1, 2]
        assert clock.stats.jitter[0] == pytest.approx(0.05)
        now[0] = 110.0  # ~500 ticks behind: resync instead of a burst
        assert clock.run_due() == 1
        assert len(seen) == 4 and clock.stats.skipped > 400
        now[0] = 110.0 + 0.02
        assert clock.run_due() == 1  # back on a 20 ms grid from the resync
    finally:
        clock.stop()
