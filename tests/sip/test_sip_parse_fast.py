"""The parser's fast paths (the usual Via and name-addr read by one regex) give exactly
what the general parsers give, or leave the text to them (errors included)."""

from __future__ import annotations

import pytest

from pyari.sip import message as m
from pyari.sip.message import SipParseError

VIAS = [
    "SIP/2.0/UDP 127.0.0.1:5070;rport;branch=z9hG4bK-1234-1-0",
    "SIP/2.0/udp Host.Example.COM;branch=z9hG4bKabc;received=10.0.0.1;rport=5060",
    "SIP/2.0/TCP [2001:DB8::1]:5061;branch=z9hG4bK1;TTL=16",
    "SIP/2.0/UDP [::1];branch=z9hG4bK1",
    "SIP/2.0/WSS abc.invalid;branch=z9hG4bK.x!%*_+`'~",
    "SIP/2.0/UDP 1.2.3.4:65535",
    "SIP/2.0/UDP 1.2.3.4:65536;branch=z9hG4bK1",  # bad port
    "SIP/2.0/UDP 1.2.3.4:0;branch=z9hG4bK1",
    "SIP/2.0/UDP 1..2:5060;branch=z9hG4bK1",  # bad host
    "SIP/2.0/UDP -a.b;branch=z9hG4bK1",
    "SIP/2.0/UDP 1.2.3.4;rport=70000",  # bad rport
    "SIP/2.0/UDP 1.2.3.4;rport=",
    "SIP/2.0/UDP 1.2.3.4;ttl=abc",
    "SIP/2.0/UDP 1.2.3.4;received=bad..host",
    "SIP/2.0/UDP 1.2.3.4;received=[::1]",
    "SIP/2.0/UDP 1.2.3.4;;branch=x",  # empty parameter
    "SIP/2.0/UDP 1.2.3.4;branch=x;branch=y",
    "SIP/2.0/UDP 1.2.3.4 ; branch = x",  # LWS: the general parser
    "SIP / 2.0 / UDP 1.2.3.4 : 5060;branch=x",
    'SIP/2.0/UDP 1.2.3.4;maddr="q"',
    "SIP/3.0/UDP 1.2.3.4",
    "sip/2.0/UDP 1.2.3.4",
    "SIP/2.0/UDP",
    "SIP/2.0/UDP 1.2.3.4:５０６０",
]

NAME_ADDRS = [
    '"bench" <sip:sipp@127.0.0.1:5070>;tag=1234SIPpTag001',
    "<sip:setup@127.0.0.1:5060>",
    "<sip:sipp@127.0.0.1:5070;transport=UDP>",
    '"" <sip:a@b>',
    '"a<b>c" <sip:a@b>;tag=x;Expires=60;+sip.instance',
    '"Ω ü" <sip:a@b>',
    '"quoted \\"pair\\"" <sip:a@b>',  # quoted-pair: the general parser
    '"x"<sip:a@b>',
    '"x"\t <sip:a@b>',
    "Alice <sip:alice@example.com>;tag=1",  # token display: the general parser
    "sip:alice@example.com;tag=1",  # addr-spec
    "*",
    "<sip:a@b>;tag=",  # bad parameter
    "<sip:a@b>;;tag=1",
    "<sip:a@b> ;tag=1",
    '<sip:a@b>;tag="q"',
    "<sip:a@b;lr>",
    "<sips:a:pw@[::1]:5061;transport=tls?subject=x>",
    "<tel:+1-555-0100>",
    "<sip:a@b c>",
    "<sip:a@bad..host>",
    "<sip:a@b:99999>",
    "<>",
    "<sip:a@b",
    '"unterminated <sip:a@b>',
    "<sip:a@b>;tag=1,<sip:c@d>",
]


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except SipParseError as exc:
        return ("error", exc.reason, exc.status)


@pytest.mark.parametrize("text", VIAS)
def test_via_fast_path_matches_general_parser(text: str) -> None:
    assert _outcome(m.parse_via, text) == _outcome(m._parse_via, text)


@pytest.mark.parametrize("text", NAME_ADDRS)
def test_name_addr_fast_path_matches_general_parser(text: str) -> None:
    assert _outcome(m.parse_name_addr, text) == _outcome(m._parse_name_addr, text)


def test_fast_paths_are_taken_for_the_usual_values() -> None:
    assert m._VIA_FAST_RE.fullmatch(VIAS[0]) is not None
    for text in NAME_ADDRS[:3]:
        assert m._NAME_ADDR_FAST_RE.fullmatch(text) is not None


def test_folded_and_unfolded_heads_split_alike() -> None:
    plain = (
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        b"Subject: one two\r\n\r\nbody"
    )
    folded = plain.replace(b"one two", b"one\r\n two")
    assert m._split_head(plain) == m._split_head(folded)
    with pytest.raises(SipParseError, match="continuation"):
        m._split_head(b" OPTIONS sip:a@b SIP/2.0\r\n\r\n")
