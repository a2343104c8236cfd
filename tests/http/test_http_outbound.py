"""Outbound ARI WebSockets (ari.conf ``type = outbound_websocket``) over real sockets.

The application's side is a ``websockets`` server on loopback: pyari dials it,
registers the section's apps, sends events on it, reconnects when it goes away,
opens and closes a connection per call, speaks TLS to it with a CA made by openssl,
retries a server that refuses its credentials, and follows ``module reload res_ari.so``
without dropping a call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server as WsServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from pyari.cli.commands import run_command
from pyari.config import write_samples
from pyari.server import Server

WAIT = 10.0
"""Seconds any one step may take (a loaded CI machine); a passing step takes far less."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AppServer:
    """The application's WebSocket server: what it received, connection by connection."""

    def __init__(self, *, auth: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.auth = auth
        self.connections: asyncio.Queue[Conn] = asyncio.Queue()
        self.refused = 0
        self.server: WsServer | None = None

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.auth is None:
            return None
        token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {token}":
            self.refused += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "no\n")
        return None

    async def handler(self, ws: ServerConnection) -> None:
        conn = Conn(ws)
        await self.connections.put(conn)
        try:
            async for raw in ws:
                await conn.messages.put(json.loads(raw))
        except ConnectionClosed:
            pass  # the connection went away; its close code says how
        conn.closed.set_result(ws.close_code)

    async def start(self, ssl_ctx: ssl.SSLContext | None = None) -> None:
        self.server = await serve(
            self.handler,
            "127.0.0.1",
            self.port,
            subprotocols=["ari"],  # type: ignore[list-item]
            process_request=self.check,
            ssl=ssl_ctx,
        )

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def next_connection(self) -> Conn:
        return await asyncio.wait_for(self.connections.get(), WAIT)


class Conn:
    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    @property
    def headers(self) -> Headers:
        assert self.ws.request is not None
        return self.ws.request.headers

    async def next(self, kind: str | None = None) -> dict[str, Any]:
        """The next message (of type ``kind``, skipping others)."""
        while True:
            msg = await asyncio.wait_for(self.messages.get(), WAIT)
            if kind is None or msg["type"] == kind:
                return msg


def write_config(
    conf: Path,
    uri: str,
    *,
    apps: str = "hello",
    kind: str = "persistent",
    extra: str = "",
    user: str = "testARI",
) -> None:
    (conf / "websocket_client.conf").write_text(
        f"[app_server]\ntype = websocket_client\nconnection_type = {kind}\nuri = {uri}\n"
        "protocols = ari\nusername = app\npassword = s3cret\nconnection_timeout = 3000\n"
        f"reconnect_interval = 50\nreconnect_attempts = 2\n{extra}"
    )
    ari = (conf / "ari.conf").read_text().split("\n[app_out]")[0]
    (conf / "ari.conf").write_text(
        f"{ari}\n[app_out]\ntype = outbound_websocket\nwebsocket_client_id = app_server\n"
        f"apps = {apps}\nsubscribe_all = no\nlocal_ari_user = {user}\n"
    )


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    write_samples(folder)
    http = folder / "http.conf"
    text, n = re.subn(r"(?m)^bindport\s*=.*$", f"bindport={free_port()}", http.read_text())
    assert n == 1
    http.write_text(text)
    return folder


@pytest.fixture
async def make_server() -> AsyncIterator[Callable[[Path], Awaitable[Server]]]:
    servers: list[Server] = []

    async def make(conf: Path) -> Server:
        srv = Server(config_dir=conf, sip_port=0)
        srv.outbound.linger = 0.05
        servers.append(srv)
        await srv.start()
        return srv

    yield make
    for srv in servers:
        await srv.stop()


