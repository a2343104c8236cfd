"""AudioSocket external media: the protocol, and a call's audio to and from a TCP server."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import numpy as np
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from conftest import wait_for
from pyari.channels.audiosocket import Parser, audio_message, dtmf_message, uuid_message
from pyari.media.frames import SLIN16, ULAW
from pyari.server import Server
from pyari.testing.audio import has_tone, tone


def test_messages_have_a_kind_a_length_and_a_payload() -> None:
    call_id = "40325ec2-5efd-4bd3-805f-53576e581d13"
    assert uuid_message(call_id) == b"\x01\x00\x10" + uuid.UUID(call_id).bytes
    assert dtmf_message("5") == b"\x03\x00\x015"
    assert audio_message(SLIN16, b"\x01\x02") == b"\x12\x00\x02\x01\x02"
    assert audio_message(ULAW, b"\xff") == b"\x10\x00\x01\xff"  # any non-slin format: 0x10


def test_the_parser_takes_a_byte_stream_in_any_pieces() -> None:
    parser = Parser()
    wire = b"\x10\x00\x04abcd" + b"\x00\x00\x00" + b"\xff\x00\x01e"
    got = []
    for i in range(len(wire)):
        got += parser.feed(wire[i : i + 1])
    assert got == [(0x10, b"abcd"), (0x00, b""), (0xFF, b"e")]


@dataclass
class AudioSocketServer:
    """An AudioSocket server, as a voice bot runs one."""

    port: int = 0
    kinds: list[int] = field(default_factory=list)
    ids: list[uuid.UUID] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    digits: list[str] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while True:
                kind, length = struct.unpack("!BH", await reader.readexactly(3))
                payload = await reader.readexactly(length)
                self.kinds.append(kind)
                if kind == 0x01:
                    self.ids.append(uuid.UUID(bytes=payload))
                elif kind == 0x10:
                    self.audio += payload
                elif kind == 0x03:
                    self.digits.append(payload.decode())
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed.set()

    def heard(self) -> np.ndarray:
        return np.frombuffer(bytes(self.audio), dtype="<i2").astype(np.int16)

    def send(self, kind: int, payload: bytes = b"") -> None:
        self.writers[-1].write(struct.pack("!BH", kind, len(payload)) + payload)


@pytest.fixture
async def bot() -> AsyncIterator[AudioSocketServer]:
    srv = AudioSocketServer()
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = server.sockets[0].getsockname()[1]
    try:
        yield srv
    finally:
        for w in srv.writers:
            w.close()
        server.close()
        await server.wait_closed()


def params(bot: AudioSocketServer, call_id: str, **extra: str) -> dict[str, str]:
    return {
        "app": "t",
        "external_host": f"127.0.0.1:{bot.port}",
        "encapsulation": "audiosocket",
        "transport": "tcp",
        "format": "slin",
        "data": call_id,
        **extra,
    }


async def test_a_call_streams_to_an_audiosocket_server_and_hears_it_back(
    server: Server, http: aiohttp.ClientSession, bot: AudioSocketServer
) -> None:
    alice = server.sim.phone("alice", listen=True)
    call_id = str(uuid.uuid4())
    async with app_events(http, "t") as events:
        caller = await stasis_channel(http, events, endpoint="Sim/alice")
        status, ext = await call(
            http, "POST", "/channels/externalMedia", params=params(bot, call_id, channelId="ext1")
        )
        assert status == 200, ext
        assert ext["id"] == "ext1"
        assert ext["name"] == f"AudioSocket/127.0.0.1:{bot.port}-{call_id}"
        assert ext["channelvars"] == {
            "AUDIOSOCKET_UUID": call_id,
            "AUDIOSOCKET_SERVICE": f"127.0.0.1:{bot.port}",
        }
        start = await events.wait("StasisStart", "ext1")
        assert start["args"] == [call_id]
        assert start["channel"]["state"] == "Up"
        await wait_for(lambda: bot.ids == [uuid.UUID(call_id)])
        assert bot.kinds[0] == 0x01  # the UUID comes first

        await call(http, "POST", "/bridges/b1")
        status, _ = await call(
            http, "POST", "/bridges/b1/addChannel", params={"channel": f"{caller},ext1"}
        )
        assert status == 204
        await alice.play(tone(700, 600))
        await wait_for(lambda: has_tone(bot.heard(), 700, min_amplitude=3000))

        reply = tone(1300, 600).astype("<i2").tobytes()
        for i in range(0, len(reply), 320):
            bot.send(0x10, reply[i : i + 320])
        await wait_for(lambda: has_tone(alice.heard(), 1300, min_amplitude=3000))

        alice.send_dtmf("7")
        status, _ = await call(http, "POST", "/channels/ext1/dtmf", params={"dtmf": "5"})
        assert status == 204
        await wait_for(lambda: bot.digits == ["7", "5"])

        bot.send(0x00)  # the bot hangs up
        await events.wait("StasisEnd", "ext1")
        await wait_for(lambda: "ext1" not in server.core.channels)
    assert caller in server.core.channels


async def test_hanging_up_the_channel_closes_the_connection(
    server: Server, http: aiohttp.ClientSession, bot: AudioSocketServer
) -> None:
    async with app_events(http, "t") as events:
        status, ext = await call(
            http, "POST", "/channels/externalMedia", params=params(bot, str(uuid.uuid4()))
        )
        assert status == 200, ext
        await events.wait("StasisStart", ext["id"])
        status, _ = await call(http, "DELETE", f"/channels/{ext['id']}")
        assert status == 204
        await asyncio.wait_for(bot.closed.wait(), 5)
        assert 0x00 not in bot.kinds  # Asterisk just closes the socket


async def test_a_message_the_channel_does_not_take_hangs_it_up(
    server: Server, http: aiohttp.ClientSession, bot: AudioSocketServer
) -> None:
    async with app_events(http, "t") as events:
        status, ext = await call(
            http, "POST", "/channels/externalMedia", params=params(bot, str(uuid.uuid4()))
        )
        assert status == 200
        await events.wait("StasisStart", ext["id"])
        bot.send(0x03, b"1")  # DTMF is only sent to the server
        await events.wait("StasisEnd", ext["id"])
        await asyncio.wait_for(bot.closed.wait(), 5)


async def test_audio_in_a_16k_format_goes_out_with_its_kind(
    server: Server, http: aiohttp.ClientSession, bot: AudioSocketServer
) -> None:
    async with app_events(http, "t") as events:
        status, ext = await call(
            http,
            "POST",
            "/channels/externalMedia",
            params=params(bot, str(uuid.uuid4()), format="slin16"),
        )
        assert status == 200
        await events.wait("StasisStart", ext["id"])
        status, _ = await call(
            http, "POST", f"/channels/{ext['id']}/play", params={"media": "tone:440"}
        )
        assert status == 201
        await wait_for(lambda: 0x12 in bot.kinds)


async def test_bad_requests_make_no_channel(
    server: Server, http: aiohttp.ClientSession, bot: AudioSocketServer
) -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    closed_port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    good = str(uuid.uuid4())
    cases = [
        (params(bot, "not-a-uuid"), 400, "Invalid endpoint specified"),
        (params(bot, good, format="nope"), 400, "Provided format (nope) was not found"),
        (
            params(bot, good, external_host=f"127.0.0.1:{closed_port}"),
            400,
            "Invalid endpoint specified",
        ),
        (params(bot, good, channelId="x" * 129), 400, "Uniqueid length exceeds maximum of 128"),
    ]
    for query, code, message in cases:
        status, body = await call(http, "POST", "/channels/externalMedia", params=query)
        assert (status, body) == (code, {"message": message}), query
    assert server.core.channels == {}
    assert bot.ids == []
    async with app_events(http, "t") as events:
        status, _ = await call(
            http, "POST", "/channels/externalMedia", params=params(bot, good, channelId="dup")
        )
        assert status == 200
        await events.wait("StasisStart", "dup")
        status, body = await call(
            http, "POST", "/channels/externalMedia", params=params(bot, good, channelId="dup")
        )
        assert (status, body) == (409, {"message": "Channel with given unique ID already exists"})
