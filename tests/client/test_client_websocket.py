"""REST on the events socket (``transport="websocket"``) and server mode (``serve``).

The rest of tests/client runs on both transports (see conftest.py); these
tests are about what only the socket transport and server mode do.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from conftest import PASSWORD, USER, auth_headers, wait_for
from pyari.cli.commands import run_command
from pyari.client import (
    AriClient,
    AriConnectionError,
    BadRequest,
    NotFound,
    StasisEnd,
    StasisStart,
    aioari,
    connect,
    serve,
)
from pyari.client._wsrest import request_frame
from pyari.server import Server

pytestmark = pytest.mark.parametrize("transport", ["websocket"], indirect=True)

APP_USER = "asterisk"
APP_PASSWORD = "app-s3cret"


def counting_session() -> tuple[aiohttp.ClientSession, list[str]]:
    """A session that records every HTTP request it makes (the upgrade included)."""
    sent: list[str] = []

    async def on_start(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        sent.append(f"{params.method} {params.url.path}")

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    return aiohttp.ClientSession(trace_configs=[trace]), sent


def test_request_frame_is_asterisks_wire_format() -> None:
    frame = msgspec.json.decode(
        request_frame(
            "r-1",
            "POST",
            "/channels/c%2F1/variable",
            [("variable", "X"), ("value", None), ("channel", ["a", "b"]), ("beep", True)],
            {"variables": {"A": "1"}, "skip": None},
        )
    )
    assert frame == {
        "type": "RESTRequest",
        "transaction_id": "r-1",
        "request_id": "r-1",
        "method": "POST",
        "uri": "channels/c%2F1/variable",
        "query_strings": [
            {"name": "variable", "value": "X"},
            {"name": "channel", "value": "a,b"},
            {"name": "beep", "value": "true"},
        ],
        "content_type": "application/json",
        "message_body": '{"variables":{"A":"1"}}',
    }
    bare = msgspec.json.decode(request_frame("r-2", "GET", "/asterisk/ping"))
    assert bare == {
        "type": "RESTRequest",
        "transaction_id": "r-2",
        "request_id": "r-2",
        "method": "GET",
        "uri": "asterisk/ping",
    }


async def test_one_connection_for_everything(server: Server, base_url: str) -> None:
    session, sent = counting_session()
    client = AriClient(base_url, USER, PASSWORD, apps="app1", session=session)
    try:
        started = asyncio.Event()
        client.on(StasisStart, lambda e: started.set())
        # The first operation opens the events socket; nothing else goes over HTTP.
        assert (await client.asterisk.ping()).ping == "pong"
        assert client.connected
        chan = await client.channels.originate("Sim/alice", app="app1", channel_id="w-1")
        await asyncio.wait_for(started.wait(), 5)
        await chan.answer()
        await chan.set_channel_var("V", value="1")
        assert (await chan.get_channel_var("V")).value == "1"
        assert [c.id for c in await client.channels.list()] == ["w-1"]
        with pytest.raises(NotFound) as nf:
            await client.channels.get("nope")
        assert (nf.value.status, nf.value.message) == (404, "Channel not found")
        with pytest.raises(BadRequest):
            await chan.hangup(reason="bogus")  # type: ignore[arg-type]
        await chan.hangup()
        await wait_for(lambda: not server.core.channels)
        assert sent == ["GET /ari/events"]
        assert client.connections == 1
    finally:
        await client.close()
        await session.close()


async def test_requests_in_flight_fail_when_the_socket_goes(server: Server, base_url: str) -> None:
    client = await connect(base_url, USER, PASSWORD, apps="app1", reconnect=False)
    try:
        conn = client._conn
        assert conn is not None
        sent: list[str] = []

        async def swallow(text: str) -> None:  # the request is lost on the way
            sent.append(text)

        conn.rest._send = swallow
        pending = asyncio.create_task(conn.rest.request("GET", "/asterisk/info"))
        await wait_for(lambda: conn.rest.in_flight == 1)
        assert '"uri":"asterisk/info"' in sent[0]
        await server.http.stop()
        with pytest.raises(AriConnectionError):
            await asyncio.wait_for(pending, 5)
        await asyncio.wait_for(client.run_forever(), 5)
        with pytest.raises(AriConnectionError):
            await client.asterisk.ping()
    finally:
        await client.close()


# -- server mode -----------------------------------------------------------------------


async def relay(
    serve_url: str, base_url: str, app: str, user: str, password: str, ssl: Any = None
) -> None:
    """Dial ``serve_url`` as a server's outbound ARI connection does, carrying ``app``.

    The frames go both ways between the served client and pyari's events
    socket for ``app``: what an outbound connection is on the wire.
    """
    async with aiohttp.ClientSession() as session:
        upstream = await session.ws_connect(
            f"{base_url}/ari/events?app={app}", headers=auth_headers(), protocols=("ari",)
        )
        down = await session.ws_connect(
            serve_url,
            headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
            protocols=("ari",),
            ssl=True if ssl is None else ssl,
        )
        assert down.protocol == "ari"

        async def pump(src: Any, dst: Any) -> None:
            async for msg in src:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                await dst.send_str(msg.data)
            await dst.close()

        try:
            await asyncio.gather(pump(upstream, down), pump(down, upstream))
        finally:
            await upstream.close()
            await down.close()


@contextlib.asynccontextmanager
async def relayed(
    port: int, base_url: str, app: str, path: str = "/", ssl: Any = None
) -> AsyncIterator[asyncio.Task[None]]:
    scheme = "wss" if ssl is not None else "ws"
    task = asyncio.create_task(
        relay(f"{scheme}://127.0.0.1:{port}{path}", base_url, app, APP_USER, APP_PASSWORD, ssl)
    )
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def test_serve_handles_calls_over_the_accepted_socket(server: Server, base_url: str) -> None:
    seen: list[str] = []
    async with serve("127.0.0.1", 0, APP_USER, APP_PASSWORD, path="/ari") as client:
        assert client.port
        assert client.transport == "websocket"

        @client.on("StasisStart")
        async def on_start(event: StasisStart) -> None:
            seen.append("start:" + ",".join(event.args))
            await event.channel.answer()
            await event.channel.set_channel_var("SERVED", value="yes")
            await event.channel.hangup()

        client.on(StasisEnd, lambda e: seen.append("end"))
        async with relayed(client.port, base_url, "hello", "/ari"):
            await wait_for(lambda: client.connected)
            await wait_for(lambda: server.stasis.get("hello") is not None)
            assert client.connections == 1
            chan = await client.channels.originate("Sim/bob", app="hello", app_args="x")
            await wait_for(lambda: seen == ["start:x", "end"])
            await wait_for(lambda: not server.core.channels)
            assert chan.id
        # The handler's requests went back on the socket its event came from.
        assert client._conn is None or client._conn.rest.in_flight == 0


async def test_serve_refuses_wrong_credentials(server: Server) -> None:
    async with (
        serve("127.0.0.1", 0, APP_USER, APP_PASSWORD) as client,
        aiohttp.ClientSession() as s,
    ):
        url = f"ws://127.0.0.1:{client.port}/"
        for headers in ({}, {"Authorization": aiohttp.encode_basic_auth(APP_USER, "wrong")}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as err:
                await s.ws_connect(url, headers=headers, protocols=("ari",))
            assert err.value.status == 401
        async with s.get(
            f"http://127.0.0.1:{client.port}/",
            headers={"Authorization": aiohttp.encode_basic_auth(APP_USER, APP_PASSWORD)},
        ) as resp:
            assert resp.status == 400  # not an upgrade
        assert client.connections == 0
        # No socket accepted: an operation waits for one, then fails.
        client._request_timeout = 0.05
        with pytest.raises(AriConnectionError):
            await client.asterisk.ping()


async def test_aioari_script_served(
    server: Server, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed's callbacks, as an aioari program in server mode."""
    client = aioari.Client("", APP_USER, APP_PASSWORD)

    def stasis_start(obj: Any, event: dict[str, Any]) -> None:
        print("start")

    def stasis_end(obj: Any, event: dict[str, Any]) -> None:
        print("stop")

    client.on_channel_event("StasisStart", stasis_start)
    client.on_channel_event("StasisEnd", stasis_end)
    runner = asyncio.create_task(client.serve("127.0.0.1", 0))
    try:
        await wait_for(lambda: client.ari.port is not None)
        assert client.ari.port is not None
        async with relayed(client.ari.port, base_url, "hello"):
            await wait_for(lambda: server.stasis.get("hello") is not None)
            out = await run_command(
                server, "channel originate Local/1000@ARI-test application Wait 0.2"
            )
            assert out == ""
            await wait_for(lambda: not server.core.channels)
            out = ""

            def printed() -> bool:
                nonlocal out
                out += capsys.readouterr().out
                return out == "start\nstop\n"

            await wait_for(printed)
    finally:
        await client.close()
        await asyncio.wait_for(runner, 5)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
async def test_serve_over_tls(server: Server, base_url: str, tmp_path: Path) -> None:
    cert, key = tmp_path / "app.crt", tmp_path / "app.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    dialer = ssl.create_default_context(cafile=str(cert))  # verifies the app's certificate
    seen: list[str] = []
    async with serve("127.0.0.1", 0, APP_USER, APP_PASSWORD, ssl=server_side) as client:
        assert client.port is not None

        @client.on("StasisStart")
        async def on_start(event: StasisStart) -> None:
            seen.append((await event.channel.get()).state)
            await event.channel.hangup()

        async with relayed(client.port, base_url, "hello", ssl=dialer):
            await wait_for(lambda: server.stasis.get("hello") is not None)
            await client.channels.originate("Sim/carol", app="hello")
            await wait_for(lambda: len(seen) == 1 and not server.core.channels)
        assert client.connections == 1
