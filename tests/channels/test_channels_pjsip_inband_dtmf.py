"""Inband DTMF on PJSIP endpoints with ``dtmf_mode=inband``: no telephone-event is
offered, and digits are detected in the RTP audio."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from ari.ari_ops_helpers import app_events
from conftest import auth_headers, make_server
from pyari.config.embedded import write_samples
from pyari.media.codecs import encode
from pyari.media.dtmf import dtmf_sequence
from pyari.media.frames import ULAW
from pyari.server import Server
from pyari.sip.sdp import parse_sdp


class _RtpPeer:
    """Sends µ-law RTP from a local socket (the phone's media)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.seq, self.ts = 1, 160

    async def send(self, samples: np.ndarray, dest: tuple[str, int]) -> None:
        encoded = encode(ULAW, samples).tobytes()
        for i in range(0, len(encoded) - 159, 160):
            header = struct.pack("!BBHII", 0x80, 0, self.seq, self.ts, 0x2468ACE0)
            self.sock.sendto(header + encoded[i : i + 160], dest)
            self.seq, self.ts = self.seq + 1, self.ts + 160
            await asyncio.sleep(0.02)


@pytest.fixture
async def inband_server(tmp_path: Path) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    write_samples(conf)
    pjsip = conf / "pjsip.conf"
    text = pjsip.read_text()
    assert "dtmf_mode = rfc4733" in text
    pjsip.write_text(text.replace("dtmf_mode = rfc4733", "dtmf_mode = inband"))
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def test_pjsip_inband_dtmf_endpoint_detects_tones_in_the_rtp(
    inband_server: Server,
) -> None:
    from channels.test_channels_pjsip import Phone, offer  # the in-process SIP phone

    server = inband_server
    loop = asyncio.get_running_loop()
    transport, phone = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    phone.server = server.pjsip.address()
    rtp = _RtpPeer()
    base = f"http://127.0.0.1:{server.http_port}"
    try:
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
            app_events(http, "hello") as events,
        ):
            invite = phone.request(
                "INVITE", "1000", body=offer(phone, port=rtp.port), content_type="application/sdp"
            )
            ok = await phone.authorized(invite)
            assert ok.status == 200
            answer = parse_sdp(ok.body)
            assert answer.audio is not None
            # No telephone-event offered back: digits can only come in the audio.
            assert "101" not in answer.audio.formats
            ack = phone.request("ACK", "1000", call_id=invite.call_id, from_tag=invite.from_.tag)
            ack.headers.set("To", ok.headers.get("to") or "")
            ack.headers.set("CSeq", f"{ok.cseq.number} ACK")
            phone.send(ack)
            start = await events.wait("StasisStart")
            cid = start["channel"]["id"]
            dest = (answer.connection_address(answer.audio) or "127.0.0.1", answer.audio.port)
            audio = np.concatenate(
                [np.zeros(800, np.int16), dtmf_sequence("73#", duration_ms=120, between_ms=100)]
            )
            await rtp.send(np.concatenate([audio, np.zeros(800, np.int16)]), dest)
            await events.wait("ChannelDtmfReceived", cid, count=3)
            got = [(e["digit"], e["duration_ms"]) for e in events.of("ChannelDtmfReceived", cid)]
            assert [d for d, _ in got] == ["7", "3", "#"]
            assert all(100 <= ms <= 160 for _, ms in got)
    finally:
        transport.close()
        rtp.sock.close()
