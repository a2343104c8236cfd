"""RTP I/O batched on the media tick: sends leave first, received packets are read in
one batch inside the tick (never on a reader callback), DTMF still arrives once."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct

import pytest

from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.media.ticker import MediaClock
from pyari.rtp.dtmf import TelephoneEvent
from pyari.rtp.packet import RtpPacket


def peer() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def drain(sock: socket.socket) -> list[bytes]:
    out: list[bytes] = []
    while True:
        try:
            out.append(sock.recv(2048))
        except BlockingIOError:
            return out


def setup(clock: MediaClock) -> tuple[RtpMedia, RtpStream, socket.socket]:
    media = RtpMedia(clock)
    far = peer()
    stream = media.open()
    stream.configure(far.getsockname(), 0)
    return media, stream, far


def burst(far: socket.socket, stream: RtpStream, count: int, *, seq0: int = 0) -> None:
    for n in range(count):
        data = RtpPacket(0, seq0 + n, 160 * (seq0 + n), 77, bytes([n]) * 160).to_bytes()
        far.sendto(data, stream.address)


async def test_tick_sends_before_reading_and_before_other_handlers() -> None:
    clock = MediaClock(time_source=lambda: 0.0)
    order: list[str] = []
    seen_at_engine: list[int] = []
    far_holder: list[socket.socket] = []

    def engine(number: int) -> None:
        # the engine's handler was added first but runs after RTP's send pass; loopback
        # delivery is synchronous, so this tick's packet is already at the far end
        order.append("engine")
        seen_at_engine.append(len(drain(far_holder[0])))
        stream.output(bytes([number]) * 160)

    clock.add_handler(engine)
    media, stream, far = setup(clock)
    far_holder.append(far)
    assert clock.handlers[0] == media.tick

    session = stream.session
    assert session is not None
    real_send, real_receive = session.send_frame, session.receive

    def send_frame(payload: bytes | None, now: float) -> list[bytes]:
        order.append("send")
        return real_send(payload, now)

    def receive(data: bytes, now: float, source: tuple[str, int] | None = None) -> list:  # type: ignore[type-arg]
        order.append("receive")
        return real_receive(data, now, source)

    session.send_frame = send_frame  # type: ignore[method-assign]
    session.receive = receive  # type: ignore[method-assign]

    clock.tick()  # nothing mixed yet: no packet
    burst(far, stream, 3)
    for _ in range(3):  # loop passes: a reader callback would read them here
        await asyncio.sleep(0)
    assert session.rx_packets == 0
    clock.tick()
    assert order[:2] == ["send", "engine"]
    assert order[2:] == ["send", "receive", "receive", "receive", "engine"]
    assert session.rx_packets == 3
    assert seen_at_engine == [0, 1]
    stream.close()
    far.close()
    media.close()


async def test_sends_stay_one_per_tick_under_a_receive_burst() -> None:
    clock = MediaClock(time_source=lambda: 0.0)
    media, stream, far = setup(clock)
    sent: list[tuple[int, int, int]] = []
    for tick in range(12):
        stream.output(bytes([tick]) * 160)
        if tick in (3, 4, 8):
            burst(far, stream, 40, seq0=tick * 100)
        clock.tick()
        packets = drain(far)
        assert len(packets) == 1, f"tick {tick} sent {len(packets)}"
        _, _, seq, ts, _ = struct.unpack_from("!BBHII", packets[0])
        sent.append((tick, seq, ts))
    seqs = [s for _, s, _ in sent]
    stamps = [t for _, _, t in sent]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))
    assert all((b - a) & 0xFFFFFFFF == 160 for a, b in itertools.pairwise(stamps))
    assert stream.session is not None and stream.session.rx_packets == 120
    stream.close()
    far.close()
    media.close()


async def test_dtmf_in_a_batch_is_reported_once() -> None:
    clock = MediaClock(time_source=lambda: 0.0)
    media, stream, far = setup(clock)
    digits: list[tuple[str, int]] = []
    stream.on_dtmf = lambda digit, ms: digits.append((digit, ms))
    events = [TelephoneEvent(5, False, 10, 160 * n) for n in (1, 2, 3)]
    events += [TelephoneEvent(5, True, 10, 800)] * 3
    for n, event in enumerate(events):
        packet = RtpPacket(101, n, 4000, 77, event.to_bytes(), marker=n == 0)
        far.sendto(packet.to_bytes(), stream.address)
    clock.tick()
    assert digits == [("5", 100)]
    stream.close()
    far.close()
    media.close()


async def test_closed_stream_leaves_the_poll_set() -> None:
    clock = MediaClock(time_source=lambda: 0.0)
    media, stream, far = setup(clock)
    target = stream.address
    stream.close()
    far.sendto(b"\x80\x00" + b"\x00" * 170, target)
    clock.tick()
    assert media.receive() == 0 and not media.streams
    second = media.open()
    second.configure(far.getsockname(), 0)
    burst(far, second, 2)
    assert media.receive() == 2
    second.close()
    far.close()
    media.close()


async def test_batch_read_learns_the_source_and_honours_receive_enabled() -> None:
    clock = MediaClock(time_source=lambda: 0.0)
    media = RtpMedia(clock)
    stream = media.open()
    announced = peer()  # where the SDP said the far end is
    actual = peer()  # where its packets really come from (NAT)
    stream.configure(announced.getsockname(), 0, symmetric=True)
    stream.receive_enabled = False
    burst(actual, stream, 1)
    assert media.receive() == 1  # read and dropped: nothing learnt, nothing buffered
    assert stream.remote == announced.getsockname()
    assert stream.session is not None and stream.session.rx_packets == 0
    stream.receive_enabled = True
    burst(actual, stream, 1, seq0=1)
    assert media.receive() == 1
    assert stream.remote == actual.getsockname() and stream.session.rx_packets == 1
    stream.output(b"\x01" * 160)
    clock.tick()
    assert drain(actual) and not drain(announced)  # replies go where packets came from
    stream.close()
    for sock in (announced, actual):
        sock.close()
    media.close()


async def test_batch_read_over_ipv6_keeps_host_port_addresses() -> None:
    try:
        far = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        far.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    far.setblocking(False)
    clock = MediaClock(time_source=lambda: 0.0)
    media = RtpMedia(clock)
    stream = media.open("::1")
    stream.configure(("::1", 9), 0, symmetric=True)
    far.sendto(RtpPacket(0, 1, 160, 77, b"\x02" * 160).to_bytes(), stream.address)
    assert media.receive() == 1
    assert stream.remote == ("::1", far.getsockname()[1])  # (host, port), not 4 fields
    stream.output(b"\x01" * 160)
    clock.tick()
    assert len(drain(far)) == 1
    stream.close()
    far.close()
    media.close()
