"""SDP with G.722, Opus and the WebRTC attributes (ICE, DTLS, rtcp-mux, AVPF, BUNDLE)."""

from __future__ import annotations

import dataclasses

import pytest

from pyari.sip.sdp import (
    TransportParams,
    answer_setup,
    create_answer,
    create_offer,
    negotiated,
    opus_answer_fmtp,
    parse_sdp,
    transport_of,
)

CHROME_OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n"
    "m=audio 50000 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
    "c=IN IP4 127.0.0.1\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0\r\n"
    "a=ice-ufrag:Ab+/\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 12:AB:cd:34:56:78:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56:78:"
    "9A:BC:DE:F0:12:34:56:78:9A:BC\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n"
)

OURS = TransportParams(
    ice_ufrag="pyar",
    ice_pwd="p" * 32,
    ice_lite=True,
    candidates=("1a2b 1 udp 2130706431 127.0.0.1 12000 typ host",),
    fingerprint=("sha-256", "AA:" * 31 + "AA"),
    setup="active",
    rtcp_mux=True,
    avpf=True,
)


def test_offer_with_hd_codecs_and_opus_as_asterisk_writes_it() -> None:
    offer = create_offer(["opus", "g722", "ulaw"], "127.0.0.1", 12000, session_id="1")
    m = offer.media[0]
    assert m.proto == "RTP/AVP"
    assert m.formats == ["107", "9", "0", "101"]
    assert m.attribute_values("rtpmap")[:3] == ["107 opus/48000/2", "9 G722/8000", "0 PCMU/8000"]
    # Asterisk's default Opus attributes produce no fmtp line
    assert m.attribute_values("fmtp") == ["101 0-16"]


def test_webrtc_offer() -> None:
    offer = create_offer(
        ["opus"], "127.0.0.1", 12000, session_id="1",
        transport=dataclasses.replace(OURS, setup="actpass", mid="0"),
    )  # fmt: skip
    text = offer.to_bytes().decode()
    assert "m=audio 12000 UDP/TLS/RTP/SAVPF 107 101\r\n" in text
    assert "a=ice-lite\r\n" in text.split("m=")[0]
    for line in ("a=ice-ufrag:pyar", "a=setup:actpass", "a=rtcp-mux", "a=mid:0",
                 "a=candidate:1a2b 1 udp 2130706431 127.0.0.1 12000 typ host",
                 "a=end-of-candidates", "a=rtcp-fb:* transport-cc",
                 f"a=fingerprint:sha-256 {OURS.fingerprint[1]}"):  # fmt: skip
        assert line + "\r\n" in text
    back = transport_of(parse_sdp(text), parse_sdp(text).media[0])
    assert back.ice_lite and back.dtls and back.rtcp_mux and back.avpf and back.mid == "0"


def test_answer_to_chrome() -> None:
    offer = parse_sdp(CHROME_OFFER)
    answer, session = create_answer(
        offer, ["opus", "g722", "ulaw"], "127.0.0.1", 12000, session_id="5", transport=OURS
    )
    assert session is not None
    assert session.codec.name == "opus" and session.payload_type == 111
    assert session.fmtp == "minptime=10;useinbandfec=1"
    # telephone-event at Opus's clock, as Chrome sends DTMF with Opus
    assert session.dtmf_payload_type == 110
    remote = session.transport
    assert remote is not None
    assert remote.ice_ufrag == "Ab+/" and remote.setup == "actpass" and remote.rtcp_mux
    assert remote.fingerprint is not None and remote.fingerprint[1].startswith("12:AB:CD")
    assert remote.candidates[0].split()[4] == "127.0.0.1"
    text = answer.to_bytes().decode()
    assert "a=group:BUNDLE 0\r\n" in text and "a=ice-lite\r\n" in text
    m = answer.media[0]
    assert m.proto == "UDP/TLS/RTP/SAVPF"
    assert m.formats == ["111", "110"]
    assert "110 telephone-event/48000" in m.attribute_values("rtpmap")
    assert m.attribute("rtpmap") == "111 opus/48000/2"
    assert m.attribute("setup") == "active"
    assert m.attribute("mid") == "0"
    assert m.attribute("rtcp-mux") is not None
    # Chrome's useinbandfec joined with pyari's default (no FEC) leaves nothing to say
    assert m.attribute_values("fmtp") == ["110 0-16"]


