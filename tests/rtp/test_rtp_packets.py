"""RTP packets, RTCP reports and RFC 4733 events at the byte level."""

from __future__ import annotations

import pytest

from pyari.rtp.dtmf import DtmfBegin, DtmfEnd, DtmfReceiver, TelephoneEvent, tone_packets
from pyari.rtp.packet import RtpError, RtpPacket, is_rtcp, seq_delta, seq_newer, ts_delta
from pyari.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderReport,
    build_bye,
    build_report,
    ntp_from_unix,
    ntp_middle,
    parse_compound,
    round_trip,
)


def test_packet_bytes() -> None:
    p = RtpPacket(0, 0x1234, 0xDEADBEEF, 0x01020304, b"\xff" * 4, marker=True)
    data = p.to_bytes()
    assert data[:12] == bytes.fromhex("80801234deadbeef01020304")
    assert RtpPacket.parse(data) == p


def test_csrc_extension_and_padding() -> None:
    p = RtpPacket(8, 1, 2, 3, b"abc", csrc=(7, 9), extension=(0xBEDE, b"\x10\xaa\x00\x00"))
    assert RtpPacket.parse(p.to_bytes()) == p
    padded = bytearray(RtpPacket(8, 1, 2, 3, b"abcd").to_bytes() + b"\x00\x00\x03")
    padded[0] |= 0x20
    assert RtpPacket.parse(bytes(padded)).payload == b"abcd"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80" * 11, b"\x40" + b"\x00" * 11, b"\x82" + b"\x00" * 11, b"\xa0" + b"\x00" * 11],
)
def test_bad_packets(data: bytes) -> None:
    with pytest.raises(RtpError):
        RtpPacket.parse(data)


def test_wrap_arithmetic() -> None:
    assert seq_delta(2, 65534) == 4 and seq_delta(65534, 2) == -4
    assert seq_newer(0, 65535) and not seq_newer(65535, 0)
    assert ts_delta(80, 0xFFFFFFF0) == 96
    assert is_rtcp(bytes([0x80, 200])) and not is_rtcp(bytes([0x80, 0]))


def test_rtcp_sr_rr_sdes_bye() -> None:
    block = ReportBlock(0xAABBCCDD, 12, -3, 70000, 40, 0x12345678, 0x00010000)
    sr = build_report(
        1, cname="pyari@h", blocks=(block,), sender=(ntp_from_unix(1.5), 160, 10, 1600)
    )
    assert len(sr) % 4 == 0
    (report,) = parse_compound(sr)
    assert isinstance(report, SenderReport)
    assert (report.ssrc, report.rtp_timestamp, report.packet_count, report.octet_count) == (
        1,
        160,
        10,
        1600,
    )
    assert report.reports == (block,)
    rr = parse_compound(build_report(2, cname="x"))
    assert rr == [ReceiverReport(2, ())]
    bye = parse_compound(build_bye(3, cname="x"))
    assert bye[-1] == Bye((3,), "")


def test_round_trip_time() -> None:
    sent = ntp_from_unix(1000.0)
    block = ReportBlock(1, 0, 0, 0, 0, ntp_middle(sent), int(0.25 * 65536))
    rtt = round_trip(block, ntp_from_unix(1000.35))
    assert rtt == pytest.approx(0.1, abs=1e-3)
    assert round_trip(ReportBlock(1, 0, 0, 0, 0, 0, 0), sent) is None


def test_telephone_event_sender() -> None:
    packets = tone_packets("5", 100, ptime_ms=20)
    events = [TelephoneEvent.parse(p.payload) for p in packets]
    assert [p.marker for p in packets] == [True] + [False] * (len(packets) - 1)
    assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert {e.event for e in events} == {5}
    assert [p.offset for p in packets] == pytest.approx([0, 0.02, 0.04, 0.06, 0.08, 0.08, 0.08])
    with pytest.raises(ValueError):
        tone_packets("x", 100)


def test_telephone_event_receiver_dedups_ends_and_recovers_lost_end() -> None:
    rx = DtmfReceiver()
    out = []
    for tone in tone_packets("#", 120):
        out += rx.receive(1000, tone.payload)
    assert out == [DtmfBegin("#"), DtmfEnd("#", 120)]
    # a retransmitted end of an old event is ignored
    assert rx.receive(1000, tone_packets("#", 120)[-1].payload) == []
    # a digit whose end packets were lost is ended by the next event
    start = tone_packets("1", 100)
    assert rx.receive(2000, start[0].payload) == [DtmfBegin("1")]
    assert rx.receive(2000, start[1].payload) == []
    assert rx.receive(3000, tone_packets("2", 100)[0].payload) == [DtmfEnd("1", 40), DtmfBegin("2")]
    assert rx.flush() == [DtmfEnd("2", 20)]
    assert rx.receive(4000, b"\x01") == []
