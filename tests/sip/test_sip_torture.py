"""RFC 4475 torture messages (IETF test data), each with the outcome the RFC gives.

Valid messages (§3.1.1, §3.3, §3.4) must parse; invalid ones (§3.1.2) must raise
SipParseError with a 400 (505 for the unknown version) when a response can be built, and
be dropped when they are responses. Application-level cases (§3.3) get the response
code the RFC names from ``check_request``.
"""

from __future__ import annotations

import pytest

from pyari.sip.message import (
    Request,
    Response,
    SipParseError,
    check_request,
    error_response,
    param_value,
    parse_message,
)

SDP = (
    b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n"
)


def wire(*lines: str, body: bytes = b"", length: int | None = None) -> bytes:
    """Lines joined by CRLF; ``{CL}`` in a line becomes the body length."""
    size = len(body) if length is None else length
    text = "\r\n".join(line.replace("{CL}", str(size)) for line in lines) + "\r\n\r\n"
    return text.encode("utf-8", "surrogateescape") + body


WSINV = wire(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
    "TO :",
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
    'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
    "  ;",
    "  tag = 98asjd8",
    "MaX-fOrWaRdS: 0068",
    "Call-ID: wsinv.ndaksdj@192.0.2.1",
    "Content-Length   : {CL}",
    "cseq: 0009",
    "  INVITE",
    "Via  : SIP  /   2.0",
    " /UDP",
    "    192.0.2.2;branch=390skdjuw",
    "s :",
    "NewFangledHeader:   newfangled value",
    " continued newfangled value",
    "UnknownHeaderWithUnusualValue: ;;,,;;,;",
    "Content-Type: application/sdp",
    "Route:",
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
    "  branch  =   z9hG4bK9ikj8  ,",
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
    " z9hG4bK30239",
    'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
    "      newvalue ;",
    "  secondparam ; q = 0.33",
    body=SDP,
)

INTMETH = wire(
    "!interesting-Method0123456789_*+`.%indeed'~ "
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
    "(doesn't-it)@example.com SIP/2.0",
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
    'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" '
    "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>",
    "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;"
    "fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\";"
    "tag=_token~1'+`*%!-.",
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
    "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
    "Max-Forwards: 255",
    "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb",
    "Content-Length: 0",
)

ESC01 = wire(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
    "To: sip:%75se%72@example.com",
    "From: <sip:I%20have%20spaces@example.net>;tag=938",
    "Max-Forwards: 87",
    "i: esc01.239409asdfakjkn23onasd0-3234",
    "CSeq: 234234 INVITE",
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
    "C: application/sdp",
    "Contact:",
    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
    "Content-Length: {CL}",
    body=SDP,
)

ESCNULL = wire(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:null-%00-null@example.com",
    "From: sip:null-%00-null@example.com;tag=839923423",
    "Max-Forwards: 70",
    "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
    "CSeq: 14398234 REGISTER",
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
    "Contact: <sip:%00@host5.example.com>",
    "Contact: <sip:%00%00@host5.example.com>",
    "L:0",
)

ESC02 = wire(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0",
    'To: "%Z%45" <sip:resource@example.com>',
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
    "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
    "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234",
    "CSeq: 29344 RE%47IST%45R",
    "Max-Forwards: 70",
    "Contact: <sip:alias1@host1.example.com>",
    "C%6Fntact: <sip:alias2@host2.example.com>",
    "Contact: <sip:alias3@host3.example.com>",
    "l: 0",
)

LWSDISP = wire(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: caller<sip:caller@example.com>;tag=323",
    "Max-Forwards: 70",
    "Call-ID: lwsdisp.1234abcd@funky.example.com",
    "CSeq: 60 OPTIONS",
    "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
    "l: 0",
)

LONGREQ = wire(
    "INVITE sip:user@example.com SIP/2.0",
    'To: "I have a user name of '
    + "extreme" * 10
    + ' proportion" <sip:user@example.com:6000;unknownparam1=verylongunknownparamvalue'
    + "" * 1
    + ";longparamnamenamenamenamenamenamenamenamenamename=shortvalue>",
    "From: sip:" + "amazinglylongcallername" * 6 + "@example.net;tag=12982982982",
    "Call-ID: longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid",
    "CSeq: 3882340 INVITE",
    "Unknown-"
    + "Long" * 40
    + "-Name: unknown-"
    + "long" * 40
    + "-value; unknown-"
    + "long" * 20
    + "-parameter-name = unknown-"
    + "long" * 20
    + "-parameter-value",
    "Via: SIP/2.0/TCP sip33.example.com",
    "v: SIP/2.0/TCP sip32.example.com",
    *[f"Via: SIP/2.0/TCP sip{n}.example.com" for n in range(31, 0, -1)],
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK" + "k" * 200,
    "Max-Forwards: 70",
    "Contact: <sip:" + "amazinglylongcallername" * 6 + "@host5.example.net>",
    "Content-Type: application/sdp",
    "l: {CL}",
    body=SDP,
)

