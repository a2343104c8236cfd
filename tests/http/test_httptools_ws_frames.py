"""The httptools core's WebSocket reads whole data frames itself, wsproto the rest.

Fed directly (a stand-in for the connection), so how the bytes are split is exact.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

from aiohttp import WSMsgType
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from pyari.http.httptools_core import HttpProtocol, WebSocket


class Transport:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0


class Proto:
    """What a WebSocket uses of its connection."""

    def __init__(self) -> None:
        self.transport = Transport()
        self._write_paused = False
        self.closed = False
        self.aborted = False

    def _close_after_write(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    async def drain(self) -> None:
        return None


def client_frames(*events: Any) -> bytes:
    """Masked frames as a client sends them."""
    conn = Connection(ConnectionType.CLIENT)
    return b"".join(conn.send(e) for e in events)


def server_events(data: bytes | bytearray) -> list[Any]:
    """What a client reads from the server's bytes."""
    conn = Connection(ConnectionType.CLIENT)
    conn.receive_data(bytes(data))
    return list(conn.events())


def socket(max_size: int = 1024 * 1024) -> tuple[WebSocket, Proto]:
    proto = Proto()
    return WebSocket(cast(HttpProtocol, proto), "ari", max_size), proto


def inbox(ws: WebSocket) -> list[Any]:
    return [(m.type, m.data) for m in ws._inbox]


async def test_whole_frames_and_a_frame_split_anywhere() -> None:
    texts = ["a", "é" * 100, "x" * 60_000, ""]
    data = client_frames(*(TextMessage(data=t) for t in texts), BytesMessage(data=b"\x00\x01"))
    for cut in (1, 2, 3, 7, len(data) // 2, len(data) - 1):
        ws, _ = socket()
        ws.feed(data[:cut])
        ws.feed(data[cut:])
        expected = [(WSMsgType.TEXT, t) for t in texts] + [(WSMsgType.BINARY, b"\x00\x01")]
        assert inbox(ws) == expected, cut
        assert ws._fast
    ws, _ = socket()
    for i in range(len(data)):
        ws.feed(data[i : i + 1])
    assert len(ws._inbox) == 5
    # A 64-bit length: read here when whole; when cut, wsproto buffers it.
    long = client_frames(TextMessage(data="z" * 70_000), TextMessage(data="next"))
    ws, _ = socket()
    ws.feed(long)
    assert inbox(ws) == [(WSMsgType.TEXT, "z" * 70_000), (WSMsgType.TEXT, "next")]
    assert ws._fast
    ws, _ = socket()
    ws.feed(long[:1000])
    ws.feed(long[1000:])
    assert inbox(ws) == [(WSMsgType.TEXT, "z" * 70_000), (WSMsgType.TEXT, "next")]
    assert not ws._fast


async def test_a_control_frame_hands_the_stream_to_wsproto() -> None:
    ws, proto = socket()
    data = client_frames(
        TextMessage(data="before"),
        Ping(payload=b"hi"),
        TextMessage(data="part ", message_finished=False),
        TextMessage(data="two"),
        TextMessage(data="after"),
    )
    ws.feed(data)
    assert inbox(ws) == [
        (WSMsgType.TEXT, "before"),
        (WSMsgType.TEXT, "part two"),
        (WSMsgType.TEXT, "after"),
    ]
    assert not ws._fast
    assert server_events(proto.transport.written) == [Pong(payload=b"hi")]


async def test_bad_utf8_and_too_big_close_as_wsproto_does() -> None:
    ws, proto = socket()
    frame = bytearray(client_frames(TextMessage(data="ok")))
    # The same frame with an invalid payload (masked with its own key).
    mask = frame[2:6]
    bad = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\xff\xfe"))
    ws.feed(bytes(frame) + bytes([0x81, 0x82]) + bytes(mask) + bad)
    assert inbox(ws)[0] == (WSMsgType.TEXT, "ok")
    assert inbox(ws)[1][0] == WSMsgType.ERROR
    close = server_events(proto.transport.written)[0]
    assert isinstance(close, CloseConnection) and close.code == 1007
    ws, proto = socket(max_size=100)
    ws.feed(client_frames(TextMessage(data="y" * 101)))
    close = server_events(proto.transport.written)[0]
    assert isinstance(close, CloseConnection) and close.code == 1009


async def test_text_handler_runs_inline_in_order_and_waits() -> None:
    ws, proto = socket()
    seen: list[str] = []
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def handler(text: str) -> None:
        if text == "wait":
            await gate
        seen.append(text)
        ws.send_text_now(text.upper().encode())

    ws.serve_text(handler)
    ws.feed(client_frames(*(TextMessage(data=t) for t in ("one", "two"))))
    assert seen == ["one", "two"]  # answered inline, before feed returned
    events = server_events(proto.transport.written)
    assert [e.data for e in events] == ["ONE", "TWO"]
    ws.feed(client_frames(*(TextMessage(data=t) for t in ("wait", "three"))))
    assert seen == ["one", "two"]
    gate.set_result(None)
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["one", "two", "wait", "three"]
    assert not ws._inbox
    big = os.urandom(40_000).hex()
    ws.feed(client_frames(TextMessage(data=big)))
    assert server_events(proto.transport.written)[-1].data == big.upper()


async def test_text_frames_are_the_bytes_wsproto_makes() -> None:
    """The events socket frames text itself (send_text_bytes, send_text_now): byte for
    byte what wsproto sends for every length class, in the order sent, in one write."""
    ws, proto = socket()
    sizes = [0, 1, 125, 126, 127, 65535, 65536, 70000]
    texts = [("é" * (n // 2) + "x" * (n % 2)).encode() for n in sizes]
    for i, text in enumerate(texts):
        if i % 2:
            assert ws.send_text_now(text)
        else:
            await ws.send_text_bytes(text)
    ws._flush()
    conn = Connection(ConnectionType.SERVER)
    expected = b"".join(conn.send(TextMessage(data=t.decode())) for t in texts)
    assert bytes(proto.transport.written) == expected


async def test_a_paused_transport_refuses_send_text_now_and_closed_raises() -> None:
    ws, proto = socket()
    proto._write_paused = True
    assert not ws.send_text_now(b"x")
    proto._write_paused = False
    ws.closed = True
    assert not ws.send_text_now(b"x")
    try:
        await ws.send_text_bytes(b"x")
    except ConnectionResetError:
        pass
    else:
        raise AssertionError("a closed socket takes no frame")


async def test_closed_whenever_wsproto_is_not_open() -> None:
    """send_text_now trusts ``closed`` alone: every way out of wsproto's OPEN state sets
    it (the peer's close, ours, a protocol error wsproto finds), and no frame follows."""
    from wsproto.connection import ConnectionState

    peer = socket()
    peer[0].feed(client_frames(Ping(payload=b"p"), CloseConnection(code=1000)))
    ours = socket()
    closing = asyncio.ensure_future(ours[0].close(code=1000))
    await asyncio.sleep(0)
    ours[0].feed(client_frames(CloseConnection(code=1000)))  # the peer's answer
    assert await closing
    broken = socket()
    broken[0].feed(client_frames(Ping(payload=b"p")) + bytes([0x8F, 0x80, 0, 0, 0, 0]))
    for ws, proto in (peer, ours, broken):
        assert ws._conn.state is not ConnectionState.OPEN
        assert ws.closed
        before = bytes(proto.transport.written)
        assert not ws.send_text_now(b"late")
        ws._flush()
        assert bytes(proto.transport.written) == before
