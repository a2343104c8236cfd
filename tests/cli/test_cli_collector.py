"""pyari.cli.collector: no automatic full pass while serving, a timed one instead."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyari.cli.collector import FULL_INTERVAL, NO_AUTOMATIC_FULL, Collector


class Handle:
    def __init__(self, delay: float, callback: Callable[[], None]) -> None:
        self.delay = delay
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """call_later only: the test runs the timers itself."""

    def __init__(self) -> None:
        self.timers: list[Handle] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> Handle:
        handle = Handle(delay, callback)
        self.timers.append(handle)
        return handle

    def fire(self) -> None:
        live = [h for h in self.timers if not h.cancelled]
        assert len(live) == 1
        self.timers.remove(live[0])
        live[0].callback()


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    yield saved
    gc.set_threshold(*saved)


def test_install_keeps_the_young_generations_and_stops_automatic_full_passes(
    thresholds: tuple[int, int, int],
) -> None:
    loop = FakeLoop()
    collector = Collector(loop)  # type: ignore[arg-type]
    collector.install()
    assert gc.get_threshold() == (thresholds[0], thresholds[1], NO_AUTOMATIC_FULL)
    assert [h.delay for h in loop.timers] == [FULL_INTERVAL]
    collector.install()  # twice: one timer, the first thresholds kept
    assert len(loop.timers) == 1
    collector.uninstall()
    assert gc.get_threshold() == thresholds
    assert all(h.cancelled for h in loop.timers)


def test_the_timer_runs_a_full_pass_and_arms_again(
    thresholds: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[tuple[Any, ...]] = []

    def collect(*args: Any) -> int:
        passes.append(args)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    loop = FakeLoop()
    collector = Collector(loop, interval=5.0)  # type: ignore[arg-type]
    collector.install()
    loop.fire()
    loop.fire()
    assert passes == [(), ()]  # gc.collect() with no argument: generation 2
    assert collector.full_passes == 2
    assert [h.delay for h in loop.timers] == [5.0]
    collector.uninstall()
    assert loop.timers[0].cancelled


@contextlib.contextmanager
def _full_passes() -> Iterator[list[int]]:
    """Counts the generation-2 passes (automatic or not) while the block runs."""
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(seen)
    try:
        yield full
    finally:
        gc.callbacks.remove(seen)


def _full_passes_while_keeping(objects: int) -> int:
    """Automatic generation-2 passes while ``objects`` new objects survive."""
    gc.collect()
    with _full_passes() as full:
        kept: list[list[int]] = [[] for _ in range(objects)]  # survivors: promoted pass after pass
        del kept
    return len(full)


def test_no_automatic_full_pass_while_installed(thresholds: tuple[int, int, int]) -> None:
    # CPython's own thresholds start full passes under this load: the test can fail
    gc.set_threshold(700, 10, 10)
    assert _full_passes_while_keeping(600_000) > 0
    loop = FakeLoop()
    collector = Collector(loop)  # type: ignore[arg-type]
    collector.install()
    try:
        assert _full_passes_while_keeping(600_000) == 0
        with _full_passes() as full:
            loop.fire()  # the timed pass is a full one
        assert full == [1]
        assert collector.full_passes == 1
    finally:
        collector.uninstall()
