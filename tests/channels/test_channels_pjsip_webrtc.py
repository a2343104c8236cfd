"""PJSIP calls with HD voice and WebRTC media over loopback, against a real pyari:

* a G.722 phone calls 1000 into Stasis: pyari answers G722/8000 (PT 9), records the
  phone's tone (spectrum check of the recording) and the phone hears the app's tone;
* a "browser" (ICE checks, DTLS-SRTP, Opus; tests/channels/webrtc_peers.py) calls a
  ``webrtc = yes`` endpoint: the answer is ICE-lite with a 127.0.0.1 candidate only, a
  fingerprint and ``setup:active``; media flows both ways as SRTP after the handshake;
* a browser whose DTLS certificate is not the one its SDP announced is hung up;
* ``allow`` order decides the answer's codec.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from channels.webrtc_peers import (
    LOOPBACK_ONLY_RTP,
    BrowserPeer,
    RtpPeer,
    config_dir,
    peak,
    wav_samples,
)
from conftest import auth_headers, make_server, wait_for
from pyari.server import Server
from pyari.sip.dialog import new_tag
from pyari.sip.message import Request, make_response
from pyari.sip.sdp import TransportParams, create_offer, parse_sdp
from sip.sip_phone_helpers import Events, Phone

HD = """
[2222]
type = endpoint
context = ARI-test
disallow = all
allow = g722
allow = ulaw
aors = 2222
direct_media = no
callerid = "HD phone" <2222>
"""

WEBRTC = """
[2222]
type = endpoint
context = ARI-test
webrtc = yes
disallow = all
allow = opus
allow = ulaw
aors = 2222
direct_media = no
callerid = "Browser" <2222>
"""


async def _server(folder: Path) -> Server:
    srv = make_server(folder)
    await srv.start(control_socket=False)
    return srv


async def _tone_then_record(
    http: aiohttp.ClientSession, events: Events, channel_id: str, name: str
) -> None:
    """Play a 600 Hz tone for one second of media time, stop it, then record."""
    r = await http.post(f"/ari/channels/{channel_id}/play/tone-{name}",
                        params={"media": "tone:600"})  # fmt: skip
    assert r.status == 201
    await events.wait("PlaybackStarted")
    await asyncio.sleep(1.0)  # media time, not ordering
    r = await http.delete(f"/ari/playbacks/tone-{name}")
    assert r.status == 204
    await events.wait("PlaybackFinished")
    r = await http.post(f"/ari/channels/{channel_id}/record",
                        params={"name": name, "format": "wav16"})  # fmt: skip
    assert r.status == 201
    await events.wait("RecordingStarted")


async def _record_while_talking(
    http: aiohttp.ClientSession,
    events: Events,
    channel_id: str,
    name: str,
    talking: Awaitable[Any],
) -> Any:
    """:func:`_tone_then_record` while the phone talks, then (its tone sent: what
    ``talking`` returns) the recording stopped and the channel hung up."""
    await _tone_then_record(http, events, channel_id, name)
    sent = await talking
    r = await http.post(f"/ari/recordings/live/{name}/stop")
    assert r.status == 204
    await events.wait("RecordingFinished")
    r = await http.delete(f"/ari/channels/{channel_id}")
    assert r.status == 204
    await events.wait("StasisEnd")
    return sent


def _recording(srv: Server, name: str) -> tuple[np.ndarray, int]:
    """The samples and rate of the recording ``name`` (wav16)."""
    return wav_samples(srv.config.asterisk.astspooldir / "recording" / f"{name}.wav16")


def _invite(phone: Phone, sdp: bytes) -> Request:
    """An INVITE of 1000 with the offer ``sdp``, sent."""
    invite = phone.request("INVITE", "1000", body=sdp, content_type="application/sdp")
    phone.send(invite)
    return invite


def _ack(phone: Phone, invite: Request, ok_to: str, cseq: int) -> None:
    ack = phone.request("ACK", "1000", call_id=invite.call_id, from_tag=invite.from_.tag)
    ack.headers.set("To", ok_to)
    ack.headers.set("CSeq", f"{cseq} ACK")
    phone.send(ack)


@pytest.mark.parametrize(("codec", "pt", "encoding"), [("g722", 9, "G722"), ("gsm", 3, "GSM")])
async def test_g722_or_gsm_call_records_the_phone_and_plays_to_it(
    tmp_path: Path, phone: Phone, codec: str, pt: int, encoding: str
) -> None:
    srv = await _server(config_dir(tmp_path, HD.replace("allow = g722", f"allow = {codec}")))
    loop = asyncio.get_running_loop()
    rtp_transport, peer = await loop.create_datagram_endpoint(
        lambda: RtpPeer(codec, pt), local_addr=("127.0.0.1", 0)
    )
    base = f"http://127.0.0.1:{srv.http_port}"
    try:
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
            http.ws_connect("/ari/events?app=hello") as ws,
        ):
            events = Events(ws)
            phone.server = srv.pjsip.address()
            offer = create_offer([codec, "ulaw"], "127.0.0.1", peer.address[1], session_id="7")
            invite = _invite(phone, offer.to_bytes())
            ok = await phone.response(invite)
            assert ok.status == 200
            answer = parse_sdp(ok.body)
            audio = answer.audio
            assert audio is not None
            assert audio.formats[0] == str(pt)
            assert audio.rtpmap()[pt] == (encoding, 8000, 1)
            _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
            chan = (await events.wait("StasisStart"))["channel"]
            dest = (answer.connection_address(audio) or "", audio.port)
            talking = asyncio.ensure_future(peer.send_tone(dest, 1000.0, 2.6))
            # a channel's playback and recording run one after the other on its control
            # queue (as in Asterisk): a tone for a second of media, then the recording
            await _record_while_talking(http, events, chan["id"], "hd-in", talking)
            events.task.cancel()
        recorded, rate = _recording(srv, "hd-in")
        assert rate == 16000 and len(recorded) > 16000 // 2
        assert abs(peak(recorded[rate // 4 :], rate) - 1000) < 15
        heard, hrate = peer.heard()
        # the tone played for about a second of media (less when the machine is so
        # busy that the media clock skips ticks)
        assert len(heard) > hrate // 5
        assert abs(peak(heard[hrate // 10 : hrate], hrate) - 600) < 15
        assert peer.sources == {("127.0.0.1", audio.port)}
    finally:
        rtp_transport.close()
        await srv.stop()


async def test_answer_follows_the_offer_order_within_allow(tmp_path: Path, phone: Phone) -> None:
    """As Asterisk's default ``incoming_offer_codec_prefs`` (prefer: pending): the
    offer's order among the codecs ``allow`` lets in."""
    srv = await _server(config_dir(tmp_path, HD))
    try:
        phone.server = srv.pjsip.address()
        offer = create_offer(["alaw", "ulaw", "g722"], "127.0.0.1", 40000, session_id="8")
        invite = _invite(phone, offer.to_bytes())
        ok = await phone.response(invite)
        assert ok.status == 200
        audio = parse_sdp(ok.body).audio
        assert audio is not None and audio.formats == ["0", "101"]
        # no application: the call is hung up
        await phone.incoming("BYE")
        await wait_for(lambda: not srv.core.channels)
    finally:
        await srv.stop()


