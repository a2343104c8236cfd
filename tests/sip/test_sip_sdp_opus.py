"""Opus fmtp in pyari's offers and answers from codecs.conf ``[opus]`` (Asterisk's
res_format_attr_opus: only values that differ from the defaults; joint parameters)."""

from __future__ import annotations

import pytest

from pyari.config.codecs import OpusSettings
from pyari.sip.sdp import create_answer, create_offer, opus_answer_fmtp, parse_sdp

OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 50000 RTP/AVP 111 0\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
)


def _offer_fmtp(opus: OpusSettings | None = None) -> str | None:
    if opus is None:
        offer = create_offer(["opus", "ulaw"], "127.0.0.1", 10000, session_id="1")
    else:
        offer = create_offer(["opus", "ulaw"], "127.0.0.1", 10000, session_id="1", opus=opus)
    return parse_sdp(offer.to_bytes()).media[0].fmtp(107)


def test_default_offer_has_no_opus_fmtp() -> None:
    assert _offer_fmtp() is None
    assert _offer_fmtp(OpusSettings()) is None


def test_offer_carries_codecs_conf() -> None:
    assert _offer_fmtp(OpusSettings(max_playback_rate=8000)) == "maxplaybackrate=8000"
    opus = OpusSettings(max_playback_rate=16000, bitrate=20000, dtx=True, complexity=10)
    assert _offer_fmtp(opus) == "maxplaybackrate=16000;maxaveragebitrate=20000;usedtx=1"
    # nothing is kept between calls: the next offer without settings has the defaults
    assert _offer_fmtp() is None


def test_answer_asks_a_browser_for_narrowband() -> None:
    offer = parse_sdp(OFFER.encode())
    answer, session = create_answer(
        offer, ["opus", "ulaw"], "127.0.0.1", 10000, session_id="2",
        opus=OpusSettings(max_playback_rate=8000),
    )  # fmt: skip
    assert session is not None and session.codec.name == "opus"
    assert answer.media[0].fmtp(111) == "maxplaybackrate=8000"
    plain, _ = create_answer(offer, ["opus", "ulaw"], "127.0.0.1", 10000, session_id="2")
    assert plain.media[0].fmtp(111) is None


@pytest.mark.parametrize(
    ("ours", "remote", "expected"),
    [
        ({}, "minptime=10;useinbandfec=1", ""),
        ({"fec": True}, "minptime=10;useinbandfec=1", "useinbandfec=1"),
        ({"fec": True}, "minptime=10", ""),
        ({"dtx": True}, None, "usedtx=1"),
        ({"cbr": True}, None, "cbr=1"),
        ({"max_playback_rate": 8000}, "maxplaybackrate=16000", "maxplaybackrate=8000"),
        ({"max_playback_rate": 24000}, "maxplaybackrate=16000", "maxplaybackrate=16000"),
        ({"bitrate": 16000}, "maxaveragebitrate=24000", "maxaveragebitrate=16000"),
        ({"bitrate": 32000}, "maxaveragebitrate=24000", "maxaveragebitrate=24000"),
        ({"bitrate": 32000}, None, "maxaveragebitrate=32000"),
    ],
)
def test_answer_fmtp_is_the_joint_format(
    ours: dict[str, object], remote: str | None, expected: str
) -> None:
    assert opus_answer_fmtp(remote, OpusSettings(**ours)) == expected  # type: ignore[arg-type]
