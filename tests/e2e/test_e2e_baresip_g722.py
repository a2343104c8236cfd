"""baresip calls with G.722 (its own codec, libg722 of spandsp's lineage is not ours):
into Stasis, then bridged with a G.711 leg, each hearing the other through pyari's
transcoding (G.722 → slin16 → slin → µ-law and back), checked by spectrum.

baresip's ``aufile`` plays a 1 kHz tone at 16 kHz into the call and its ``sndfile``
module writes what it decoded to a WAV file; the G.711 leg is an ARI externalMedia
(UnicastRTP, µ-law) channel whose far end is the test's RTP socket sending 1.5 kHz.
Like tests/e2e/test_e2e_baresip.py, baresip listens on the wildcard address (its network
layer will not use loopback alone) and talks to pyari on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from channels.webrtc_peers import RtpPeer, config_dir, peak, wav_samples
from conftest import auth_headers, make_server, wait_for, write_tone_wav
from e2e.test_e2e_baresip import MODULES, Baresip, Events, configure, free_port
from pyari.channels.pjsip import PjsipPvt
from pyari.core.tech import pvt_of
from pyari.server import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
    pytest.mark.skipif(not (MODULES / "g722.so").exists(), reason="baresip g722 missing"),
]

HD = """
[2222]
type = endpoint
context = ARI-test
disallow = all
allow = g722
allow = ulaw
aors = 2222
auth = 2222
dtmf_mode = rfc4733
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
callerid = "Phone 2222" <2222>
"""


def _write_tone(path: Path, freq: float, seconds: float, rate: int = 16000) -> None:
    write_tone_wav(path, freq, seconds, rate=rate, amplitude=7000)


def _configure(home: Path, sip: tuple[str, int], ctrl_port: int) -> Path:
    """baresip with G.722 (and G.711) at 16 kHz, its microphone 1000 Hz, what it plays
    recorded (``sndfile``) in the folder returned."""
    dumps = home / "dumps"
    configure(
        home,
        sip,
        ctrl_port,
        codecs="G722",
        modules=("g722.so", "g711.so"),
        srate=16000,
        source=lambda path: _write_tone(path, 1000.0, 8.0),
        extra=f"module sndfile.so\nsnd_path {dumps}\n",
    )
    dumps.mkdir()
    return dumps


@pytest.fixture
async def hd_server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, HD, rtp_conf="[general]\n"))
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def test_baresip_g722_into_stasis_and_bridged_with_g711(
    hd_server: Server, tmp_path: Path
) -> None:
    home = tmp_path / "baresip"
    ctrl = free_port(socket.SOCK_STREAM)
    dumps = _configure(home, hd_server.pjsip.address(), ctrl)
    baresip = Baresip(home, ctrl)
    loop = asyncio.get_running_loop()
    g711_transport, g711 = await loop.create_datagram_endpoint(
        lambda: RtpPeer("ulaw", 0), local_addr=("127.0.0.1", 0)
    )
    base = f"http://127.0.0.1:{hd_server.http_port}"
    try:
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
            http.ws_connect("/ari/events?app=hello") as ws,
        ):
            events = Events(ws)
            await baresip.start()
            await wait_for(lambda: bool(hd_server.pjsip.ua.location.all()), timeout=10)
            host, port = hd_server.pjsip.address()
            baresip.command("dial", f"sip:1000@{host}:{port}")
            start = await events.wait("StasisStart")
            phone_id = start["channel"]["id"]
            await baresip.event("CALL_ESTABLISHED")
            pvt = pvt_of(hd_server.core.channels[phone_id], PjsipPvt)
            assert pvt.media is not None and pvt.media.codec.name == "g722"
            assert pvt.media.payload_type == 9
            r = await http.post(
                "/ari/channels/externalMedia",
                params={"app": "hello", "external_host": f"127.0.0.1:{g711.address[1]}",
                        "format": "ulaw", "channelId": "g711-leg"},
            )  # fmt: skip
            assert r.status == 200
            ext = await r.json()
            local = (ext["channelvars"]["UNICASTRTP_LOCAL_ADDRESS"],
                     int(ext["channelvars"]["UNICASTRTP_LOCAL_PORT"]))  # fmt: skip
            r = await http.post("/ari/bridges/hd", params={"type": "mixing"})
            assert r.status == 200
            r = await http.post("/ari/bridges/hd/addChannel",
                                params={"channel": f"{phone_id},g711-leg"})  # fmt: skip
            assert r.status == 204
            await g711.send_tone(local, 1500.0, 3.0)
            heard, rate = g711.heard()
            r = await http.delete(f"/ari/channels/{phone_id}")
            assert r.status == 204
            await baresip.event("CALL_CLOSED")
            await http.delete("/ari/channels/g711-leg")
            events.task.cancel()
            with contextlib.suppress(Exception):
                baresip.command("quit")
        # the G.711 leg heard baresip's 1 kHz (G.722 decoded, mixed, µ-law encoded)
        assert len(heard) > rate
        assert abs(peak(heard[-rate:], rate) - 1000) < 15
        # baresip decoded the G.711 leg's 1.5 kHz from pyari's G.722
        dumped = sorted(dumps.glob("*dec*.wav"))
        assert dumped, list(dumps.iterdir())
        samples, drate = wav_samples(dumped[0])
        assert drate == 16000
        loud = samples[np.abs(samples) > 0]
        assert len(loud) > drate
        assert abs(peak(samples[-drate * 2 : -drate // 2], drate) - 1500) < 15
    finally:
        g711_transport.close()
        await baresip.close()
