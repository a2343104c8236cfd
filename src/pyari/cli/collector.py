"""When ``pyari serve`` runs Python's cycle collector (decision 0032).

Almost nothing a call leaves behind needs the cycle collector: reference counting frees
it. What a call keeps for a while (a finished SIP transaction waits up to 32 s for
retransmissions) outlives the young generations, and with CPython's default thresholds
every few thousand calls promote enough objects to start a full pass over every tracked
object of the heap: at 300 set-ups a second and more, passes of 50-500 ms that stall
SIP, ARI and the events sockets alike (issue #16: INVITE → 200 p99 from 2 ms to 0.5 s).

:class:`Collector` keeps the young generations as CPython runs them (cheap, bounded:
what was allocated since the last pass) and takes full passes off the automatic path:
one runs every :data:`FULL_INTERVAL` seconds on a timer, and the engine's release after
load (``Engine.release_memory``) runs one when the last channel has gone. Cyclic
garbage then waits at most that long; measured, a call leaves a few bytes of it.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Final

__all__ = ["FULL_INTERVAL", "Collector"]

FULL_INTERVAL: Final = 600.0
"""Seconds between the timed full passes."""

NO_AUTOMATIC_FULL: Final = 1 << 30
"""Generation 2's threshold while installed: never reached."""


class Collector:
    """The serving process's cycle-collector policy (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = FULL_INTERVAL) -> None:
        self.loop = loop
        self.interval = interval
        self.full_passes = 0
        self._saved: tuple[int, int, int] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def install(self) -> None:
        """No automatic full pass from now on; a timed one every :attr:`interval` s."""
        if self._saved is not None:
            return
        first, second, third = gc.get_threshold()
        self._saved = (first, second, third)
        gc.set_threshold(first, second, NO_AUTOMATIC_FULL)
        self._arm()

    def _arm(self) -> None:
        self._timer = self.loop.call_later(self.interval, self._full)

    def _full(self) -> None:
        self._timer = None
        gc.collect()
        self.full_passes += 1
        self._arm()

    def uninstall(self) -> None:
        """CPython's thresholds back; no more timed passes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
