"""An application's event log: its events in order, each with a sequence number.

The protocol is docs/event-streams.md.  :class:`EventLog` is what Stasis needs of a
log; :class:`MemoryEventLog` keeps it in this process (one node).  A JetStream
stream per application can implement the same interface later (decision 0020):
the stream sequence is the application's sequence, ``MaxAge``/``MaxBytes`` its
retention.

Sequences start at 1 and have no gaps.  The log keeps events for ``retention``
seconds and at most ``max_bytes`` bytes of them, the oldest going first; what
was dropped is reported by :meth:`EventLog.after` as the range lost, never
silently skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import NamedTuple, Protocol

from pyari import wallclock

Clock = Callable[[], float]


class Entry(NamedTuple):
    """One logged event: its sequence, when it was logged, its JSON."""

    seq: int
    time: float
    data: bytes


class Lost(NamedTuple):
    """Sequences ``first`` .. ``last`` (inclusive) are no longer kept."""

    first: int
    last: int

    @property
    def size(self) -> int:
        """How many events were lost."""
        return self.last - self.first + 1


class EventLog(Protocol):
    """What Stasis needs of an application's log."""

    @property
    def last(self) -> int:
        """The sequence of the newest event (0 before the first)."""
        ...

    @property
    def first(self) -> int:
        """The sequence of the oldest event kept (``last + 1`` when none is kept)."""
        ...

    def append(self, data: bytes) -> int:
        """Log an event's JSON; returns its sequence."""
        ...

    def after(self, seq: int) -> tuple[Lost | None, list[Entry]]:
        """The events kept after ``seq``, and the range after ``seq`` no longer kept."""
        ...

    def configure(self, retention: float, max_bytes: int) -> None:
        """New bounds (applied at once to what is kept)."""
        ...


class MemoryEventLog:
    """An :class:`EventLog` in memory, bounded by time and bytes."""

    __slots__ = ("_clock", "_entries", "_last", "bytes", "max_bytes", "retention")

    def __init__(
        self,
        retention: float,
        max_bytes: int,
        *,
        start: int = 0,
        clock: Clock = wallclock.monotonic,
    ) -> None:
        """``start``: the sequence already reached (a log made again for the same app)."""
        self.retention = retention
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: deque[Entry] = deque()
        self._last = start
        self.bytes = 0
        """Bytes of the events kept."""

    @property
    def last(self) -> int:
        return self._last

    @property
    def first(self) -> int:
        self._expire(self._clock())
        entries = self._entries
        return entries[0].seq if entries else self._last + 1

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, data: bytes) -> int:
        self._last = seq = self._last + 1
        if self.retention <= 0 or len(data) > self.max_bytes:
            if self._entries:
                self._entries.clear()
                self.bytes = 0
            return seq
        now = self._clock()
        self._entries.append(Entry(seq, now, data))
        self.bytes += len(data)
        self._expire(now)
        return seq

    def after(self, seq: int) -> tuple[Lost | None, list[Entry]]:
        seq = max(seq, 0)
        if seq >= self._last:
            return None, []
        first = self.first
        lost = Lost(seq + 1, first - 1) if seq + 1 < first else None
        start = max(seq + 1 - first, 0)
        return lost, list(islice(self._entries, start, None))

    def configure(self, retention: float, max_bytes: int) -> None:
        self.retention = retention
        self.max_bytes = max_bytes
        if retention <= 0:
            self._entries.clear()
            self.bytes = 0
        else:
            self._expire(self._clock())

    def _expire(self, now: float) -> None:
        entries = self._entries
        if not entries:
            return
        oldest = now - self.retention
        while entries and (entries[0].time < oldest or self.bytes > self.max_bytes):
            self.bytes -= len(entries.popleft().data)
