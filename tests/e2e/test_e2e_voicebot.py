"""A voice bot end to end: a caller dials 1000, the app hands the call's audio to a bot
over external media (WebSocket, then AudioSocket), the bot hears the caller and answers."""

from __future__ import annotations

import asyncio
import struct
import uuid

import aiohttp
import numpy as np

from ari.ari_ops_helpers import app_events, call
from conftest import wait_for
from pyari.media.codecs import decode, encode
from pyari.media.frames import ULAW
from pyari.server import Server
from pyari.testing.audio import has_tone, tone


async def test_a_caller_talks_to_a_websocket_voice_bot(
    server: Server, http: aiohttp.ClientSession, base_url: str
) -> None:
    caller = server.sim.phone("alice", listen=True, context="ARI-test")
    async with app_events(http, "hello") as events, aiohttp.ClientSession() as bot_http:
        chan = caller.call("1000")
        start = await events.wait("StasisStart", chan.id)
        assert start["channel"]["state"] == "Up"

        # The app: a media channel for the bot, bridged with the caller.
        status, media = await call(
            http,
            "POST",
            "/channels/externalMedia",
            params={
                "app": "hello",
                "transport": "websocket",
                "encapsulation": "none",
                "connection_type": "server",
                "format": "ulaw",
            },
        )
        assert status == 200, media
        connection_id = media["channelvars"]["MEDIA_WEBSOCKET_CONNECTION_ID"]

        # The bot connects in, and hears the caller.
        ws = await bot_http.ws_connect(f"{base_url}/media/{connection_id}")
        first = await ws.receive_str()
        assert first.startswith(f"MEDIA_START connection_id:{connection_id} ")
        await events.wait("StasisStart", media["id"])
        status, bridge = await call(http, "POST", "/bridges", params={"type": "mixing"})
        await call(
            http,
            "POST",
            f"/bridges/{bridge['id']}/addChannel",
            params={"channel": f"{chan.id},{media['id']}"},
        )

        heard = bytearray()
        caller.play(tone(700, 800))  # the caller speaks
        while not has_tone(
            decode(ULAW, np.frombuffer(bytes(heard), np.uint8)), 700, min_amplitude=3000
        ):
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type == aiohttp.WSMsgType.BINARY
            heard += msg.data

        # The bot answers (a whole reply at once, as text-to-speech does).
        await ws.send_str("START_MEDIA_BUFFERING")
        await ws.send_bytes(encode(ULAW, tone(1300, 800)).tobytes())
        await ws.send_str("STOP_MEDIA_BUFFERING answer-1")
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == (
                "MEDIA_BUFFERING_COMPLETED answer-1"
            ):
                break
        assert has_tone(caller.heard(), 1300, min_amplitude=3000)

        # The caller hangs up; the app hangs up the bot's channel.
        caller.hangup()
        await events.wait("StasisEnd", chan.id)
        status, _ = await call(http, "DELETE", f"/channels/{media['id']}")
        assert status == 204
        # Audio sent before the hangup may still be in flight; then the close.
        closed = await asyncio.wait_for(ws.receive(), 5)
        while closed.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT):
            closed = await asyncio.wait_for(ws.receive(), 5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()


async def test_a_caller_talks_to_an_audiosocket_voice_bot(
    server: Server, http: aiohttp.ClientSession
) -> None:
    received = bytearray()
    connected: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def bot(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set_result(writer)
        try:
            while True:
                kind, length = struct.unpack("!BH", await reader.readexactly(3))
                payload = await reader.readexactly(length)
                if kind == 0x10:
                    received.extend(payload)
        except asyncio.IncompleteReadError:
            pass

    listener = await asyncio.start_server(bot, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    caller = server.sim.phone("bob", listen=True, context="ARI-test")
    try:
        async with app_events(http, "hello") as events:
            chan = caller.call("1000")
            await events.wait("StasisStart", chan.id)
            status, media = await call(
                http,
                "POST",
                "/channels/externalMedia",
                params={
                    "app": "hello",
                    "external_host": f"127.0.0.1:{port}",
                    "encapsulation": "audiosocket",
                    "transport": "tcp",
                    "format": "slin",
                    "data": str(uuid.uuid4()),
                },
            )
            assert status == 200, media
            await events.wait("StasisStart", media["id"])
            status, bridge = await call(http, "POST", "/bridges")
            await call(
                http,
                "POST",
                f"/bridges/{bridge['id']}/addChannel",
                params={"channel": f"{chan.id},{media['id']}"},
            )
            writer = await asyncio.wait_for(connected, 5)
            caller.play(tone(700, 800))
            await wait_for(
                lambda: has_tone(
                    np.frombuffer(bytes(received), dtype="<i2").astype(np.int16),
                    700,
                    min_amplitude=3000,
                )
            )
            writer.write(
                b"\x10" + struct.pack("!H", 12800) + tone(1300, 800).astype("<i2").tobytes()
            )
            await wait_for(lambda: has_tone(caller.heard(), 1300, min_amplitude=3000))
            writer.write(b"\x00\x00\x00")  # the bot hangs up
            await events.wait("StasisEnd", media["id"])
            assert chan.id in server.core.channels
    finally:
        listener.close()
        await listener.wait_closed()