def test_dtls_offer_needs_our_fingerprint_and_plain_offer_is_not_dtls() -> None:
    offer = parse_sdp(CHROME_OFFER)
    _answer, session = create_answer(offer, ["opus"], "127.0.0.1", 12000, session_id="5")
    assert session is None  # no DTLS of ours: the SAVPF line is refused (488)
    plain = create_offer(["ulaw"], "127.0.0.1", 40000, session_id="1")
    answer, session = create_answer(plain, ["ulaw"], "127.0.0.1", 12000, session_id="5",
                                    transport=OURS)  # fmt: skip
    assert session is None and answer.media[0].port == 0


def test_g722_answer_keeps_the_8000_clock() -> None:
    offer = create_offer(["g722", "ulaw"], "127.0.0.1", 40000, session_id="1")
    answer, session = create_answer(offer, ["ulaw", "g722"], "127.0.0.1", 12000, session_id="2")
    assert session is not None and session.codec.name == "g722"
    assert session.codec.clock_rate == 8000 and session.payload_type == 9
    assert answer.media[0].attribute("rtpmap") == "9 G722/8000"
    # and our own order when asked to prefer it
    _a, ours = create_answer(offer, ["ulaw", "g722"], "127.0.0.1", 12000, session_id="2",
                             prefer_remote=False)  # fmt: skip
    assert ours is not None and ours.codec.name == "ulaw"


def test_opus_must_be_two_channel_in_rtpmap() -> None:
    text = CHROME_OFFER.replace("opus/48000/2", "opus/48000")
    offer = parse_sdp(text)
    _answer, session = create_answer(offer, ["opus", "ulaw"], "127.0.0.1", 1, session_id="5",
                                     transport=OURS)  # fmt: skip
    assert session is not None and session.codec.name == "ulaw"


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("minptime=10;useinbandfec=1", ""),
        ("usedtx=1", "usedtx=1"),
        ("maxplaybackrate=16000;sprop-maxcapturerate=16000;maxaveragebitrate=24000;cbr=1",
         "maxplaybackrate=16000;sprop-maxcapturerate=16000;maxaveragebitrate=24000;cbr=1"),
        ("maxplaybackrate=96000;usedtx=x", ""),
        (None, ""),
    ],
)  # fmt: skip
def test_opus_answer_fmtp(remote: str | None, expected: str) -> None:
    assert opus_answer_fmtp(remote) == expected


@pytest.mark.parametrize(
    ("offered", "preferred", "ours"),
    [("actpass", "active", "active"), ("actpass", "passive", "passive"),
     ("active", "active", "passive"), ("passive", "passive", "active"),
     (None, "actpass", "active"), ("holdconn", None, "active")],
)  # fmt: skip
def test_answer_setup(offered: str | None, preferred: str | None, ours: str) -> None:
    assert answer_setup(offered, preferred) == ours


def test_offerer_reads_the_webrtc_answer() -> None:
    offer = create_offer(
        ["opus", "ulaw"], "127.0.0.1", 12000, session_id="1",
        transport=TransportParams(ice_ufrag="pyar", ice_pwd="p" * 32, ice_lite=True,
                                  fingerprint=OURS.fingerprint, setup="actpass",
                                  rtcp_mux=True, avpf=True),
    )  # fmt: skip
    browser_answer = (
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 50002 UDP/TLS/RTP/SAVPF 107\r\nc=IN IP4 127.0.0.1\r\n"
        "a=ice-ufrag:brws\r\na=ice-pwd:0123456789abcdefghijklmn\r\n"
        "a=fingerprint:sha-256 AB:CD\r\na=setup:passive\r\na=rtcp-mux\r\n"
        "a=rtpmap:107 opus/48000/2\r\na=fmtp:107 usedtx=1\r\n"
    )
    session = negotiated(offer, parse_sdp(browser_answer), ["opus", "ulaw"])
    assert session is not None and session.codec.name == "opus"
    assert session.fmtp == "usedtx=1"
    assert session.transport is not None and session.transport.setup == "passive"
    assert session.proto == "UDP/TLS/RTP/SAVPF"


