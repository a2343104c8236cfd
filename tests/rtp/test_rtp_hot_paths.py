"""The per-packet and per-tick paths of the RTP stack, kept cheap for 300 calls: the
payload-only jitter-buffer pop agrees with the full one, far timestamps cannot make the
buffer loop once per 20 ms slot, and the session's one-packet send path numbers and
marks packets as the general one does."""

from __future__ import annotations

import time

from pyari.rtp.jitter import JitterBuffer
from pyari.rtp.packet import RtpPacket
from pyari.rtp.session import RtpSession

FRAME = 0.02


def feed(jb: JitterBuffer, script: list[tuple[int, float]], ts0: int = 4000) -> None:
    for n, arrival in script:
        jb.put_frame((ts0 + 160 * n) & 0xFFFFFFFF, bytes([n % 256]) * 160, arrival)


def test_pop_payload_gives_what_pop_gives() -> None:
    # reordered, lost, duplicated and late packets, then a long gap (underruns)
    script = [(0, 0.0), (2, 0.04), (1, 0.045), (1, 0.05), (4, 0.08), (5, 0.1), (0, 0.11)]
    full, lean = JitterBuffer(min_delay=0.04), JitterBuffer(min_delay=0.04)
    kinds: list[str | None] = []
    for tick in range(14):
        now = tick * FRAME + 0.001
        due = [item for item in script if tick * FRAME <= item[1] + 0.001 < (tick + 1) * FRAME]
        feed(full, due)
        feed(lean, due)
        frame = full.pop(now)
        payload = lean.pop_payload(now)
        if frame is None:
            assert payload is None
            kinds.append(None)
            continue
        kinds.append(frame.kind)
        assert payload == (None if frame.kind == "silence" else frame.payload)
    assert full.stats == lean.stats
    assert {"audio", "repeat", "silence", None} <= set(kinds)


def test_buffered_follows_the_newest_frame() -> None:
    jb = JitterBuffer(min_delay=0.06)
    feed(jb, [(0, 0.0), (1, 0.02), (3, 0.06)])  # 2 is lost
    assert jb.buffered() == 3 * jb.frame_time  # before playout: the frames count
    assert jb.pop(0.06) is not None
    # from the playout point (1): 1, the gap at 2, and 3
    assert abs(jb.buffered() - 3 * jb.frame_time) < 1e-9
    kinds = [jb.pop(0.06 + n * FRAME).kind for n in range(1, 4)]  # type: ignore[union-attr]
    assert kinds == ["audio", "repeat", "audio"]
    assert jb.buffered() == 0.0 and not jb.frames
    assert jb.pop(0.2).kind == "repeat"  # type: ignore[union-attr]


def test_far_timestamps_do_not_stall_the_tick() -> None:
    """Frames 2**30 samples apart (a broken or hostile sender) used to make the buffer
    walk the gap one 20 ms slot at a time (millions of steps) inside the media tick."""
    jb = JitterBuffer(min_delay=0.02)
    feed(jb, [(0, 0.0), (1, 0.0)])
    far = (4000 + 160 * (1 << 23)) & 0xFFFFFFFF  # on the 20 ms grid, 46 hours ahead
    jb.put_frame(far, b"\x01" * 160, 0.001)  # accepted: frames near the playout point exist
    jb.put_frame((far + 160) & 0xFFFFFFFF, b"\x02" * 160, 0.002)
    started = time.perf_counter()
    frame = jb.pop(0.05)
    assert time.perf_counter() - started < 0.05
    # the excess was dropped (one slot before the far frames: nothing to repeat yet),
    # then playout goes on from the far frames
    assert frame is not None and frame.kind == "silence"
    assert frame.timestamp == (far - 160) & 0xFFFFFFFF
    assert jb.stats.dropped == (1 << 23) - 1
    assert jb.pop(0.07).payload == b"\x01" * 160  # type: ignore[union-attr]
    assert jb.pop(0.09).payload == b"\x02" * 160  # type: ignore[union-attr]


def test_one_packet_send_path_numbers_and_marks() -> None:
    session = RtpSession(8, ssrc=0x01020304)
    session.sequence, session.timestamp = 0xFFFF, 0xFFFFFF00
    first = RtpPacket.parse(session.send_frame(b"\xd5" * 160, 0.0)[0])
    assert (first.payload_type, first.marker, first.sequence) == (8, True, 0xFFFF)
    assert (first.timestamp, first.ssrc, first.payload) == (0xFFFFFF00, 0x01020304, b"\xd5" * 160)
    assert session.send_frame(None, FRAME) == []  # nothing to send: the clock still runs
    second = RtpPacket.parse(session.send_frame(b"\xd5" * 160, 2 * FRAME)[0])
    assert (second.marker, second.sequence, second.timestamp) == (
        False,
        0,
        (0xFFFFFF00 + 320) & 0xFFFFFFFF,
    )
    assert (session.tx_packets, session.tx_octets) == (2, 320)
    # after a digit, audio starts a new talk spurt (marker set again)
    session.send_dtmf("5", 40)
    sent = [
        RtpPacket.parse(data)
        for n in range(3, 12)
        for data in session.send_frame(b"\xd5" * 160, n * FRAME)
    ]
    kinds = [packet.payload_type for packet in sent]
    assert kinds[0] == 101 and kinds[-1] == 8
    resumed = sent[kinds.index(8)]
    assert resumed.marker and not any(p.marker for p in sent[kinds.index(8) + 1 :])


def test_receive_tracks_sequence_wrap_and_loss_inline() -> None:
    a, b = RtpSession(0, ssrc=1), RtpSession(0, ssrc=2)
    a.sequence = 65533
    for n in range(8):
        packets = a.send_frame(bytes([n]) * 160, n * FRAME)
        if n != 5:  # one lost
            b.receive(packets[0], n * FRAME + 0.001)
    assert b.source is not None
    assert b.source.cycles == 1 << 16 and b.source.max_seq == (65533 + 7) & 0xFFFF
    assert (b.source.received, b.source.lost, b.rx_packets) == (7, 1, 7)
