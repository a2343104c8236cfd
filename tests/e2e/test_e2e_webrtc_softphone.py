"""The softphone page in a real browser: headless Chromium (Debian's, driven over the
DevTools protocol, :mod:`e2e.chromium`) with a fake microphone playing a 440 Hz tone
loads ``/static/softphone/`` from pyari's HTTPS listener, registers as the ``webrtc``
endpoint of the embedded defaults over WSS (and over WS from the plain listener), shows
in ``pjsip show contacts``; a wrong password never registers; the page calls 1000 into
Stasis(hello): the application sees StasisStart, hangs up, and the page hangs up the
next call; the application records the browser's tone and plays another, which the
page's WebAudio analyser reports (ICE, DTLS-SRTP and Opus/G.711 from pyari's WebRTC
media).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from conftest import auth_headers, make_server, wait_for, write_tone_wav
from e2e.chromium import BINARY, Chromium
from pyari.cli.commands import run_command
from pyari.server import Server
from pyari.testing.audio import has_tone
from sip.sip_phone_helpers import Events
from sip.test_sip_tcp_out import config_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BINARY is None, reason="chromium not installed"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
]

BROWSER_TONE = 440
PASSWORD = "pyari-webrtc"  # the embedded pjsip.conf's


def write_tone(path: Path, hz: int = BROWSER_TONE, seconds: float = 4.0) -> None:
    write_tone_wav(path, hz, seconds, rate=16000, amplitude=8000)


def self_signed(folder: Path) -> Path:
    """A certificate for 127.0.0.1 and its key, in one PEM file (as the README makes)."""
    pem = folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-out", str(pem), "-keyout", str(pem)],
        check=True, capture_output=True,
    )  # fmt: skip
    return pem


@contextlib.asynccontextmanager
async def tls_server(tmp_path: Path, pjsip: str = "") -> AsyncIterator[Server]:
    """A server whose HTTPS listener (a self-signed certificate for 127.0.0.1) serves the
    page, with ``pjsip`` added to the test's pjsip.conf."""
    pem = self_signed(tmp_path)
    srv = make_server(
        config_dir(tmp_path, pjsip),
        tlsenable=True,
        tlsbindaddr="127.0.0.1",
        tlsbindport=0,
        tlscertfile=pem,
        tlsprivatekey=pem,
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@contextlib.asynccontextmanager
async def ari_events(
    server: Server, app: str = "hello"
) -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]]:
    """An ARI session to ``server`` and the events socket of ``app``."""
    base = f"http://127.0.0.1:{server.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
        http.ws_connect(f"/ari/events?app={app}") as ws,
    ):
        yield http, ws


async def open_page(browser: Chromium, server: Server) -> None:
    """The softphone page over HTTPS, registered over WSS."""
    await browser.navigate(page_url(server))
    await browser.wait_for("softphone.registration === 'registered'")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async with tls_server(tmp_path) as srv:
        yield srv


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Chromium]:
    tone = tmp_path / "tone.wav"
    write_tone(tone)
    chromium = Chromium(tmp_path / "chromium", fake_audio=tone)
    await chromium.start()
    try:
        yield chromium
    finally:
        await chromium.close()


def page_url(server: Server, *, secure: bool = True, password: str = PASSWORD) -> str:
    if secure:
        base = f"https://127.0.0.1:{server.https_port}"
    else:
        base = f"http://127.0.0.1:{server.http_port}"
    return f"{base}/static/softphone/index.html?user=webrtc&password={password}&number=1000"


async def test_softphone_registers_over_wss(server: Server, browser: Chromium) -> None:
    await browser.navigate(page_url(server))
    await browser.wait_for("window.softphone && softphone.registration === 'registered'")
    [binding] = server.pjsip.ua.location.lookup("webrtc", server.pjsip.now())
    assert binding.transport == "WSS"
    assert ".invalid" in binding.uri and "transport=ws" in binding.uri
    contacts = await run_command(server, "pjsip show contacts")
    assert f"webrtc/{binding.uri}"[:40] in contacts
    endpoint = server.core.endpoints.find("PJSIP/webrtc")
    assert endpoint is not None
    await wait_for(lambda: endpoint.state == "online")
    # leaving the page closes the socket: the contact goes away
    await browser.navigate("about:blank")
    await wait_for(lambda: not server.pjsip.ua.location.lookup("webrtc", server.pjsip.now()))
    await wait_for(lambda: endpoint.state == "offline")


