"""RFC 4733 telephone-events: the payload, a sender and a receiver.

The sender turns one digit into the packets to send, each with the media time at which
it is due (start with the marker bit, continuations every packet time, the end packet
three times); the RTP session gives them sequence numbers. The receiver turns incoming
event payloads into :class:`DtmfBegin` / :class:`DtmfEnd`, once per event even though
the end packet arrives three times.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

__all__ = [
    "EVENTS",
    "DtmfBegin",
    "DtmfEnd",
    "DtmfReceiver",
    "DtmfTone",
    "TelephoneEvent",
    "digit_event",
    "tone_packets",
]

EVENTS = "0123456789*#ABCD"
"""Event codes 0..15; 16 is flash (``!``)."""


def digit_event(digit: str) -> int:
    digit = digit.upper()
    if digit == "!":
        return 16
    index = EVENTS.find(digit)
    if index < 0 or len(digit) != 1:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return index


def event_digit(event: int) -> str | None:
    if event == 16:
        return "!"
    return EVENTS[event] if 0 <= event < 16 else None


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int
    duration: int
    """In timestamp units (1/8000 s for 8 kHz audio)."""

    def to_bytes(self) -> bytes:
        return struct.pack(
            "!BBH",
            self.event,
            (0x80 if self.end else 0) | (self.volume & 0x3F),
            min(self.duration, 0xFFFF),
        )

    @classmethod
    def parse(cls, data: bytes) -> TelephoneEvent:
        if len(data) < 4:
            raise ValueError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = struct.unpack_from("!BBH", data)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class DtmfTone:
    """One packet of a digit to send: payload, marker, the event's RTP timestamp and
    ``offset`` (seconds after the digit started) at which it is due."""

    payload: bytes
    marker: bool
    offset: float
    end: bool


def tone_packets(
    digit: str, duration_ms: int, *, ptime_ms: int = 20, rate: int = 8000, volume: int = 10
) -> list[DtmfTone]:
    """Every packet of one digit: start (marker), continuations, the end ×3."""
    event = digit_event(digit)
    step = rate * ptime_ms // 1000
    total = max(step, rate * duration_ms // 1000)
    out: list[DtmfTone] = []
    elapsed = step
    first = True
    while elapsed < total:
        payload = TelephoneEvent(event, False, volume, elapsed).to_bytes()
        out.append(DtmfTone(payload, first, (elapsed - step) / rate, False))
        first = False
        elapsed += step
    end = TelephoneEvent(event, True, volume, total).to_bytes()
    when = (total - step) / rate
    for _ in range(3):
        out.append(DtmfTone(end, first, when, True))
        first = False
    return out


@dataclass(frozen=True, slots=True)
class DtmfBegin:
    digit: str


@dataclass(frozen=True, slots=True)
class DtmfEnd:
    digit: str
    duration_ms: int


class DtmfReceiver:
    """Events from telephone-event packets. An event is identified by its RTP timestamp;
    a new timestamp while an event is open ends the old one (its end packets were lost)."""

    def __init__(self, rate: int = 8000) -> None:
        self.rate = rate
        self._current: tuple[int, int] | None = None  # (timestamp, event)
        self._last_duration = 0
        self._ended: deque[int] = deque(maxlen=32)  # timestamps of finished events

    def receive(self, timestamp: int, payload: bytes) -> list[DtmfBegin | DtmfEnd]:
        try:
            te = TelephoneEvent.parse(payload)
        except ValueError:
            return []
        digit = event_digit(te.event)
        if digit is None or timestamp in self._ended:
            return []
        out: list[DtmfBegin | DtmfEnd] = []
        if self._current is not None and self._current[0] != timestamp:
            out.extend(self._finish(self._last_duration))
        if self._current is None:
            self._current = (timestamp, te.event)
            out.append(DtmfBegin(digit))
        self._last_duration = te.duration
        if te.end:
            out.extend(self._finish(te.duration))
        return out

    def _finish(self, duration: int) -> list[DtmfBegin | DtmfEnd]:
        if self._current is None:
            return []
        timestamp, event = self._current
        self._current = None
        self._ended.append(timestamp)
        digit = event_digit(event) or "?"
        return [DtmfEnd(digit, duration * 1000 // self.rate)]

    def flush(self) -> list[DtmfBegin | DtmfEnd]:
        """End an open event (e.g. when no packet came for a while)."""
        return self._finish(self._last_duration)
