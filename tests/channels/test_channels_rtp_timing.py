"""Timing of bridged RTP through the media engine on one clock (injected time): what a
leg receives before tick k is mixed in tick k and leaves the other leg at the start of
tick k + 1, one packet per tick and 160 timestamp units apart, whatever bursts arrive."""

from __future__ import annotations

import itertools
import socket
import struct

from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.media.frames import ULAW
from pyari.media.mixer import MediaEngine, Stream
from pyari.media.ticker import MediaClock
from pyari.rtp.packet import RtpPacket


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def phone() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def received(sock: socket.socket) -> list[tuple[int, int, bytes]]:
    out: list[tuple[int, int, bytes]] = []
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return out
        _, _, seq, ts, _ = struct.unpack_from("!BBHII", data)
        out.append((seq, ts, data[12:]))


def leg(
    media: RtpMedia, engine: MediaEngine, name: str, far: socket.socket
) -> tuple[RtpStream, Stream]:
    rtp = media.open()
    rtp.configure(far.getsockname(), 0)
    stream = engine.add_stream(name, ULAW, on_output=lambda _s, payload: rtp.output(payload))
    rtp.attach(stream)
    return rtp, stream


async def test_bridged_frame_leaves_at_the_next_tick_start_evenly_under_bursts() -> None:
    time = FakeTime()
    clock = MediaClock(time_source=time)
    engine = MediaEngine()
    clock.add_handler(engine.process_tick)
    media = RtpMedia(clock)
    media.relay_enabled = False  # the clock's path (relay on arrival: test_rtp_relay.py)
    a_phone, b_phone = phone(), phone()
    a_rtp, a_stream = leg(media, engine, "a", a_phone)
    b_rtp, b_stream = leg(media, engine, "b", b_phone)
    bridge = engine.add_bridge("br")
    engine.join(bridge, a_stream)
    engine.join(bridge, b_stream)
    assert clock.handlers == [media.tick, engine.process_tick]

    def say(seq: int, count: int = 1) -> None:
        for n in range(seq, seq + count):
            packet = RtpPacket(0, n, 160 * n, 1234, bytes([n % 100 + 1]) * 160)
            a_phone.sendto(packet.to_bytes(), a_rtp.address)

    out: list[list[tuple[int, int, bytes]]] = []
    seq = 0
    for tick in range(16):
        # a burst of five packets at ticks 6 and 10, a steady packet otherwise
        count = 5 if tick in (6, 10) else 1
        say(seq, count)
        seq += count
        clock.tick()
        out.append(received(b_phone))
        time.now += 0.02
    # one packet per tick once the engine has something for b, never two
    first = next(i for i, packets in enumerate(out) if packets)
    assert all(len(packets) == 1 for packets in out[first:])
    seqs = [p[0][0] for p in out[first:]]
    stamps = [p[0][1] for p in out[first:]]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    assert all((b - a) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(stamps))
    # what a said is relayed untouched, in order, one tick after it was mixed
    payloads = [p[0][2] for p in out[first:] if p[0][2] != b"\xff" * 160]
    firsts = [payload[0] for payload in payloads]
    assert firsts == sorted(firsts) and len(firsts) >= 8
    assert all(payload == bytes([payload[0]]) * 160 for payload in payloads)
    assert b_rtp.session is not None and a_rtp.session is not None
    assert a_rtp.session.rx_packets == seq
    for sock in (a_phone, b_phone):
        sock.close()
    media.close()


async def test_mixed_frame_is_sent_on_the_following_tick_not_the_same() -> None:
    time = FakeTime()
    clock = MediaClock(time_source=time)
    feed = [bytes([7]) * 160]
    sink: list[RtpStream] = []

    def produce(number: int) -> None:
        # like the engine: added to the clock before the RTP sockets exist
        if feed and sink:
            sink[0].output(feed.pop())

    clock.add_handler(produce)
    media = RtpMedia(clock)
    far = phone()
    rtp = media.open()
    rtp.configure(far.getsockname(), 0)
    sink.append(rtp)
    clock.tick()
    assert received(far) == []  # produced during tick 0: not sent in tick 0
    time.now += 0.02
    clock.tick()
    assert [p[2] for p in received(far)] == [bytes([7]) * 160]
    far.close()
    media.close()
