"""A read-only ARI user cannot take over a read-write user's application (decision 0012).

Real sockets on loopback, on both HTTP cores.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server
from pyari.config import AriUser
from pyari.server import Server

BACKENDS = ("httptools", "aiohttp")
RO = ("watcher", "w4tch-only")
RO2 = ("auditor", "aud1t-only")


@pytest.fixture(params=BACKENDS)
async def server(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    srv = make_server()
    ari = srv.config.ari
    users = dict(ari.users)
    for name, password in (RO, RO2):
        users[name] = AriUser(name, read_only=True, password=password)
    srv.config = dataclasses.replace(srv.config, ari=dataclasses.replace(ari, users=users))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def events_url(server: Server, apps: str) -> str:
    return f"http://127.0.0.1:{server.http_port}/ari/events?app={apps}"


async def next_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    event: dict[str, Any] = json.loads(msg.data)
    return event


async def user_event(s: aiohttp.ClientSession, server: Server, app: str, name: str) -> None:
    url = f"http://127.0.0.1:{server.http_port}/ari/events/user/{name}?application={app}"
    async with s.post(url, headers=auth_headers()) as r:
        assert r.status == 204, await r.text()


async def raw_upgrade(server: Server, apps: str, user: tuple[str, str]) -> tuple[int, bytes]:
    """The answer to an events upgrade request, status line and body as sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    try:
        auth = auth_headers(*user)["Authorization"]
        writer.write(
            (
                f"GET /ari/events?app={apps} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {auth}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Protocol: ari\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
        return status, body
    finally:
        writer.close()


async def test_read_only_user_cannot_replace_a_writers_socket(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        writer = await s.ws_connect(events_url(server, "takeme"), headers=auth_headers())
        try:
            # The upgrade is refused with a JSON 403, before anything is registered.
            status, body = await raw_upgrade(server, "takeme", RO)
            assert status == 403
            assert json.loads(body) == {
                "message": "Application 'takeme' is held by a read-write user"
            }
            with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
                await s.ws_connect(events_url(server, "takeme"), headers=auth_headers(*RO))
            assert exc.value.status == 403
            # The writer keeps the application: no ApplicationReplaced, its events still come.
            await user_event(s, server, "takeme", "still-mine")
            event = await next_event(writer)
            assert (event["type"], event["eventname"]) == ("ChannelUserevent", "still-mine")
            assert event["application"] == "takeme"
            app = server.stasis.get("takeme")
            assert app is not None and app.active and not app.held_read_only
        finally:
            await writer.close()


async def test_refusal_is_all_or_nothing(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        writer = await s.ws_connect(events_url(server, "held"), headers=auth_headers())
        try:
            status, body = await raw_upgrade(server, "fresh,held", RO)
            assert status == 403
            assert b"'held'" in body
            # "fresh" was named first but not registered either.
            assert server.stasis.get("fresh") is None
        finally:
            await writer.close()


async def test_read_only_user_may_open_and_share_with_read_only(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        # A new application, then another read-only user replaces it (Asterisk's behaviour).
        first = await s.ws_connect(events_url(server, "watch"), headers=auth_headers(*RO))
        second = await s.ws_connect(events_url(server, "watch"), headers=auth_headers(*RO2))
        try:
            assert (await next_event(first))["type"] == "ApplicationReplaced"
            app = server.stasis.get("watch")
            assert app is not None and app.held_read_only
            # A read-write user takes it from a read-only one, as usual.
            writer = await s.ws_connect(events_url(server, "watch"), headers=auth_headers())
            try:
                assert (await next_event(second))["type"] == "ApplicationReplaced"
                assert not app.held_read_only
                await user_event(s, server, "watch", "to-writer")
                assert (await next_event(writer))["eventname"] == "to-writer"
                # Now held by a writer: read-only users are refused.
                status, _ = await raw_upgrade(server, "watch", RO)
                assert status == 403
            finally:
                await writer.close()
        finally:
            await first.close()
            await second.close()


async def test_writer_gone_frees_the_application(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        writer = await s.ws_connect(events_url(server, "later"), headers=auth_headers())
        await writer.close()
        app = server.stasis.get("later")
        assert app is None or not app.active
        reader = await s.ws_connect(events_url(server, "later"), headers=auth_headers(*RO))
        try:
            app = server.stasis.get("later")
            assert app is not None and app.active and app.held_read_only
        finally:
            await reader.close()


async def test_read_write_user_may_still_replace(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        old = await s.ws_connect(events_url(server, "reconnect"), headers=auth_headers())
        new = await s.ws_connect(events_url(server, "reconnect"), headers=auth_headers())
        try:
            assert (await next_event(old))["type"] == "ApplicationReplaced"
        finally:
            await old.close()
            await new.close()
