"""Real Chromium's WebRTC (its ICE, BoringSSL DTLS, SRTP and Opus) against a ``webrtc =
yes`` endpoint of a running pyari. The browser's offer, made by ``RTCPeerConnection``
with a fake microphone playing a known tone, is carried to pyari in a SIP INVITE by
the test phone (the media path is what is tested here; SIP over WebSocket and the
softphone page have their own tests), pyari's answer goes back to the browser. The
Stasis app records the browser (spectrum check) and plays a tone the browser measures
(its inbound-rtp statistics: packets, decoded samples, audio level). ICE stays on
127.0.0.1: Chromium is told to allow loopback candidates and pyari's rtp.conf answers
checks from 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.chromium_cdp import CHROMIUM, Chromium
from channels.test_channels_pjsip_webrtc import (
    WEBRTC,
    _ack,
    _invite,
    _record_while_talking,
    _recording,
)
from channels.webrtc_peers import config_dir, peak
from conftest import auth_headers, make_server, write_tone_wav
from pyari.sip.sdp import parse_sdp
from sip.sip_phone_helpers import Events, Phone

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed"),
]

OFFER_JS = """(async () => {
  const pc = new RTCPeerConnection({iceServers: []});
  window.pc = pc;
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  pc.ontrack = (e) => { window.remote = new MediaStream([e.track]);
                        const a = new Audio(); a.srcObject = window.remote; a.play(); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") return done();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && done();
    setTimeout(done, 5000);
  });
  return pc.localDescription.sdp;
})()"""

STATS_JS = """(async () => {
  const out = {state: pc.connectionState, dtls: null, inbound: null, outbound: null};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "transport") out.dtls = r.dtlsState;
    if (r.type === "inbound-rtp" && r.kind === "audio")
      out.inbound = {packets: r.packetsReceived, samples: r.totalSamplesReceived,
                     level: r.audioLevel || 0, energy: r.totalAudioEnergy || 0};
    if (r.type === "outbound-rtp" && r.kind === "audio")
      out.outbound = {packets: r.packetsSent};
  });
  return out;
})()"""


def _tone_wav(path: Path, freq: float, seconds: float = 10.0, rate: int = 48000) -> None:
    write_tone_wav(path, freq, seconds, rate=rate, amplitude=9000)


async def test_chromium_webrtc_media_with_pyari(tmp_path: Path, phone: Phone) -> None:
    _tone_wav(tmp_path / "tone.wav", 1000.0)
    browser = Chromium(tmp_path / "profile", tmp_path / "tone.wav")
    srv = make_server(config_dir(tmp_path, WEBRTC))
    await srv.start(control_socket=False)
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
    )
    try:
        await browser.start()
        await browser.open_blank_page()
        offer = await browser.evaluate(OFFER_JS)
        assert "UDP/TLS/RTP/SAVPF" in offer and "a=fingerprint:" in offer
        ws = await http.ws_connect("/ari/events?app=hello")
        events = Events(ws)
        phone.server = srv.pjsip.address()
        invite = _invite(phone, offer.encode())
        ok = await phone.response(invite)
        assert ok.status == 200, ok.status
        _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
        answer = parse_sdp(ok.body)
        assert answer.media[0].rtpmap()[111][0] == "opus"
        chan = (await events.wait("StasisStart"))["channel"]
        sdp = ok.body.decode()
        await browser.evaluate(
            f"pc.setRemoteDescription({{type: 'answer', sdp: {sdp!r}}}).then(() => true)"
        )
        state = None
        for _ in range(100):
            state = await browser.evaluate(STATS_JS)
            if state["state"] in ("connected", "failed") and state["dtls"] == "connected":
                break
            await asyncio.sleep(0.1)
        assert state is not None and state["state"] == "connected", state

        async def media_time() -> Any:
            before = await browser.evaluate(STATS_JS)
            await asyncio.sleep(1.5)  # media time: pyari records the browser's tone
            return before

        before = await _record_while_talking(http, events, chan["id"], "chromium-in", media_time())
        events.task.cancel()
        await ws.close()
        # the browser received and decoded pyari's audio (the 600 Hz tone, then silence)
        inbound = before["inbound"]
        assert inbound is not None and inbound["packets"] > 40, before
        assert inbound["energy"] > 0, before
        assert before["outbound"]["packets"] > 40, before
        recorded, rate = _recording(srv, "chromium-in")
        assert abs(peak(recorded[rate // 4 :], rate) - 1000) < 15
    finally:
        await browser.close()
        await http.close()
        await srv.stop()