async def _browser_call(
    tmp_path: Path, phone: Phone, browser: BrowserPeer, extra: str = ""
) -> tuple[Server, aiohttp.ClientSession, Events, aiohttp.ClientWebSocketResponse, Request, str]:
    srv = await _server(config_dir(tmp_path, WEBRTC + extra))
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
    )
    ws = await http.ws_connect("/ari/events?app=hello")
    events = Events(ws)
    phone.server = srv.pjsip.address()
    invite = _invite(phone, browser.offer())
    return srv, http, events, ws, invite, ""


@pytest.mark.parametrize(
    ("extra", "hash_name"), [("", "sha-256"), ("dtls_fingerprint = SHA-1\n", "sha-1")]
)
async def test_browser_call_ice_dtls_srtp_opus_both_ways(
    tmp_path: Path, phone: Phone, extra: str, hash_name: str
) -> None:
    loop = asyncio.get_running_loop()
    transport, browser = await loop.create_datagram_endpoint(
        BrowserPeer, local_addr=("127.0.0.1", 0)
    )
    srv, http, events, ws, invite, _ = await _browser_call(tmp_path, phone, browser, extra)
    try:
        ok = await phone.response(invite)
        assert ok.status == 200
        answer = parse_sdp(ok.body)
        m = answer.media[0]
        assert m.proto == "UDP/TLS/RTP/SAVPF"
        assert ("ice-lite", None) in answer.attributes
        assert ("group", "BUNDLE 0") in answer.attributes
        assert m.attribute("mid") == "0"
        assert m.attribute("setup") == "active"
        assert m.attribute("rtcp-mux") is not None
        assert (m.attribute("fingerprint") or "").startswith(f"{hash_name} ")
        assert m.rtpmap()[111] == ("opus", 48000, 2)
        candidates = m.attribute_values("candidate")
        assert len(candidates) == 1 and candidates[0].split()[4] == "127.0.0.1"
        _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
        remote = browser.start(answer)
        chan = (await events.wait("StasisStart"))["channel"]
        await wait_for(lambda: bool(browser.stun_responses))
        response = browser.stun_responses[0]
        assert response.attributes["XOR-MAPPED-ADDRESS"] == browser.address
        assert browser.secure is not None
        secure = browser.secure

        def connected() -> bool:
            browser.poll()
            return secure.ready

        await wait_for(connected, timeout=5)
        talking = asyncio.ensure_future(browser.send_tone(1000.0, 2.6))
        assert await _record_while_talking(http, events, chan["id"], "web-in", talking) > 100
        recorded, rate = _recording(srv, "web-in")
        assert abs(peak(recorded[rate // 4 :], rate) - 1000) < 15
        heard = browser.heard()
        assert len(heard) > 16000 // 5
        assert abs(peak(heard[1600:16000], 16000) - 600) < 15
        assert np.sqrt(np.mean(heard[1600:16000].astype(np.float64) ** 2)) > 300
        assert remote[0] == "127.0.0.1"
    finally:
        events.task.cancel()
        await ws.close()
        await http.close()
        transport.close()
        await srv.stop()


async def test_fingerprint_mismatch_hangs_up(tmp_path: Path, phone: Phone) -> None:
    loop = asyncio.get_running_loop()
    transport, browser = await loop.create_datagram_endpoint(
        lambda: BrowserPeer(lie_about_fingerprint=True), local_addr=("127.0.0.1", 0)
    )
    srv, http, events, ws, invite, _ = await _browser_call(tmp_path, phone, browser)
    try:
        ok = await phone.response(invite)
        assert ok.status == 200
        _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
        browser.start(parse_sdp(ok.body))
        await events.wait("StasisStart")
        # pyari (the DTLS client) sees a certificate that is not the announced one
        bye = await phone.incoming("BYE")
        assert bye.call_id == invite.call_id
        hangup = await events.wait("ChannelHangupRequest")
        assert hangup["cause"] == 58  # bearer capability not available
        await events.wait("StasisEnd")
        # the browser hears a close_notify: its association is closed, no media flows
        secure = browser.secure
        assert secure is not None and secure.dtls is not None
        await wait_for(lambda: secure.dtls is not None and secure.dtls.state == "closed")
        assert not secure.ready
        await wait_for(lambda: not srv.core.channels)
    finally:
        events.task.cancel()
        await ws.close()
        await http.close()
        transport.close()
        await srv.stop()


async def test_plain_offer_to_a_dtls_endpoint_is_refused(tmp_path: Path, phone: Phone) -> None:
    srv = await _server(config_dir(tmp_path, WEBRTC))
    try:
        phone.server = srv.pjsip.address()
        offer = create_offer(["opus", "ulaw"], "127.0.0.1", 40000, session_id="9")
        invite = _invite(phone, offer.to_bytes())
        assert (await phone.response(invite)).status == 488
        assert not srv.core.channels
    finally:
        await srv.stop()


async def test_outbound_call_to_a_browser(tmp_path: Path, phone: Phone) -> None:
    """An originate to a webrtc endpoint: pyari offers (ICE-lite, actpass), the browser
    answers ``setup:active``, checks and starts the handshake as the DTLS client, and
    media flows (pyari is the DTLS server here)."""
    loop = asyncio.get_running_loop()
    transport, browser = await loop.create_datagram_endpoint(
        BrowserPeer, local_addr=("127.0.0.1", 0)
    )
    phone_transport, phone = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    folder = config_dir(tmp_path, WEBRTC)
    aor = f"\n[2222]\ntype = aor\ncontact = sip:2222@127.0.0.1:{phone.address[1]}\n"
    text = (folder / "pjsip.conf").read_text()
    start = text.index("[2222]\ntype = aor")
    end = text.index("remove_existing = yes", start) + len("remove_existing = yes")
    (folder / "pjsip.conf").write_text(text[:start] + aor.strip() + text[end:])
    srv = await _server(folder)
    phone.server = srv.pjsip.address()
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
    )
    try:
        ws = await http.ws_connect("/ari/events?app=out")
        events = Events(ws)
        r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "out"})
        assert r.status == 200
        chan_id = (await r.json())["id"]
        invite = await phone.incoming("INVITE")
        offer = parse_sdp(invite.body)
        m = offer.media[0]
        assert m.proto == "UDP/TLS/RTP/SAVPF" and m.attribute("setup") == "actpass"
        assert ("ice-lite", None) in offer.attributes
        assert m.attribute("rtpmap") == "107 opus/48000/2"
        tag = new_tag()
        phone.send(make_response(
            invite, 200, to_tag=tag,
            headers=[("Contact", str(phone.contact())), ("Content-Type", "application/sdp")],
            body=browser.answer_to(invite.body),
        ))  # fmt: skip
        await phone.incoming("ACK")
        await events.wait("StasisStart")
        browser.start_as_answerer(invite.body)
        assert browser.secure is not None
        secure = browser.secure

        def connected() -> bool:
            browser.poll()
            return secure.ready

        await wait_for(connected, timeout=5)
        r = await http.post(f"/ari/channels/{chan_id}/play", params={"media": "tone:600"})
        assert r.status == 201
        await browser.send_tone(1000.0, 1.0)
        heard = browser.heard()
        assert len(heard) > 16000 // 5  # the peer decodes at 16 kHz
        assert abs(peak(heard[1600:], 16000) - 600) < 15
        r = await http.delete(f"/ari/channels/{chan_id}")
        assert r.status == 204
        bye = await phone.incoming("BYE")
        phone.send(make_response(bye, 200))
        await events.wait("StasisEnd")
        events.task.cancel()
        await ws.close()
    finally:
        await http.close()
        transport.close()
        phone_transport.close()
        await srv.stop()


