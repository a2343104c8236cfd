"""One RTP stream, both directions, sans-IO (RFC 3550, RFC 4733).

The media clock calls :meth:`RtpSession.send_frame` every packet time with the next
encoded frame and sends what it returns; received datagrams go to
:meth:`RtpSession.receive` (RTP or RTCP, demultiplexed), which returns DTMF events and
fills the jitter buffer that :meth:`RtpSession.pull` drains, one frame per tick.
:meth:`RtpSession.rtcp_due` / :meth:`RtpSession.build_rtcp` produce reports about every
5 s, and :meth:`RtpSession.statistics` gives ARI's ``RTPstat``.
"""

from __future__ import annotations

import math
import secrets
import struct
from collections import deque
from dataclasses import dataclass

from pyari.rtp.dtmf import DtmfBegin, DtmfEnd, DtmfReceiver, DtmfTone, tone_packets
from pyari.rtp.jitter import Frame, JitterBuffer
from pyari.rtp.packet import RtpError, RtpPacket, is_rtcp, seq_delta
from pyari.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    SenderReport,
    build_bye,
    build_report,
    ntp_from_unix,
    ntp_middle,
    parse_compound,
    round_trip,
)

__all__ = ["RemoteBye", "RtpSession", "Series"]

Address = tuple[str, int]
RTCP_INTERVAL = 5.0
_HEADER = struct.Struct("!BBHII")
_FIXED = struct.Struct("!BHII")
"""The header after its first byte: M+PT, sequence, timestamp, SSRC."""


@dataclass(frozen=True, slots=True)
class RemoteBye:
    """The peer sent RTCP BYE."""

    reason: str


class Series:
    """Running min/max/mean/standard deviation (Welford).

    The starting values are the class's (no ``__init__``): a session makes five of these
    per call and most stay empty."""

    count = 0
    minimum = 0.0
    maximum = 0.0
    mean = 0.0
    _m2 = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        if self.count == 1:
            self.minimum = self.maximum = value
        else:
            self.minimum = min(self.minimum, value)
            self.maximum = max(self.maximum, value)
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)

    @property
    def stdev(self) -> float:
        return math.sqrt(self._m2 / self.count) if self.count > 1 else 0.0


class _Source:
    """Reception state of the remote SSRC (RFC 3550 A.1, A.3, A.8)."""

    def __init__(self, ssrc: int, seq: int) -> None:
        self.ssrc = ssrc
        self.base_seq = seq
        self.max_seq = seq
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.transit: float | None = None
        self.jitter = 0.0  # timestamp units

    def update(self, seq: int) -> None:
        delta = seq_delta(seq, self.max_seq)
        if delta > 0:
            if seq < self.max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq
        self.received += 1

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        return max(0, self.expected - self.received)


