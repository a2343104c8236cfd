"""Dialogs (RFC 3261 §12-§15): creation on both sides, in-dialog requests, route sets,
CSeq ordering, 2xx retransmission until ACK."""

from __future__ import annotations

from pyari.sip.dialog import (
    Dialog,
    DialogState,
    DialogTable,
    NoAck,
    Retransmit2xx,
    build_cancel,
    build_request,
)
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    make_response,
    parse_message,
    parse_name_addr,
    parse_uri,
)
from pyari.sip.transaction import Send

INVITE = (
    b"INVITE sip:2222@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds8;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\r\n"
    b"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    b"To: <sip:2222@127.0.0.1>\r\n"
    b"Call-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@192.0.2.4:5060>\r\nContent-Length: 0\r\n\r\n"
)


def invite() -> Request:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    return msg


def uas_dialog() -> Dialog:
    return Dialog.as_uas(
        invite(),
        local_tag="srv1",
        local_contact=NameAddr(parse_uri("sip:pyari@127.0.0.1:5060")),
        sent_by="127.0.0.1:5060",
    )


def test_uas_dialog_state_from_invite() -> None:
    d = uas_dialog()
    assert d.id.call_id == "a84b4c76e66710"
    assert (d.local_tag, d.remote_tag) == ("srv1", "1928301774")
    assert str(d.remote_target) == "sip:alice@192.0.2.4:5060"
    assert [str(r.uri) for r in d.route_set] == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]
    assert d.remote_seq == 314159 and d.state is DialogState.EARLY


def test_uas_bye_goes_through_the_route_set() -> None:
    d = uas_dialog()
    d.state = DialogState.CONFIRMED
    seq = d.local_seq
    bye = d.create_request("BYE")
    assert str(bye.uri) == "sip:alice@192.0.2.4:5060"  # loose routing: target stays
    assert bye.headers.getall("route") == ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
    assert bye.from_.tag == "srv1" and bye.to.tag == "1928301774"
    assert bye.cseq.number == seq + 1
    assert "contact" not in bye.headers  # BYE is no target refresh
    assert bye.top_via.branch and bye.top_via.branch.startswith("z9hG4bK")
    reinvite = d.create_request("INVITE", body=b"v=0\r\n", content_type="application/sdp")
    assert reinvite.cseq.number == seq + 2
    assert reinvite.contacts[0].uri.user == "pyari"
    assert d.next_hop().host == "p2.example.com"
    # round trip through the wire format
    assert parse_message(reinvite.to_bytes()).call_id == "a84b4c76e66710"


def test_strict_router_goes_in_the_request_uri() -> None:
    d = uas_dialog()
    d.route_set = [
        parse_name_addr("<sip:strict.example.com>"),
        parse_name_addr("<sip:p1.example.com;lr>"),
    ]
    info = d.create_request("INFO")
    assert str(info.uri) == "sip:strict.example.com"
    assert info.headers.getall("route") == ["<sip:p1.example.com;lr>", "<sip:alice@192.0.2.4:5060>"]


def test_incoming_in_dialog_requests_cseq_and_target_refresh() -> None:
    d = uas_dialog()
    old = invite()
    assert d.receive_request(old) is not None  # same CSeq again: out of order → 500
    assert d.receive_request(old).status == 500  # type: ignore[union-attr]
    reinvite = parse_message(
        INVITE.replace(b"314159 INVITE", b"314160 INVITE")
        .replace(b"To: <sip:2222@127.0.0.1>", b"To: <sip:2222@127.0.0.1>;tag=srv1")
        .replace(b"alice@192.0.2.4:5060>", b"alice@192.0.2.99:5070>")
    )
    assert isinstance(reinvite, Request)
    assert d.receive_request(reinvite) is None
    assert str(d.remote_target) == "sip:alice@192.0.2.99:5070"
    table = DialogTable()
    table.add(d)
    assert table.for_request(reinvite) is d
    bye = parse_message(
        reinvite.to_bytes()
        .replace(b"INVITE sip", b"BYE sip")
        .replace(b"314160 INVITE", b"314161 BYE")
    )
    assert isinstance(bye, Request)
    assert d.receive_request(bye) is None
    assert d.state is DialogState.TERMINATED


def test_uac_dialog_from_2xx_and_ack() -> None:
    req = build_request(
        "INVITE",
        parse_uri("sip:bob@198.51.100.1"),
        from_=parse_name_addr("<sip:pyari@127.0.0.1>;tag=u1"),
        to=parse_name_addr("<sip:bob@198.51.100.1>"),
        call_id="c-uac",
        cseq=10,
        sent_by="127.0.0.1:5060",
        contact=NameAddr(parse_uri("sip:pyari@127.0.0.1:5060")),
    )
    ok = make_response(
        req,
        200,
        to_tag="b9",
        headers=[
            ("Record-Route", "<sip:p1.example.com;lr>"),
            ("Record-Route", "<sip:p2.example.com;lr>"),
            ("Contact", "<sip:bob@198.51.100.7:5080>"),
        ],
    )
    parsed = parse_message(ok.to_bytes())
    assert isinstance(parsed, Response)
    d = Dialog.as_uac(req, parsed, sent_by="127.0.0.1:5060")
    assert d.state is DialogState.CONFIRMED
    assert [r.uri.host for r in d.route_set] == ["p2.example.com", "p1.example.com"]  # reversed
    ack = d.create_ack()
    assert ack.method == "ACK" and str(ack.cseq) == "10 ACK"
    assert str(ack.uri) == "sip:bob@198.51.100.7:5080"
    assert ack.to.tag == "b9"
    table = DialogTable()
    table.add(d)
    assert table.for_response(parsed) is d
    bye = d.create_request("BYE")
    assert bye.cseq.number == 11
    d.receive_response(bye, make_response(bye, 200))
    assert d.state is DialogState.TERMINATED


def test_cancel_copies_the_invite() -> None:
    req = invite()
    cancel = build_cancel(req)
    assert cancel.method == "CANCEL"
    assert cancel.top_via.branch == "z9hG4bKnashds8"
    assert str(cancel.cseq) == "314159 CANCEL"
    assert cancel.uri == req.uri
    assert cancel.headers.get("to") == req.headers.get("to")


def test_2xx_retransmitted_until_ack() -> None:
    ok = make_response(invite(), 200, to_tag="srv1")
    r = Retransmit2xx(ok, ("192.0.2.4", 5060), 0.0)
    assert len(r.first()) == 1
    sent = []
    now = 0.0
    while (deadline := r.next_deadline()) is not None and deadline < 5:
        now = deadline
        sent += [now for item in r.tick(now) if isinstance(item, Send)]
    assert sent == [0.5, 1.5, 3.5]
    r.ack_received()
    assert r.next_deadline() is None and r.tick(100.0) == []


def test_2xx_without_ack_gives_up_after_64_t1() -> None:
    ok = make_response(invite(), 200, to_tag="srv1")
    r = Retransmit2xx(ok, ("192.0.2.4", 5060), 0.0)
    out = []
    while (deadline := r.next_deadline()) is not None:
        out += r.tick(deadline)
    assert isinstance(out[-1], NoAck)
    assert sum(isinstance(x, Send) for x in out) == 10
