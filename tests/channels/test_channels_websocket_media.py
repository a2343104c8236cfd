"""WebSocket media (chan_websocket): the application connects in to /media/<id>, or pyari
connects out to a websocket_client.conf connection; control messages and audio both ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from ari.ari_ops_helpers import Events, app_events, call, stasis_channel
from conftest import wait_for
from pyari.channels.websocket_media import MediaSession, parse_options
from pyari.config.parser import parse_text
from pyari.config.websocket_client import (
    WebSocketClient,
    load_websocket_clients,
    websocket_clients,
)
from pyari.core.channel import Channel
from pyari.core.tech import BadDialString
from pyari.media.codecs import decode, encode
from pyari.media.frames import SLIN, ULAW
from pyari.server import Server
from pyari.testing.audio import has_tone, tone

# --- the protocol, without sockets -------------------------------------------------------


class FakeChannel:
    id = "c1"
    name = "WebSocket/INCOMING/0x1"
    media = None
    answered = 0
    hangups: list[int]

    def __init__(self) -> None:
        self.hangups = []
        self.variables = {"V": "1"}

    def answer(self) -> None:
        self.answered += 1

    def queue_hangup(self, cause: int) -> None:
        self.hangups.append(cause)


def session(**kw: Any) -> tuple[MediaSession, list[str], FakeChannel]:
    chan = FakeChannel()
    s = MediaSession(cast(Channel, chan), "cid", kw.pop("fmt", ULAW), **kw)
    sent: list[str] = []
    s.connected(sent.append, lambda b: None)
    return s, sent, chan


def test_dial_string_options() -> None:
    opts = parse_options("c(slin16)nv(a=1,b=2)f(json)d(out)p")
    assert (opts.codec, opts.no_auto_answer, opts.uri_params) == ("slin16", True, "a=1&b=2")
    assert (opts.control_format, opts.direction, opts.passthrough) == ("json", "out", True)
    assert parse_options("f(bogus)").control_format == "plain-text"
    for bad in ("d(up)", "v(a b=1)", "c(ulaw"):
        with pytest.raises(BadDialString):
            parse_options(bad)


def test_media_start_and_auto_answer() -> None:
    s, sent, chan = session()
    assert sent == [
        "MEDIA_START connection_id:cid channel:WebSocket/INCOMING/0x1 channel_id:c1 "
        "format:ulaw optimal_frame_size:160 ptime:20"
    ]
    assert chan.answered == 1
    s, sent, chan = session(control_format="json", no_auto_answer=True, fmt=SLIN)
    assert json.loads(sent[0]) == {
        "event": "MEDIA_START",
        "connection_id": "cid",
        "channel": "WebSocket/INCOMING/0x1",
        "channel_id": "c1",
        "format": "slin",
        "optimal_frame_size": 320,
        "ptime": 20,
        "channel_variables": {"V": "1"},
    }
    assert chan.answered == 0
    s.on_text('{"command": "ANSWER"}')
    assert chan.answered == 1


def test_audio_is_cut_into_frames_and_partial_frames_wait_only_while_buffering() -> None:
    s, sent, _ = session()
    s.on_binary(b"a" * 400)  # two frames; the 80-byte rest is dropped
    assert s.frame_queue_length == 2
    s.on_text("START_MEDIA_BUFFERING")
    s.on_binary(b"b" * 100)
    s.on_binary(b"c" * 100)  # 160 made of b and c, 40 left over
    assert s.frame_queue_length == 3
    s.on_text("STOP_MEDIA_BUFFERING tts-1")  # the rest becomes a (short) frame
    assert s.frame_queue_length == 4
    frames = [s.next_frame() for _ in range(4)]
    assert frames[:2] == [b"a" * 160] * 2
    assert frames[2] == b"b" * 100 + b"c" * 60
    assert frames[3] == b"c" * 40
    assert sent[-1] != "MEDIA_BUFFERING_COMPLETED tts-1"
    assert s.next_frame() is None  # the event was queued behind the audio
    assert sent[-1] == "MEDIA_BUFFERING_COMPLETED tts-1"


def test_marks_drain_reports_pause_and_status() -> None:
    s, sent, _ = session()
    s.on_binary(b"x" * 160)
    s.on_text("MARK_MEDIA m1")
    s.on_text("REPORT_QUEUE_DRAINED")
    s.on_text("PAUSE_MEDIA")
    assert s.next_frame() is None
    s.on_text("CONTINUE_MEDIA")
    assert s.next_frame() == b"x" * 160
    assert s.next_frame() is None
    assert sent[-1] == "MEDIA_MARK_PROCESSED m1"
    assert s.next_frame() is None
    assert sent[-1] == "QUEUE_DRAINED"
    s.on_text("GET_STATUS")
    assert sent[-1] == (
        "STATUS channel_id:c1 queue_length:0 xon_level:800 xoff_level:900 "
        "queue_full:false bulk_media:false media_paused:false"
    )


def test_flow_control_and_flush() -> None:
    s, sent, _ = session()
    s.on_binary(b"z" * 160 * 950)
    assert s.frame_queue_length == 950
    assert sent.count("MEDIA_XOFF") == 1
    s.on_binary(b"z" * 160 * 100)  # up to the 1000 limit, then ignored
    s.on_binary(b"z" * 160)
    assert s.frame_queue_length == 1050  # the limit is checked as a message arrives
    s.on_text("FLUSH_MEDIA")
    assert s.frame_queue_length == 0
    assert s.next_frame() is None
    assert sent[-1] == "MEDIA_XON"


def test_errors_and_json_commands() -> None:
    s, sent, chan = session(passthrough=True)
    s.on_text("MARK_MEDIA x")
    assert sent[-1] == "ERROR channel_id:c1 error_text:MARK_MEDIA not supported in passthrough mode"
    s, sent, chan = session(direction="in")
    s.on_text("PAUSE_MEDIA")
    assert sent[-1] == (
        "ERROR channel_id:c1 error_text:PAUSE_MEDIA not supported while media direction is 'in'"
    )
    s.on_binary(b"q" * 160)
    assert s.frame_queue_length == 0  # the application only listens
    s.on_text("SET_MEDIA_DIRECTION")
    assert sent[-1].endswith("SET_MEDIA_DIRECTION only supports JSON format.\n")
    s, sent, chan = session(control_format="json")
    s.on_text("{nope")
    assert json.loads(sent[-1]) == {
        "event": "ERROR",
        "channel_id": "c1",
        "error_text": "Unable to parse JSON command",
    }
    s.on_text('{"command": "SET_MEDIA_DIRECTION", "direction": "out"}')
    assert s.direction == "out"
    s.on_text('{"command": "MARK_MEDIA", "correlation_id": "k"}')
    s.next_frame()
    assert json.loads(sent[-1]) == {
        "event": "MEDIA_MARK_PROCESSED",
        "channel_id": "c1",
        "correlation_id": "k",
    }
    s.dtmf("5")
    assert json.loads(sent[-1]) == {"event": "DTMF_END", "channel_id": "c1", "digit": "5"}
    s.on_text('{"command": "HANGUP"}')
    assert chan.hangups == [16] and s.tech_cause == 1000


def test_websocket_client_conf(tmp_path: Path) -> None:
    text = (
        "[bot]\ntype = websocket_client\nconnection_type = per_call_config\n"
        "uri = ws://127.0.0.1:9/media\nprotocols = media, other\nconnection_timeout = 100\n"
        "reconnect_attempts = 2\ntls_enabled = no\n"
        "[nouri]\ntype = websocket_client\n"
        "[badint]\ntype = websocket_client\nuri = ws://x\nreconnect_interval = soon\n"
        "[other]\ntype = something_else\nuri = ws://x\n"
    )
    clients = websocket_clients(parse_text(text, "websocket_client.conf"))
    assert list(clients) == ["bot"]
    bot = clients["bot"]
    assert (bot.uri, bot.protocol_list, bot.connection_timeout) == (
        "ws://127.0.0.1:9/media",
        ("media", "other"),
        100,
    )
    assert (bot.reconnect_attempts, bot.reconnect_interval, bot.tls_enabled) == (2, 500, False)
    (tmp_path / "websocket_client.conf").write_text(text)
    assert list(load_websocket_clients(tmp_path)) == ["bot"]
    assert load_websocket_clients(tmp_path / "missing") == {}


# --- over the network --------------------------------------------------------------------


def ulaw_tone(freq: float, ms: int) -> bytes:
    return encode(ULAW, tone(freq, ms)).tobytes()


def ulaw_samples(data: bytes) -> np.ndarray:
    return decode(ULAW, np.frombuffer(data, dtype=np.uint8))


class Peer:
    """The application's end of a media WebSocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.texts: list[str] = []
        self.audio = bytearray()
        self.task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.texts.append(msg.data)
            elif msg.type == aiohttp.WSMsgType.BINARY:
                self.audio += msg.data