def test_gsm_offer_and_answer() -> None:
    offer = create_offer(["gsm", "ulaw"], "127.0.0.1", 40000, session_id="1")
    assert offer.media[0].formats[:2] == ["3", "0"]
    assert offer.media[0].attribute("rtpmap") == "3 GSM/8000"
    _answer, session = create_answer(offer, ["ulaw", "gsm"], "127.0.0.1", 1, session_id="2")
    assert session is not None and session.codec.name == "gsm" and session.payload_type == 3


@pytest.mark.parametrize("seed", range(6))
def test_mangled_webrtc_offers_never_raise(seed: int) -> None:
    """Lines of a browser's offer dropped, duplicated or garbled: parsing raises
    SdpError or nothing, and an answer (or a refusal) always comes out."""
    import random

    from pyari.sip.sdp import SdpError

    rng = random.Random(seed)
    lines = CHROME_OFFER.split("\r\n")
    for _ in range(60):
        mangled = list(lines)
        for _ in range(rng.randrange(1, 5)):
            i = rng.randrange(2, len(mangled) - 1)
            action = rng.randrange(4)
            if action == 0:
                del mangled[i]
            elif action == 1:
                mangled.insert(i, mangled[rng.randrange(2, len(mangled) - 1)])
            elif action == 2:
                key, _, value = mangled[i].partition(":")
                mangled[i] = key + ":" + "".join(rng.sample(value, len(value)))
            else:
                mangled[i] = mangled[i][: rng.randrange(len(mangled[i]) + 1)]
        try:
            offer = parse_sdp("\r\n".join(mangled))
        except SdpError:
            continue
        _answer, session = create_answer(
            offer, ["opus", "g722", "ulaw"], "127.0.0.1", 1, session_id="1", transport=OURS
        )
        if session is not None and session.transport is not None:
            assert answer_setup(session.transport.setup, "active") in ("active", "passive")


KEY_A = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVzcyA="
KEY_B = "PS1uMDB3MGx0MG5kUFlCV3VtN1FmT2xuQjZsbjZyOEg="


def test_sdes_offer_and_answer() -> None:
    ours = TransportParams(crypto=(f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}",))
    offer = create_offer(["ulaw"], "127.0.0.1", 40000, session_id="1", transport=ours)
    m = offer.media[0]
    assert m.proto == "RTP/SAVP"
    assert m.attribute("crypto") == f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}"
    # a phone offering SHA1_32 first (tag 2), with a lifetime line pyari skips before it
    phone = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nc=IN IP4 127.0.0.1\r\n"
        "m=audio 40002 RTP/SAVP 0\r\n"
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B}|2^20|1:32\r\n"
        f"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_B}\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
    )
    answer, session = create_answer(phone, ["ulaw"], "127.0.0.1", 1, session_id="2",
                                    transport=ours)  # fmt: skip
    assert session is not None and session.transport is not None
    assert answer.media[0].proto == "RTP/SAVP"
    assert answer.media[0].attribute_values("crypto") == [
        f"2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}"
    ]
    # without SDES of ours the SRTP line is refused, and an SDES endpoint refuses plain
    _a, plain_session = create_answer(phone, ["ulaw"], "127.0.0.1", 1, session_id="2")
    assert plain_session is None
    plain = create_offer(["ulaw"], "127.0.0.1", 40000, session_id="1")
    _a, refused = create_answer(plain, ["ulaw"], "127.0.0.1", 1, session_id="2",
                                transport=ours)  # fmt: skip
    assert refused is None
