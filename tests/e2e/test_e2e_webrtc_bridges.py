"""The browser softphone in a mixing bridge with a desk phone (issue #17's acceptance):
headless Chromium (fake microphone: 440 Hz) calls 1000 over WSS with Opus and
DTLS-SRTP; a desk phone calls 1000 too: baresip over UDP with G.722 only (its file
source: 1200 Hz), or SIPp with G.711 A-law (a pcap of 1800 Hz made by the test). The
application bridges the two channels and records the bridge. The recording holds both
tones (each leg decoded into the mix), and the page's analyser hears the desk phone's
tone (G.722 → slin16 → Opus, or A-law → Opus, on the way to the browser).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from conftest import wait_for
from e2e.chromium import BINARY, Chromium
from e2e.test_e2e_baresip import MODULES, Baresip, Events, configure, free_port
from e2e.test_e2e_sipp import run_sipp, uac_args
from e2e.test_e2e_webrtc_softphone import ari_events, open_page, tls_server, write_tone
from pyari.channels.pjsip import PjsipPvt
from pyari.core.tech import pvt_of
from pyari.media.codecs import alaw_encode
from pyari.server import Server
from pyari.testing.audio import has_tone, tone

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BINARY is None, reason="chromium not installed"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
    pytest.mark.skipif(not (MODULES / "g722.so").exists(), reason="baresip's g722 missing"),
]

BROWSER_TONE = 440
DESK_TONE = 1200
SIPP_TONE = 1800

HD_PHONE = """
[hd]
type = endpoint
context = ARI-test
disallow = all
allow = g722
aors = hd
auth = hd
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes

[hd]
type = auth
auth_type = userpass
username = hd
password = pyari-hd

