"""The cheaper SDP paths (issue #16 goal 1) give what the general ones gave: numbers
read without a regular expression, static payload types from a table, one rtpmap per
m-line, and a plain offer answered without looking for WebRTC attributes."""

from __future__ import annotations

import re

import pytest

from pyari.sip import sdp
from pyari.sip.sdp import TransportParams, create_answer, parse_sdp

_REGEX = re.compile(r"[0-9]{1,20}")


@pytest.mark.parametrize(
    "text",
    ["", "0", "7", "00012", "127", "128", "1" * 20, "1" * 21, "\u0661\u0662", "\u00b2",
     "+1", "-1", " 1", "1 ", "1.0", "0x10", "65535", "65536", "18446744073709551615"],
)  # fmt: skip
@pytest.mark.parametrize("maximum", [None, 127, 65535])
def test_uint_as_the_regex(text: str, maximum: int | None) -> None:
    expected = None
    if _REGEX.fullmatch(text):
        value = int(text)
        expected = None if maximum is not None and value > maximum else value
    assert sdp._uint(text, maximum) == expected


def reference_rtpmap(m: sdp.MediaDescription) -> dict[int, tuple[str, int, int]]:
    out: dict[int, tuple[str, int, int]] = {}
    for fmt in m.formats:
        pt = sdp._uint(fmt, 127)
        if pt is not None:
            for codec in sdp.CODECS.values():
                if codec.payload_type == pt and pt < 96:
                    out[pt] = (codec.encoding, codec.clock_rate, codec.channels)
    for value in m.attribute_values("rtpmap"):
        pt_text, _, desc = value.partition(" ")
        pt = sdp._uint(pt_text, 127)
        parts = desc.strip().split("/")
        rate = sdp._uint(parts[1]) if len(parts) > 1 else 8000
        channels = sdp._uint(parts[2]) if len(parts) > 2 else 1
        if pt is None or rate is None or channels is None:
            continue
        out[pt] = (parts[0], rate, channels)
    return out


HEAD = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
OFFERS = [
    # SIPp's
    HEAD + "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n",
    # static types only, DTMF, direction
    HEAD + "m=audio 6000 RTP/AVP 8 0 9 3 18 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\na=sendonly\r\n",
    # two lines, the first refused
    HEAD + "m=video 7000 RTP/AVP 96\r\nm=audio 6000 RTP/AVP 96 0\r\n"
    "a=rtpmap:96 opus/48000/2\r\na=rtpmap:97 telephone-event/48000\r\n",
    # SDES offered at media level
    HEAD + "m=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyAoc2VsZi5z\r\n",
    # DTLS at session level, ICE at media level
    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    "a=fingerprint:sha-256 AB:CD\r\na=group:BUNDLE 0\r\n"
    "m=audio 6000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\na=setup:actpass\r\n"
    "a=mid:0\r\na=rtcp-mux\r\n",
    # ICE credentials on a plain line
    HEAD + "m=audio 6000 RTP/AVP 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n",
    # odd numbers
    HEAD + "m=audio 6000 RTP/AVP 0 x 200 \u0661\r\na=rtpmap:\u0661 PCMU/8000\r\n",
]


class _Everything:
    def __contains__(self, _item: object) -> bool:
        return True


@pytest.mark.parametrize("text", OFFERS)
@pytest.mark.parametrize(
    "transport",
    [
        None,
        TransportParams(crypto=("1 AES_CM_128_HMAC_SHA1_80 inline:" + "A" * 40,)),
        TransportParams(
            ice_ufrag="u", ice_pwd="p" * 22, fingerprint=("sha-256", "00:11"), rtcp_mux=True
        ),
    ],
)
def test_answer_as_with_every_line_looked_at(
    text: str, transport: TransportParams | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = parse_sdp(text)
    for m in offer.media:
        assert m.rtpmap() == reference_rtpmap(m)
    codecs = ["opus", "ulaw", "alaw", "g722", "gsm"]
    fast = create_answer(offer, codecs, "127.0.0.1", 10000, session_id="1", transport=transport)
    monkeypatch.setattr(sdp, "_SECURE_ATTRIBUTES", _Everything())
    full = create_answer(offer, codecs, "127.0.0.1", 10000, session_id="1", transport=transport)
    assert fast[0].to_bytes() == full[0].to_bytes()
    assert fast[1] == full[1]
