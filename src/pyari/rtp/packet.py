"""RTP packets (RFC 3550 §5.1) and sequence/timestamp arithmetic with wrap-around."""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "RtpError",
    "RtpPacket",
    "is_rtcp",
    "seq_delta",
    "seq_newer",
    "ts_delta",
]

_HEADER = struct.Struct("!BBHII")


class RtpError(ValueError):
    """Bytes that are not an RTP packet."""


def seq_delta(a: int, b: int) -> int:
    """``a - b`` for 16-bit sequence numbers, in -32768..32767."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def seq_newer(a: int, b: int) -> bool:
    """Whether sequence number ``a`` comes after ``b`` (modulo 2^16)."""
    return seq_delta(a, b) > 0


def ts_delta(a: int, b: int) -> int:
    """``a - b`` for 32-bit timestamps, signed."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 demultiplexing: RTCP packet types 192..223 sit where RTP's M+PT is."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None
    """(profile, data) of a header extension."""

    def to_bytes(self) -> bytes:
        first = 0x80 | len(self.csrc)
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        out = bytearray(
            _HEADER.pack(
                first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
            )
        )
        for c in self.csrc:
            out += struct.pack("!I", c)
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4:
                raise ValueError("RTP header extension must be a multiple of 4 bytes")
            out += struct.pack("!HH", profile, len(data) // 4) + data
        out += self.payload
        return bytes(out)

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < 12:
            raise RtpError("shorter than an RTP header")
        first, second, seq, ts, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RtpError("not RTP version 2")
        cc = first & 0x0F
        offset = 12 + 4 * cc
        if len(data) < offset:
            raise RtpError("truncated CSRC list")
        csrc = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
        extension = None
        if first & 0x10:
            if len(data) < offset + 4:
                raise RtpError("truncated header extension")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if len(data) < end:
                raise RtpError("truncated header extension")
            extension = (profile, bytes(data[offset + 4 : end]))
            offset = end
        end = len(data)
        if first & 0x20:
            pad = data[-1]
            if pad == 0 or offset + pad > end:
                raise RtpError("bad padding")
            end -= pad
        return cls(
            payload_type=second & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(second & 0x80),
            csrc=tuple(csrc),
            extension=extension,
        )
