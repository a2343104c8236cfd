"""UnicastRTP external media over loopback: a Python RTP peer (a voice bot) hears what a
simulated phone says in a bridge, and the phone hears what the bot sends back."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from typing import Any

import aiohttp
import numpy as np
import pytest

from ari.media_audio_helpers import level, tone
from conftest import wait_for
from pyari.channels.unicast_rtp import UnicastRtpTech
from pyari.core.tech import DuplicateId
from pyari.media.codecs import decode, encode
from pyari.media.frames import ULAW
from pyari.server import Server


class RtpPeer:
    """A bot: receives RTP (µ-law), sends RTP back to where the channel said."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.packets: list[tuple[int, bytes]] = []
        self.sources: set[tuple[str, int]] = set()
        loop = asyncio.get_running_loop()
        loop.add_reader(self.sock.fileno(), self._read)

    def _read(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            if len(data) >= 12 and data[0] >> 6 == 2:
                self.packets.append((data[1] & 0x7F, data[12:]))
                self.sources.add(addr)

    def heard(self) -> np.ndarray:
        payload = b"".join(p for pt, p in self.packets if pt == 0)
        return decode(ULAW, np.frombuffer(payload, dtype=np.uint8))

    async def send(self, samples: np.ndarray, dest: tuple[str, int]) -> None:
        encoded = encode(ULAW, samples).tobytes()
        seq, ts, ssrc = 100, 1000, 0x1234ABCD
        for i in range(0, len(encoded) - 159, 160):
            header = struct.pack("!BBHII", 0x80, 0x80 if i == 0 else 0, seq, ts, ssrc)
            self.sock.sendto(header + encoded[i : i + 160], dest)
            seq, ts = seq + 1, ts + 160
            await asyncio.sleep(0.02)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kw) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


async def test_unicast_rtp_bot_hears_and_speaks(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bot = RtpPeer()
    alice = server.sim.phone("alice", listen=True)
    try:
        async with http.ws_connect("/ari/events?app=bot"):
            status, ext = await call(
                http,
                "POST",
                "/ari/channels/externalMedia",
                params={
                    "app": "bot",
                    "external_host": f"127.0.0.1:{bot.port}",
                    "format": "ulaw",
                    "encapsulation": "rtp",
                    "transport": "udp",
                    "connection_type": "client",
                    "direction": "both",
                    "channelId": "bot-leg",
                },
            )
            assert status == 200, ext
            assert ext["id"] == "bot-leg"
            assert ext["name"].startswith(f"UnicastRTP/127.0.0.1:{bot.port}-0x")
            local_addr = ext["channelvars"]["UNICASTRTP_LOCAL_ADDRESS"]
            local_port = int(ext["channelvars"]["UNICASTRTP_LOCAL_PORT"])
            assert local_addr == "127.0.0.1"
            status, _ = await call(
                http, "POST", "/ari/channels", params={"endpoint": "Sim/alice", "app": "bot",
                                                       "channelId": "alice-leg"},
            )  # fmt: skip
            assert status == 200
            await wait_for(lambda: server.core.channels["alice-leg"].up)
            await wait_for(lambda: server.core.channels["bot-leg"].up)
            status, _ = await call(http, "POST", "/ari/bridges/b1", params={"type": "mixing"})
            assert status == 200
            status, _ = await call(
                http, "POST", "/ari/bridges/b1/addChannel",
                params={"channel": "alice-leg,bot-leg"},
            )  # fmt: skip
            assert status == 204
            # alice speaks a 1 kHz tone: the bot receives it as RTP
            await alice.play(tone(1000, 600))
            await wait_for(lambda: level(bot.heard(), 1000) > 2000, timeout=5)
            assert bot.sources == {(local_addr, local_port)}
            # the bot answers with 440 Hz: alice hears it
            await bot.send(tone(440, 600), (local_addr, local_port))
            await wait_for(lambda: level(alice.heard()[-4800:], 440) > 1000, timeout=5)
            status, stats = await call(http, "GET", "/ari/channels/bot-leg/rtp_statistics")
            assert status == 200
            assert stats["txcount"] > 20 and stats["rxcount"] >= 25
    finally:
        bot.close()


async def test_unicast_rtp_bad_host_and_format(server: Server, http: aiohttp.ClientSession) -> None:
    base = {"app": "bot", "encapsulation": "rtp", "transport": "udp"}
    status, _body = await call(
        http, "POST", "/ari/channels/externalMedia",
        params={**base, "external_host": "127.0.0.1", "format": "ulaw"},
    )  # fmt: skip
    assert status == 400
    status, _body = await call(
        http, "POST", "/ari/channels/externalMedia",
        params={**base, "external_host": "127.0.0.1:4000", "format": "nope"},
    )  # fmt: skip
    assert status == 400
    assert not [c for c in server.core.channels.values() if c.name.startswith("UnicastRTP/")]


async def test_unicast_rtp_taken_id_opens_no_stream(server: Server) -> None:
    tech = server.core.techs["unicastrtp"]
    assert isinstance(tech, UnicastRtpTech)
    first = tech.create(server.core, "127.0.0.1", 4000, ULAW, uniqueid="taken")
    streams = len(server.rtp.streams)
    with pytest.raises(DuplicateId):
        tech.create(server.core, "127.0.0.1", 4002, ULAW, uniqueid="taken")
    assert len(server.rtp.streams) == streams  # refused before its RTP port was opened
    assert server.core.channels["taken"] is first
    first.request_hangup()
    await wait_for(lambda: first.destroyed)
    assert len(server.rtp.streams) == streams - 1
