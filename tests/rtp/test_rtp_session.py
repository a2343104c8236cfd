"""The jitter buffer and the RTP session with an injected clock: reordering, loss
concealment, adaptation, DTMF both ways, RTCP statistics for ARI's RTPstat."""

from __future__ import annotations

import pytest

from pyari.ari.spec.channels import MODELS
from pyari.rtp.dtmf import DtmfBegin, DtmfEnd, TelephoneEvent
from pyari.rtp.jitter import JitterBuffer
from pyari.rtp.packet import RtpPacket
from pyari.rtp.session import RtpSession

FRAME = 0.02


def pkt(n: int, *, ts0: int = 1000, seq0: int = 65530, ssrc: int = 9) -> RtpPacket:
    return RtpPacket(0, (seq0 + n) & 0xFFFF, ts0 + 160 * n, ssrc, bytes([n % 256]) * 160)


def test_jitter_buffer_reorders_and_conceals() -> None:
    jb = JitterBuffer(min_delay=0.04)
    # 1 arrives after 2, 3 is lost
    arrivals = [(0, 0.0), (2, 0.04), (1, 0.045), (4, 0.08), (5, 0.1), (6, 0.12), (7, 0.14)]
    frames = []
    for tick in range(9):
        now = tick * FRAME + 0.001
        while arrivals and arrivals[0][1] <= now:
            n, t = arrivals.pop(0)
            jb.put(pkt(n), t)
        frame = jb.pop(now)
        if frame is not None:
            frames.append((frame.kind, frame.payload[0]))
    assert frames[:4] == [("audio", 0), ("audio", 1), ("audio", 2), ("repeat", 2)]
    assert frames[4:7] == [("audio", 4), ("audio", 5), ("audio", 6)]
    assert jb.stats.concealed == 1 and jb.stats.played == 6 and jb.stats.late == 0


def test_jitter_buffer_late_duplicate_silence_and_resync() -> None:
    jb = JitterBuffer(min_delay=0.02)
    jb.put(pkt(0), 0.0)
    jb.put(pkt(0), 0.001)
    assert jb.stats.duplicates == 1
    assert jb.pop(0.0) is None  # waiting for the target delay
    assert jb.pop(0.03).kind == "audio"  # type: ignore[union-attr]
    jb.put(pkt(0), 0.04)  # already played
    assert jb.stats.late == 1
    assert jb.pop(0.05).kind == "repeat"  # type: ignore[union-attr]
    assert jb.pop(0.07).kind == "silence"  # type: ignore[union-attr]
    assert jb.stats.underruns == 2
    # a jump far ahead (new talk spurt) resynchronizes instead of playing silence forever
    jb.put(pkt(500), 0.09)
    assert jb.pop(0.09).payload[0] == 500 % 256  # type: ignore[union-attr]
    assert jb.stats.resyncs == 1


def test_jitter_buffer_adapts_delay_to_jitter() -> None:
    jb = JitterBuffer(min_delay=0.02, max_delay=0.2)
    # packets every 20 ms with ±15 ms alternating jitter
    for n in range(200):
        jb.put(pkt(n), n * FRAME + (0.015 if n % 2 else 0.0))
    assert jb.stats.jitter > 0.005
    assert jb.target_delay > 0.04
    steady = JitterBuffer(min_delay=0.02)
    for n in range(200):
        steady.put(pkt(n), n * FRAME)
    assert steady.stats.jitter < 1e-6
    assert steady.target_delay == pytest.approx(0.02)


def test_jitter_buffer_shrinks_when_too_much_is_buffered() -> None:
    jb = JitterBuffer(min_delay=0.02)
    for n in range(20):  # a burst: 400 ms arrive at once
        jb.put(pkt(n), 0.0)
    frame = jb.pop(0.5)
    assert frame is not None and frame.kind == "audio"
    assert jb.stats.dropped > 0
    assert jb.buffered() <= jb.target_delay + 2 * jb.frame_time


def pair() -> tuple[RtpSession, RtpSession]:
    a = RtpSession(0, ssrc=111, cname="a")
    b = RtpSession(0, ssrc=222, cname="b")
    return a, b


