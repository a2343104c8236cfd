"""The httptools core's WebSockets (wsproto): handshake, frames, close, backpressure, TLS."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from conftest import auth_headers, make_server, wait_for
from pyari.core import events as ev
from pyari.http.httptools_core import EVENTS_MAX_MESSAGE, HttptoolsServer
from pyari.server import Server

AUTH = auth_headers()["Authorization"]


@pytest.fixture(autouse=True)
def fast_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", "httptools")


@pytest.fixture
async def fast() -> AsyncIterator[Server]:
    srv = make_server()
    await srv.start()
    assert isinstance(srv.http, HttptoolsServer)
    try:
        yield srv
    finally:
        await srv.stop()


class RawClient:
    """A WebSocket client on a raw socket, framed by wsproto's client side."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.pending: list[Event] = []

    @classmethod
    async def open(cls, srv: Server, target: str, rcvbuf: int | None = None) -> RawClient:
        sock = socket.socket()
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect(("127.0.0.1", srv.http_port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**22)
        client = cls(reader, writer)
        writer.write(
            client.ws.send(
                Request(
                    host="127.0.0.1",
                    target=target,
                    subprotocols=["ari"],
                    extra_headers=[(b"Authorization", AUTH.encode())],
                )
            )
        )
        event = await client.next_event()
        assert isinstance(event, AcceptConnection), event
        return client

    def send(self, event: Event) -> None:
        self.writer.write(self.ws.send(event))

    async def next_event(self) -> Event:
        while not self.pending:
            self.pending.extend(self.ws.events())
            if self.pending:
                break
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            self.ws.receive_data(data or None)
        return self.pending.pop(0)

    async def next_message(self) -> Event:
        """The next event that is not a text message (those are app events)."""
        while True:
            event = await self.next_event()
            if not isinstance(event, TextMessage):
                return event


async def test_events_socket_negotiates_ari_and_delivers(fast: Server) -> None:
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        url = f"http://127.0.0.1:{fast.http_port}/ari/events?app=a1,a2"
        async with http.ws_connect(url, protocols=("ari",)) as ws:
            assert ws.protocol == "ari"
            app = fast.stasis.get("a2")
            assert app is not None and fast.stasis.get("a1") is not None
            app.send(ev.ChannelUserevent(eventname="hello"))
            msg = await ws.receive_json(timeout=5)
            assert msg["type"] == "ChannelUserevent"
            assert msg["eventname"] == "hello"
            assert msg["application"] == "a2"
        # A protocol the server does not speak: accepted without one (as the aiohttp core).
        async with http.ws_connect(url, protocols=("chat",)) as ws:
            assert ws.protocol is None
    await wait_for(lambda: fast.stasis.get("a1") is None)


async def test_ping_is_answered_with_pong(fast: Server) -> None:
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        url = f"http://127.0.0.1:{fast.http_port}/ari/events?app=p"
        async with http.ws_connect(url, autoping=False) as ws:
            await ws.ping(b"are you there")
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.PONG
            assert msg.data == b"are you there"


async def test_client_close_is_answered_and_ends_the_session(fast: Server) -> None:
    client = await RawClient.open(fast, "/ari/events?app=closing")
    assert fast.stasis.get("closing") is not None
    client.send(CloseConnection(code=4000, reason="bye"))
    answer = await client.next_message()
    assert isinstance(answer, CloseConnection)
    assert answer.code == 4000
    assert await asyncio.wait_for(client.reader.read(), 5) == b""
    await wait_for(lambda: fast.stasis.get("closing") is None)
    await wait_for(lambda: not fast.ari.sessions)


async def test_fragments_are_joined_and_size_is_limited(fast: Server) -> None:
    client = await RawClient.open(fast, "/ari/events?app=frag")
    for part in ("one ", "two ", "three"):
        client.send(TextMessage(data=part, message_finished=part == "three"))
    client.send(Ping(b"still open"))
    pong = await client.next_message()
    assert isinstance(pong, Pong) and pong.payload == b"still open"
    # Fragments under the limit that add up to more than it: 1009.
    chunk = "x" * (EVENTS_MAX_MESSAGE // 2)
    for i in range(3):
        client.send(TextMessage(data=chunk, message_finished=i == 2))
    close = await client.next_message()
    assert isinstance(close, CloseConnection)
    assert close.code == 1009
    await wait_for(lambda: fast.stasis.get("frag") is None)


async def test_bad_handshakes(fast: Server) -> None:
    async def handshake(headers: str) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", fast.http_port)
        writer.write(
            (
                f"GET /ari/events?app=x HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\n{headers}\r\n"
            ).encode()
        )
        data = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.close()
        return data

    key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    head = await handshake(key + "Sec-WebSocket-Version: 99\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Sec-WebSocket-Version: 7, 8, 13\r\n" in head
    head = await handshake("Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    head = await handshake(key + "Sec-WebSocket-Version: 13\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in head
    assert b"Server: Asterisk\r\n" in head
    await wait_for(lambda: fast.stasis.get("x") is None)


async def test_rejected_handshake_is_seen_by_a_client(fast: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", fast.http_port)
    ws = WSConnection(ConnectionType.CLIENT)
    writer.write(ws.send(Request(host="127.0.0.1", target="/ari/events?app=x")))
    data = await asyncio.wait_for(reader.read(65536), 5)
    ws.receive_data(data)
    event = next(ws.events())
    assert isinstance(event, RejectConnection)
    assert event.status_code == 401
    writer.close()


async def test_server_stop_closes_sockets_cleanly(fast: Server) -> None:
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        url = f"http://127.0.0.1:{fast.http_port}/ari/events?app=s"
        ws = await http.ws_connect(url)
        stopping = asyncio.create_task(fast.http.stop())
        msg = await ws.receive(timeout=5)  # the client answers the close as it reads it
        assert msg.type == aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 1000
        await stopping
        assert not fast.http.connections  # type: ignore[union-attr]
    assert fast.stasis.get("s") is None


async def _flood_until_paused(srv: Server, app_name: str) -> int:
    app = srv.stasis.get(app_name)
    assert app is not None
    http = srv.http
    assert isinstance(http, HttptoolsServer)
    sent = 0
    while not any(c._write_paused for c in http.connections):
        for _ in range(20):
            app.send(ev.ChannelUserevent(eventname=f"{sent:06d}" + "x" * 32768))
            sent += 1
        await asyncio.sleep(0.005)  # the writer task runs
        assert sent < 5000, "the transport never paused"
    return sent


async def test_event_writer_waits_for_a_slow_reader(fast: Server) -> None:
    fast.config = dataclasses.replace(
        fast.config, ari=dataclasses.replace(fast.config.ari, websocket_write_timeout=10_000)
    )
    client = await RawClient.open(fast, "/ari/events?app=slow", rcvbuf=4096)
    sent = await _flood_until_paused(fast, "slow")
    # Nothing was dropped while the transport was paused: the reader gets all, in order.
    got: list[str] = []
    parts: list[str] = []
    while len(got) < sent:
        event = await client.next_event()
        assert isinstance(event, TextMessage)
        parts.append(event.data)
        if event.message_finished:
            got.append(json.loads("".join(parts))["eventname"][:6])
            parts = []
    assert got == [f"{i:06d}" for i in range(sent)]
    assert fast.stasis.get("slow") is not None


async def test_event_writer_gives_up_after_the_write_timeout(fast: Server) -> None:
    fast.config = dataclasses.replace(
        fast.config, ari=dataclasses.replace(fast.config.ari, websocket_write_timeout=100)
    )
    client = await RawClient.open(fast, "/ari/events?app=stuck", rcvbuf=4096)
    app = fast.stasis.get("stuck")
    assert app is not None
    await _flood_until_paused(fast, "stuck")
    # Events keep coming; the writer waits for the paused transport, then gives up.
    for _ in range(1000):
        if fast.stasis.get("stuck") is None:
            break
        app.send(ev.ChannelUserevent(eventname="more" + "x" * 32768))
        await asyncio.sleep(0.005)
    assert fast.stasis.get("stuck") is None
    await wait_for(lambda: not fast.ari.sessions)
    client.writer.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_tls_https_and_wss(tmp_path: Path) -> None:
    pem = tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "1", "-nodes",
         "-out", str(pem), "-keyout", str(pem),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    srv = make_server(
        tlsenable=True, tlsbindaddr="127.0.0.1", tlsbindport=0, tlscertfile=pem, tlsprivatekey=pem
    )
    await srv.start()
    try:
        port = srv.https_port
        assert port not in (0, srv.http_port)
        ctx = ssl.create_default_context(cafile=str(pem))
        async with aiohttp.ClientSession(headers=auth_headers()) as http:
            base = f"https://127.0.0.1:{port}/ari"
            async with http.get(f"{base}/api-docs/asterisk.json", ssl=ctx) as r:
                assert r.status == 200
                assert (await r.json())["basePath"] == f"https://127.0.0.1:{port}/ari"
            async with http.ws_connect(f"wss://127.0.0.1:{port}/ari/events?app=t", ssl=ctx) as ws:
                srv.stasis.get("t").send(ev.ChannelUserevent(eventname="secure"))  # type: ignore[union-attr]
                assert (await ws.receive_json(timeout=5))["eventname"] == "secure"
    finally:
        await srv.stop()
