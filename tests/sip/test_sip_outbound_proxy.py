"""pjsip.conf ``outbound_proxy`` (endpoint and AOR) and Record-Route in responses: what a
node behind a proxy (Kamailio, docs/cluster-kamailio.md) needs of the user agent."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pyari.config import ConfigError, parse_text
from pyari.config.pjsip import PjsipSettings
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    make_response,
    parse_message,
    parse_uri,
)
from pyari.sip.sdp import create_offer
from pyari.sip.transaction import Send
from pyari.sip.ua import Answered, IncomingCall, UserAgent

CONF = """
[t]
type = transport
bind = 127.0.0.1:5070

[edge]
type = endpoint
context = from-kamailio
allow = ulaw
aors = edge
outbound_proxy = sip:127.0.0.1:5060\\;lr

[edge]
type = aor
contact = sip:127.0.0.1:5060
outbound_proxy = sip:127.0.0.1:5060
qualify_frequency = 30

[direct]
type = endpoint
allow = ulaw
"""

PROXY = ("127.0.0.1", 5060)


def settings(text: str = CONF) -> PjsipSettings:
    return PjsipSettings.from_sections(parse_text(text, "pjsip.conf"))


def make_ua() -> UserAgent:
    ua = UserAgent(settings(), secret=b"k" * 32)
    ua.addresses["UDP"] = ("127.0.0.1", 5070)
    return ua


def sends(actions: Sequence[object]) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def req(send: Send) -> Request:
    assert isinstance(send.message, Request)
    return send.message


def test_outbound_proxy_is_read_with_its_escaped_lr() -> None:
    conf = settings()
    assert conf.endpoints["edge"].outbound_proxy == "sip:127.0.0.1:5060;lr"
    assert conf.aors["edge"].outbound_proxy == "sip:127.0.0.1:5060"
    assert conf.endpoints["direct"].outbound_proxy is None


@pytest.mark.parametrize("value", ["proxy.example.com", "http://x", "sip:a b"])
def test_outbound_proxy_must_be_a_sip_uri(value: str) -> None:
    with pytest.raises(ConfigError, match="outbound_proxy"):
        settings(f"[e]\ntype = endpoint\noutbound_proxy = {value}\n")


def test_invite_goes_to_the_proxy_with_a_route_header() -> None:
    ua = make_ua()
    offer = create_offer(["ulaw"], "127.0.0.1", 10000, session_id="1").to_bytes()
    target = parse_uri("sip:alice@pyari.invalid")
    call, actions = ua.invite(
        ua.settings.endpoints["edge"], target, ("pyari.invalid", 5060), offer, 0.0
    )
    (send,) = sends(actions)
    assert send.dest == PROXY
    invite = send.message
    assert isinstance(invite, Request)
    assert str(invite.uri) == "sip:alice@pyari.invalid"  # the Request-URI is the target
    assert invite.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]
    assert call.peer == PROXY


def test_without_a_proxy_the_invite_goes_to_its_destination() -> None:
    ua = make_ua()
    target = parse_uri("sip:bob@10.0.0.9:5062")
    _call, actions = ua.invite(ua.settings.endpoints["direct"], target, ("10.0.0.9", 5062),
                               b"", 0.0)  # fmt: skip
    (send,) = sends(actions)
    assert send.dest == ("10.0.0.9", 5062)
    assert not send.message.headers.getall("route")


def _answer(invite: Request, record_route: list[str]) -> Response:
    headers = [
        ("Contact", "<sip:alice@10.0.0.7:5080>"),
        *(("Record-Route", r) for r in record_route),
    ]
    return make_response(invite, 200, to_tag=new_tag(), headers=headers)


def test_dialog_keeps_the_proxy_when_it_did_not_record_route() -> None:
    ua = make_ua()
    target = parse_uri("sip:alice@pyari.invalid")
    call, actions = ua.invite(ua.settings.endpoints["edge"], target, ("x", 1), b"", 0.0)
    invite = sends(actions)[0].message
    assert isinstance(invite, Request)
    out = ua.receive(_answer(invite, []), PROXY, 0.1)
    assert any(isinstance(a, Answered) for a in out)
    ack = next(s for s in sends(out) if req(s).method == "ACK")
    assert ack.dest == PROXY
    assert ack.message.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]
    assert str(req(ack).uri) == "sip:alice@10.0.0.7:5080"
    (bye,) = sends(ua.hangup(call, 1.0))
    assert bye.dest == PROXY
    assert bye.message.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]


def test_dialog_follows_the_record_route_of_the_proxy() -> None:
    ua = make_ua()
    target = parse_uri("sip:alice@pyari.invalid")
    call, actions = ua.invite(ua.settings.endpoints["edge"], target, ("x", 1), b"", 0.0)
    invite = sends(actions)[0].message
    assert isinstance(invite, Request)
    ua.receive(_answer(invite, ["<sip:127.0.0.1:5060;lr>"]), PROXY, 0.1)
    (bye,) = sends(ua.hangup(call, 1.0))
    assert bye.dest == PROXY
    assert bye.message.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]


def test_qualify_of_an_aor_with_a_proxy_goes_through_it() -> None:
    ua = make_ua()
    out = sends(ua.qualify("edge", 0.0))
    (options,) = out
    assert options.dest == PROXY
    assert options.message.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]


def test_responses_copy_record_route() -> None:
    raw = (
        "INVITE sip:1000@127.0.0.1:5070 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKk1\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKp1\r\n"
        "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
        "Record-Route: <sip:10.1.1.1;lr>\r\n"
        f"From: <sip:sipp@127.0.0.1>;tag={new_tag()}\r\n"
        "To: <sip:1000@127.0.0.1>\r\n"
        f"Call-ID: {new_call_id()}\r\n"
        "CSeq: 1 INVITE\r\n"
        "Max-Forwards: 69\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    request = parse_message(raw)
    assert isinstance(request, Request)
    ok = make_response(request, 200, to_tag="a")
    assert ok.headers.getall("record-route") == ["<sip:127.0.0.1:5060;lr>", "<sip:10.1.1.1;lr>"]
    assert make_response(request, 180, to_tag="a").headers.getall("record-route")
    assert not make_response(request, 100).headers.getall("record-route")


def test_an_inbound_call_through_a_proxy_answers_with_its_record_route() -> None:
    """The node's 200 OK keeps the proxy in the dialog, and its BYE goes back through it."""
    ua = make_ua()
    host = "127.0.0.1:5060"
    invite = build_request(
        "INVITE",
        parse_uri("sip:1000@127.0.0.1:5060"),  # the Request-URI names the proxy, not us
        from_=NameAddr(parse_uri(f"sip:sipp@{host}"), params={"tag": new_tag()}),
        to=NameAddr(parse_uri(f"sip:1000@{host}")),
        call_id=new_call_id(),
        cseq=1,
        sent_by="127.0.0.1:5060",
        contact=NameAddr(parse_uri("sip:sipp@127.0.0.1:5090")),
        headers=[("Record-Route", "<sip:127.0.0.1:5060;lr>")],
    )
    conf = CONF + "\n[edge-ip]\ntype = identify\nendpoint = edge\nmatch = 127.0.0.1\n"
    ua = UserAgent(settings(conf), secret=b"k" * 32)
    ua.addresses["UDP"] = ("127.0.0.1", 5070)
    out = ua.receive(invite, PROXY, 0.0)
    incoming = [a for a in out if isinstance(a, IncomingCall)]
    assert incoming, out
    call = incoming[0].call
    assert call.endpoint.name == "edge"
    ok = sends(ua.answer(call, b"", 0.1))[-1]
    assert ok.message.headers.getall("record-route") == ["<sip:127.0.0.1:5060;lr>"]
    (bye,) = sends(ua.hangup(call, 1.0))
    assert bye.dest == PROXY
    assert bye.message.headers.getall("route") == ["<sip:127.0.0.1:5060;lr>"]
    assert str(req(bye).uri) == "sip:sipp@127.0.0.1:5090"
