"""Bad input is a 400 with a clear message, never a 500 (issue #11): JSON nested too deep
for the decoder, NUL bytes and undecodable bytes in parameters and path segments, on
both HTTP cores and on the WebSocket media channel's JSON commands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from ari.ari_ops_helpers import app_events, call
from conftest import auth_headers, make_server
from pyari.ari.encoding import BadJson, decode
from pyari.channels.websocket_media import MediaSession
from pyari.core.channel import Channel
from pyari.media.frames import ULAW
from pyari.server import Server
from rawhttp import read_reply, request
from security.paths_helpers import snapshot, write_wav

DEEP = 2000
BAD_BODY = {"message": "Error parsing request body"}


def deep_bodies() -> list[bytes]:
    return [
        b"[" * DEEP + b"]" * DEEP,
        b'{"a":' * DEEP + b"1" + b"}" * DEEP,
        b'{"variables": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",  # under 40960 bytes
        b'{"fields": [' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"]}",
    ]


JSON_ENDPOINTS = [
    ("POST", "/ari/channels?endpoint=Sim/x&app=t"),
    ("POST", "/ari/channels/nope/variable?variable=x"),
    ("POST", "/ari/events/user/ev?application=t"),
    ("PUT", "/ari/asterisk/config/dynamic/res_pjsip/endpoint/x"),
    ("POST", "/ari/asterisk/variable?variable=x"),
    ("POST", "/ari/recordings/stored/src/copy"),
]


@pytest.fixture(params=["httptools", "aiohttp"])
async def core(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    srv = make_server()
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def exchange(port: int, raw: bytes) -> tuple[int, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        reply = await read_reply(reader)
    finally:
        writer.close()
    if reply.headers.get("Content-Type", "").startswith("application/json"):
        return reply.status, json.loads(reply.body)
    return reply.status, reply.body


def test_decode_turns_every_bad_json_into_one_error() -> None:
    for body in [*deep_bodies(), b"[1,", b"\xff", "{\ud800}", b""]:
        with pytest.raises(BadJson):
            decode(body)
    assert decode(b"[" * 200 + b"]" * 200) is not None  # deep enough is still JSON


async def test_deeply_nested_json_bodies_are_400(core: Server) -> None:
    for method, path in JSON_ENDPOINTS:
        for body in deep_bodies():
            raw = request(method, path, headers={"Content-Type": "application/json"}, body=body)
            assert await exchange(core.http_port, raw) == (400, BAD_BODY), (path, body[:20])
    assert (await exchange(core.http_port, request("GET", "/ari/asterisk/ping")))[0] == 200


async def test_nul_and_undecodable_bytes_in_parameters_are_400(core: Server) -> None:
    base = core.config.asterisk.astspooldir / "recording"
    write_wav(base / "src.wav")
    before = snapshot(base.parent.parent)
    cases = [
        ("POST", "/ari/recordings/stored/src/copy?destinationRecordingName=a%00b", b""),
        ("POST", "/ari/recordings/stored/src/copy", b'{"destinationRecordingName": "a\\u0000b"}'),
        ("GET", "/ari/recordings/stored/a%00b", b""),
        ("GET", "/ari/recordings/stored/a%00b/file", b""),
        ("DELETE", "/ari/recordings/stored/a%00b", b""),
        ("GET", "/ari/recordings/live/a%00b", b""),
        ("GET", "/ari/sounds/a%00b", b""),
        ("POST", "/ari/asterisk/logging/a%00b?configuration=error", b""),
        ("PUT", "/ari/asterisk/logging/a%00b/rotate", b""),
        ("POST", "/ari/asterisk/variable?variable=a%00b&value=1", b""),
        ("POST", "/ari/channels/a%00/record?name=r&format=wav", b""),
        ("POST", "/ari/channels?endpoint=Sim/x%00&app=t", b""),
    ]
    for method, path, body in cases:
        headers = {"Content-Type": "application/json"} if body else {}
        status, answer = await exchange(
            core.http_port, request(method, path, headers=headers, body=body)
        )
        assert status == 400, (path, status, answer)
        assert answer["message"].startswith("Invalid value for parameter"), answer
    assert snapshot(base.parent.parent) == before
    assert (await exchange(core.http_port, request("GET", "/ari/asterisk/ping")))[0] == 200


async def test_nothing_answers_500_to_odd_names(core: Server) -> None:
    odd = ["%ff%fe", "a%0d%0ab", "..%2f..%2fx", "%2e%2e", "a" * 5000, "%c0%af", "x%1b[2J"]
    paths = [
        "/ari/recordings/stored/{}",
        "/ari/recordings/stored/{}/file",
        "/ari/recordings/live/{}",
        "/ari/sounds/{}",
        "/ari/channels/{}",
        "/ari/bridges/{}",
        "/ari/playbacks/{}",
        "/ari/applications/{}",
        "/ari/endpoints/PJSIP/{}",
        "/ari/deviceStates/{}",
        "/ari/mailboxes/{}",
    ]
    for template in paths:
        for name in odd:
            status, answer = await exchange(core.http_port, request("GET", template.format(name)))
            assert status < 500, (template, name[:20], status, answer)


class _Channel:
    id = "c1"
    name = "WebSocket/INCOMING/0x1"
    media = None

    def __init__(self) -> None:
        self.variables: dict[str, str] = {}

    def answer(self) -> None:
        pass

    def queue_hangup(self, cause: int) -> None:
        pass


def test_websocket_media_json_commands_nested_too_deep() -> None:
    # The 128-byte limit on a TEXT message keeps a socket's JSON shallow; the decoder
    # of the command (what the limit protects) answers bad JSON of any depth alike.
    session = MediaSession(cast(Channel, _Channel()), "cid", ULAW, control_format="json")
    sent: list[str] = []
    session.connected(sent.append, lambda b: None)
    for text in ("[" * DEEP + "]" * DEEP, '{"a":' * 100_000 + "1" + "}" * 100_000):
        session.command(text)
        assert json.loads(sent[-1]) == {
            "event": "ERROR",
            "channel_id": "c1",
            "error_text": "Unable to parse JSON command",
        }


async def test_websocket_media_socket_goes_on_after_bad_json(
    server: Server, http: aiohttp.ClientSession, base_url: str
) -> None:
    query = {
        "app": "t",
        "transport": "websocket",
        "encapsulation": "none",
        "format": "ulaw",
        "connection_type": "server",
        "transport_data": "f(json)",
    }
    async with app_events(http, "t") as events, aiohttp.ClientSession() as plain:
        status, ext = await call(http, "POST", "/channels/externalMedia", params=query)
        assert status == 200, ext
        cid = ext["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        ws = await plain.ws_connect(f"{base_url}/media/{cid}", protocols=("media",))
        assert (await ws.receive_json(timeout=5))["event"] == "MEDIA_START"
        await events.wait("StasisStart", ext["id"])
        await ws.send_str("[" * DEEP + "]" * DEEP)  # over the limit: dropped, as Asterisk
        await ws.send_str("[" * 64 + "]" * 64)  # within it: JSON, but no command
        assert await ws.receive_json(timeout=5) == {
            "event": "ERROR",
            "channel_id": ext["id"],
            "error_text": "Unable to parse JSON command",
        }
        await ws.send_str(json.dumps({"command": "HANGUP"}))
        await events.wait("StasisEnd", ext["id"])
        await ws.close()


async def test_events_socket_survives_deep_json_from_the_client(
    server: Server, base_url: str, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession(base_url, headers=auth_headers()) as http:
        ws = await http.ws_connect("/ari/events?app=t")
        await ws.send_str("[" * DEEP + "]" * DEEP)
        await ws.send_str('{"a":' * DEEP + "1" + "}" * DEEP)
        # Each is answered as a RESTRequest that cannot be read (tests/ari/test_ari_ws_requests.py).
        for _ in range(2):
            msg = await ws.receive_json(timeout=5)
            assert (msg["type"], msg["status_code"]) == ("RESTResponse", 400)
            assert msg["reason_phrase"] == "Failed to parse request message JSON"
        status, _ = await call(http, "POST", "/events/user/ping", params={"application": "t"})
        assert status == 204
        msg = await ws.receive_json(timeout=5)
        assert msg["type"] == "ChannelUserevent" and msg["eventname"] == "ping"
        await ws.close()
