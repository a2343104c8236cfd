"""Media gaps closed against Asterisk: snoop whisper into what a channel says,
inband DTMF on PJSIP endpoints with ``dtmf_mode=inband``."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import level, tone, wav_samples
from conftest import auth_headers, make_server, wait_for
from pyari.config.embedded import write_samples
from pyari.media.codecs import encode
from pyari.media.dtmf import dtmf_sequence
from pyari.media.frames import ULAW
from pyari.server import Server
from pyari.sip.sdp import parse_sdp


async def _whispered_pair(
    server: Server, http: aiohttp.ClientSession, whisper: str
) -> tuple[object, object]:
    """Sim alice and bob bridged, a snoop on alice whispering ``whisper`` plays 1500 Hz
    while alice says 700 Hz; returns the two phones once bob has heard enough."""
    alice = server.sim.phone("alice", listen=True)
    bob = server.sim.phone("bob", listen=True)
    async with app_events(http, "t") as events, app_events(http, "spy") as spy:
        a = await stasis_channel(http, events, endpoint="Sim/alice")
        b = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", "/bridges/pair")
        status, _ = await call(
            http, "POST", "/bridges/pair/addChannel", params={"channel": f"{a},{b}"}
        )
        assert status == 204
        status, snoop = await call(
            http,
            "POST",
            f"/channels/{a}/snoop/sn1",
            params={"app": "spy", "whisper": whisper},
        )
        assert status == 200, snoop
        await spy.wait("StasisStart", "sn1")
        status, _ = await call(
            http, "POST", "/channels/sn1/play/w1", params={"media": "tone:1500/1000"}
        )
        assert status == 201
        await spy.wait("PlaybackStarted")
        mark_bob, mark_alice = len(bob.heard()), len(alice.heard())
        await alice.play(tone(700, 800))
        await wait_for(lambda: len(bob.heard()) - mark_bob >= 6400)
        heard_bob = bob.heard()[mark_bob + 800 : mark_bob + 6400]
        heard_alice = alice.heard()[mark_alice + 800 :]
        await call(http, "DELETE", "/channels/sn1")
        await spy.wait("StasisEnd", "sn1")
    return heard_bob, heard_alice


async def test_whisper_in_is_heard_by_the_far_end_mixed_with_the_target_voice(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "in")
    assert level(bob, 700) > 2000  # alice's own voice still reaches bob
    assert level(bob, 1500) > 2000  # and the whisper is mixed into it
    assert level(alice, 1500) < 100  # alice herself does not hear the whisper


async def test_whisper_out_is_heard_by_the_target_only(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "out")
    assert level(bob, 700) > 2000
    assert level(bob, 1500) < 100
    assert level(alice, 1500) > 2000


async def test_whisper_both_is_heard_on_both_sides(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "both")
    assert level(bob, 700) > 2000 and level(bob, 1500) > 2000
    assert level(alice, 1500) > 2000


async def test_a_spy_in_does_not_hear_another_snoop_whispering_in(
    server: Server, http: aiohttp.ClientSession
) -> None:
    # Asterisk runs spy audiohooks before whisper ones: a spy hears the channel alone.
    alice = server.sim.phone("alice")
    async with app_events(http, "t") as events, app_events(http, "spy") as spy:
        a = await stasis_channel(http, events, endpoint="Sim/alice")
        for sid, params in (("w", {"whisper": "in"}), ("s", {"spy": "in"})):
            status, _ = await call(
                http, "POST", f"/channels/{a}/snoop/{sid}", params={"app": "spy", **params}
            )
            assert status == 200
            await spy.wait("StasisStart", sid)
        status, _ = await call(http, "POST", "/channels/w/play", params={"media": "tone:1500"})
        assert status == 201
        await spy.wait("PlaybackStarted")
        status, _ = await call(
            http,
            "POST",
            "/channels/s/record",
            params={"name": "spy-whisper", "format": "wav", "maxDurationSeconds": 1},
        )
        assert status == 201
        await spy.wait("RecordingStarted")
        await alice.play(tone(700, 1200))
        await spy.wait("RecordingFinished")
    spied = wav_samples(server.config.asterisk.astspooldir / "recording" / "spy-whisper.wav")
    assert level(spied, 700) > 1000
    assert level(spied, 1500) < 100


# --- inband DTMF on PJSIP endpoints ----------------------------------------------------


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
