"""codecs.conf ``[opus]`` belongs to its server (channels/pjsip.py ``PjsipTech.codecs``):

* two servers in one process, started from two config folders with different
  ``[opus]``, each put their own Opus fmtp in the SDP of a call (the answer to a
  phone's offer, and the offer of a late-offer call's 200) and give their own settings
  to the call's Opus stream;
* ``module reload codec_opus.so`` changes what the next call gets, not a call already
  up (its re-INVITE is answered with the settings it was made with).

The phones are the test SIP phone (tests/sip/sip_phone_helpers.py) on their own sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from channels.webrtc_peers import config_dir
from conftest import make_server, wait_for
from pyari.channels.pjsip import PjsipPvt
from pyari.cli.commands import run_command
from pyari.config.codecs import OpusSettings
from pyari.core.tech import pvt_of
from pyari.media.rtp_codecs import OpusCodec
from pyari.server import Server
from pyari.sip.message import Request, Response
from pyari.sip.sdp import create_answer, create_offer, parse_sdp
from sip.sip_phone_helpers import Phone

ENDPOINT = """
[2222]
type = endpoint
context = codecs
disallow = all
allow = opus
allow = ulaw
aors = 2222
direct_media = no
"""

DIALPLAN = """
[codecs]
exten => 1000,1,Answer()
same => n,Wait(30)
same => n,Hangup()
"""

OPUS_PT = 107  # pyari's (and the phone's) Opus payload type


def _folder(tmp: Path, codecs_conf: str) -> Path:
    tmp.mkdir()
    folder = config_dir(tmp, ENDPOINT)
    (folder / "extensions.conf").write_text(DIALPLAN)
    (folder / "codecs.conf").write_text(codecs_conf)
    return folder


async def _start(folder: Path) -> Server:
    srv = make_server(folder)
    await srv.start(control_socket=False)
    return srv


@pytest.fixture
async def phones() -> AsyncIterator[tuple[Phone, Phone]]:
    loop = asyncio.get_running_loop()
    t1, p1 = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    t2, p2 = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    yield p1, p2
    t1.close()
    t2.close()


class Call:
    """One call of a phone to 1000 (answered by the dialplan, then up until hung up)."""

    def __init__(self, phone: Phone, invite: Request, ok: Response) -> None:
        self.phone = phone
        self.invite = invite
        self.ok = ok
        self.to = ok.headers.get("to") or ""

    def in_dialog(self, method: str, **kw: object) -> Request:
        req = self.phone.request(
            method, "1000", call_id=self.invite.call_id, from_tag=self.invite.from_.tag,
            **kw,  # type: ignore[arg-type]
        )  # fmt: skip
        req.headers.set("To", self.to)
        return req

    def ack(self, cseq: int, body: bytes = b"") -> None:
        ack = self.in_dialog("ACK", body=body, content_type="application/sdp" if body else None)
        ack.headers.set("CSeq", f"{cseq} ACK")
        self.phone.send(ack)

    def fmtp(self, body: bytes | None = None) -> str | None:
        """The Opus fmtp of the 200's SDP (or of ``body``); None: no fmtp line."""
        sdp = parse_sdp(body if body is not None else self.ok.body)
        media = sdp.media[0]
        assert media.attribute("rtpmap") == f"{OPUS_PT} opus/48000/2"
        return media.fmtp(OPUS_PT)

    async def reinvite(self) -> str | None:
        """The Opus fmtp of the answer to a re-INVITE with the same offer."""
        again = self.in_dialog("INVITE", body=_offer(self.phone), content_type="application/sdp")
        self.phone.send(again)
        reply = await self.phone.response(again)
        assert reply.status == 200
        self.ack(reply.cseq.number)
        return self.fmtp(reply.body)


def _offer(phone: Phone) -> bytes:
    # the phone's Opus offer has no fmtp: the answer's is the server's own
    sdp = create_offer(["opus", "ulaw"], phone.address[0], 40000, session_id="1")
    return sdp.to_bytes()


async def _call(phone: Phone, srv: Server) -> Call:
    """An INVITE with an Opus offer; the 200 is ACKed."""
    phone.server = srv.pjsip.address()
    invite = phone.request("INVITE", "1000", body=_offer(phone), content_type="application/sdp")
    ok = await phone.authorized(invite)
    assert ok.status == 200
    call = Call(phone, invite, ok)
    call.ack(ok.cseq.number)
    return call


