"""The in-process event log: sequences, retention by time and bytes, the lost range."""

from __future__ import annotations

from pyari.stasis.eventlog import Lost, MemoryEventLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sequences_start_at_one_without_gaps_and_read_after_any_point() -> None:
    log = MemoryEventLog(60, 1 << 20, clock=Clock())
    assert (log.first, log.last) == (1, 0)
    assert [log.append(b"{%d}" % i) for i in range(5)] == [1, 2, 3, 4, 5]
    lost, entries = log.after(2)
    assert lost is None and [e.seq for e in entries] == [3, 4, 5]
    assert [e.data for e in entries] == [b"{2}", b"{3}", b"{4}"]
    assert log.after(5) == (None, [])
    assert log.after(99) == (None, [])  # beyond the last: nothing (the server restarted)
    assert [e.seq for e in log.after(0)[1]] == [1, 2, 3, 4, 5]


def test_time_retention_drops_the_oldest_and_reports_them() -> None:
    clock = Clock()
    log = MemoryEventLog(10, 1 << 20, clock=clock)
    log.append(b"a")
    clock.now += 6
    log.append(b"b")
    clock.now += 5  # "a" is 11 s old, "b" 5 s
    assert log.first == 2
    lost, entries = log.after(0)
    assert lost == Lost(1, 1) and lost.size == 1 and [e.data for e in entries] == [b"b"]
    clock.now += 100
    lost, entries = log.after(0)
    assert lost == Lost(1, 2) and entries == []
    assert log.bytes == 0 and len(log) == 0


def test_byte_retention_keeps_the_newest_within_the_bound() -> None:
    log = MemoryEventLog(60, 10, clock=Clock())
    for i in range(6):
        log.append(b"%04d" % i)  # 4 bytes each: at most 2 fit in 10
    assert log.bytes == 8 and log.first == 5 and log.last == 6
    lost, entries = log.after(1)
    assert lost == Lost(2, 4) and [e.seq for e in entries] == [5, 6]
    # An event larger than the whole bound cannot be kept: everything before it is lost too.
    log.append(b"x" * 11)
    assert log.after(4) == (Lost(5, 7), [])


def test_retention_zero_counts_but_keeps_nothing() -> None:
    log = MemoryEventLog(0, 1 << 20, clock=Clock())
    assert log.append(b"a") == 1 and log.append(b"b") == 2
    assert len(log) == 0 and log.after(0) == (Lost(1, 2), [])
    assert log.after(2) == (None, [])


def test_a_log_made_again_goes_on_from_its_start_and_configure_applies_at_once() -> None:
    clock = Clock()
    log = MemoryEventLog(60, 1 << 20, start=41, clock=clock)
    assert log.append(b"a") == 42
    assert log.after(40) == (Lost(41, 41), log.after(41)[1])
    log.append(b"bb")
    log.configure(60, 2)
    assert [e.seq for e in log.after(0)[1]] == [43]
    log.configure(0, 2)
    assert len(log) == 0 and log.bytes == 0