async def registered_app(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> tuple[AppServer, Server, Conn]:
    """The application's server started, pyari configured with a persistent connection
    to it and started, and the connection open with ``hello`` registered."""
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari")
    srv = await make_server(conf)
    conn = await app.next_connection()
    await conn.next("ApplicationRegistered")
    return app, srv, conn


async def call_into_hello(srv: Server) -> None:
    await run_command(srv, "channel originate Local/1000@ARI-test application Wait 20")


async def test_persistent_connects_sends_events_and_reconnects(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer(auth=("app", "s3cret"))
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari")
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert conn.ws.subprotocol == "ari"
    registered = await conn.next()
    assert registered["type"] == "ApplicationRegistered"
    assert registered["application"] == "hello"
    assert registered["asterisk_id"] == srv.core.entity_id
    assert srv.stasis.get("hello") is not None and srv.stasis.get("hello").active  # type: ignore[union-attr]

    await call_into_hello(srv)
    start = await conn.next("StasisStart")
    assert start["application"] == "hello"
    assert start["channel"]["dialplan"]["context"] == "ARI-test"

    # REST over the connection, as local_ari_user.
    request = {"type": "RESTRequest", "transaction_id": "t1", "request_id": "r1",
               "method": "GET", "uri": f"channels/{start['channel']['id']}"}  # fmt: skip
    await conn.ws.send(json.dumps(request))
    answer = await conn.next("RESTResponse")
    assert (answer["transaction_id"], answer["request_id"]) == ("t1", "r1")
    assert answer["status_code"] == 200
    assert json.loads(answer["message_body"])["id"] == start["channel"]["id"]

    # The application's server goes away and comes back: pyari reconnects and says
    # which apps it has again; the call stays in the app.
    await app.stop()
    assert await asyncio.wait_for(conn.closed, WAIT) is not None
    await app.start()
    again = await app.next_connection()
    msg = await again.next()
    assert (msg["type"], msg["application"]) == ("ApplicationRegistered", "hello")
    assert start["channel"]["id"] in srv.core.channels
    await run_command(srv, f"channel request hangup {start['channel']['name']}")
    end = await again.next("StasisEnd")
    assert end["channel"]["id"] == start["channel"]["id"]
    await app.stop()


async def test_per_call_connection_opens_and_closes_with_the_call(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari?x=1", kind="per_call_config")
    srv = await make_server(conf)
    assert srv.stasis.get("hello") is None  # nothing registered, nothing connected
    assert app.connections.empty()

    await call_into_hello(srv)
    conn = await app.next_connection()
    registered = await conn.next()
    assert registered["type"] == "ApplicationRegistered"
    app_id = registered["application"]
    assert app_id.startswith("hello:Local/1000@ARI-test-") and app_id.endswith(";2")
    start = await conn.next("StasisStart")
    assert start["application"] == app_id
    channel = start["channel"]
    assert app_id == f"hello:{channel['name']}"
    sessions = await run_command(srv, "ari show websocket sessions")
    assert f"app_out:{channel['name']}" in sessions and "per_call" in sessions

    await run_command(srv, f"channel request hangup {channel['name']}")
    end = await conn.next("StasisEnd")
    assert end["channel"]["id"] == channel["id"]
    assert await asyncio.wait_for(conn.closed, WAIT) == 1000
    assert srv.stasis.get(app_id) is None or not srv.stasis.get(app_id).active  # type: ignore[union-attr]
    await app.stop()


async def test_a_lost_per_call_connection_sends_the_call_on_in_the_dialplan(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]], caplog: pytest.LogCaptureFixture
) -> None:
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/", kind="per_call_config")
    srv = await make_server(conf)
    await call_into_hello(srv)
    conn = await app.next_connection()
    channel = (await conn.next("StasisStart"))["channel"]
    with caplog.at_level(logging.WARNING):
        await app.stop()  # gone, and not coming back
        for _ in range(1000):
            if channel["id"] not in srv.core.channels:
                break
            await asyncio.sleep(0.01)
    # Stasis() returned; the dialplan's next step (Hangup) ended the call.
    assert channel["id"] not in srv.core.channels
    assert "Websocket disconnected.  Reconnecting" in caplog.text
    assert "Hanging up after exhausting retries." in caplog.text
    for _ in range(1000):  # forgotten once its linger is over
        if not srv.outbound.per_call:
            break
        await asyncio.sleep(0.01)
    assert srv.outbound.per_call == {}


async def test_per_call_without_a_server_fails_the_stasis_app(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]], caplog: pytest.LogCaptureFixture
) -> None:
    write_config(conf, f"ws://127.0.0.1:{free_port()}/", kind="per_call_config")
    srv = await make_server(conf)
    with caplog.at_level(logging.WARNING):
        await call_into_hello(srv)
        for _ in range(400):
            if "doesn't exist" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert "failed after 2 tries" in caplog.text
    assert "Hanging up after exhausting retries." in caplog.text
    assert "Stasis app 'hello' doesn't exist" in caplog.text