[hd]
type = aor
max_contacts = 1
remove_existing = yes
"""


def configure_g722(home: Path, sip_server: tuple[str, int], ctrl_port: int) -> None:
    """A baresip that speaks G.722 only, its microphone a 1200 Hz file (16 kHz), as
    :func:`e2e.test_e2e_baresip.configure` sets it up."""
    configure(
        home,
        sip_server,
        ctrl_port,
        user="hd",
        password="pyari-hd",
        codecs="G722",
        modules=("g722.so",),
        srate=16000,
        source=lambda path: write_tone(path, DESK_TONE, seconds=6.0),
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with tls_server(tmp_path, HD_PHONE) as srv:
        yield srv


def channel_named(server: Server, prefix: str) -> str | None:
    """The id of the first channel whose name starts with ``prefix``."""
    return next((c.id for c in server.core.channels.values() if c.name.startswith(prefix)), None)


async def browser_calls(browser: Chromium, server: Server, events: Events) -> dict[str, Any]:
    """The page registers and calls 1000: its channel (at StasisStart)."""
    await open_page(browser, server)
    await browser.evaluate("document.getElementById('call').click()")
    return dict((await events.wait("StasisStart"))["channel"])


async def mix_and_record(
    http: aiohttp.ClientSession, browser: Chromium, channels: str, name: str, hz: int
) -> None:
    """``channels`` in a new mixing bridge recorded (3 s) as ``name``; the page hears ``hz``."""
    r = await http.post("/ari/bridges", params={"type": "mixing"})
    assert r.status == 200
    bridge = (await r.json())["id"]
    r = await http.post(f"/ari/bridges/{bridge}/addChannel", params={"channel": channels})
    assert r.status == 204, await r.text()
    r = await http.post(
        f"/ari/bridges/{bridge}/record",
        params={"name": name, "format": "wav", "ifExists": "overwrite",
                "maxDurationSeconds": "3"},
    )  # fmt: skip
    assert r.status == 201, await r.text()
    heard = await browser.wait_for(
        f"Math.abs(softphone.lastFrequency - {hz}) < 40 && softphone.lastFrequency", timeout=20
    )
    assert abs(heard - hz) < 40


def assert_recorded(server: Server, name: str, *tones: int) -> None:
    """The recording ``name`` is longer than a second and holds every tone."""
    path = server.config.asterisk.astspooldir / "recording" / f"{name}.wav"
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(samples) > rate
    for hz in tones:
        assert has_tone(samples, hz, rate=rate, min_amplitude=300, purity=0.3), hz


async def test_browser_and_a_g722_desk_phone_in_a_mixing_bridge(
    server: Server, tmp_path: Path
) -> None:
    tone = tmp_path / "browser.wav"
    write_tone(tone, BROWSER_TONE, seconds=6.0)
    browser = Chromium(tmp_path / "chromium", fake_audio=tone)
    home = tmp_path / "baresip"
    ctrl = free_port(socket.SOCK_STREAM)
    configure_g722(home, server.pjsip.address(), ctrl)
    desk = Baresip(home, ctrl)
    try:
        await browser.start()
        async with ari_events(server) as (http, ws):
            events = Events(ws)
            web = await browser_calls(browser, server, events)
            assert web["name"].startswith("PJSIP/webrtc-")
            await desk.start()
            await wait_for(lambda: server.pjsip.ua.location.lookup("hd", server.pjsip.now()))
            host, port = server.pjsip.address()
            desk.command("dial", f"sip:1000@{host}:{port}")
            await desk.event("CALL_ESTABLISHED")
            await wait_for(lambda: channel_named(server, "PJSIP/hd-") is not None)
            desk_id = channel_named(server, "PJSIP/hd-")
            assert desk_id is not None
            media = pvt_of(server.core.channels[desk_id], PjsipPvt).media
            assert media is not None and media.codec.name.lower() == "g722"
            web_media = pvt_of(server.core.channels[web["id"]], PjsipPvt).media
            assert web_media is not None and web_media.codec.name.lower() == "opus"
            await mix_and_record(http, browser, f"{web['id']},{desk_id}", "mix", DESK_TONE)
            await events.wait("RecordingFinished", timeout=15)
            await browser.evaluate("document.getElementById('hangup').click()")
            await wait_for(lambda: web["id"] not in server.core.channels)
            desk.command("hangup")
            await desk.event("CALL_CLOSED")
            events.task.cancel()
    finally:
        await browser.close()
        await desk.close()
        await asyncio.sleep(0)
    assert_recorded(server, "mix", BROWSER_TONE, DESK_TONE)


def write_alaw_pcap(path: Path, hz: int, seconds: float) -> None:
    """A pcap of RTP packets (PCMA, 20 ms each, Ethernet/IPv4/UDP) carrying a ``hz``
    tone: what SIPp's ``play_pcap_audio`` sends, paced by the packets' times."""
    codes = bytes(alaw_encode(tone(hz, int(seconds * 1000), amplitude=8000)))
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n in range(len(codes) // 160):
        rtp = struct.pack("!BBHII", 0x80, 8, n, n * 160, 0x5EED) + codes[n * 160 : (n + 1) * 160]
        udp = struct.pack("!HHHH", 40000, 40002, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp  # fmt: skip
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        usec = n * 20000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                               len(frame)) + frame)  # fmt: skip
    path.write_bytes(b"".join(out))


async def test_browser_and_a_sipp_g711_call_in_a_mixing_bridge(
    server: Server, tmp_path: Path
) -> None:
    tone_file = tmp_path / "browser.wav"
    write_tone(tone_file, BROWSER_TONE, seconds=6.0)
    sipp_dir = tmp_path / "sipp"
    sipp_dir.mkdir()
    # scenario() links SIPp's own g711a.pcap only when the folder has none: this one plays
    write_alaw_pcap(sipp_dir / "g711a.pcap", SIPP_TONE, seconds=10.0)
    browser = Chromium(tmp_path / "chromium", fake_audio=tone_file)
    sipp: asyncio.Task[tuple[int, str]] | None = None
    try:
        await browser.start()
        async with ari_events(server) as (http, ws):
            events = Events(ws)
            web = await browser_calls(browser, server, events)
            sipp = asyncio.ensure_future(
                run_sipp(*uac_args(server, sipp_dir, hold_ms=8000), timeout=40)
            )
            await wait_for(lambda: channel_named(server, "PJSIP/2222-") is not None, timeout=10)
            desk_id = channel_named(server, "PJSIP/2222-")
            assert desk_id is not None
            media = pvt_of(server.core.channels[desk_id], PjsipPvt).media
            assert media is not None and media.codec.name.lower() in ("alaw", "pcma")
            await mix_and_record(http, browser, f"{web['id']},{desk_id}", "mix-sipp", SIPP_TONE)
            await events.wait("RecordingFinished", timeout=15)
            await browser.evaluate("document.getElementById('hangup').click()")
            await wait_for(lambda: web["id"] not in server.core.channels)
            code, out = await sipp
            assert code == 0, out
            events.task.cancel()
    finally:
        await browser.close()
        if sipp is not None and not sipp.done():
            sipp.cancel()
    assert_recorded(server, "mix-sipp", BROWSER_TONE, SIPP_TONE)
