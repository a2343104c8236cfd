"""The media clock (the ticker): one 20 ms tick for every stream of the process.

Not to be confused with :mod:`pyari.wallclock` (what time it is, ARI timestamps).

:class:`MediaClock` calls its handlers (normally one :class:`~pyari.media.mixer.MediaEngine`)
once per tick. On the asyncio loop it schedules itself drift-free: tick *k* is
due at ``start + k × 20 ms`` whatever the previous tick cost, so lateness never
accumulates. When the loop was blocked for a while, missed ticks are run back to
back (up to :attr:`MediaClock.max_catch_up`) so media time keeps pace with wall
time; beyond that the schedule is reset and the skipped ticks are counted.

Tests drive it by hand with :meth:`MediaClock.tick` and can inject the time
source. Every tick records its duration and its lateness (jitter) in
:class:`TickStats`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyari.media.frames import TICK_MS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = logging.getLogger(__name__)

TickHandler = Callable[[int], None]

EARLY_TOLERANCE = 0.002
"""A tick is run if at most this early (asyncio may fire timers up to its clock
resolution early; rounding must not turn that into a busy wait)."""


class TickStats:
    """Ring buffers of the last ``size`` tick durations and lateness values (seconds)."""

    def __init__(self, size: int = 15000) -> None:
        self.size = size
        # Grown up to ``size`` as ticks run (an idle process holds nothing).
        self.durations = array("d")
        self.jitter = array("d")
        self.count = 0
        self.errors = 0
        self.skipped = 0

    def record(self, duration: float, jitter: float) -> None:
        i = self.count % self.size
        if i == len(self.durations):
            self.durations.append(duration)
            self.jitter.append(jitter)
        else:
            self.durations[i] = duration
            self.jitter[i] = jitter
        self.count += 1

    def reset(self) -> None:
        self.count = self.errors = self.skipped = 0

    def _window(self, values: array[float]) -> npt.NDArray[np.float64]:
        import numpy as np

        return np.array(values[: min(self.count, self.size)], dtype=np.float64)

    def summary(self) -> dict[str, float]:
        """Milliseconds: mean/p50/p99/max duration and jitter over the window."""
        import numpy as np

        d = self._window(self.durations) * 1000
        j = self._window(self.jitter) * 1000
        if len(d) == 0:
            d = j = np.zeros(1)
        return {
            "ticks": float(self.count),
            "duration_mean_ms": float(d.mean()),
            "duration_p50_ms": float(np.percentile(d, 50)),
            "duration_p99_ms": float(np.percentile(d, 99)),
            "duration_max_ms": float(d.max()),
            "jitter_p50_ms": float(np.percentile(j, 50)),
            "jitter_p99_ms": float(np.percentile(j, 99)),
            "jitter_max_ms": float(j.max()),
            "errors": float(self.errors),
            "skipped": float(self.skipped),
        }


@dataclass(slots=True)
class _Schedule:
    start: float
    index: int
    handle: asyncio.TimerHandle | None = None


class MediaClock:
    """Calls every handler once per tick; drift-free on the asyncio loop."""

    def __init__(
        self,
        *,
        interval: float = TICK_MS / 1000,
        time_source: Callable[[], float] | None = None,
        max_catch_up: int = 5,
    ) -> None:
        self.interval = interval
        self._time_source = time_source
        self.max_catch_up = max_catch_up
        self.handlers: list[TickHandler] = []
        self.ticks = 0
        self.stats = TickStats()
        self._schedule: _Schedule | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self.idle: Callable[[], bool] | None = None
        """When set: after a tick that leaves it true the clock parks (no timer, no
        ticks) until :meth:`wake`, so an idle process does not wake 50 times a second."""

    # --- handlers ---------------------------------------------------------------------------

    def add_handler(self, handler: TickHandler, *, first: bool = False) -> None:
        """``first``: run before the handlers already added (network sends that must
        leave at the start of the tick, before the variable work of mixing)."""
        if first:
            self.handlers.insert(0, handler)
        else:
            self.handlers.append(handler)
        self.wake()

    def remove_handler(self, handler: TickHandler) -> None:
        if handler in self.handlers:
            self.handlers.remove(handler)

    def now(self) -> float:
        if self._time_source is not None:
            return self._time_source()
        if self._loop is not None:
            return self._loop.time()
        return time.monotonic()

    def tick(self, jitter: float = 0.0) -> None:
        """Run one tick now (tests call this directly)."""
        started = time.perf_counter()
        number = self.ticks
        self.ticks += 1
        for handler in list(self.handlers):
            try:
                handler(number)
            except Exception:  # one bad stream must never stop the clock
                self.stats.errors += 1
                log.exception("media tick handler failed")
        self.stats.record(time.perf_counter() - started, jitter)

    # --- running on the loop ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Started and not stopped (it may be parked while idle)."""
        return self._started

    @property
    def parked(self) -> bool:
        return self._started and self._schedule is None

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if self._started:
            return
        self._loop = loop or asyncio.get_running_loop()
        self._started = True
        self._schedule = _Schedule(start=self.now(), index=1)
        self._arm()

    def stop(self) -> None:
        if self._schedule is not None and self._schedule.handle is not None:
            self._schedule.handle.cancel()
        self._schedule = None
        self._started = False

    def wake(self) -> None:
        """Tick again after parking (something needs media); a fresh schedule from now."""
        if self._started and self._schedule is None:
            self._schedule = _Schedule(start=self.now(), index=1)
            self._arm()

    def _due(self) -> float:
        assert self._schedule is not None
        return self._schedule.start + self._schedule.index * self.interval

    def _arm(self) -> None:
        assert self._schedule is not None and self._loop is not None
        delay = max(0.0, self._due() - self.now())
        self._schedule.handle = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        schedule = self._schedule
        if schedule is None:
            return
        self.run_due()
        if self._schedule is schedule:
            idle = self.idle
            if idle is not None and idle():
                schedule.handle = None
                self._schedule = None
                return
            self._arm()

    def run_due(self) -> int:
        """Run every tick due by now (catching up or resyncing); returns how many ran."""
        schedule = self._schedule
        if schedule is None:
            return 0
        now = self.now()
        lateness = now - self._due()
        behind = max(0, int(lateness // self.interval))
        if behind > self.max_catch_up:
            # Too far behind: forget the missed ticks and restart the schedule from now.
            self.stats.skipped += behind
            schedule.start = now - self.interval
            schedule.index = 1
            lateness = 0.0
            behind = 0
        if lateness < -EARLY_TOLERANCE:
            return 0
        for extra in range(behind + 1):
            self.tick(max(0.0, lateness - extra * self.interval))
            schedule.index += 1
        return behind + 1
