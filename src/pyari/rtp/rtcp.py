"""RTCP sender and receiver reports (RFC 3550 §6.4), SDES CNAME and BYE.

:func:`parse_compound` reads a compound packet into :class:`SenderReport`,
:class:`ReceiverReport` and :class:`Bye` (other packet types are skipped);
:func:`build_report` writes SR or RR + SDES CNAME. NTP times are 64-bit fixed point;
the round-trip time comes from a report block's LSR/DLSR (:func:`round_trip`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "Bye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpError",
    "SenderReport",
    "build_bye",
    "build_report",
    "ntp_from_unix",
    "ntp_middle",
    "parse_compound",
    "round_trip",
]

NTP_EPOCH_OFFSET = 2208988800
SR, RR, SDES, BYE = 200, 201, 202, 203


class RtcpError(ValueError):
    pass


def ntp_from_unix(t: float) -> int:
    """A Unix time as a 64-bit NTP timestamp."""
    seconds = int(t) + NTP_EPOCH_OFFSET
    fraction = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return ((seconds & 0xFFFFFFFF) << 32) | fraction


def ntp_middle(ntp: int) -> int:
    """The middle 32 bits (16.16 seconds) used by LSR and DLSR."""
    return (ntp >> 16) & 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int
    """Loss since the previous report, in 1/256."""
    cumulative_lost: int
    highest_seq: int
    """Extended highest sequence number received."""
    jitter: int
    """Interarrival jitter, in timestamp units."""
    lsr: int
    dlsr: int
    """Delay since that SR, in 1/65536 s."""

    def to_bytes(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            ((self.fraction_lost & 0xFF) << 24) | lost,
            self.highest_seq & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr & 0xFFFFFFFF,
            self.dlsr & 0xFFFFFFFF,
        )

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, loss, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = loss & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        return cls(ssrc, loss >> 24, lost, highest, jitter, lsr, dlsr)


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class Bye:
    ssrcs: tuple[int, ...] = ()
    reason: str = ""


@dataclass(slots=True)
class _Sdes:
    chunks: list[tuple[int, str]] = field(default_factory=list)


def _header(count: int, ptype: int, body_len: int) -> bytes:
    return struct.pack("!BBH", 0x80 | count, ptype, (body_len + 4) // 4 - 1)


def _sdes_cname(ssrc: int, cname: str) -> bytes:
    text = cname.encode()[:255]
    chunk = struct.pack("!IBB", ssrc, 1, len(text)) + text + b"\x00"
    chunk += b"\x00" * (-len(chunk) % 4)
    return _header(1, SDES, len(chunk)) + chunk


def build_report(
    ssrc: int,
    *,
    cname: str,
    blocks: tuple[ReportBlock, ...] = (),
    sender: tuple[int, int, int, int] | None = None,
) -> bytes:
    """A compound RTCP packet: SR (when ``sender`` = (ntp, rtp timestamp, packets,
    octets) is given) or RR, with up to 31 report blocks, then SDES CNAME."""
    blocks = blocks[:31]
    body = b"".join(b.to_bytes() for b in blocks)
    if sender is not None:
        ntp, ts, packets, octets = sender
        info = struct.pack(
            "!IIIII",
            ssrc,
            (ntp >> 32) & 0xFFFFFFFF,
            ntp & 0xFFFFFFFF,
            ts & 0xFFFFFFFF,
            packets & 0xFFFFFFFF,
        ) + struct.pack("!I", octets & 0xFFFFFFFF)
        first = _header(len(blocks), SR, len(info) + len(body)) + info + body
    else:
        info = struct.pack("!I", ssrc)
        first = _header(len(blocks), RR, len(info) + len(body)) + info + body
    return first + _sdes_cname(ssrc, cname)


def build_bye(ssrc: int, *, cname: str) -> bytes:
    rr = _header(0, RR, 4) + struct.pack("!I", ssrc)
    bye = _header(1, BYE, 4) + struct.pack("!I", ssrc)
    return rr + _sdes_cname(ssrc, cname) + bye


def parse_compound(data: bytes) -> list[SenderReport | ReceiverReport | Bye]:
    """The SR, RR and BYE packets of a compound RTCP packet."""
    out: list[SenderReport | ReceiverReport | Bye] = []
    offset = 0
    if len(data) < 4:
        raise RtcpError("shorter than an RTCP header")
    while offset + 4 <= len(data):
        first, ptype, words = struct.unpack_from("!BBH", data, offset)
        if first >> 6 != 2:
            raise RtcpError("not RTCP version 2")
        count = first & 0x1F
        end = offset + 4 * (words + 1)
        if end > len(data):
            raise RtcpError("truncated RTCP packet")
        body = offset + 4
        if ptype == SR:
            if end - body < 24 + 24 * count:
                raise RtcpError("short SR")
            ssrc, hi, lo, ts, packets, octets = struct.unpack_from("!IIIIII", data, body)
            blocks = tuple(ReportBlock.parse(data, body + 24 + 24 * i) for i in range(count))
            out.append(SenderReport(ssrc, (hi << 32) | lo, ts, packets, octets, blocks))
        elif ptype == RR:
            if end - body < 4 + 24 * count:
                raise RtcpError("short RR")
            (ssrc,) = struct.unpack_from("!I", data, body)
            blocks = tuple(ReportBlock.parse(data, body + 4 + 24 * i) for i in range(count))
            out.append(ReceiverReport(ssrc, blocks))
        elif ptype == BYE:
            ssrcs = struct.unpack_from(f"!{count}I", data, body) if count else ()
            reason = ""
            rest = body + 4 * count
            if rest < end:
                length = data[rest]
                reason = data[rest + 1 : rest + 1 + length].decode("utf-8", "replace")
            out.append(Bye(tuple(ssrcs), reason))
        offset = end
    return out


def round_trip(block: ReportBlock, arrival_ntp: int) -> float | None:
    """RTT in seconds from a report block about our stream (RFC 3550 §6.4.1), or None
    when the peer has not received an SR from us yet."""
    if block.lsr == 0:
        return None
    rtt = (ntp_middle(arrival_ntp) - block.lsr - block.dlsr) & 0xFFFFFFFF
    if rtt & 0x80000000:
        return 0.0
    return rtt / 65536.0
