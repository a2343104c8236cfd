"""Both HTTP cores answer the same requests with the same bytes (the Date aside)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from conftest import auth_headers, make_server
from pyari.http.aiohttp_core import AiohttpServer
from pyari.http.httptools_core import HttptoolsServer
from pyari.server import Server

AUTH = auth_headers()["Authorization"]
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPGRADE = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
)

REQUESTS = [
    f"GET /ari/asterisk/info HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
    f"GET /ari/channels HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
    "GET /ari/asterisk/info HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /arix HTTP/1.1\r\nHost: h\r\n\r\n",
    f"DELETE /ari/asterisk/info HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
    "OPTIONS /ari/channels HTTP/1.1\r\nHost: h\r\nOrigin: http://a\r\n\r\n",
    f"GET /ari/nothing/here HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
    f"GET /ari/events?app=x HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
    "GET /ari/events?app=x HTTP/1.1\r\nHost: h\r\n\r\n",
    f"GET /ari/events HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n{UPGRADE}\r\n",
    f"GET /ari/events?app=x HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n{UPGRADE}"
    "Sec-WebSocket-Protocol: ari\r\n\r\n",
    f"GET /ari/events?app=x HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n{UPGRADE}\r\n",
    "GET /media/nobody HTTP/1.1\r\nHost: h\r\n\r\n",
    f"GET /ari/asterisk/info HTTP/1.0\r\nAuthorization: {AUTH}\r\n\r\n",
    f"GET /ari/asterisk/ping HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: {AUTH}\r\n\r\n",
    f"GET /ari/asterisk/ping HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n"
    "Connection: close\r\n\r\n",
    f"POST /ari/channels HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n"
    "Content-Length: 3\r\n\r\n{x}",
    "POST /ari/channels?api_key=nobody:wrong HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    f"GET /ari/api-docs/resources.json HTTP/1.1\r\nHost: example:1\r\nAuthorization: {AUTH}"
    "\r\n\r\n",
    f"GET /ari/asterisk/variable?variable=A%20B&x= HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}"
    "\r\nOrigin: http://a\r\n\r\n",
]


def normalise(data: bytes) -> str:
    text = data.decode()
    text = re.sub(r"Date: [^\r]*\r\n", "Date: -\r\n", text)
    return re.sub(r'"(timestamp|date|startup_time|last_reload_time)": "[^"]*"', r'"\1": -', text)


async def exchange(port: int, raw: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw.encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    m = re.search(rb"Content-Length: (\d+)", head)
    body = await asyncio.wait_for(reader.readexactly(int(m.group(1))), 5) if m else b""
    writer.close()
    return head + body


async def start(monkeypatch: pytest.MonkeyPatch, backend: str, **http: object) -> Server:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", backend)
    srv = make_server(**http)
    await srv.start()
    return srv


@pytest.fixture
async def pair(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Server, Server]]:
    a = await start(monkeypatch, "aiohttp", servername="Parity")
    b = await start(monkeypatch, "httptools", servername="Parity")
    assert isinstance(a.http, AiohttpServer) and isinstance(b.http, HttptoolsServer)
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize("raw", REQUESTS, ids=[r.split("\r\n")[0] for r in REQUESTS])
async def test_same_bytes(pair: tuple[Server, Server], raw: str) -> None:
    a, b = pair
    assert a.http.settings.prefix == ""
    expected = normalise(await exchange(a.http_port, raw))
    got = normalise(await exchange(b.http_port, raw))
    assert got == expected


async def test_same_bytes_under_a_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    a = await start(monkeypatch, "aiohttp", prefix="pbx")
    b = await start(monkeypatch, "httptools", prefix="pbx")
    try:
        for raw in (
            f"GET /pbx/ari/asterisk/info HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
            f"GET /ari/asterisk/info HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
            f"GET /pbx HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}\r\n\r\n",
            f"GET /pbx/ari/api-docs/resources.json HTTP/1.1\r\nHost: h\r\nAuthorization: {AUTH}"
            "\r\n\r\n",
        ):
            got = normalise(await exchange(b.http_port, raw))
            assert got == normalise(await exchange(a.http_port, raw))
        assert got.startswith("HTTP/1.1 200 OK\r\n")
    finally:
        await a.stop()
        await b.stop()
