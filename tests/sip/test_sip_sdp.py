"""SDP parse/serialize (RFC 8866) and offer/answer (RFC 3264) for PCMU/PCMA/telephone-event."""

from __future__ import annotations

import pytest

from pyari.sip.sdp import SdpError, create_answer, create_offer, negotiated, parse_sdp

SIPP_OFFER = (
    b"v=0\r\n"
    b"o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"m=audio 6000 RTP/AVP 0\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
)

PHONE_OFFER = (
    b"v=0\r\n"
    b"o=- 1 2 IN IP4 192.0.2.4\r\n"
    b"s=call\r\n"
    b"c=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\n"
    b"m=audio 4000 RTP/AVP 9 8 0 101\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=ptime:30\r\n"
    b"a=sendrecv\r\n"
    b"m=video 4002 RTP/AVP 96\r\n"
    b"a=rtpmap:96 H264/90000\r\n"
)


def test_parse_and_round_trip() -> None:
    sdp = parse_sdp(PHONE_OFFER)
    assert sdp.origin.address == "192.0.2.4" and sdp.origin.version == 2
    audio = sdp.media[0]
    assert (audio.media, audio.port, audio.formats) == ("audio", 4000, ["9", "8", "0", "101"])
    assert audio.rtpmap()[0] == ("PCMU", 8000, 1)  # static type without rtpmap
    assert audio.fmtp(101) == "0-15"
    assert audio.ptime == 30 and audio.direction == "sendrecv"
    again = parse_sdp(sdp.to_bytes())
    assert again.to_bytes() == sdp.to_bytes()
    assert again.connection_address(again.media[1]) == "192.0.2.4"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"o=- 1 1 IN IP4 x\r\n",
        b"v=0\r\nm=audio 1 RTP/AVP 0\r\n",
        b"v=0\r\no=bad\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n",
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\nm=audio xx RTP/AVP 0\r\n",
        b"v=0\r\nthis is not sdp\r\n",
    ],
)
def test_bad_sdp(body: bytes) -> None:
    with pytest.raises(SdpError):
        parse_sdp(body)


def test_answer_picks_common_codec_keeps_dtmf_and_refuses_video() -> None:
    answer, media = create_answer(
        parse_sdp(PHONE_OFFER), ["ulaw", "alaw"], "127.0.0.1", 30000, session_id="7"
    )
    assert media is not None
    assert (media.codec.name, media.payload_type) == ("alaw", 8)  # the offerer's order
    assert media.dtmf_payload_type == 101 and media.ptime == 30
    assert (media.remote_address, media.remote_port) == ("192.0.2.4", 4000)
    assert not media.remote_hold
    text = answer.to_bytes().decode()
    assert "m=audio 30000 RTP/AVP 8 101\r\n" in text
    assert "a=fmtp:101 0-16\r\n" in text
    assert "m=video 0 RTP/AVP 96\r\n" in text  # refused, formats kept
    assert "a=sendrecv" in text
    # our own preference order wins when asked
    _, ours = create_answer(
        parse_sdp(PHONE_OFFER),
        ["ulaw", "alaw"],
        "127.0.0.1",
        30000,
        session_id="7",
        prefer_remote=False,
    )
    assert ours is not None and ours.codec.name == "ulaw"


def test_no_common_codec_refuses_the_stream() -> None:
    offer = PHONE_OFFER.replace(b"RTP/AVP 9 8 0 101", b"RTP/AVP 9 101")
    answer, media = create_answer(parse_sdp(offer), ["ulaw"], "127.0.0.1", 30000, session_id="1")
    assert media is None
    assert "m=audio 0 RTP/AVP 9 101" in answer.to_bytes().decode()


@pytest.mark.parametrize(
    ("attr", "conn", "hold", "ours"),
    [
        (b"a=sendonly", b"192.0.2.4", True, "recvonly"),
        (b"a=inactive", b"192.0.2.4", True, "inactive"),
        (b"a=recvonly", b"192.0.2.4", False, "sendonly"),
        (b"a=sendrecv", b"0.0.0.0", True, "sendrecv"),
    ],
)
def test_hold_detection(attr: bytes, conn: bytes, hold: bool, ours: str) -> None:
    offer = PHONE_OFFER.replace(b"a=sendrecv", attr).replace(
        b"c=IN IP4 192.0.2.4", b"c=IN IP4 " + conn
    )
    _, media = create_answer(parse_sdp(offer), ["alaw"], "127.0.0.1", 30000, session_id="1")
    assert media is not None
    assert media.remote_hold is hold
    assert media.direction == ours


def test_sipp_offer_and_our_offer_round_trip() -> None:
    _, media = create_answer(
        parse_sdp(SIPP_OFFER), ["ulaw", "alaw"], "127.0.0.1", 30000, session_id="1"
    )
    assert media is not None and media.dtmf_payload_type is None
    offer = create_offer(
        ["ulaw", "alaw"], "127.0.0.1", 31000, session_id="42", direction="sendonly"
    )
    text = offer.to_bytes().decode()
    assert "m=audio 31000 RTP/AVP 0 8 101\r\n" in text and "a=sendonly" in text
    peer_answer, peer_media = create_answer(
        parse_sdp(offer.to_bytes()), ["alaw"], "192.0.2.9", 5004, session_id="9"
    )
    assert peer_media is not None and peer_media.remote_hold
    agreed = negotiated(offer, parse_sdp(peer_answer.to_bytes()))
    assert agreed is not None
    assert (agreed.codec.name, agreed.remote_port, agreed.dtmf_payload_type) == ("alaw", 5004, 101)
    assert agreed.remote_direction == "recvonly" and agreed.direction == "sendonly"
