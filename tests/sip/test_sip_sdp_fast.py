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
     "+1", "-1", " 1", "1 ", "1.0", "0x10", "65535", "65536", "18446744073709551615",
     "8000", "16000", "48000", "08000"],
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


def reference_parse(text: str) -> list[str] | str:
    """The lines parse_sdp reads, as the two list comprehensions before it read them
    (CRs stripped, blank lines left out), or the error of a first line that is not v=0."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    lines = [line for line in lines if line.strip()]
    if not lines or lines[0].strip() != "v=0":
        return "SDP must start with v=0"
    for line in lines[1:]:
        if len(line) < 2 or line[1] != "=":
            return f"bad SDP line {line[:40]!r}"
    return lines[1:]


def reference_to_bytes(sdp_: sdp.SessionDescription) -> bytes:
    """to_bytes as written with generator expressions."""
    lines = ["v=0", f"o={sdp_.origin}", f"s={sdp_.name or ' '}"]
    lines.extend(line for line in sdp_.other if not line.startswith(("b=", "t=")))
    if sdp_.connection:
        lines.append(f"c={sdp_.connection}")
    lines.extend(line for line in sdp_.other if line.startswith("b="))
    lines.extend(f"t={t}" for t in sdp_.times)
    lines.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in sdp_.attributes)
    for m in sdp_.media:
        port = f"{m.port}/{m.port_count}" if m.port_count else str(m.port)
        lines.append(f"m={m.media} {port} {m.proto} {' '.join(m.formats)}")
        if m.info is not None:
            lines.append(f"i={m.info}")
        if m.connection and m.connection != sdp_.connection:
            lines.append(f"c={m.connection}")
        lines.extend(f"b={b}" for b in m.bandwidths)
        lines.extend(f"a={k}" if v is None else f"a={k}:{v}" for k, v in m.attributes)
    return ("\r\n".join(lines) + "\r\n").encode()


ODD = [
    "",
    "\r\n\r\n",
    " v=0 \r\no=- 1 1 IN IP4 h\r\ns=x\r\nc=IN IP4 h\r\n",
    "\n\n  \t\nv=0\r\r\no=- 1 1 IN IP4 h\r\r\n\r\n \r\ns=\r\nc=IN IP4 h\nm=audio 5/2 RTP/AVP 0\n",
    "v=0\r\nx\r\n",
    "v=0\r\n=x\r\no=- 1 1 IN IP4 h\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\n v=1\r\n",
    "v=1\r\no=- 1 1 IN IP4 h\r\n",
    "o=- 1 1 IN IP4 h\r\nv=0\r\n",
    "v=0\r\ns=-\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\nv=0\r\nb=AS:64\r\nt=1 2\r\nt=3 4\r\nu=http://x\r\n"
    "c=IN IP4 h\r\na=group:BUNDLE 0\r\na=ice-lite\r\nm=audio 0 RTP/AVP 0\r\n"
    "i=info\r\nb=TIAS:1\r\nc=IN IP4 other\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n"
    "m=audio 6000 RTP/AVP 8\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 6000 RTP/AVP 0\r\n",
    "v=0\no=- 1 x IN IP4 h\n",
    "v=0\no=- 1 1 IN IP4 h\nm=audio 6000/x RTP/AVP 0\nc=IN IP4 h\n",
    "v=0\no=- 1 1 IN IP4 h\nm=audio 99999 RTP/AVP 0\nc=IN IP4 h\n",
    "v=0\no=- 1 1 IN IP4 h\nc=IN IP4\n",
]


@pytest.mark.parametrize("text", OFFERS + ODD)
def test_parse_reads_the_lines_and_fails_as_before(text: str) -> None:
    expected = reference_parse(text)
    try:
        parsed = parse_sdp(text.encode())
    except sdp.SdpError as exc:
        if isinstance(expected, str):
            assert str(exc) == expected
        else:  # a line read but refused (o=, m=, c=...): the lines were the same
            assert str(exc) != "SDP must start with v=0"
            assert not str(exc).startswith("bad SDP line")
        return
    assert not isinstance(expected, str)
    again = parse_sdp(reference_to_bytes(parsed))
    assert reference_to_bytes(again) == reference_to_bytes(parsed) == parsed.to_bytes()
    kinds = [line[0] for line in expected]
    assert len(parsed.media) == kinds.count("m")
    assert len(parsed.attributes) + sum(len(m.attributes) for m in parsed.media) == kinds.count("a")
    assert parsed.times == ([line[2:] for line in expected if line[0] == "t"] or ["0 0"])


@pytest.mark.parametrize("text", OFFERS)
def test_answers_and_offers_write_the_same_bytes(text: str) -> None:
    answer, _ = create_answer(parse_sdp(text), ["ulaw", "opus"], "127.0.0.1", 4000, session_id="3")
    assert answer.to_bytes() == reference_to_bytes(answer)
    offer = sdp.create_offer(["ulaw", "g722"], "::1", 4002, session_id="4")
    assert offer.to_bytes() == reference_to_bytes(offer) and offer.times == ["0 0"]


@pytest.mark.parametrize("text", OFFERS)
def test_fmtp_as_read_from_the_attribute_values(text: str) -> None:
    def reference(m: sdp.MediaDescription, payload_type: int) -> str | None:
        for value in m.attribute_values("fmtp"):
            pt_text, _, params = value.partition(" ")
            if pt_text == str(payload_type):
                return params.strip()
        return None

    for m in parse_sdp(text + "a=fmtp:0 x=1\r\na=fmtp\r\na=fmtp:101  0-15 \r\n").media:
        for pt in (0, 8, 96, 101, 111):
            assert m.fmtp(pt) == reference(m, pt)
        assert m.rtpmap() == reference_rtpmap(m)
