"""The sockets of an RTP stream (issue #16 goal 1: their cost per call set-up).

RTP and RTCP sockets are made non-blocking by ``socket()``, the stream knows its
address without asking the kernel again, and with a media clock the RTCP socket is
read on the tick from the same ``epoll`` set as RTP (no event-loop reader per call);
without a clock it stays on the event loop.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from channels.test_channels_rtp_timing import FakeTime, phone
from pyari.channels.rtp_media import RtpMedia
from pyari.media.ticker import MediaClock
from pyari.rtp.session import RtpSession


def sender_report(now: float) -> bytes:
    peer = RtpSession(0, ssrc=0x1234)
    peer.tx_packets = 1
    peer.tx_octets = 160
    return peer.build_rtcp(now)


def readers(loop: asyncio.AbstractEventLoop) -> set[int]:
    selector = getattr(loop, "_selector", None)
    if selector is None:
        pytest.skip("the loop does not show its readers")
    return {key.fd for key in selector.get_map().values() if key.events & 1}


async def test_sockets_are_non_blocking_and_named() -> None:
    media = RtpMedia(MediaClock(time_source=FakeTime()))
    streams = [media.open("127.0.0.1") for _ in range(3)]
    try:
        for stream in streams:
            assert stream.sock.gettimeout() == 0.0
            assert stream.rtcp_sock is not None and stream.rtcp_sock.gettimeout() == 0.0
            assert stream.address == stream.sock.getsockname()[:2]
            assert stream.port % 2 == 0
            assert stream.rtcp_sock.getsockname()[1] == stream.port + 1
    finally:
        for stream in streams:
            stream.close()
        media.close()


async def test_sockets_are_the_c_type_and_closed_with_the_stream() -> None:
    """No Python ``socket.socket`` wrapper (its ``__init__``/``close`` per socket): the
    C type does what RTP needs, and closing the stream closes both descriptors."""
    import _socket

    media = RtpMedia(MediaClock(time_source=FakeTime()))
    stream = media.open("127.0.0.1")
    assert type(stream.sock) is _socket.socket and type(stream.rtcp_sock) is _socket.socket
    assert stream.sock.family == socket.AF_INET and stream.sock.type & socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.sendto(b"x", stream.address)
        await asyncio.sleep(0)
        assert stream.sock.recvfrom(16)[0] == b"x"
    rtcp = stream.rtcp_sock
    assert rtcp is not None
    stream.close()
    assert stream.sock.fileno() == -1 and rtcp.fileno() == -1
    media.close()


async def test_host_named_as_the_kernel_names_it() -> None:
    media = RtpMedia(MediaClock(time_source=FakeTime()))
    try:
        first = media.open("localhost")
        second = media.open("localhost")
        assert first.address == first.sock.getsockname()[:2]
        assert second.address == second.sock.getsockname()[:2]
        assert first.address[0] == "127.0.0.1"
        first.close()
        second.close()
    finally:
        media.close()


async def test_rtcp_read_on_the_tick_not_by_the_loop() -> None:
    time = FakeTime()
    media = RtpMedia(MediaClock(time_source=time))
    loop = asyncio.get_running_loop()
    far = phone()
    stream = media.open("127.0.0.1")
    try:
        assert stream.rtcp_sock is not None
        assert stream.rtcp_sock.fileno() not in readers(loop)
        stream.configure(far.getsockname(), 0)
        session = stream.session
        assert session is not None and session._last_sr is None
        far.sendto(sender_report(time.now), ("127.0.0.1", stream.port + 1))
        media.tick()
        assert session._last_sr is not None
        assert session._last_sr[1] == time.now
    finally:
        stream.close()
        far.close()
        media.close()


async def test_symmetric_rtcp_learns_its_remote_on_the_tick() -> None:
    time = FakeTime()
    media = RtpMedia(MediaClock(time_source=time))
    far = phone()
    stream = media.open("127.0.0.1")
    try:
        stream.configure(("127.0.0.1", 9), 0, symmetric=True)
        far.sendto(sender_report(time.now), ("127.0.0.1", stream.port + 1))
        media.tick()
        assert stream.rtcp_remote == far.getsockname()
    finally:
        stream.close()
        far.close()
        media.close()


async def test_closed_stream_leaves_the_tick_and_its_port_is_free() -> None:
    time = FakeTime()
    media = RtpMedia(MediaClock(time_source=time))
    stream = media.open("127.0.0.1")
    assert stream.rtcp_sock is not None
    port = stream.port
    stream.close()
    assert not media._rtcp_by_fd and not media._by_fd
    media.tick()  # nothing registered is left to poll
    again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        again.bind(("127.0.0.1", port + 1))
    finally:
        again.close()
    # a new stream may get the same descriptors: it is read as its own
    other = media.open("127.0.0.1")
    far = phone()
    try:
        other.configure(far.getsockname(), 0)
        assert other.rtcp_sock is not None
        far.sendto(sender_report(time.now), ("127.0.0.1", other.port + 1))
        media.tick()
        assert other.session is not None and other.session._last_sr is not None
    finally:
        other.close()
        far.close()
        media.close()


async def test_without_a_clock_rtcp_stays_on_the_loop() -> None:
    loop = asyncio.get_running_loop()
    media = RtpMedia(loop=loop)
    far = phone()
    stream = media.open("127.0.0.1")
    try:
        assert stream.rtcp_sock is not None
        fd = stream.rtcp_sock.fileno()
        assert fd in readers(loop)
        stream.configure(far.getsockname(), 0)
        session = stream.session
        assert session is not None
        far.sendto(sender_report(media.now()), ("127.0.0.1", stream.port + 1))
        for _ in range(50):
            if session._last_sr is not None:
                break
            await asyncio.sleep(0)  # the loop's reader runs (no timing involved)
        assert session._last_sr is not None
        stream.close()
        assert fd not in readers(loop)
    finally:
        far.close()
        media.close()


async def test_ports_even_and_inside_the_range() -> None:
    media = RtpMedia(MediaClock(time_source=FakeTime()), port_range=(21000, 21010))
    streams = []
    try:
        for _ in range(4):
            stream = media.open("127.0.0.1")
            streams.append(stream)
            if stream.rtcp_sock is None:
                continue  # the range was crowded by others: any port
            assert stream.port % 2 == 0 and 21000 <= stream.port <= 21008
        assert len({s.port for s in streams}) == len(streams)
    finally:
        for stream in streams:
            stream.close()
        media.close()


async def test_descriptors_reused_after_close_are_read() -> None:
    """A closed socket left the epoll set by closing: a new one on the same descriptor
    number is registered and read."""
    time = FakeTime()
    media = RtpMedia(MediaClock(time_source=time))
    far = phone()
    try:
        for _ in range(3):
            stream = media.open("127.0.0.1")
            stream.configure(far.getsockname(), 0)
            packet = bytes([0x80, 0]) + (1).to_bytes(2, "big") + bytes(8) + b"\xff" * 160
            far.sendto(packet, stream.address)
            assert media.receive(time.now) == 1
            assert stream.session is not None and stream.session.rx_packets == 1
            stream.close()
    finally:
        far.close()
        media.close()