async def external(http: aiohttp.ClientSession, **kw: str) -> tuple[int, Any]:
    query = {"app": "t", "transport": "websocket", "encapsulation": "none", "format": "ulaw"}
    query.update(kw)
    return await call(http, "POST", "/channels/externalMedia", params=query)


async def bridge_with(http: aiohttp.ClientSession, events: Events, ext: str) -> str:
    caller = await stasis_channel(http, events, endpoint="Sim/alice")
    await call(http, "POST", "/bridges/b1")
    status, _ = await call(
        http, "POST", "/bridges/b1/addChannel", params={"channel": f"{caller},{ext}"}
    )
    assert status == 204
    return caller


async def test_the_application_connects_in_and_media_flows_both_ways(
    server: Server, http: aiohttp.ClientSession, base_url: str
) -> None:
    alice = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events, aiohttp.ClientSession() as plain:
        status, ext = await external(http, connection_type="server", channelId="ws1")
        assert status == 200, ext
        assert ext["name"].startswith("WebSocket/INCOMING/0x")
        assert ext["state"] == "Down"
        cid = ext["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        assert ext["channelvars"]["MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"] == "160"
        assert events.of("StasisStart", "ws1") == []

        async with plain.get(f"{base_url}/media/nope") as r:
            assert r.status == 404
        async with plain.get(f"{base_url}/media/{cid}") as r:
            assert r.status == 426  # not a WebSocket upgrade
        ws = await plain.ws_connect(f"{base_url}/media/{cid}")  # no ARI credentials needed
        peer = Peer(ws)
        with pytest.raises(aiohttp.WSServerHandshakeError) as second:
            await plain.ws_connect(f"{base_url}/media/{cid}")
        assert second.value.status == 409
        await wait_for(lambda: len(peer.texts) >= 1)
        assert peer.texts[0] == (
            f"MEDIA_START connection_id:{cid} channel:{ext['name']} channel_id:ws1 "
            "format:ulaw optimal_frame_size:160 ptime:20"
        )
        start = await events.wait("StasisStart", "ws1")
        assert start["channel"]["state"] == "Up"

        await bridge_with(http, events, "ws1")
        await alice.play(tone(700, 600))
        await wait_for(lambda: has_tone(ulaw_samples(bytes(peer.audio)), 700, min_amplitude=3000))

        await ws.send_bytes(ulaw_tone(1300, 600))
        await ws.send_str("MARK_MEDIA reply-1")
        await wait_for(lambda: "MEDIA_MARK_PROCESSED reply-1" in peer.texts)
        assert has_tone(alice.heard(), 1300, min_amplitude=3000)

        alice.send_dtmf("3")
        await wait_for(lambda: "DTMF_END digit:3 channel_id:ws1" in peer.texts)

        await ws.send_str("HANGUP")
        await events.wait("StasisEnd", "ws1")
        await asyncio.wait_for(peer.task, 5)
        assert ws.close_code == 1000
        async with plain.get(f"{base_url}/media/{cid}") as r:
            assert r.status == 404


async def test_closing_the_socket_hangs_up_and_a_bad_protocol_is_refused(
    server: Server, http: aiohttp.ClientSession, base_url: str
) -> None:
    async with app_events(http, "t") as events, aiohttp.ClientSession() as plain:
        status, ext = await external(http, connection_type="server", transport_data="f(json)")
        assert status == 200
        cid = ext["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await plain.ws_connect(f"{base_url}/media/{cid}", protocols=("ari",))
        assert refused.value.status == 400
        ws = await plain.ws_connect(f"{base_url}/media/{cid}", protocols=("media",))
        assert ws.protocol == "media"
        msg = await ws.receive_json()
        assert msg["event"] == "MEDIA_START" and msg["channel_id"] == ext["id"]
        assert msg["channel_variables"]["MEDIA_WEBSOCKET_CONNECTION_ID"] == cid
        await events.wait("StasisStart", ext["id"])
        await ws.close()
        await events.wait("StasisEnd", ext["id"])


@pytest.fixture
async def bot_server() -> AsyncIterator[tuple[int, list[Peer]]]:
    peers: list[Peer] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("media",))
        await ws.prepare(request)
        peer = Peer(ws)
        peer.query = dict(request.query)  # type: ignore[attr-defined]
        peers.append(peer)
        await peer.task
        return ws

    app = web.Application()
    app.router.add_get("/bot", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield port, peers
    finally:
        await runner.cleanup()


async def test_pyari_connects_out_to_a_configured_connection(
    server: Server, http: aiohttp.ClientSession, bot_server: tuple[int, list[Peer]]
) -> None:
    port, peers = bot_server
    server.ws_clients = {
        "bot": WebSocketClient("bot", uri=f"ws://127.0.0.1:{port}/bot", protocols="media")
    }
    alice = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events:
        status, body = await external(http, external_host="nobot")
        assert (status, body) == (
            400,
            {"message": "external_host must be a valid websocket_client connection id."},
        )
        status, ext = await external(http, external_host="bot", transport_data="v(room=7)")
        assert status == 200, ext
        assert ext["name"].startswith("WebSocket/bot/0x")
        assert ext["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"] == "bot"
        await events.wait("StasisStart", ext["id"])
        peer = peers[0]
        assert peer.query == {"room": "7"}  # type: ignore[attr-defined]
        assert peer.texts[0].startswith("MEDIA_START connection_id:bot ")
        await bridge_with(http, events, ext["id"])
        await alice.play(tone(700, 600))
        await wait_for(lambda: has_tone(ulaw_samples(bytes(peer.audio)), 700, min_amplitude=3000))
        await peer.ws.send_bytes(ulaw_tone(1300, 600))
        await wait_for(lambda: has_tone(alice.heard(), 1300, min_amplitude=3000))
        status, _ = await call(http, "DELETE", f"/channels/{ext['id']}")
        await asyncio.wait_for(peer.task, 5)
        assert peer.ws.close_code == 1000


async def test_an_unreachable_connection_hangs_the_channel_up(
    server: Server, http: aiohttp.ClientSession
) -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    server.ws_clients = {
        "gone": WebSocketClient(
            "gone", uri=f"ws://127.0.0.1:{port}/", reconnect_attempts=2, reconnect_interval=10
        )
    }
    async with app_events(http, "t") as events:
        status, ext = await external(http, external_host="gone")
        assert status == 200
        destroyed = await events.wait("ChannelDestroyed", ext["id"])
        assert destroyed["cause"] == 3  # no route to destination
        assert events.of("StasisStart", ext["id"]) == []