async def test_wrong_credentials_are_retried_and_logged(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]], caplog: pytest.LogCaptureFixture
) -> None:
    app = AppServer(auth=("app", "other"))
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/")
    with caplog.at_level(logging.WARNING):
        srv = await make_server(conf)
        for _ in range(500):
            if app.refused >= 4:
                break
            await asyncio.sleep(0.01)
    assert app.refused >= 4  # two rounds of two tries: it keeps trying
    assert app.connections.empty()
    assert "app_out: Websocket connection to ws://127.0.0.1" in caplog.text
    assert "failed after 2 tries: Unexpected HTTP status 401.  Retrying in 50 ms." in caplog.text
    out = await run_command(srv, "ari show websocket sessions")
    assert "app_out" in out and "Down" in out
    await app.stop()


pytestmark_tls = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_ca_and_cert(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "cert.pem", folder / "key.pem", folder / "cert.csr"
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = {"check": True, "capture_output": True}
    subprocess.run(["openssl", "req", "-x509", *ec, "-days", "1", "-subj", "/CN=test CA",
                    "-keyout", str(ca_key), "-out", str(ca)], **run)  # type: ignore[call-overload]  # fmt: skip
    subprocess.run(["openssl", "req", "-new", *ec, "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(csr)], **run)  # type: ignore[call-overload]  # fmt: skip
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey",
                    str(ca_key), "-CAcreateserial", "-days", "1", "-extfile", str(ext),
                    "-out", str(cert)], **run)  # type: ignore[call-overload]  # fmt: skip
    return ca, cert, key


@pytestmark_tls
async def test_tls_with_a_ca_and_a_refused_unknown_ca(
    conf: Path,
    tmp_path: Path,
    make_server: Callable[[Path], Awaitable[Server]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ca, cert, key = make_ca_and_cert(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    app = AppServer()
    await app.start(ctx)
    uri = f"wss://127.0.0.1:{app.port}/ari"
    write_config(conf, uri, extra=f"tls_enabled = yes\nca_list_file = {ca}\n")
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert (await conn.next())["type"] == "ApplicationRegistered"
    shown = await run_command(srv, "ari show outbound-websocket app_out")
    assert "tls_enabled =            Yes" in shown
    assert f"ca_list_file =           {ca}" in shown
    await srv.stop()
    await asyncio.wait_for(conn.closed, WAIT)

    # A server whose certificate the configured CA did not sign is not trusted.
    other = tmp_path / "other"
    other.mkdir()
    other_ca, _, _ = make_ca_and_cert(other)
    write_config(conf, uri, extra=f"tls_enabled = yes\nca_list_file = {other_ca}\n")
    with caplog.at_level(logging.WARNING):
        await make_server(conf)
        for _ in range(500):
            if "failed after 2 tries" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert "certificate verify failed" in caplog.text
    assert app.connections.empty()
    await app.stop()


@pytestmark_tls
async def test_tls_client_certificate_and_the_verify_options(
    conf: Path,
    tmp_path: Path,
    make_server: Callable[[Path], Awaitable[Server]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ca, cert, key = make_ca_and_cert(tmp_path)
    # The application asks for a client certificate signed by its CA.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca)
    app = AppServer()
    await app.start(ctx)
    uri = f"wss://127.0.0.1:{app.port}/ari"
    mutual = f"tls_enabled = yes\nca_list_file = {ca}\ncert_file = {cert}\npriv_key_file = {key}\n"
    write_config(conf, uri, extra=mutual)
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert (await conn.next())["type"] == "ApplicationRegistered"
    peer = conn.ws.transport.get_extra_info("peercert")
    assert peer is not None and ("commonName", "127.0.0.1") in peer["subject"][0]
    await srv.stop()
    await app.stop()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    await app.start(ctx)
    # No CA configured: the certificate cannot be checked; verify_server = no connects anyway.
    write_config(conf, uri, extra="tls_enabled = yes\nverify_server_cert = no\n")
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert (await conn.next())["type"] == "ApplicationRegistered"
    await srv.stop()

    # The certificate names 127.0.0.1, not localhost: refused unless
    # verify_server_hostname = no (the chain is still checked).
    local = f"wss://localhost:{app.port}/ari"
    with caplog.at_level(logging.WARNING):
        write_config(conf, local, extra=f"tls_enabled = yes\nca_list_file = {ca}\n")
        srv = await make_server(conf)
        await until(lambda: "failed after 2 tries" in caplog.text)
        assert "certificate verify failed" in caplog.text and "localhost" in caplog.text
        assert app.connections.empty()
        await srv.stop()
    write_config(
        conf, local, extra=f"tls_enabled = yes\nca_list_file = {ca}\nverify_server_hostname = no\n"
    )
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert (await conn.next())["type"] == "ApplicationRegistered"
    await srv.stop()
    await app.stop()


async def test_reload_keeps_the_connection_and_the_call(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/")
    srv = await make_server(conf)
    conn = await app.next_connection()
    assert (await conn.next())["application"] == "hello"
    await call_into_hello(srv)
    start = await conn.next("StasisStart")

    # Unchanged: nothing happens. A new app: registered on the same connection.
    assert await run_command(srv, "module reload res_ari.so")
    write_config(conf, f"ws://127.0.0.1:{app.port}/", apps="hello,goodbye")
    await run_command(srv, "module reload res_ari.so")
    got = [await conn.next(), await conn.next()]
    assert [(m["type"], m["application"]) for m in got] == [
        ("ApplicationReplaced", "hello"),  # re-registered, as Asterisk does
        ("ApplicationRegistered", "goodbye"),
    ]
    write_config(conf, f"ws://127.0.0.1:{app.port}/", apps="hello")
    await run_command(srv, "module reload res_ari.so")
    got = [await conn.next(), await conn.next()]
    assert [(m["type"], m["application"]) for m in got] == [
        ("ApplicationUnregistered", "goodbye"),
        ("ApplicationReplaced", "hello"),
    ]
    hello = srv.stasis.get("hello")
    assert hello is not None and hello.active
    goodbye = srv.stasis.get("goodbye")
    assert goodbye is None or not goodbye.active
    assert app.connections.empty()
    assert not conn.closed.done()
    assert start["channel"]["id"] in srv.core.channels
    listed = await run_command(srv, "ari show outbound-websockets")
    assert "app_out" in listed and "hello " in listed and "valid" in listed

    started = await run_command(srv, "ari start outbound-websocket app_out")
    assert started == "Starting websocket session for outbound-websocket 'app_out'\n"
    assert app.connections.empty()  # it runs already: no second connection

    # The section goes: the connection closes, the apps are unregistered.
    ari = (conf / "ari.conf").read_text().split("\n[app_out]")[0]
    (conf / "ari.conf").write_text(ari)
    await run_command(srv, "module reload res_ari.so")
    assert await asyncio.wait_for(conn.closed, WAIT) == 1000
    assert srv.outbound.connections() == []
    gone = await run_command(srv, "ari start outbound-websocket app_out")
    assert gone == "Error getting ARI configuration\n"
    hello = srv.stasis.get("hello")
    assert hello is None or not hello.active
    await app.stop()


async def until(check: Callable[[], bool]) -> None:
    """Wait (at most WAIT seconds) until ``check()`` holds."""
    async with asyncio.timeout(WAIT):
        while not check():
            await asyncio.sleep(0.02)


async def test_tcp_keepalives_are_set_on_the_connection(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(
        conf,
        f"ws://127.0.0.1:{app.port}/ari",
        extra="enable_tcp_keepalives = yes\ntcp_keepalive_time = 7\n"
        "tcp_keepalive_interval = 5\ntcp_keepalive_probes = 4\n",
    )
    srv = await make_server(conf)
    conn = await app.next_connection()
    await conn.next("ApplicationRegistered")
    (out,) = srv.outbound.connections()
    assert out.ws is not None
    sock = out.ws.get_extra_info("socket")
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    if hasattr(socket, "TCP_KEEPIDLE"):
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 5
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
    await app.stop()


async def test_without_keepalives_the_socket_has_none(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app, srv, _conn = await registered_app(conf, make_server)
    (out,) = srv.outbound.connections()
    assert out.ws is not None and out.pingpong is None
    assert out.ws.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    await app.stop()


async def test_pings_answered_keep_the_connection_and_the_apps_pings_are_answered(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(
        conf,
        f"ws://127.0.0.1:{app.port}/ari",
        extra="enable_pingpongs = yes\npingpong_interval = 1\npingpong_probes = 1\n",
    )
    srv = await make_server(conf)
    conn = await app.next_connection()
    await conn.next("ApplicationRegistered")
    (out,) = srv.outbound.connections()
    pp = out.pingpong
    assert pp is not None
    await until(lambda: pp.pongs >= 2)  # two rounds: the 1-probe limit was never hit
    assert out.connected and not conn.closed.done()
    # The application's own PING is answered while pyari reads with autoping off.
    pong = await conn.ws.ping(b"app")
    await asyncio.wait_for(pong, WAIT)
    await app.stop()


@pytest.mark.slow
async def test_missed_pongs_close_the_connection_and_it_reconnects(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]], caplog: pytest.LogCaptureFixture
) -> None:
    app = AppServer()
    await app.start()
    write_config(
        conf,
        f"ws://127.0.0.1:{app.port}/ari",
        extra="enable_pingpongs = yes\npingpong_interval = 1\npingpong_probes = 2\n",
    )
    with caplog.at_level(logging.WARNING, logger="pyari.ari"):
        srv = await make_server(conf)
        first = await app.next_connection()
        await first.next("ApplicationRegistered")
        # The application stops reading: pyari's PINGs go unanswered.
        transport = first.ws.transport
        transport.pause_reading()
        second = await app.next_connection()
        assert (await second.next())["type"] == "ApplicationRegistered"
    assert "app_out: No PONG after 2 PINGs; closing the websocket" in caplog.text
    (out,) = srv.outbound.connections()
    assert out.connected
    transport.abort()
    await app.stop()


async def test_websocket_sessions_lists_inbound_events_sockets_too(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    from websockets.asyncio.client import connect

    app, srv, _conn = await registered_app(conf, make_server)
    port = int(re.findall(r"(?m)^bindport=(\d+)", (conf / "http.conf").read_text())[0])
    uri = f"ws://127.0.0.1:{port}/ari/events?app=inapp,other&api_key=testARI:Sup3rM3ga$tr0ng"
    async with connect(uri) as client:
        local = client.local_address
        out = await run_command(srv, "ari show websocket sessions")
        head, dashes, *rows = out.splitlines()
        assert head.split() == ["Connection", "ID", "Type", "RemoteAddr", "State", "Apps"]
        assert dashes == f"{'-' * 37} {'-' * 15} {'-' * 32} {'-' * 5} {'-' * 16}"
        (inbound,) = [r for r in rows if " inbound " in r]
        connection_id, kind, addr, state, apps = inbound.split()
        assert re.fullmatch(
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", connection_id
        )
        assert (kind, addr, state, apps) == (
            "inbound",
            f"127.0.0.1:{local[1]}",
            "Up",
            "inapp,other",
        )
        assert inbound.index("inbound") == 38 and inbound.index("127.0.0.1") == 54
        (persistent,) = [r for r in rows if " persistent " in r]
        assert persistent.split()[0] == "app_out" and persistent.split()[-1] == "hello"
    # Closed: no longer listed.
    await until(lambda: not srv.ari.inbound)
    assert " inbound " not in await run_command(srv, "ari show websocket sessions")
    await app.stop()


async def test_per_call_apps_get_a_stasis_context_the_dialplan_can_send_calls_to(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari", apps="hello,bye", kind="per_call_config")
    srv = await make_server(conf)
    shown = await run_command(srv, "dialplan show stasis-hello")
    assert "[ Context 'stasis-hello' created by 'res_ari' ]" in shown
    assert "'_.' =>" in shown and "1. Stasis(hello)" in shown and "[res_ari]" in shown
    assert "'h' =>" in shown and "1. NoOp()" in shown
    assert srv.dialplan.has_context("stasis-bye")

    # A call sent to the context opens its per-call connection from there.
    await run_command(srv, "channel originate Local/s@stasis-hello application Wait 20")
    conn = await app.next_connection()
    start = await conn.next("StasisStart")
    assert start["application"] == f"hello:{start['channel']['name']}"
    assert start["channel"]["dialplan"]["context"] == "stasis-hello"
    await run_command(srv, f"channel request hangup {start['channel']['name']}")
    assert await asyncio.wait_for(conn.closed, WAIT) == 1000

    # dialplan reload keeps it; a section without the app takes it away.
    assert await run_command(srv, "dialplan reload") == "Dialplan reloaded.\n"
    assert srv.dialplan.has_context("stasis-hello")
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari", apps="bye", kind="per_call_config")
    await run_command(srv, "module reload res_ari.so")
    assert not srv.dialplan.has_context("stasis-hello")
    assert srv.dialplan.has_context("stasis-bye")
    # A persistent section registers its apps instead: no context.
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari", apps="bye")
    await run_command(srv, "module reload res_ari.so")
    assert not srv.dialplan.has_context("stasis-bye")
    await app.stop()


async def test_a_stasis_context_of_the_users_own_is_left_alone(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    ext = conf / "extensions.conf"
    ext.write_text(ext.read_text() + "\n[stasis-hello]\nexten => s,1,Hangup()\n")
    write_config(conf, "ws://127.0.0.1:9/ari", kind="per_call_config")
    srv = await make_server(conf)
    own = srv.dialplan.contexts["stasis-hello"]
    assert own.registrar == "pbx_config"
    write_config(conf, "ws://127.0.0.1:9/ari", apps="other", kind="per_call_config")
    await run_command(srv, "module reload res_ari.so")
    assert srv.dialplan.contexts["stasis-hello"] is own
    assert srv.dialplan.has_context("stasis-other")


async def test_shutdown_websocket_session_of_each_kind(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    from websockets.asyncio.client import connect

    app, srv, conn = await registered_app(conf, make_server)
    assert await run_command(srv, "ari shutdown websocket session nope") == (
        "Websocket session 'nope' not found\n"
    )

    # A persistent connection: closed (1000), its apps unregistered, no reconnect
    # until 'ari start outbound-websocket' starts it again.
    out = await run_command(srv, "ari shutdown websocket session app_out")
    assert out == "Shutting down websocket session 'app_out'\n"
    assert await asyncio.wait_for(conn.closed, WAIT) == 1000
    assert srv.outbound.connections() == []
    hello = srv.stasis.get("hello")
    assert hello is None or not hello.active
    assert "app_out" not in await run_command(srv, "ari show websocket sessions")
    await run_command(srv, "ari start outbound-websocket app_out")
    again = await app.next_connection()
    assert (await again.next())["type"] == "ApplicationRegistered"

    # An accepted /ari/events socket: closed with 1000.
    port = int(re.findall(r"(?m)^bindport=(\d+)", (conf / "http.conf").read_text())[0])
    uri = f"ws://127.0.0.1:{port}/ari/events?app=inapp&api_key=testARI:Sup3rM3ga$tr0ng"
    async with connect(uri) as client:
        (inbound,) = srv.ari.inbound.values()
        out = await run_command(srv, f"ari shutdown websocket session {inbound.connection_id}")
        assert out == f"Shutting down websocket session '{inbound.connection_id}'\n"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(client.recv(), WAIT)
        assert client.close_code == 1000
    inapp = srv.stasis.get("inapp")
    assert inapp is None or not inapp.active

    # All at once: the persistent connection again, and a second inbound socket.
    async with connect(uri) as client:
        assert srv.ari.inbound
        out = await run_command(srv, "ari shutdown websocket sessions")
        assert out == "Shutting down all websocket sessions\n"
        assert await asyncio.wait_for(again.closed, WAIT) == 1000
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(client.recv(), WAIT)
        assert client.close_code == 1000
    assert srv.outbound.connections() == []
    rows = (await run_command(srv, "ari show websocket sessions")).splitlines()[2:]
    assert rows == []
    await app.stop()


async def test_shutdown_of_per_call_sessions(
    conf: Path, make_server: Callable[[Path], Awaitable[Server]]
) -> None:
    app = AppServer()
    await app.start()
    write_config(conf, f"ws://127.0.0.1:{app.port}/ari?x=1", kind="per_call_config")
    srv = await make_server(conf)
    await call_into_hello(srv)
    conn = await app.next_connection()
    assert conn.ws.request is not None
    assert conn.ws.request.path == "/ari?x=1"  # the configured URI as it is, as Asterisk
    start = await conn.next("StasisStart")
    channel = start["channel"]

    # One call's connection: closed (1000); the call stays until hung up.
    session_id = f"app_out:{channel['name']}"
    out = await run_command(srv, f"ari shutdown websocket session {session_id}")
    assert out == f"Shutting down websocket session '{session_id}'\n"
    assert await asyncio.wait_for(conn.closed, WAIT) == 1000
    assert srv.outbound.per_call == {}
    assert channel["id"] in srv.core.channels
    assert session_id not in await run_command(srv, "ari show websocket sessions")
    await run_command(srv, f"channel request hangup {channel['name']}")

    # The per_call_config section's session: not listed, its stasis-<app> context gone,
    # back with 'ari start outbound-websocket' (or a reload).
    assert srv.dialplan.has_context("stasis-hello")
    assert " per_call_config " in await run_command(srv, "ari show websocket sessions")
    out = await run_command(srv, "ari shutdown websocket session app_out")
    assert out == "Shutting down websocket session 'app_out'\n"
    assert " per_call_config " not in await run_command(srv, "ari show websocket sessions")
    assert not srv.dialplan.has_context("stasis-hello")
    await run_command(srv, "ari start outbound-websocket app_out")
    assert " per_call_config " in await run_command(srv, "ari show websocket sessions")
    assert srv.dialplan.has_context("stasis-hello")
    await run_command(srv, "ari shutdown websocket sessions")
    assert not srv.dialplan.has_context("stasis-hello")
    await run_command(srv, "module reload res_ari.so")
    assert srv.dialplan.has_context("stasis-hello")
    await app.stop()