DBLREQ = wire(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:j.user@example.com;tag=43251j3j324",
    "Max-Forwards: 8",
    "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
    "Contact: sip:j.user@host.example.com",
    "CSeq: 8 REGISTER",
    "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
    "Content-Length: 0",
) + wire(
    "INVITE sip:joe@example.com SIP/2.0",
    "t: sip:joe@example.com",
    "From: sip:caller@example.net;tag=141334",
    "Max-Forwards: 8",
    "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)

SEMIURI = wire(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
    "To: sip:j_user@example.com",
    "From: sip:caller@example.org;tag=33242",
    "Max-Forwards: 3",
    "Call-ID: semiuri.0ha0isndaksdj",
    "CSeq: 8 OPTIONS",
    "Accept: application/sdp, application/pkcs7-mime,",
    "        multipart/mixed, multipart/signed,",
    "        message/sip, message/sipfrag",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
    "l: 0",
)

TRANSPORTS = wire(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: <sip:caller@example.com>;tag=323",
    "Max-Forwards: 70",
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
    "Accept: application/sdp",
    "CSeq: 60 OPTIONS",
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
    "l: 0",
)

MPART_BODY = (
    b"--7a9cbec02ceef655\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
    b"\r\nsome text\r\n--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n\x00\x01\x02\xff\xfe\r\n\r\n\x80\x81"
    b"\r\n--7a9cbec02ceef655--\r\n"
)
MPART01 = wire(
    "MESSAGE sip:kumiko@example.org SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport",
    "Max-Forwards: 70",
    "Route: <sip:127.0.0.1:5080>",
    "Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD"
    "sXaC9Ft/SqFEqUk4Qo9KFMlk4RMDhfnBKuEpOmGqmMEqhmhGY14CsASBkzxfJL9eMc3ItyPSeDqnk3d1rDeY",
    "Identity-Info: <https://127.0.0.1:5080/cert.crt>;alg=rsa-sha1",
    "To: <sip:kumiko@example.org>",
    "From: <sip:fluffy@example.com>;tag=2fb0dcc9",
    "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
    "CSeq: 1 MESSAGE",
    "Content-Transfer-Encoding: binary",
    "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655",
    "Date: Sat, 15 Oct 2005 04:44:56 GMT",
    "User-Agent: SIPimp.org/0.2.5 (curses)",
    "Content-Length: {CL}",
    body=MPART_BODY,
)

UNREASON = wire(
    "SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f"
    "\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - "
    "\u043f\u0440\u043e\u0441\u0442\u043e\u0435",
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
    "CSeq: 35 INVITE",
    "From: sip:user@example.com;tag=11141343",
    "To: sip:user@example.edu;tag=2229",
    "Content-Length: {CL}",
    "Content-Type: application/sdp",
    "Contact: <sip:user@host198.example.com>",
    body=SDP,
)

NOREASON = wire(
    "SIP/2.0 100 ",
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
    "Call-ID: noreason.asndj203insdf99223ndf",
    "CSeq: 35 INVITE",
    "From: <sip:user@example.com>;tag=39ansfi3",
    "To: <sip:user@example.edu>;tag=902jndnke3",
    "Content-Length: 0",
    "Contact: <sip:user@host105.example.com>",
)

INV2543 = wire(
    "INVITE sip:UserB@example.com SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.15",
    "From: <sip:UserA@example.com>",
    "To: <sip:UserB@example.com>",
    "Call-ID: 010203040506@192.0.2.15",
    "CSeq: 8 INVITE",
    "Contact: <sip:UserA@192.0.2.15>",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)

VALID = {
    "wsinv": WSINV,
    "intmeth": INTMETH,
    "esc01": ESC01,
    "escnull": ESCNULL,
    "esc02": ESC02,
    "lwsdisp": LWSDISP,
    "longreq": LONGREQ,
    "dblreq": DBLREQ,
    "semiuri": SEMIURI,
    "transports": TRANSPORTS,
    "mpart01": MPART01,
    "unreason": UNREASON,
    "noreason": NOREASON,
    "inv2543": INV2543,
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_torture_messages_parse(name: str) -> None:
    msg = parse_message(VALID[name])
    # and what we write back parses to the same thing
    again = parse_message(msg.to_bytes())
    assert again.call_id == msg.call_id
    assert again.body == msg.body


def test_wsinv_details() -> None:
    msg = parse_message(WSINV)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.uri.user == "vivekg" and msg.uri.params == {"unknownparam": None}
    assert msg.to.tag == "1918181833n" and msg.to.display is None
    assert msg.from_.display == 'J Rosenberg \\"'
    assert msg.from_.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert (msg.cseq.number, msg.cseq.method) == (9, "INVITE")
    vias = msg.vias
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.headers.get("subject") == ""
    assert msg.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.headers.get("unknownheaderwithunusualvalue") == ";;,,;;,;"
    (contact,) = msg.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert msg.body == SDP


def test_intmeth_details() -> None:
    msg = parse_message(INTMETH)
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert msg.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert msg.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_.display == "token1~` token2'+_ token3*%!.-"
    assert msg.from_.tag == "_token~1'+`*%!-."
    assert param_value(msg.from_.params, "fromparam''~+*_!.-%") == "работающий"
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"


def test_escaped_and_compact_forms() -> None:
    esc01 = parse_message(ESC01)
    assert isinstance(esc01, Request)
    assert esc01.uri.user == "sips%3Auser%40example.com"
    assert esc01.content_type == "application/sdp"
    assert esc01.contacts[0].uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    esc02 = parse_message(ESC02)
    assert isinstance(esc02, Request)
    assert esc02.method == "RE%47IST%45R"  # % is no escape in a method
    assert len(esc02.contacts) == 2  # C%6Fntact is another header, not Contact
    assert esc02.headers.get("c%6fntact") == "<sip:alias2@host2.example.com>"
    escnull = parse_message(ESCNULL)
    assert [c.uri.user for c in escnull.contacts] == ["%00", "%00%00"]


def test_datagram_with_two_requests_keeps_the_first() -> None:
    msg = parse_message(DBLREQ)
    assert isinstance(msg, Request)
    assert msg.method == "REGISTER"
    assert msg.body == b""


def test_semiuri_and_transports_and_lws_display() -> None:
    semi = parse_message(SEMIURI)
    assert isinstance(semi, Request)
    assert semi.uri.user == "user;par=u%40example.net" and semi.uri.host == "example.com"
    assert len(semi.headers.getall("accept")) == 6
    trans = parse_message(TRANSPORTS)
    assert [v.transport for v in trans.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert parse_message(LWSDISP).from_.display == "caller"


def test_multipart_binary_body_is_kept() -> None:
    msg = parse_message(MPART01)
    assert msg.body == MPART_BODY
    assert msg.content_type == "multipart/mixed"


def test_responses_with_odd_reasons() -> None:
    un = parse_message(UNREASON)
    assert isinstance(un, Response)
    assert un.status == 200 and un.reason.startswith("= 2**3 * 5**2 но")
    no = parse_message(NOREASON)
    assert isinstance(no, Response)
    assert (no.status, no.reason) == (100, "")


def test_longreq_has_every_via() -> None:
    msg = parse_message(LONGREQ)
    assert len(msg.vias) == 34
    assert msg.top_via.host == "sip33.example.com"
    assert msg.to.uri.port == 6000


# --------------------------------------------------------------------------- §3.1.2 invalid

BADINV01 = wire(
    "INVITE sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=134161461246",
    "Max-Forwards: 7",
    "Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
    'Contact: "Joe" <sip:joe@example.org>;;;;',
    "Content-Length: {CL}",
    "Content-Type: application/sdp",
    body=SDP,
)
CLERR = wire(
    "INVITE sip:user@example.com SIP/2.0",
    "Max-Forwards: 80",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=93942939o2",
    "Contact: <sip:caller@hungry.example.net>",
    "Call-ID: clerr.0ha0isndaksdjweiafasdk3",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
    "Content-Type: application/sdp",
    "Content-Length: 9999",
    body=SDP,
)
NCL = wire(
    "INVITE sip:user@example.com SIP/2.0",
    "Max-Forwards: 254",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=32394234",
    "Call-ID: ncl.0ha0isndaksdj2193423r542w35",
    "CSeq: 0 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw",
    "Contact: <sip:caller@example53.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: -999",
    body=SDP,
)
SCALAR02 = wire(
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3",
    "To: <sip:user@example.com>",
    "From: <sip:user@example.com>;tag=239232jh3",
    "CSeq: 36893488147419103232 REGISTER",
    "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32",
    "Max-Forwards: 300",
    "Expires: 1" + "0" * 150,
    "Contact: <sip:user@host129.example.com>",
    "  ;expires=280297596632815",
    "l: 0",
)
SCALARLG = wire(
    "SIP/2.0 503 Service Unavailable",
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129",
    "To: <sip:user@example.com>",
    "From: <sip:other@example.net>;tag=2easdjfejw",
    "CSeq: 9292394834772304023312 OPTIONS",
    "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r",
    "Retry-After: 949302838503028349304023988",
    'Warning: 1812 overture "In Progress"',
    "Content-Length: 0",
)
QUOTBAL = wire(
    "INVITE sip:user@example.com SIP/2.0",
    'To: "Mr. J. User <sip:j.user@example.com>',
    "From: sip:caller@example.net;tag=93334",
    "Max-Forwards: 10",
    "Call-ID: quotbal.aksdj",
    "Contact: <sip:caller@host59.example.net>",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
LTGTRURI = wire(
    "INVITE <sip:user@example.com> SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=39291",
    "Max-Forwards: 23",
    "Call-ID: ltgtruri.1@192.0.2.5",
    "CSeq: 1 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.5",
    "Contact: <sip:caller@host5.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
LWSRURI = wire(
    "INVITE sip:user@example.com; lr SIP/2.0",
    "To: sip:user@example.com;tag=3xfe-9921883-z9f",
    "From: sip:caller@example.net;tag=231413434",
    "Max-Forwards: 5",
    "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423",
    "CSeq: 2130706432 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395",
    "Contact: <sip:caller@host1.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
LWSSTART = wire(
    "INVITE  sip:user@example.com  SIP/2.0",
    "Max-Forwards: 8",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=8814",
    "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com",
    "CSeq: 1893884 INVITE",
    "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923",
    "Contact: <sip:caller@host1.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
TRWS = wire(
    "OPTIONS sip:remote-target@example.com SIP/2.0  ",
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093",
    "To: <sip:remote-target@example.com>",
    "From: <sip:local-resource@example.com>;tag=329429089",
    "Call-ID: trws.oicu34958239neffasdhr2345r",
    "Accept: application/sdp",
    "CSeq: 238923 OPTIONS",
    "Max-Forwards: 70",
    "Content-Length: 0",
)
ESCRURI = wire(
    "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=341518",
    "Max-Forwards: 7",
    "Contact: <sip:caller@host39923.example.net>",
    "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5",
    "CSeq: 149209342 INVITE",
    "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
BADDATE = wire(
    "INVITE sip:user@example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:caller@example.net;tag=2234923",
    "Max-Forwards: 70",
    "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234",
    "CSeq: 1392934 INVITE",
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
    "Date: Fri, 01 Jan 2010 16:00:00 EST",
    "Contact: <sip:caller@host5.example.net>",
    "Content-Type: application/sdp",
    "Content-Length: {CL}",
    body=SDP,
)
REGBADCT = wire(
    "REGISTER sip:example.com SIP/2.0",
    "To: sip:user@example.com",
    "From: sip:user@example.com;tag=998332",
    "Max-Forwards: 70",
    "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1",
    "CSeq: 1 REGISTER",
    "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw",
    "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E",
    "l: 0",
)
BADASPEC = wire(
    "OPTIONS sip:user@example.org SIP/2.0",
    "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234",
    "Max-Forwards: 70",
    'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423',
    'To: "Watson, Thomas" < sip:t.watson@example.org >',
    "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3",
    "Accept: application/sdp",
    "CSeq: 3923239 OPTIONS",
    "l: 0",
)
BADDN = wire(
    "OPTIONS sip:t.watson@example.org SIP/2.0",
    "Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw",
    "Max-Forwards:      70",
    "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
    "To:      Watson, Thomas <sip:t.watson@example.org>",
    "Call-ID: baddn.31415@c.example.com",
    "Accept: application/sdp",
    "CSeq:    3923239 OPTIONS",
    "l: 0",
)
BADVERS = wire(
    "OPTIONS sip:t.watson@example.org SIP/7.0",
    "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw",
    "Max-Forwards:     70",
    "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe",
    "To:      T. Watson <sip:t.watson@example.org>",
    "Call-ID: badvers.31417@c.example.com",
    "CSeq:    1 OPTIONS",
    "l: 0",
)
MISMATCH01 = wire(
    "OPTIONS sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=34525",
    "Max-Forwards: 6",
    "Call-ID: mismatch01.dj0234sxdfl3",
    "CSeq: 8 INVITE",
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
    "l: 0",
)
MISMATCH02 = wire(
    "NEWMETHOD sip:user@example.com SIP/2.0",
    "To: sip:j.user@example.com",
    "From: sip:caller@example.net;tag=34525",
    "Max-Forwards: 6",
    "Call-ID: mismatch02.dj0234sxdfl3",
    "CSeq: 8 INVITE",
    "Contact: <sip:caller@host.example.net>",
    "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw",
    "Content-Type: application/sdp",
    "l: {CL}",
    body=SDP,
)
BIGCODE = wire(
    "SIP/2.0 4294967301 better not break the receiver",
    "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
    "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i",
    "CSeq: 353494 INVITE",
    "From: <sip:user@example.com>;tag=39ansfi3",
    "To: <sip:user@example.edu>;tag=902jndnke3",
    "Content-Length: 0",
    "Contact: <sip:user@host105.example.com>",
)

# RFC 4475 §3.3.1 (insuf) and §3.3.8/9 (multi01, mcl01) are syntax problems too: 400.
INSUF = wire(
    "INVITE sip:user@example.com SIP/2.0",
    "CSeq: 193942 INVITE",
    "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf",
    "Content-Type: application/sdp",
    "l: {CL}",
    body=SDP,
)
MULTI01 = wire(
    "INVITE sip:user@company.com SIP/2.0",
    "Contact: <sip:caller@host25.example.net>",
    "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKvscdjeufs",
    "Max-Forwards: 70",
    "CSeq: 5 INVITE",
    "Call-ID: multi01.98asdh@192.0.2.1",
    "CSeq: 59 INVITE",
    "Call-ID: multi01.98asdh@192.0.2.2",
    "From: sip:caller@example.com;tag=3413415",
    "To: sip:user@example.com",
    "To: sip:other@example.net",
    "From: sip:caller@example.net;tag=2923420123",
    "Content-Type: application/sdp",
    "l: {CL}",
    "Contact: <sip:caller@host36.example.net>",
    "Max-Forwards: 5",
    body=SDP,
)
MCL01 = wire(
    "OPTIONS sip:user@example.com SIP/2.0",
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423",
    "To: sip:user@example.com",
    "From: sip:other@example.net;tag=3923942",
    "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf",
    "CSeq: 15932 OPTIONS",
    "Content-Length: 13",
    "Max-Forwards: 60",
    "Content-Length: 5",
    "Content-Type: text/plain",
    body=b"There's no way to know how many octets are supposed to be here.",
)

# name → (status of the response, or None: silently dropped)
INVALID: dict[str, tuple[bytes, int | None]] = {
    "badinv01": (BADINV01, 400),
    "clerr": (CLERR, 400),
    "ncl": (NCL, 400),
    "scalar02": (SCALAR02, 400),
    "scalarlg": (SCALARLG, None),
    "quotbal": (QUOTBAL, 400),
    "ltgtruri": (LTGTRURI, 400),
    "lwsruri": (LWSRURI, 400),
    "lwsstart": (LWSSTART, 400),
    "trws": (TRWS, 400),
    "escruri": (ESCRURI, 400),
    "baddate": (BADDATE, 400),
    "regbadct": (REGBADCT, 400),
    "badaspec": (BADASPEC, 400),
    "baddn": (BADDN, 400),
    "badvers": (BADVERS, 505),
    "mismatch01": (MISMATCH01, 400),
    "mismatch02": (MISMATCH02, 400),
    "bigcode": (BIGCODE, None),
    "insuf": (INSUF, None),
    "multi01": (MULTI01, 400),
    "mcl01": (MCL01, 400),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_torture_messages_are_rejected(name: str) -> None:
    data, status = INVALID[name]
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    response = error_response(info.value, to_tag="t1")
    if status is None:
        assert response is None
    else:
        assert response is not None
        assert response.status == status
        # the response copies Via, From, To, Call-ID and CSeq as they came (RFC 3261
        # §8.2.6.2), even when one of them is what was wrong
        data = response.to_bytes()
        assert data.startswith(f"SIP/2.0 {status} ".encode())
        assert response.headers.getall("via") or response.headers.get("via") is not None


def test_insuf_cannot_be_answered_without_from_to_call_id() -> None:
    # RFC 4475 §3.3.1 asks for a 400 when possible; without From/To/Call-ID a response
    # cannot be built (RFC 3261 §8.2.6.2 copies them), so the message is dropped.
    with pytest.raises(SipParseError) as info:
        parse_message(INSUF)
    assert "missing" in info.value.reason
    assert not info.value.respond


# --------------------------------------------------------------------------- §3.3 application


def _req(*lines: str, body: bytes = b"") -> Request:
    msg = parse_message(wire(*lines, body=body))
    assert isinstance(msg, Request)
    return msg


COMMON = (
    "From: sip:caller@example.net;tag=2234923",
    "Call-ID: app.239423mnsadf3j23lj42",
    "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw",
)


@pytest.mark.parametrize(
    ("case", "start", "extra", "body", "status"),
    [
        ("unkscm", "OPTIONS nobodyknows:thisschemeisnotreal SIP/2.0", [], b"", 416),
        ("novelsc", "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0", [], b"", 416),
        (
            "bext01",
            "OPTIONS sip:user@example.com SIP/2.0",
            ["Require: nothingSupportedHere"],
            b"",
            420,
        ),
        (
            "invut",
            "INVITE sip:user@example.com SIP/2.0",
            ["Content-Type: application/unknownformat"],
            b"<audio> xxx </audio>",
            415,
        ),
        ("zeromf", "INVITE sip:user@example.com SIP/2.0", [], b"", 483),
        (
            "sdp01",
            "INVITE sip:user@example.com SIP/2.0",
            ["Accept: text/nobodyknowsthis"],
            b"",
            406,
        ),
    ],
)
def test_application_level_cases(
    case: str, start: str, extra: list[str], body: bytes, status: int
) -> None:
    method = start.split()[0]
    max_forwards = "0" if case == "zeromf" else "70"
    request = _req(
        start,
        "To: sip:user@example.com",
        *COMMON,
        f"CSeq: 1 {method}",
        f"Max-Forwards: {max_forwards}",
        *extra,
        "Content-Length: {CL}",
        body=body,
    )
    response = check_request(request)
    assert response is not None
    assert response.status == status
    if status == 420:
        assert response.headers.get("unsupported") == "nothingSupportedHere"


def test_zero_max_forwards_options_is_answered_by_us() -> None:
    request = _req(
        "OPTIONS sip:user@example.com SIP/2.0",
        "To: sip:user@example.com",
        *COMMON,
        "CSeq: 1 OPTIONS",
        "Max-Forwards: 0",
        "l: 0",
    )
    assert check_request(request) is None


def test_unknown_schemes_in_headers_and_register_params_parse() -> None:
    unksm2 = _req(
        "REGISTER sip:example.com SIP/2.0",
        "To: isbn:2983792873",
        "From: <http://www.example.com>;tag=3234233",
        "Call-ID: unksm2.daksdj@hyphenated-host.example.com",
        "CSeq: 234902 REGISTER",
        "Max-Forwards: 70",
        "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw",
        "Contact: <name:John_Smith>",
        "l: 0",
    )
    assert unksm2.to.uri.scheme == "isbn" and unksm2.contacts[0].uri.opaque == "John_Smith"
    cparam = _req(
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw",
        "Max-Forwards: 70",
        "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe",
        "To: sip:watson@example.com",
        "Call-ID: cparam01.70710@saturn.example.com",
        "CSeq: 2 REGISTER",
        "Contact: sip:+19725552222@gw1.example.net;unknownparam",
        "l: 0",
    )
    (contact,) = cparam.contacts
    assert contact.uri.params == {} and contact.params == {"unknownparam": None}
    escaped = _req(
        "REGISTER sip:example.com SIP/2.0",
        "To: sip:user@example.com",
        "From: sip:user@example.com;tag=8",
        "Max-Forwards: 70",
        "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1",
        "CSeq: 14398234 REGISTER",
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
        "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
        "L:0",
    )
    assert escaped.contacts[0].uri.headers == "Route=%3Csip:sip.example.com%3E"
