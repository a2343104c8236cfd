"""The httptools core's HTTP/1.x rules, over raw loopback sockets.

Keep-alive, pipelining, HTTP/1.0, chunked bodies, 100-continue, limits,
malformed input, idle timeout, session limit, rebinding and stop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.http import backend_name, make_http_server
from pyari.http.httptools_core import MAX_BODY, HttptoolsServer
from pyari.server import Server
from rawhttp import Reply, at_eof, read_reply, request


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


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(srv: Server) -> Conn:
    return await asyncio.open_connection("127.0.0.1", srv.http_port)


def test_selector_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend_name() == "httptools"
    monkeypatch.setenv("PYARI_HTTP_BACKEND", "aiohttp")
    assert backend_name() == "aiohttp"
    monkeypatch.setenv("PYARI_HTTP_BACKEND", "nginx")
    with pytest.raises(ValueError, match="PYARI_HTTP_BACKEND"):
        backend_name()
    monkeypatch.delenv("PYARI_HTTP_BACKEND")
    assert backend_name() == "httptools"  # the default
    with pytest.raises(ValueError, match="unknown HTTP backend"):
        make_http_server(None, None, None, backend="nginx")  # type: ignore[arg-type]


async def test_keep_alive_and_connection_close(fast: Server) -> None:
    reader, writer = await connect(fast)
    for _ in range(3):
        writer.write(request("GET", "/ari/asterisk/ping"))
        reply = await read_reply(reader)
        assert reply.status == 200
        assert "Connection" not in reply.headers
        assert json.loads(reply.body)["ping"] == "pong"
    writer.write(request("GET", "/ari/asterisk/ping", headers={"Connection": "close"}))
    reply = await read_reply(reader)
    assert reply.status == 200
    assert reply.headers["Connection"] == "close"
    assert await at_eof(reader)
    writer.close()


async def test_pipelined_requests_are_answered_in_order(fast: Server) -> None:
    reader, writer = await connect(fast)
    # A handler that waits (originate) between ones that do not: order still holds.
    writer.write(
        request("GET", "/ari/asterisk/ping")
        + request("POST", "/ari/channels?endpoint=Local/1000@ARI-test&app=x&channelId=p1")
        + request("GET", "/nowhere")
        + request("GET", "/ari/channels/p1")
        + request("DELETE", "/ari/asterisk/ping")
    )
    statuses = [(await read_reply(reader)).status for _ in range(5)]
    assert statuses == [200, 200, 404, 200, 405]
    writer.close()


async def test_http_1_0(fast: Server) -> None:
    reader, writer = await connect(fast)
    writer.write(request("GET", "/ari/asterisk/ping", version="1.0"))
    reply = await read_reply(reader)
    assert (reply.version, reply.status) == ("HTTP/1.0", 200)
    assert "Connection" not in reply.headers
    assert await at_eof(reader)
    writer.close()
    reader, writer = await connect(fast)
    for _ in range(2):
        writer.write(
            request(
                "GET", "/ari/asterisk/ping", version="1.0", headers={"Connection": "keep-alive"}
            )
        )
        reply = await read_reply(reader)
        assert (reply.version, reply.status) == ("HTTP/1.0", 200)
        assert reply.headers["Connection"] == "keep-alive"
    writer.close()


async def test_chunked_request_body(fast: Server) -> None:
    reader, writer = await connect(fast)
    body = json.dumps({"variable": "CHUNKY", "value": "bacon"}).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:5], body[5:])) + b"0\r\n\r\n"
    writer.write(
        request(
            "POST",
            "/ari/asterisk/variable",
            headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        + chunked
    )
    assert (await read_reply(reader)).status == 204
    writer.write(request("GET", "/ari/asterisk/variable?variable=CHUNKY"))
    reply = await read_reply(reader)
    assert json.loads(reply.body) == {"value": "bacon"}
    writer.close()


async def test_expect_100_continue(fast: Server) -> None:
    reader, writer = await connect(fast)
    body = b'{"variable": "EXPECTED", "value": "yes"}'
    head = request(
        "POST",
        "/ari/asterisk/variable",
        headers={"Content-Type": "application/json", "Expect": "100-continue"},
        body=body,
    )
    writer.write(head[: -len(body)])
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(body)
    assert (await read_reply(reader)).status == 204
    writer.close()


async def test_body_too_large_is_413_and_closes(fast: Server) -> None:
    reader, writer = await connect(fast)
    writer.write(
        request("POST", "/ari/asterisk/variable", headers={"Content-Length": str(MAX_BODY + 1)})
    )
    reply = await read_reply(reader)
    assert reply.status == 413
    assert reply.headers["Connection"] == "close"
    assert b"<title>413 Request Entity Too Large</title>" in reply.body
    assert await at_eof(reader)
    writer.close()
    # Chunked: found out while reading.
    reader, writer = await connect(fast)
    writer.write(
        request("POST", "/ari/asterisk/variable", headers={"Transfer-Encoding": "chunked"})
    )
    chunk = b"x" * 65536
    for _ in range(MAX_BODY // len(chunk) + 1):
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    reply = await read_reply(reader)
    assert reply.status == 413
    assert await at_eof(reader)
    writer.close()


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /ari/asterisk/ping HTTP/1.1\r\nHost x\r\n\r\n",
        b"GET /ari/asterisk/ping HTTP/1.1\r\nBig: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /ari/asterisk/ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
        b"POST /ari/asterisk/variable HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ],
    ids=["method", "header-line", "header-size", "header-count", "url-size", "two-lengths"],
)
async def test_malformed_request_is_400_and_closes_alone(fast: Server, raw: bytes) -> None:
    other_reader, other_writer = await connect(fast)
    other_writer.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(other_reader)).status == 200
    reader, writer = await connect(fast)
    writer.write(request("GET", "/ari/asterisk/ping") + raw)
    assert (await read_reply(reader)).status == 200  # what came before is answered
    reply = await read_reply(reader)
    assert reply.status in (400, 414)
    assert reply.headers["Connection"] == "close"
    assert reply.headers["Server"] == "Asterisk"
    assert await at_eof(reader)
    writer.close()
    # The other connection is unharmed.
    other_writer.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(other_reader)).status == 200
    other_writer.close()


async def test_refused_upgrade_keeps_the_connection(fast: Server) -> None:
    reader, writer = await connect(fast)
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"}
    writer.write(
        request("GET", "/ari/events", headers=upgrade) + request("GET", "/ari/asterisk/ping")
    )
    reply = await read_reply(reader)
    assert reply.status == 400
    assert b"HTTP request is missing param: [app]" in reply.body
    assert (await read_reply(reader)).status == 200
    writer.close()


async def test_idle_connections_are_closed() -> None:
    srv = make_server(session_keep_alive=100, session_inactivity=60_000)
    await srv.start()
    try:
        reader, writer = await connect(srv)
        writer.write(request("GET", "/ari/asterisk/ping"))
        assert (await read_reply(reader)).status == 200
        assert await at_eof(reader)  # no next request within session_keep_alive
        writer.close()
    finally:
        await srv.stop()
    srv = make_server(session_keep_alive=60_000, session_inactivity=100)
    await srv.start()
    try:
        reader, writer = await connect(srv)
        writer.write(request("GET", "/ari/asterisk/ping"))
        assert (await read_reply(reader)).status == 200
        writer.write(b"GET /ari/asterisk/ping HTTP/1.1\r\nHost: x\r\n")
        # a request not finished within session_inactivity: Asterisk's 400 Timeout page
        reply = await read_reply(reader)
        assert (reply.status, reply.headers["Connection"]) == (400, "close")
        assert b"Timeout" in reply.body
        assert await at_eof(reader)
        writer.close()
        # nor a first request within session_keep_alive (tests/security has the clocked cases)
        reader, writer = await connect(srv)
        await wait_for(lambda: len(srv.http.connections) == 1)  # type: ignore[union-attr]
        srv.http.limits.sweep(srv.http.clock() + 61)  # type: ignore[union-attr]
        assert await at_eof(reader)
        writer.close()
    finally:
        await srv.stop()


async def test_session_limit() -> None:
    srv = make_server(sessionlimit=2)
    await srv.start()
    try:
        first = await connect(srv)
        second = await connect(srv)
        for reader, writer in (first, second):
            writer.write(request("GET", "/ari/asterisk/ping"))
            assert (await read_reply(reader)).status == 200
        # The third takes the place of the longest idle one (tests/security has the
        # busy cases: a connection being answered is never the one closed).
        reader, writer = await connect(srv)
        assert await at_eof(first[0])
        writer.write(request("GET", "/ari/asterisk/ping"))
        assert (await read_reply(reader)).status == 200
        assert len(srv.http.connections) == 2  # type: ignore[union-attr]
        writer.close()
        first[1].close()
        second[1].close()
    finally:
        await srv.stop()


async def test_rebinding_keeps_live_connections(fast: Server) -> None:
    old_port = fast.http_port
    reader, writer = await connect(fast)
    writer.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(reader)).status == 200
    settings = dataclasses.replace(fast.http.settings, servername="Moved")
    await fast.http.reconfigure(settings)
    assert fast.http_port == old_port  # same address: nothing rebound
    settings = dataclasses.replace(settings, bindport=0)
    settings = dataclasses.replace(settings, bindaddr="127.0.0.2")
    await fast.http.reconfigure(settings)
    new = fast.http.bindings[0]
    assert new.host == "127.0.0.2" and new.port != 0
    # The live connection carries on, with the new settings.
    writer.write(request("GET", "/ari/asterisk/ping"))
    reply = await read_reply(reader)
    assert reply.status == 200
    assert reply.headers["Server"] == "Moved"
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", old_port)
    r2, w2 = await asyncio.open_connection("127.0.0.2", new.port)
    w2.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(r2)).headers["Server"] == "Moved"
    writer.close()
    w2.close()


async def test_stop_closes_connections_and_can_start_again(fast: Server) -> None:
    reader, writer = await connect(fast)
    writer.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(reader)).status == 200
    await fast.http.stop()
    assert await at_eof(reader)
    assert fast.http.bindings == []
    await fast.http.start()
    reader, writer = await connect(fast)
    writer.write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(reader)).status == 200
    writer.close()


async def test_head_has_length_but_no_body(fast: Server) -> None:
    reader, writer = await connect(fast)
    writer.write(request("HEAD", "/nowhere") + request("GET", "/ari/asterisk/ping"))
    reply = await read_reply_head(reader)
    assert reply.status == 404 and int(reply.headers["Content-Length"]) > 0
    assert (await read_reply(reader)).status == 200  # no stray body in between
    writer.close()


async def read_reply_head(reader: asyncio.StreamReader) -> Reply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    first, *lines = head.decode().split("\r\n")[:-2]
    headers = dict(line.split(": ", 1) for line in lines)
    return Reply(first.split(" ")[0], int(first.split(" ")[1]), headers, b"")


class _Transport(asyncio.Transport):
    """What a connection uses of its transport: the writes are kept."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.out.append(bytes(data))

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8088)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return False