def test_audio_and_sequence_wrap_between_two_sessions() -> None:
    a, b = pair()
    a.sequence = 65534
    now = 0.0
    received = []
    for i in range(10):
        for data in a.send_frame(bytes([i]) * 160, now):
            assert b.receive(data, now + 0.001) == []
        frame = b.pull(now + 0.001)
        if frame is not None:
            received.append(frame.payload[0])
        now += FRAME
    assert received[:3] == [0, 1, 2]
    assert b.source is not None and b.source.lost == 0 and b.source.cycles == 1 << 16
    assert (a.tx_packets, b.rx_packets, b.rx_octets) == (10, 10, 1600)
    first = RtpPacket.parse(a.send_frame(b"\xff" * 160, now)[0])
    assert not first.marker


def test_dtmf_send_mutes_audio_and_is_received_once() -> None:
    a, b = pair()
    now = 0.0
    a.send_frame(b"\xff" * 160, now)
    a.send_dtmf("7", 60)
    events = []
    audio_during = 0
    for _ in range(6):
        now += FRAME
        for data in a.send_frame(b"\xff" * 160, now):
            packet = RtpPacket.parse(data)
            if packet.payload_type == 0:
                audio_during += a.sending_dtmf
            else:
                assert packet.payload_type == 101
                assert TelephoneEvent.parse(packet.payload).event == 7
            events += b.receive(data, now)
    assert events == [DtmfBegin("7"), DtmfEnd("7", 60)]
    assert audio_during == 0
    assert not a.sending_dtmf
    with pytest.raises(ValueError):
        RtpSession(0, dtmf_payload_type=None).send_dtmf("1")


def test_rtcp_exchange_fills_rtpstat() -> None:
    a, b = pair()
    now = 0.0
    for i in range(50):
        for data in a.send_frame(b"\x00" * 160, now):
            if i != 20:  # one packet is lost on the way: b counts a loss
                b.receive(data, now + 0.01 + (0.004 if i % 2 else 0))
        for data in b.send_frame(b"\x00" * 160, now):
            a.receive(data, now + 0.01)
        now += FRAME
    assert a.rtcp_due(now) is False
    assert a.rtcp_due(now + 3)
    sr_a = a.build_rtcp(now)
    b.receive(sr_a, now + 0.05, ("127.0.0.1", 1))
    sr_b = b.build_rtcp(now + 0.05)
    a.receive(sr_b, now + 0.1)
    stats = a.statistics("chan-1")
    props = {p.name for p in next(m for m in MODELS if m.id == "RTPstat").props}
    assert set(stats) == props
    assert stats["txcount"] == 50 and stats["rxcount"] == 50
    assert b.rx_packets == 49
    assert stats["txploss"] == 1  # what b reported about our stream
    assert stats["local_ssrc"] == 111 and stats["remote_ssrc"] == 222
    assert stats["txoctetcount"] == 8000 and stats["rxoctetcount"] == 8000
    assert stats["channel_uniqueid"] == "chan-1"
    assert float(stats["txjitter"]) > 0.0  # b saw our packets arrive unevenly
    assert float(stats["rtt"]) == pytest.approx(0.1, abs=0.001)
    assert b.statistics("chan-2")["rxploss"] == 1
    assert b.remote == ("127.0.0.1", 1) or not b.symmetric


def test_ssrc_sequence_and_timestamp_come_from_one_random_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws: list[int] = []

    def randbits(k: int) -> int:
        draws.append(k)
        return 0xAABBCCDD_1234_55667788

    monkeypatch.setattr("pyari.rtp.session.secrets.randbits", randbits)
    session = RtpSession(0)
    assert draws == [80]
    assert (session.ssrc, session.sequence, session.timestamp) == (0xAABBCCDD, 0x1234, 0x55667788)
    assert RtpSession(0, ssrc=7).ssrc == 7
    monkeypatch.undo()
    a, b = RtpSession(0), RtpSession(0)
    assert (a.ssrc, a.sequence, a.timestamp) != (b.ssrc, b.sequence, b.timestamp)
    assert 0 <= a.sequence < 1 << 16 and 0 <= a.ssrc < 1 << 32 and 0 <= a.timestamp < 1 << 32


def test_series_start_empty_and_keep_their_own_figures() -> None:
    session = RtpSession(0)
    assert session.rtts.count == 0 and session.rtts.stdev == 0.0
    session.rtts.add(0.5)
    session.rtts.add(1.5)
    assert (session.rtts.count, session.rtts.minimum, session.rtts.maximum) == (2, 0.5, 1.5)
    assert session.rtts.mean == 1.0 and session.rtts.stdev == 0.5
    assert session.local_jitter.count == 0 and RtpSession(0).rtts.count == 0