async def _late_offer_call(phone: Phone, srv: Server) -> Call:
    """An INVITE without SDP: the server offers in its 200, the phone answers in the ACK."""
    phone.server = srv.pjsip.address()
    invite = phone.request("INVITE", "1000")
    ok = await phone.authorized(invite)
    assert ok.status == 200
    call = Call(phone, invite, ok)
    answer, media = create_answer(
        parse_sdp(ok.body), ["opus"], phone.address[0], 40002, session_id="2"
    )
    assert media is not None and media.codec.name == "opus"
    call.ack(ok.cseq.number, answer.to_bytes())
    return call


def _opus_streams(srv: Server) -> list[OpusSettings]:
    """The settings of the Opus streams of the server's channels."""
    found: list[OpusSettings] = []
    for chan in srv.core.channels.values():
        pvt = pvt_of(chan, PjsipPvt)
        codec = pvt.rtp.codec if pvt.rtp is not None else None
        if isinstance(codec, OpusCodec):
            found.append(codec.settings)
    return found


async def test_two_servers_each_offer_their_own_opus_settings(
    tmp_path: Path, phones: tuple[Phone, Phone]
) -> None:
    narrow = OpusSettings(max_playback_rate=8000)
    wide = OpusSettings(max_playback_rate=16000, bitrate=20000, complexity=10)
    one = await _start(_folder(tmp_path / "one", "[opus]\ntype = opus\nmax_playback_rate = 8000\n"))
    two = await _start(_folder(
        tmp_path / "two",
        "[opus]\ntype = opus\nmax_playback_rate = 16000\nbitrate = 20000\ncomplexity = 10\n",
    ))  # fmt: skip
    try:
        assert (one.pjsip.codecs.opus, two.pjsip.codecs.opus) == (narrow, wide)
        p1, p2 = phones
        # the answers to the phones' offers, one call into each server, then again in
        # the other order (neither server's start nor its calls change the other's)
        first = await _call(p1, one)
        second = await _call(p2, two)
        assert first.fmtp() == "maxplaybackrate=8000"
        assert second.fmtp() == "maxplaybackrate=16000;maxaveragebitrate=20000"
        assert second.fmtp() != first.fmtp()
        assert (await _call(p1, one)).fmtp() == "maxplaybackrate=8000"
        # pyari's own offers (late offer: in the 200)
        assert (await _late_offer_call(p2, two)).fmtp() == (
            "maxplaybackrate=16000;maxaveragebitrate=20000"
        )
        assert (await _late_offer_call(p1, one)).fmtp() == "maxplaybackrate=8000"
        # each call's Opus stream is encoded with its server's settings (a late offer's
        # once its ACK is read)
        await wait_for(lambda: len(_opus_streams(one)) == 3 and len(_opus_streams(two)) == 2)
        assert _opus_streams(one) == [narrow] * 3
        assert _opus_streams(two) == [wide] * 2
    finally:
        await one.stop()
        await two.stop()


async def test_reload_changes_the_next_call_not_the_calls_up(
    tmp_path: Path, phones: tuple[Phone, Phone]
) -> None:
    folder = _folder(tmp_path / "one", "[opus]\ntype = opus\nmax_playback_rate = 8000\n")
    other = _folder(tmp_path / "two", "")
    srv = await _start(folder)
    bystander = await _start(other)
    try:
        p1, p2 = phones
        before = await _call(p1, srv)
        assert before.fmtp() == "maxplaybackrate=8000"
        (folder / "codecs.conf").write_text("[opus]\ntype = opus\nmax_playback_rate = 24000\n")
        out = await run_command(srv, "module reload codec_opus.so")
        assert "codec_opus.so" in out
        assert srv.pjsip.codecs.opus == OpusSettings(max_playback_rate=24000)
        after = await _call(p1, srv)
        assert after.fmtp() == "maxplaybackrate=24000"
        assert (await _late_offer_call(p1, srv)).fmtp() == "maxplaybackrate=24000"
        # the call made before the reload keeps its settings, SDP and stream alike
        assert await before.reinvite() == "maxplaybackrate=8000"
        assert await after.reinvite() == "maxplaybackrate=24000"
        await wait_for(lambda: len(_opus_streams(srv)) == 3)
        assert sorted(s.max_playback_rate for s in _opus_streams(srv)) == [8000, 24000, 24000]
        # the other server in the process was not reloaded: Asterisk's SDP, no fmtp
        assert bystander.pjsip.codecs.opus == OpusSettings()
        assert (await _call(p2, bystander)).fmtp() is None
    finally:
        await srv.stop()
        await bystander.stop()