async def test_softphone_registers_over_ws_on_the_plain_listener(
    server: Server, browser: Chromium
) -> None:
    await browser.navigate(page_url(server, secure=False))
    await browser.wait_for("window.softphone && softphone.registration === 'registered'")
    [binding] = server.pjsip.ua.location.lookup("webrtc", server.pjsip.now())
    assert binding.transport == "WS"


async def test_wrong_password_never_registers(server: Server, browser: Chromium) -> None:
    await browser.navigate(page_url(server, password="not-the-password"))
    failed = await browser.wait_for(
        "window.softphone && softphone.registration.startsWith('failed') && softphone.registration"
    )
    assert "Authentication" in failed or "Rejected" in failed
    assert server.pjsip.ua.location.lookup("webrtc", server.pjsip.now()) == []


async def test_softphone_calls_1000_into_stasis_and_hangs_up_both_ways(
    server: Server, browser: Chromium
) -> None:
    await open_page(browser, server)
    async with ari_events(server) as (http, ws):
        events = Events(ws)
        await browser.evaluate("document.getElementById('call').click()")
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/webrtc-")
        await browser.wait_for("softphone.state === 'in call'")
        # the app hangs up: the page sees the call end
        r = await http.delete(f"/ari/channels/{chan['id']}")
        assert r.status == 204
        await browser.wait_for("softphone.state === 'ended'")
        await events.wait("StasisEnd")
        # again, and the page hangs up
        await browser.evaluate("document.getElementById('call').click()")
        chan = (await events.wait("StasisStart", 2))["channel"]
        await browser.wait_for("softphone.state === 'in call'")
        await browser.evaluate("document.getElementById('hangup').click()")
        assert (await events.wait("StasisEnd", 2))["channel"]["id"] == chan["id"]
        await wait_for(lambda: chan["id"] not in server.core.channels)
        events.task.cancel()


async def test_softphone_audio_both_ways(server: Server, browser: Chromium) -> None:
    """The app records the browser (its fake microphone's 440 Hz) and plays 1000 Hz,
    which the page's analyser reports."""
    await open_page(browser, server)
    async with ari_events(server) as (http, ws):
        events = Events(ws)
        await browser.evaluate("document.getElementById('call').click()")
        chan = (await events.wait("StasisStart"))["channel"]
        await browser.wait_for("softphone.state === 'in call'")
        r = await http.post(
            f"/ari/channels/{chan['id']}/record",
            params={"name": "browser", "format": "wav", "ifExists": "overwrite",
                    "maxDurationSeconds": "3"},
        )  # fmt: skip
        assert r.status == 201, await r.text()
        r = await http.post(f"/ari/channels/{chan['id']}/play", params={"media": "tone:1000"})
        assert r.status == 201, await r.text()
        heard = await browser.wait_for(
            "softphone.level > 0.01 && Math.abs(softphone.lastFrequency - 1000) < 40 "
            "&& softphone.lastFrequency"
        )
        assert abs(heard - 1000) < 40
        await events.wait("RecordingFinished")
        await browser.evaluate("document.getElementById('hangup').click()")
        await events.wait("StasisEnd")
        events.task.cancel()
    path = server.config.asterisk.astspooldir / "recording" / "browser.wav"
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert len(samples) > rate  # more than a second
    assert has_tone(samples, BROWSER_TONE, rate=rate, min_amplitude=300)
    assert not has_tone(samples, 1000, rate=rate, min_amplitude=300)  # not our own echo


async def test_an_originated_call_rings_the_page(server: Server, browser: Chromium) -> None:
    """pyari calls the browser: the INVITE goes on its WebSocket (its contact is .invalid),
    the page shows the incoming call and answers; the app gets the channel."""
    await open_page(browser, server)
    async with ari_events(server, "out") as (http, ws):
        events = Events(ws)
        r = await http.post("/ari/channels", params={"endpoint": "PJSIP/webrtc", "app": "out"})
        assert r.status == 200, await r.text()
        chan_id = (await r.json())["id"]
        await browser.wait_for("softphone.state === 'incoming'")
        await browser.evaluate("document.getElementById('call').click()")  # Answer
        assert (await events.wait("StasisStart"))["channel"]["id"] == chan_id
        await browser.wait_for("softphone.state === 'in call'")
        r = await http.delete(f"/ari/channels/{chan_id}")
        assert r.status == 204
        await browser.wait_for("softphone.state === 'ended'")
        events.task.cancel()
