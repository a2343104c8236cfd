"""Parsed header values are kept per message (issue #16): each header is parsed once, a
change to the headers drops what was parsed, and the values handed out can be copied
and changed without changing the message."""

from __future__ import annotations

from pyari.sip.dialog import Dialog
from pyari.sip.message import NameAddr, Request, Uri, make_response, parse_message, parse_uri
from pyari.sip.transaction import TransactionLayer

INVITE = (
    b"INVITE sip:100@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n"
    b"From: sipp <sip:sipp@127.0.0.1:5061>;tag=1\r\n"
    b"To: <sip:100@127.0.0.1:5060>\r\n"
    b"Call-ID: 1-123@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: sip:sipp@127.0.0.1:5061\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def _invite() -> Request:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    return msg


def test_accessors_return_what_the_parse_made_until_the_headers_change() -> None:
    msg = _invite()
    assert msg.from_ is msg.from_
    assert msg.to is msg.to
    assert msg.top_via is msg.vias[0]
    assert msg.cseq is msg.cseq
    assert msg.contacts[0] is msg.contacts[0]
    first = msg.to
    msg.headers.set("To", "<sip:200@127.0.0.1>;tag=x")
    assert msg.to is not first
    assert msg.to.uri.user == "200" and msg.to.tag == "x"
    msg.headers.add("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKzz")
    assert [v.host for v in msg.vias] == ["127.0.0.1", "10.0.0.1"]
    msg.headers.remove("via")
    msg.headers.insert_first("Via", "SIP/2.0/TCP 10.0.0.2:5070;branch=z9hG4bKyy")
    assert msg.top_via.transport == "TCP" and msg.top_via.port == 5070


def test_lists_handed_out_are_the_callers_own() -> None:
    msg = _invite()
    msg.vias.clear()
    msg.contacts.clear()
    assert len(msg.vias) == 1 and len(msg.contacts) == 1


def test_copies_change_alone() -> None:
    msg = _invite()
    to = msg.to.copy()
    to.params["tag"] = "mine"
    to.uri.user = "other"
    assert msg.to.tag is None and msg.to.uri.user == "100"
    via = msg.top_via.copy()
    via.params["received"] = "1.2.3.4"
    assert msg.top_via.received is None


def test_a_uas_dialog_leaves_the_request_to_as_it_came() -> None:
    msg = _invite()
    local = NameAddr(Uri("sip", "100", "127.0.0.1", 5060))
    dialog = Dialog.as_uas(msg, local_tag="ours", local_contact=local, sent_by="127.0.0.1:5060")
    assert dialog.local_uri.tag == "ours"
    assert msg.to.tag is None
    # a retransmitted INVITE's response still gets our tag added once
    response = make_response(msg, 200, to_tag="ours")
    assert response.headers.get("to") == "<sip:100@127.0.0.1:5060>;tag=ours"


def test_parse_uri_hands_out_copies_of_what_it_remembers() -> None:
    first = parse_uri("sip:alice@example.com:5060;transport=tcp")
    first.user = "mallory"
    first.params["transport"] = "udp"
    again = parse_uri("sip:alice@example.com:5060;transport=tcp")
    assert again.user == "alice" and again.transport == "tcp"


def test_a_request_without_a_branch_gets_one_without_changing_the_parsed_via() -> None:
    msg = _invite()
    msg.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:5061")
    shared = msg.top_via
    layer = TransactionLayer()
    tx, _events = layer.send_request(msg, ("127.0.0.1", 5060), 0.0)
    assert tx.branch.startswith("z9hG4bK")
    assert shared.branch is None
    assert msg.top_via.branch == tx.branch
