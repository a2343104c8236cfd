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


_HALF = 0x80000000
_MASK = 0xFFFFFFFF


class JitterBuffer:
    """See the module docstring. Its methods run for every packet and every tick of
    every stream (30,000 times a second each at 300 calls), so the hot paths
    (:meth:`put_frame`, :meth:`pop_payload`) keep their arithmetic inline."""

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
        self._newest: int | None = None
        """The newest timestamp in ``frames`` (kept as frames come and go)."""
        self._step = samples_per_frame * bytes_per_sample
        self._frame_time = samples_per_frame / rate
        self._span = max_delay * rate * 2
        """A timestamp this far from the playout point (either way) resynchronizes."""
        self._popped_ts = 0
        self._kind: str | None = None
        """What the last pop gave: ``audio``, ``repeat``, ``silence`` or None (not started)."""

    @property
    def last_kind(self) -> str | None:
        """What the last pop gave: ``audio``, ``repeat`` (a lost frame concealed by the
        previous one), ``silence``, or None before playout started."""
        return self._kind

    @property
    def frame_time(self) -> float:
        return self.spf / self.rate

    @property
    def target_delay(self) -> float:
        wanted = self.jitter_factor * self.stats.jitter + self.frame_time
        return min(self.max_delay, max(self.min_delay, wanted))

    def buffered(self) -> float:
        """Seconds of audio buffered from the playout point."""
        if not self.frames or self.play_ts is None or self._newest is None:
            return len(self.frames) * self.frame_time
        ahead = ((self._newest - self.play_ts + _HALF) & _MASK) - _HALF
        return max(0, ahead + self.spf) / self.rate

    def reset(self) -> None:
        self.frames.clear()
        self.play_ts = None
        self._first_arrival = None
        self._transit = None
        self._last = None
        self._newest = None

    def put(self, packet: RtpPacket, arrival: float) -> None:
        self.put_frame(packet.timestamp, packet.payload, arrival)

    def put_frame(self, timestamp: int, payload: bytes, arrival: float) -> None:
        """An audio payload with its RTP timestamp, received at ``arrival``."""
        stats = self.stats
        stats.received += 1
        # interarrival jitter (RFC 3550 A.8) and the target delay that follows it
        rate = self.rate
        transit = arrival * rate - timestamp
        previous = self._transit
        if previous is not None:
            d = abs(transit - previous)
            if d < rate * 10:  # ignore timestamp jumps
                self._jitter_ts += (d - self._jitter_ts) / 16
        self._transit = transit
        jitter = self._jitter_ts / rate
        stats.jitter = jitter
        if jitter > stats.max_jitter:
            stats.max_jitter = jitter
        wanted = self.jitter_factor * jitter + self._frame_time
        if wanted < self.min_delay:
            wanted = self.min_delay
        elif wanted > self.max_delay:
            wanted = self.max_delay
        stats.target_delay = wanted
        step = self._step
        if len(payload) > step and len(payload) % step == 0:
            for index in range(len(payload) // step):
                chunk = payload[index * step : (index + 1) * step]
                self._insert((timestamp + index * self.spf) & _MASK, chunk)
        else:
            self._insert(timestamp, payload)
        if self._first_arrival is None:
            self._first_arrival = arrival

    def _insert(self, ts: int, chunk: bytes) -> None:
        play = self.play_ts
        if play is not None:
            ahead = ((ts - play + _HALF) & _MASK) - _HALF
            if ahead < 0:
                if -ahead > self._span:
                    self._resync(ts)
                else:
                    self.stats.late += 1
                    return
            elif ahead > self._span and not self._has_near():
                self._resync(ts)
        frames = self.frames
        if ts in frames:
            self.stats.duplicates += 1
            return
        frames[ts] = chunk
        newest = self._newest
        if newest is None or ((ts - newest + _HALF) & _MASK) - _HALF > 0:
            self._newest = ts

    def _has_near(self) -> bool:
        if self.play_ts is None:
            return False
        limit = self._span
        return any(0 <= ts_delta(ts, self.play_ts) <= limit for ts in self.frames)

    def _resync(self, ts: int) -> None:
        self.stats.resyncs += 1
        self.frames.clear()
        self._newest = None
        self.play_ts = ts

    def _skip(self, play: int, ahead: int, limit: float) -> int:
        """How many empty playout slots the shrinking loop of :meth:`pop_payload` passes
        before it reaches a buffered frame or the delay is right: one step, however far
        apart the timestamps are (one slot at a time, a timestamp far ahead would cost
        millions of iterations)."""
        spf, rate = self.spf, self.rate
        gaps = [d for ts in self.frames if (d := ((ts - play + _HALF) & _MASK) - _HALF) > 0]
        to_next = -(-min(gaps) // spf) if gaps else 1
        # the fewest steps after which (ahead - steps*spf + spf) / rate <= limit
        steps = max(1, int((ahead + spf - limit * rate) // spf))
        while steps > 1 and (ahead - (steps - 1) * spf + spf) / rate <= limit:
            steps -= 1
        while (ahead - steps * spf + spf) / rate > limit:
            steps += 1
        return max(1, min(to_next, steps))

    def pop(self, now: float) -> Frame | None:
        """The frame for this tick, or None while the stream has not started."""
        payload = self.pop_payload(now)
        kind = self._kind
        if kind is None:
            return None
        return Frame(self.silence if payload is None else payload, self._popped_ts, kind)

    def pop_payload(self, now: float) -> bytes | None:
        """What :meth:`pop` gives, as just the payload of an audio or repeated frame:
        None for silence and while the stream has not started (the media tick's path,
        which makes no :class:`Frame`)."""
        frames = self.frames
        play = self.play_ts
        stats = self.stats
        if play is None:
            self._kind = None
            if not frames or self._first_arrival is None:
                return None
            # frames were put, so stats.target_delay is up to date
            if now - self._first_arrival < stats.target_delay:
                return None
            first = next(iter(frames))
            play = min(frames, key=lambda ts: ts_delta(ts, first))
        spf = self.spf
        if len(frames) > 1:
            # shrink: too much buffered
            rate = self.rate
            limit = stats.target_delay + 2 * self._frame_time
            newest = self._newest
            assert newest is not None
            while len(frames) > 1:
                ahead = ((newest - play + _HALF) & _MASK) - _HALF
                if (ahead + spf) / rate <= limit:
                    break
                if play in frames:
                    del frames[play]
                    stats.dropped += 1
                    play = (play + spf) & _MASK
                else:
                    steps = self._skip(play, ahead, limit)
                    stats.dropped += steps
                    play = (play + steps * spf) & _MASK
        self._popped_ts = play
        payload = frames.pop(play, None)
        if payload is not None:
            self._kind = "audio"
            self._last = payload
            self._repeated = 0
            stats.played += 1
            self.play_ts = (play + spf) & _MASK
            if not frames:
                self._newest = None
            return payload
        if frames:
            # lost: later frames are here; conceal and move on
            self.play_ts = (play + spf) & _MASK
        else:
            self.play_ts = play
            stats.underruns += 1
        if self._last is not None and self._repeated < 1:
            self._kind = "repeat"
            self._repeated += 1
            stats.concealed += 1
            return self._last
        self._kind = "silence"
        stats.silence += 1
        return None
