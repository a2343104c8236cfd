"""An adaptive jitter buffer that hands the media clock one 20 ms frame per tick.

Packets go in with their arrival time (:meth:`JitterBuffer.put`); every media tick takes
one frame out (:meth:`JitterBuffer.pop`). Frames are kept by RTP timestamp, so
reordered packets fall into place and duplicates are dropped.

* Playout starts once the first packet has waited the target delay.
* The target delay follows the interarrival jitter (RFC 3550 §6.4.1):
  ``clamp(jitter_factor × jitter + one frame, min_delay, max_delay)``.
* A missing frame while later ones are buffered is lost: the previous frame is repeated
  once, then silence is played. When nothing at all is buffered (a jitter spike), the
  playout point does not move, which adds one frame of delay; when more than target +
  two frames are buffered, the oldest frame is dropped, which removes one.
* A packet for a timestamp already played out is late and dropped. A jump in timestamps
  beyond ``max_delay`` (new talk spurt after silence, new source) resynchronizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyari.rtp.packet import RtpPacket, ts_delta

__all__ = ["Frame", "JitterBuffer", "JitterStats"]


@dataclass(frozen=True, slots=True)
class Frame:
    payload: bytes
    timestamp: int
    kind: str
    """``audio``, ``repeat`` (concealment by repetition) or ``silence``."""


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0
    silence: int = 0
    late: int = 0
    duplicates: int = 0
    dropped: int = 0
    """Frames dropped to shrink the delay."""
    underruns: int = 0
    resyncs: int = 0
    jitter: float = 0.0
    """Current interarrival jitter estimate, seconds."""
    max_jitter: float = 0.0
    target_delay: float = 0.0


class JitterBuffer:
    def __init__(
        self,
        *,
        samples_per_frame: int = 160,
        bytes_per_sample: int = 1,
        rate: int = 8000,
        min_delay: float = 0.02,
        max_delay: float = 0.2,
        jitter_factor: float = 3.0,
        silence: bytes | None = None,
    ) -> None:
        self.spf = samples_per_frame
        self.bps = bytes_per_sample
        self.rate = rate
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.jitter_factor = jitter_factor
        self.silence = (
            silence if silence is not None else b"\xff" * (samples_per_frame * bytes_per_sample)
        )
        self.frames: dict[int, bytes] = {}
        self.play_ts: int | None = None
        self.stats = JitterStats(target_delay=min_delay)
        self._first_arrival: float | None = None
        self._transit: float | None = None
        self._jitter_ts = 0.0  # RFC 3550 J, timestamp units
        self._last: bytes | None = None
        self._repeated = 0

    @property
    def frame_time(self) -> float:
        return self.spf / self.rate

    @property
    def target_delay(self) -> float:
        wanted = self.jitter_factor * self.stats.jitter + self.frame_time
        return min(self.max_delay, max(self.min_delay, wanted))

    def buffered(self) -> float:
        """Seconds of audio buffered from the playout point."""
        if not self.frames or self.play_ts is None:
            return len(self.frames) * self.frame_time
        newest = max(self.frames, key=lambda ts: ts_delta(ts, self.play_ts or 0))
        return max(0, ts_delta(newest, self.play_ts) + self.spf) / self.rate

    def reset(self) -> None:
        self.frames.clear()
        self.play_ts = None
        self._first_arrival = None
        self._transit = None
        self._last = None

    def put(self, packet: RtpPacket, arrival: float) -> None:
        self.put_frame(packet.timestamp, packet.payload, arrival)

    def put_frame(self, timestamp: int, payload: bytes, arrival: float) -> None:
        """An audio payload with its RTP timestamp, received at ``arrival``."""
        self.stats.received += 1
        self._update_jitter(timestamp, arrival)
        step = self.spf * self.bps
        chunks = [payload]
        if len(payload) > step and len(payload) % step == 0:
            chunks = [payload[i : i + step] for i in range(0, len(payload), step)]
        for index, chunk in enumerate(chunks):
            ts = (timestamp + index * self.spf) & 0xFFFFFFFF
            if self.play_ts is not None:
                ahead = ts_delta(ts, self.play_ts)
                if ahead < 0:
                    if -ahead > self.max_delay * self.rate * 2:
                        self._resync(ts)
                    else:
                        self.stats.late += 1
                        continue
                elif ahead > self.max_delay * self.rate * 2 and not self._has_near():
                    self._resync(ts)
            if ts in self.frames:
                self.stats.duplicates += 1
                continue
            self.frames[ts] = chunk
        if self._first_arrival is None:
            self._first_arrival = arrival

    def _has_near(self) -> bool:
        if self.play_ts is None:
            return False
        limit = self.max_delay * self.rate * 2
        return any(0 <= ts_delta(ts, self.play_ts) <= limit for ts in self.frames)

    def _resync(self, ts: int) -> None:
        self.stats.resyncs += 1
        self.frames.clear()
        self.play_ts = ts

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        transit = arrival * self.rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < self.rate * 10:  # ignore timestamp jumps
                self._jitter_ts += (d - self._jitter_ts) / 16
        self._transit = transit
        self.stats.jitter = self._jitter_ts / self.rate
        self.stats.max_jitter = max(self.stats.max_jitter, self.stats.jitter)
        self.stats.target_delay = self.target_delay

    def pop(self, now: float) -> Frame | None:
        """The frame for this tick, or None while the stream has not started."""
        if self.play_ts is None:
            if not self.frames or self._first_arrival is None:
                return None
            if now - self._first_arrival < self.target_delay:
                return None
            self.play_ts = min(self.frames, key=lambda ts: ts_delta(ts, next(iter(self.frames))))
        # shrink: too much buffered
        while len(self.frames) > 1 and self.buffered() > self.target_delay + 2 * self.frame_time:
            if self.play_ts in self.frames:
                del self.frames[self.play_ts]
            self.stats.dropped += 1
            self.play_ts = (self.play_ts + self.spf) & 0xFFFFFFFF
        payload = self.frames.pop(self.play_ts, None)
        if payload is not None:
            frame = Frame(payload, self.play_ts, "audio")
            self._last = payload
            self._repeated = 0
            self.stats.played += 1
            self.play_ts = (self.play_ts + self.spf) & 0xFFFFFFFF
            return frame
        ts = self.play_ts
        if self.frames:
            # lost: later frames are here; conceal and move on
            self.play_ts = (self.play_ts + self.spf) & 0xFFFFFFFF
        else:
            self.stats.underruns += 1
        if self._last is not None and self._repeated < 1:
            self._repeated += 1
            self.stats.concealed += 1
            return Frame(self._last, ts, "repeat")
        self.stats.silence += 1
        return Frame(self.silence, ts, "silence")