def _static_contact(folder: Path, port: int) -> None:
    aor = f"[2222]\ntype = aor\ncontact = sip:2222@127.0.0.1:{port}"
    text = (folder / "pjsip.conf").read_text()
    start = text.index("[2222]\ntype = aor")
    end = text.index("remove_existing = yes", start) + len("remove_existing = yes")
    (folder / "pjsip.conf").write_text(text[:start] + aor + text[end:])


@pytest.mark.parametrize(
    ("formats", "offered"),
    [("g722", ["9", "101"]), ("ulaw,g722", ["9", "0", "101"]), ("slin16", ["9", "0", "101"])],
)
async def test_originate_formats_choose_the_offer(
    tmp_path: Path, formats: str, offered: list[str]
) -> None:
    """ARI's ``formats``: the endpoint's codecs among them, in allow order; none in common
    (slin16) leaves the endpoint's own list."""
    loop = asyncio.get_running_loop()
    phone_transport, phone = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    folder = config_dir(tmp_path, HD)
    _static_contact(folder, phone.address[1])
    srv = await _server(folder)
    try:
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
        ) as http:
            params = {"endpoint": "PJSIP/2222", "app": "out", "formats": formats}
            r = await http.post("/ari/channels", params=params)
            assert r.status == 200
            invite = await phone.incoming("INVITE")
            audio = parse_sdp(invite.body).audio
            assert audio is not None and audio.formats == offered
            await http.delete(f"/ari/channels/{(await r.json())['id']}")
    finally:
        phone_transport.close()
        await srv.stop()