class RtpSession:
    def __init__(
        self,
        payload_type: int,
        *,
        dtmf_payload_type: int | None = 101,
        rate: int = 8000,
        ptime_ms: int = 20,
        ssrc: int | None = None,
        cname: str = "pyari",
        remote: Address | None = None,
        symmetric: bool = False,
        jitter: JitterBuffer | None = None,
        wall_offset: float = 0.0,
    ) -> None:
        """``wall_offset`` turns the media clock's ``now`` into Unix time for RTCP's NTP
        fields (``time.time() - loop.time()``); RTT only needs it to be the same for
        sending and receiving."""
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.rate = rate
        self.ptime_ms = ptime_ms
        self.samples = rate * ptime_ms // 1000
        # one draw (one getrandom call) for the random SSRC, first sequence number and
        # first timestamp (RFC 3550 §5.1): 32, 16 and 32 bits
        bits = secrets.randbits(80)
        self.ssrc = ssrc if ssrc is not None else bits >> 48
        self.cname = cname
        self.remote = remote
        self.symmetric = symmetric
        self.jitter = jitter or JitterBuffer(samples_per_frame=self.samples, rate=rate)
        self.wall_offset = wall_offset
        self.sequence = (bits >> 32) & 0xFFFF
        self.timestamp = bits & 0xFFFFFFFF
        self.tx_packets = 0
        self.tx_octets = 0
        self.rx_packets = 0
        self.rx_octets = 0
        self.source: _Source | None = None
        self.dtmf_rx = DtmfReceiver(rate)
        self._dtmf_queue: deque[tuple[str, int]] = deque()
        self._dtmf_current: list[DtmfTone] = []
        self._dtmf_start = 0.0
        self._dtmf_ts = 0
        self._next_marker = True
        self._next_rtcp: float | None = None
        self._last_sr: tuple[int, float] | None = None  # (middle NTP of their SR, arrival)
        self.remote_report: ReportBlock | None = None
        self.remote_jitter = Series()
        self.remote_loss = Series()
        self.local_jitter = Series()
        self.local_loss = Series()
        self.rtts = Series()
        self.rtt: float | None = None

    # -------------------------------------------------------------- sending

    def send_dtmf(self, digit: str, duration_ms: int = 100) -> None:
        """Queue a digit; it goes out with the next calls to :meth:`send_frame`."""
        if self.dtmf_payload_type is None:
            raise ValueError("no telephone-event payload type was negotiated")
        tone_packets(digit, duration_ms)  # validates the digit
        self._dtmf_queue.append((digit, duration_ms))

    @property
    def sending_dtmf(self) -> bool:
        return bool(self._dtmf_current or self._dtmf_queue)

    def _packet(self, pt: int, payload: bytes, ts: int, marker: bool) -> bytes:
        header = _HEADER.pack(
            0x80, (0x80 if marker else 0) | (pt & 0x7F), self.sequence, ts, self.ssrc
        )
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.tx_packets += 1
        self.tx_octets += len(payload)
        return header + payload

    def send_frame(self, payload: bytes | None, now: float) -> list[bytes]:
        """The packets to send at this packet time: the audio frame, or the DTMF packets
        due while a digit is being sent (audio is muted meanwhile). ``payload`` None
        sends nothing but keeps the timestamp running."""
        if self._dtmf_current or self._dtmf_queue:
            return self._send_with_dtmf(payload, now)
        # the media tick's path, for every stream every 20 ms: one audio packet
        timestamp = self.timestamp
        self.timestamp = (timestamp + self.samples) & 0xFFFFFFFF
        if payload is None:
            return []
        sequence = self.sequence
        self.sequence = (sequence + 1) & 0xFFFF
        self.tx_packets += 1
        self.tx_octets += len(payload)
        second = self.payload_type & 0x7F
        if self._next_marker:
            second |= 0x80
            self._next_marker = False
        return [_HEADER.pack(0x80, second, sequence, timestamp, self.ssrc) + payload]

    def _send_with_dtmf(self, payload: bytes | None, now: float) -> list[bytes]:
        out: list[bytes] = []
        if not self._dtmf_current and self._dtmf_queue:
            digit, duration = self._dtmf_queue.popleft()
            self._dtmf_current = tone_packets(
                digit, duration, ptime_ms=self.ptime_ms, rate=self.rate
            )
            self._dtmf_start = now
            self._dtmf_ts = self.timestamp
        if self._dtmf_current and self.dtmf_payload_type is not None:
            elapsed = now - self._dtmf_start + 1e-9
            while self._dtmf_current and self._dtmf_current[0].offset <= elapsed:
                tone = self._dtmf_current.pop(0)
                out.append(
                    self._packet(self.dtmf_payload_type, tone.payload, self._dtmf_ts, tone.marker)
                )
            if not self._dtmf_current:
                self._next_marker = True
        elif payload is not None:
            out.append(self._packet(self.payload_type, payload, self.timestamp, self._next_marker))
            self._next_marker = False
        self.timestamp = (self.timestamp + self.samples) & 0xFFFFFFFF
        return out

    # -------------------------------------------------------------- receiving

    def receive(
        self, data: bytes, now: float, source: Address | None = None
    ) -> list[DtmfBegin | DtmfEnd | RemoteBye]:
        """A datagram from the peer (RTP or RTCP). Bad packets are ignored."""
        if self.symmetric and source is not None:
            self.remote = source
        if len(data) >= 12 and data[0] == 0x80:
            # the usual packet: version 2, no padding, extension or CSRC
            second, sequence, timestamp, ssrc = _FIXED.unpack_from(data, 1)
            if 192 <= second <= 223:
                return self.receive_rtcp(data, now)
            payload_type = second & 0x7F
            payload = data[12:]
        else:
            if is_rtcp(data):
                return self.receive_rtcp(data, now)
            try:
                packet = RtpPacket.parse(data)
            except RtpError:
                return []
            payload_type, sequence = packet.payload_type, packet.sequence
            timestamp, ssrc, payload = packet.timestamp, packet.ssrc, packet.payload
        src = self.source
        if payload_type == self.dtmf_payload_type and src is not None:
            # telephone-events may come from another SSRC (a separate sender): they must
            # not reset the audio source and its jitter buffer
            self.rx_packets += 1
            self.rx_octets += len(payload)
            return list(self.dtmf_rx.receive(timestamp, payload))
        if src is None or ssrc != src.ssrc:
            src = self.source = _Source(ssrc, sequence)
            src.received = 1
            self.jitter.reset()
        else:
            # _Source.update, inline (every packet of every stream comes here)
            delta = ((sequence - src.max_seq + 0x8000) & 0xFFFF) - 0x8000
            if delta > 0:
                if sequence < src.max_seq:
                    src.cycles += 1 << 16
                src.max_seq = sequence
            src.received += 1
        self.rx_packets += 1
        self.rx_octets += len(payload)
        transit = now * self.rate - timestamp
        if src.transit is not None:
            d = abs(transit - src.transit)
            if d < self.rate * 10:
                src.jitter += (d - src.jitter) / 16
        src.transit = transit
        if payload_type == self.payload_type:
            self.jitter.put_frame(timestamp, payload, now)
        elif payload_type == self.dtmf_payload_type:
            return list(self.dtmf_rx.receive(timestamp, payload))
        return []

    def pull(self, now: float) -> Frame | None:
        """The received frame for this tick (see :class:`JitterBuffer`)."""
        return self.jitter.pop(now)

    def pull_payload(self, now: float) -> bytes | None:
        """The received audio for this tick: :meth:`pull`'s payload, None for silence
        or before playout starts (:meth:`JitterBuffer.pop_payload`)."""
        return self.jitter.pop_payload(now)

    # -------------------------------------------------------------- RTCP

    def rtcp_due(self, now: float) -> bool:
        if self._next_rtcp is None:
            self._next_rtcp = now + RTCP_INTERVAL / 2
        return now >= self._next_rtcp

    def _block(self, now: float) -> ReportBlock | None:
        src = self.source
        if src is None:
            return None
        expected_interval = src.expected - src.expected_prior
        received_interval = src.received - src.received_prior
        src.expected_prior = src.expected
        src.received_prior = src.received
        lost_interval = max(0, expected_interval - received_interval)
        fraction = (lost_interval << 8) // expected_interval if expected_interval > 0 else 0
        self.local_jitter.add(src.jitter / self.rate)
        self.local_loss.add(float(lost_interval))
        lsr, dlsr = 0, 0
        if self._last_sr is not None:
            lsr = self._last_sr[0]
            dlsr = int((now - self._last_sr[1]) * 65536)
        return ReportBlock(
            src.ssrc,
            min(fraction, 255),
            min(src.lost, 0x7FFFFF),
            src.extended_max,
            int(src.jitter),
            lsr,
            dlsr,
        )

    def build_rtcp(self, now: float) -> bytes:
        """A compound report (SR when we have sent, else RR) for now; schedules the next."""
        self._next_rtcp = now + RTCP_INTERVAL
        block = self._block(now)
        blocks = (block,) if block is not None else ()
        sender = None
        if self.tx_packets:
            ntp = ntp_from_unix(now + self.wall_offset)
            sender = (ntp, self.timestamp, self.tx_packets, self.tx_octets)
        return build_report(self.ssrc, cname=self.cname, blocks=blocks, sender=sender)

    def build_bye(self) -> bytes:
        return build_bye(self.ssrc, cname=self.cname)

    def receive_rtcp(self, data: bytes, now: float) -> list[DtmfBegin | DtmfEnd | RemoteBye]:
        try:
            packets = parse_compound(data)
        except RtcpError:
            return []
        out: list[DtmfBegin | DtmfEnd | RemoteBye] = []
        arrival_ntp = ntp_from_unix(now + self.wall_offset)
        for packet in packets:
            if isinstance(packet, Bye):
                out.append(RemoteBye(packet.reason))
                continue
            if isinstance(packet, SenderReport):
                self._last_sr = (ntp_middle(packet.ntp), now)
            assert isinstance(packet, SenderReport | ReceiverReport)
            for block in packet.reports:
                if block.ssrc != self.ssrc:
                    continue
                self.remote_report = block
                self.remote_jitter.add(block.jitter / self.rate)
                self.remote_loss.add(float(block.fraction_lost) / 256)
                rtt = round_trip(block, arrival_ntp)
                if rtt is not None:
                    self.rtt = rtt
                    self.rtts.add(rtt)
        return out

    # -------------------------------------------------------------- statistics

    def statistics(self, channel_uniqueid: str) -> dict[str, int | float | str]:
        """ARI's ``RTPstat`` model of this stream."""
        src = self.source
        report = self.remote_report
        stats: dict[str, int | float | str] = {
            "txcount": self.tx_packets,
            "rxcount": self.rx_packets,
            "txjitter": report.jitter / self.rate if report else 0.0,
            "rxjitter": src.jitter / self.rate if src else 0.0,
            "remote_maxjitter": self.remote_jitter.maximum,
            "remote_minjitter": self.remote_jitter.minimum,
            "remote_normdevjitter": self.remote_jitter.mean,
            "remote_stdevjitter": self.remote_jitter.stdev,
            "local_maxjitter": self.local_jitter.maximum,
            "local_minjitter": self.local_jitter.minimum,
            "local_normdevjitter": self.local_jitter.mean,
            "local_stdevjitter": self.local_jitter.stdev,
            "txploss": max(0, report.cumulative_lost) if report else 0,
            "rxploss": src.lost if src else 0,
            "remote_maxrxploss": self.remote_loss.maximum,
            "remote_minrxploss": self.remote_loss.minimum,
            "remote_normdevrxploss": self.remote_loss.mean,
            "remote_stdevrxploss": self.remote_loss.stdev,
            "local_maxrxploss": self.local_loss.maximum,
            "local_minrxploss": self.local_loss.minimum,
            "local_normdevrxploss": self.local_loss.mean,
            "local_stdevrxploss": self.local_loss.stdev,
            "rtt": self.rtt or 0.0,
            "maxrtt": self.rtts.maximum,
            "minrtt": self.rtts.minimum,
            "normdevrtt": self.rtts.mean,
            "stdevrtt": self.rtts.stdev,
            "local_ssrc": self.ssrc,
            "remote_ssrc": src.ssrc if src else 0,
            "txoctetcount": self.tx_octets,
            "rxoctetcount": self.rx_octets,
            "channel_uniqueid": channel_uniqueid,
        }
        return stats