async def test_same_header_lines_are_decoded_once_per_connection(
    fast: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client repeats a few sets of header lines (aiohttp: one for POST, one for
    DELETE): the connection hands the service the mapping it made for the same bytes
    before (read-only, so nothing can change it under a later request), a new one for new
    lines; it keeps KNOWN_HEADS sets, and none over KNOWN_HEAD_BYTES."""
    from pyari.ari.service import AriRequest
    from pyari.http.httptools_core import KNOWN_HEAD_BYTES, KNOWN_HEADS, HttpProtocol

    http = fast.http
    assert isinstance(http, HttptoolsServer)
    seen: list[AriRequest] = []
    handle = fast.ari.handle

    async def spy(req: AriRequest) -> object:
        seen.append(req)
        return await handle(req)

    monkeypatch.setattr(fast.ari, "handle", spy)
    conn = HttpProtocol(http, False)
    transport = _Transport()
    conn.connection_made(transport)
    auth = auth_headers()["Authorization"]
    big = "Y: " + "y" * KNOWN_HEAD_BYTES + "\r\n"
    extras = ["", "X: 1\r\n", "", "X: 1\r\n", big, big, "", *(f"Z: {i}\r\n" for i in range(4)), ""]
    head = f"GET /ari/channels HTTP/1.1\r\nHost: h\r\nAuthorization: {auth}\r\n"
    for extra in extras:
        conn.data_received(f"{head}{extra}\r\n".encode())
        await wait_for(lambda: not conn.busy)
    assert len(seen) == len(extras) and KNOWN_HEADS == 4
    plain, x = seen[0].headers, seen[1].headers
    assert x is not plain and seen[2].headers is plain and seen[3].headers is x
    assert dict(x) == {**dict(plain), "X": "1"} and plain["authorization"] == auth
    assert seen[4].headers is not seen[5].headers  # too big to keep
    assert seen[5].headers["y"] == big[3:-2]
    assert seen[6].headers is plain
    assert seen[-1].headers is not plain  # pushed out by the four Z sets
    with pytest.raises(TypeError):
        plain["Host"] = "other"  # type: ignore[index]
    assert [o[:12] for o in transport.out] == [b"HTTP/1.1 200"] * len(extras)
    conn.connection_lost(None)
