"""aiortc, the field's WebRTC library, as the browser: its ICE agent (aioice, full ICE,
controlling), DTLS transport and Opus sender/receiver talk to a ``webrtc = yes`` PJSIP
endpoint of a running pyari over loopback. The SIP side is the test phone; the SDP is
built from aiortc's ORTC objects as a browser would write it.

aioice gathers the host's addresses; the test keeps it on 127.0.0.1 (the rtp.conf of
the test also only lets ICE use 127.0.0.1), so nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from channels.test_channels_pjsip_webrtc import WEBRTC, _ack, _tone_then_record
from channels.webrtc_peers import config_dir, peak, wav_samples
from conftest import auth_headers, make_server
from pyari.sip.sdp import parse_sdp
from sip.sip_phone_helpers import Events, Phone

aiortc = pytest.importorskip("aiortc")
av = pytest.importorskip("av")

from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCCertificate,
    RTCDtlsFingerprint,
    RTCDtlsParameters,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceParameters,
    RTCIceTransport,
    RTCRtpCodecParameters,
    RTCRtpReceiver,
    RTCRtpSender,
)
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters  # noqa: E402
from aiortc.rtcrtpreceiver import RemoteStreamTrack  # noqa: E402
from aiortc.sdp import candidate_from_sdp, candidate_to_sdp  # noqa: E402

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)


class Sine(MediaStreamTrack):  # type: ignore[misc]
    """20 ms frames of a 1 kHz tone at 48 kHz, paced by aiortc's sender."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pts = 0

    async def recv(self) -> Any:
        await asyncio.sleep(0.02)
        t = (np.arange(960) + self.pts) / 48000
        samples = (np.sin(2 * np.pi * 1000 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self.pts
        frame.time_base = fractions.Fraction(1, 48000)
        self.pts += 960
        return frame


def _offer(gatherer: Any, dtls: Any) -> bytes:
    ice = gatherer.getLocalParameters()
    candidates = gatherer.getLocalCandidates()
    port = candidates[0].port
    fingerprint = next(f for f in dtls.getLocalParameters().fingerprints
                       if f.algorithm == "sha-256")  # fmt: skip
    lines = [
        "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
        f"m=audio {port} UDP/TLS/RTP/SAVPF 111", "c=IN IP4 127.0.0.1",
        *[f"a=candidate:{candidate_to_sdp(c)}" for c in candidates],
        "a=end-of-candidates",
        f"a=ice-ufrag:{ice.usernameFragment}", f"a=ice-pwd:{ice.password}",
        f"a=fingerprint:sha-256 {fingerprint.value}", "a=setup:actpass", "a=mid:0",
        "a=sendrecv", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
    ]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.slow
async def test_aiortc_ice_dtls_srtp_opus_with_pyari(
    tmp_path: Path, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_kw: ["127.0.0.1"])
    srv = make_server(config_dir(tmp_path, WEBRTC))
    await srv.start(control_socket=False)
    gatherer = RTCIceGatherer()
    await gatherer.gather()
    ice = RTCIceTransport(gatherer)
    ice._connection.ice_controlling = True  # the peer is ICE-lite
    dtls = RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
    sender = RTCRtpSender(Sine(), dtls)
    receiver = RTCRtpReceiver("audio", dtls)
    receiver._track = RemoteStreamTrack(kind="audio")  # as RTCPeerConnection does
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
    )
    try:
        ws = await http.ws_connect("/ari/events?app=hello")
        events = Events(ws)
        phone.server = srv.pjsip.address()
        invite = phone.request("INVITE", "1000", body=_offer(gatherer, dtls),
                               content_type="application/sdp")  # fmt: skip
        phone.send(invite)
        ok = await phone.response(invite)
        assert ok.status == 200
        _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
        m = parse_sdp(ok.body).media[0]
        chan = (await events.wait("StasisStart"))["channel"]
        for line in m.attribute_values("candidate"):
            await ice.addRemoteCandidate(candidate_from_sdp(line))
        await ice.addRemoteCandidate(None)
        await asyncio.wait_for(
            ice.start(RTCIceParameters(usernameFragment=m.attribute("ice-ufrag"),
                                       password=m.attribute("ice-pwd"), iceLite=True)),
            10,
        )  # fmt: skip
        assert ice.state == "completed"
        algorithm, value = (m.attribute("fingerprint") or "").split()
        await asyncio.wait_for(
            dtls.start(RTCDtlsParameters(fingerprints=[RTCDtlsFingerprint(algorithm, value)],
                                         role="server")),
            10,
        )  # fmt: skip
        assert dtls.state == "connected"
        await sender.send(RTCRtpSendParameters(codecs=[OPUS]))
        await receiver.receive(RTCRtpReceiveParameters(codecs=[OPUS]))
        heard: list[np.ndarray] = []

        async def listen() -> None:
            while True:
                frame = await receiver.track.recv()
                heard.append(frame.to_ndarray().reshape(-1, frame.layout.nb_channels)[:, 0])

        listening = asyncio.ensure_future(listen())
        await _tone_then_record(http, events, chan["id"], "aiortc-in")
        await asyncio.sleep(1.5)  # media time: the recording of aiortc's tone
        r = await http.post("/ari/recordings/live/aiortc-in/stop")
        assert r.status == 204
        await events.wait("RecordingFinished")
        listening.cancel()
        r = await http.delete(f"/ari/channels/{chan['id']}")
        assert r.status == 204
        await events.wait("StasisEnd")
        events.task.cancel()
        await ws.close()
        recorded, rate = wav_samples(srv.config.asterisk.astspooldir / "recording" /
                                     "aiortc-in.wav16")  # fmt: skip
        assert abs(peak(recorded[rate // 4 :], rate) - 1000) < 15
        audio = np.concatenate(heard)
        # aiortc decodes to 48 kHz; the first second carried the app's 600 Hz tone
        assert len(audio) > 48000 // 5
        assert abs(peak(audio[4800:48000], 48000) - 600) < 15
    finally:
        await sender.stop()
        await receiver.stop()
        await dtls.stop()
        await ice.stop()
        await http.close()
        await srv.stop()