async def test_sdes_srtp_call(tmp_path: Path, phone: Phone) -> None:
    """media_encryption = sdes: pyari answers RTP/SAVP with its own a=crypto key for the
    offer's tag and suite; audio is SRTP both ways (the recording has the phone's tone,
    the phone decrypts and hears the app's)."""
    from pyari.rtp.sdes import Crypto, SdesSrtp, new_key, parse_crypto

    endpoint = HD.replace("allow = g722\n", "").replace(
        "direct_media = no", "direct_media = no\nmedia_encryption = sdes"
    )
    srv = await _server(config_dir(tmp_path, endpoint))
    loop = asyncio.get_running_loop()
    rtp_transport, peer = await loop.create_datagram_endpoint(
        lambda: RtpPeer("ulaw", 0), local_addr=("127.0.0.1", 0)
    )
    ours = Crypto(1, "AES_CM_128_HMAC_SHA1_80", new_key())
    try:
        async with (
            aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
            ) as http,
            http.ws_connect("/ari/events?app=hello") as ws,
        ):
            events = Events(ws)
            phone.server = srv.pjsip.address()
            offer = create_offer(["ulaw"], "127.0.0.1", peer.address[1], session_id="7",
                                 transport=TransportParams(crypto=(str(ours),)))  # fmt: skip
            invite = _invite(phone, offer.to_bytes())
            ok = await phone.response(invite)
            assert ok.status == 200
            answer = parse_sdp(ok.body)
            audio = answer.audio
            assert audio is not None and audio.proto == "RTP/SAVP"
            theirs = parse_crypto(audio.attribute("crypto") or "")
            assert theirs is not None and theirs.tag == 1 and theirs.key != ours.key
            peer.srtp = SdesSrtp(ours, theirs)
            _ack(phone, invite, ok.headers.get("to") or "", ok.cseq.number)
            chan = (await events.wait("StasisStart"))["channel"]
            dest = (answer.connection_address(audio) or "", audio.port)
            talking = asyncio.ensure_future(peer.send_tone(dest, 1000.0, 2.6))
            await _record_while_talking(http, events, chan["id"], "sdes-in", talking)
            events.task.cancel()
        recorded, rate = _recording(srv, "sdes-in")
        assert abs(peak(recorded[rate // 4 :], rate) - 1000) < 15
        heard, hrate = peer.heard()
        assert len(heard) > hrate // 5
        assert abs(peak(heard[hrate // 10 : hrate], hrate) - 600) < 15
    finally:
        rtp_transport.close()
        await srv.stop()


@pytest.mark.parametrize(
    ("endpoint_extra", "rtp_conf", "connection", "candidates", "bound"),
    [
        # media_address alone: advertised (SDP and candidate), the socket stays put
        ("media_address = 127.0.0.2\n", LOOPBACK_ONLY_RTP, "127.0.0.2", [], "127.0.0.1"),
        # ... and bound there
        ("media_address = 127.0.0.2\nbind_rtp_to_media_address = yes\n",
         "[general]\n", "127.0.0.2", ["127.0.0.2"], "127.0.0.2"),
        # rtp.conf maps the host candidate to another address (a NAT's)
        ("", "[general]\nice_host_candidate = 127.0.0.1 => 127.0.0.3\n",
         "127.0.0.1", ["127.0.0.3"], "127.0.0.1"),
        # ICE may only use 127.0.0.1: that is the one candidate
        ("", LOOPBACK_ONLY_RTP, "127.0.0.1", ["127.0.0.1"], "127.0.0.1"),
    ],
)  # fmt: skip
async def test_media_addresses_and_candidates(
    tmp_path: Path,
    phone: Phone,
    endpoint_extra: str,
    rtp_conf: str,
    connection: str,
    candidates: list[str],
    bound: str,
) -> None:
    srv = await _server(config_dir(tmp_path, WEBRTC + endpoint_extra, rtp_conf=rtp_conf))
    loop = asyncio.get_running_loop()
    transport, browser = await loop.create_datagram_endpoint(
        BrowserPeer, local_addr=("127.0.0.1", 0)
    )
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{srv.http_port}", headers=auth_headers()
    )
    try:
        ws = await http.ws_connect("/ari/events?app=hello")
        events = Events(ws)
        phone.server = srv.pjsip.address()
        invite = _invite(phone, browser.offer())
        ok = await phone.response(invite)
        assert ok.status == 200
        await events.wait("StasisStart")
        answer = parse_sdp(ok.body)
        m = answer.media[0]
        assert answer.connection_address(m) == connection
        assert [c.split()[4] for c in m.attribute_values("candidate")] == candidates
        assert [s.address[0] for s in srv.rtp.streams.values()] == [bound]
        events.task.cancel()
        await ws.close()
    finally:
        await http.close()
        transport.close()
        await srv.stop()
