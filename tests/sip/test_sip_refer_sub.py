"""REFER and RFC 4488 (``Refer-Sub``) in the user agent, as pure code with a fake clock.

A REFER with ``Refer-Sub: false`` creates no implicit subscription: it is not answered
with 202 but, as res_pjsip_refer does, with the result of the transfer and
``Refer-Sub: false``, and no NOTIFY is ever sent. Without the header (or with ``true``)
the REFER gets 202 and the progress goes in NOTIFY message/sipfrag. REFERs pyari sends
outside a dialog carry the app's variables as headers and accept the NOTIFYs of their
subscription; ARI redirect sends a REFER in an answered call's dialog, or a 302 to a
ringing one.
"""

from __future__ import annotations

from pyari.sip.dialog import build_request, new_tag
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
from pyari.sip.ua import Call, IncomingCall, TransferRequested, UserAgent
from sip.test_sip_ua_core import make_ua, request, responses

TRUNK = ("10.1.2.3", 5060)


def sent_requests(actions: list[object]) -> list[Request]:
    out = []
    for a in actions:
        if isinstance(a, Send) and isinstance(a.message, Request):
            message = parse_message(a.data)
            assert isinstance(message, Request)
            out.append(message)
    return out


def transfers(actions: list[object]) -> list[TransferRequested]:
    return [a for a in actions if isinstance(a, TransferRequested)]


class Peer:
    """The trunk's side of one answered call (identified by IP: no authentication)."""

    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua
        sdp = create_offer(["ulaw"], TRUNK[0], 4000, session_id="1").to_bytes()
        self.invite = request("INVITE", "1000", src=TRUNK, from_user="carrier", body=sdp,
                              content_type="application/sdp")  # fmt: skip
        actions = ua.receive(self.invite, TRUNK, 0.0)
        [incoming] = [a for a in actions if isinstance(a, IncomingCall)]
        self.call: Call = incoming.call
        [ok] = responses(ua.answer(self.call, sdp, 0.1))
        assert ok.status == 200
        self.to = ok.headers.get("to") or ""
        self.cseq = 1
        ack = self.in_dialog("ACK")
        ack.headers.set("CSeq", "1 ACK")
        assert ua.receive(ack, TRUNK, 0.2) == []

    def in_dialog(self, method: str, headers: list[tuple[str, str]] | None = None) -> Request:
        req = Request(method=method, uri=self.invite.uri, headers=self.invite.headers.copy())
        req.headers.remove("content-type")
        req.headers.set("Via", f"SIP/2.0/UDP {TRUNK[0]}:{TRUNK[1]};rport;branch=z9hG4bK{new_tag()}")
        req.headers.set("To", self.to)
        self.cseq += 1
        req.headers.set("CSeq", f"{self.cseq} {method}")
        for name, value in headers or []:
            req.headers.add(name, value)
        return req

    def refer(self, *extra: tuple[str, str]) -> Request:
        return self.in_dialog("REFER", [("Refer-To", "<sip:3000@127.0.0.1>"), *extra])


def test_refer_sub_false_gets_the_transfer_result_and_no_notify() -> None:
    ua = make_ua()
    peer = Peer(ua)
    refer = peer.refer(("Refer-Sub", "false"))
    actions = ua.receive(refer, TRUNK, 1.0)
    # not answered yet: the response waits for the transfer's result
    assert responses(actions) == []
    [transfer] = transfers(actions)
    assert transfer.subscription is False
    assert transfer.refer_to == "sip:3000@127.0.0.1"
    # a retransmission of the REFER meanwhile is absorbed, not a second transfer
    assert ua.receive(refer, TRUNK, 1.2) == []
    assert ua.refer_notify(peer.call, 100, 1.3) == []  # no progress without a subscription
    [final] = responses(ua.refer_notify(peer.call, 200, 1.4))
    assert final.status == 200
    assert final.headers.get("refer-sub") == "false"
    assert final.cseq.method == "REFER"
    assert final.to.tag == peer.call.local_tag
    # nothing more, ever: no NOTIFY for later progress
    assert ua.refer_notify(peer.call, 200, 1.5) == []
    assert ua.refer_accept(peer.call, 1.6) == []
    # a retransmission after the final response gets the same response again
    [again] = responses(ua.receive(refer, TRUNK, 1.7))
    assert again.status == 200 and again.headers.get("refer-sub") == "false"
    assert sent_requests(ua.tick(40.0)) == []


def test_refer_sub_false_failure_is_the_final_response() -> None:
    ua = make_ua()
    peer = Peer(ua)
    actions = ua.receive(peer.refer(("Refer-Sub", "FALSE")), TRUNK, 1.0)
    assert transfers(actions)[0].subscription is False
    [final] = responses(ua.refer_notify(peer.call, 603, 1.1))
    assert final.status == 603
    assert final.headers.get("refer-sub") == "false"
    assert ua.refer_notify(peer.call, 603, 1.2) == []


def test_a_second_refer_while_one_waits_for_its_result_is_491() -> None:
    ua = make_ua()
    peer = Peer(ua)
    refer = peer.refer(("Refer-Sub", "false"))
    first = ua.receive(refer, TRUNK, 1.0)
    assert transfers(first)
    second = ua.receive(peer.refer(("Refer-Sub", "false")), TRUNK, 1.1)
    assert [r.status for r in responses(second)] == [491]
    assert transfers(second) == []
    [final] = responses(ua.refer_notify(peer.call, 200, 1.2))
    assert final.cseq.number == refer.cseq.number  # the first REFER's answer


def test_refer_accept_answers_200_at_once() -> None:
    """What ``transfer_handling=ari-only`` does: the REFER is accepted when ARI got it."""
    ua = make_ua()
    peer = Peer(ua)
    ua.receive(peer.refer(("Refer-Sub", "false")), TRUNK, 1.0)
    [final] = responses(ua.refer_accept(peer.call, 1.1))
    assert (final.status, final.headers.get("refer-sub")) == (200, "false")
    assert ua.refer_notify(peer.call, 100, 1.2) == []
    assert ua.refer_notify(peer.call, 200, 1.3) == []


def test_refer_without_refer_sub_gets_202_and_notifies() -> None:
    ua = make_ua()
    peer = Peer(ua)
    actions = ua.receive(peer.refer(), TRUNK, 1.0)
    [accepted] = responses(actions)
    assert accepted.status == 202
    assert "refer-sub" not in accepted.headers
    assert transfers(actions)[0].subscription is True
    assert ua.refer_accept(peer.call, 1.1) == []  # answered already
    [trying] = sent_requests(ua.refer_notify(peer.call, 100, 1.2))
    assert trying.method == "NOTIFY"
    assert trying.body == b"SIP/2.0 100 Trying\r\n"
    assert (trying.headers.get("subscription-state") or "").startswith("active")
    [done] = sent_requests(ua.refer_notify(peer.call, 200, 1.3))
    assert done.body.startswith(b"SIP/2.0 200")
    assert (done.headers.get("subscription-state") or "").startswith("terminated")
    assert ua.refer_notify(peer.call, 200, 1.4) == []


def test_refer_sub_true_is_echoed_in_the_202() -> None:
    ua = make_ua()
    peer = Peer(ua)
    actions = ua.receive(peer.refer(("Refer-Sub", "true")), TRUNK, 1.0)
    [accepted] = responses(actions)
    assert accepted.status == 202
    assert accepted.headers.get("refer-sub") == "true"
    assert transfers(actions)[0].subscription is True


def test_norefersub_is_supported_and_advertised() -> None:
    ua = make_ua()
    peer = Peer(ua)
    refer = peer.refer(("Refer-Sub", "false"), ("Require", "norefersub"))
    actions = ua.receive(refer, TRUNK, 1.0)
    assert responses(actions) == []  # not a 420 Bad Extension
    assert transfers(actions)
    options = responses(ua.receive(request("OPTIONS", "1000"), TRUNK, 2.0))[0]
    supported = [s.strip() for s in options.headers.getall("supported")]
    assert "norefersub" in supported
    # an option we do not know is still refused
    odd = peer.in_dialog("REFER", [("Refer-To", "<sip:3000@h>"), ("Require", "frobnicate")])
    assert [r.status for r in responses(ua.receive(odd, TRUNK, 3.0))] == [420]


def _sent_refer(ua: UserAgent, **kw: object) -> tuple[Request, Send]:
    actions = ua.send_refer(parse_uri("sip:bob@10.9.9.9:5060"), ("10.9.9.9", 5060),
                            "sip:3000@127.0.0.1", 0.0, **kw)  # type: ignore[arg-type]  # fmt: skip
    [send] = [a for a in actions if isinstance(a, Send)]
    refer = parse_message(send.data)
    assert isinstance(refer, Request) and refer.method == "REFER"
    return refer, send


def _answer(refer: Request, status: int, *headers: tuple[str, str]) -> Response:
    return make_response(refer, status, to_tag="bobtag", headers=list(headers))


def _notify(refer: Request, state: str, cseq: int) -> Request:
    req = build_request(
        "NOTIFY",
        parse_uri("sip:asterisk@127.0.0.1:5060"),
        from_=NameAddr(parse_uri("sip:bob@10.9.9.9"), params={"tag": "bobtag"}),
        to=NameAddr(refer.from_.uri, params={"tag": refer.from_.tag or ""}),
        call_id=refer.call_id,
        cseq=cseq,
        sent_by="10.9.9.9:5060",
        headers=[("Event", "refer"), ("Subscription-State", state)],
        body=b"SIP/2.0 200 OK\r\n",
        content_type="message/sipfrag;version=2.0",
    )
    return req


def test_sent_refer_carries_variables_and_accepts_its_notifies() -> None:
    ua = make_ua()
    refer, _send = _sent_refer(
        ua,
        headers=[("Refer-Sub", "true"), ("X-Custom", "1"), ("Call-ID", "forged"),
                 ("Contact", "<sip:evil@h>"), ("display_name", 'Bob "B"')],
    )  # fmt: skip
    assert refer.headers.get("refer-sub") == "true"
    assert refer.headers.get("x-custom") == "1"
    assert refer.call_id != "forged"
    assert "evil" not in (refer.headers.get("contact") or "")
    assert "display_name" not in refer.headers
    assert refer.headers.get("refer-to") == '"Bob \\"B\\"" <sip:3000@127.0.0.1>'
    ua.receive(_answer(refer, 202), ("10.9.9.9", 5060), 0.1)
    active = responses(ua.receive(_notify(refer, "active;expires=60", 1), ("10.9.9.9", 5060), 0.2))
    assert [r.status for r in active] == [200]
    done = _notify(refer, "terminated;reason=noresource", 2)
    assert [r.status for r in responses(ua.receive(done, ("10.9.9.9", 5060), 0.3))] == [200]
    # the subscription is over: a later NOTIFY belongs to no dialog
    late = _notify(refer, "active", 3)
    assert [r.status for r in responses(ua.receive(late, ("10.9.9.9", 5060), 0.4))] == [481]


def test_sent_refer_with_refer_sub_false_expects_no_notify() -> None:
    ua = make_ua()
    refer, _send = _sent_refer(ua, headers=[("Refer-Sub", "false")])
    assert refer.headers.get("refer-sub") == "false"
    ua.receive(_answer(refer, 200, ("Refer-Sub", "false")), ("10.9.9.9", 5060), 0.1)
    notify = _notify(refer, "active", 1)
    assert [r.status for r in responses(ua.receive(notify, ("10.9.9.9", 5060), 0.2))] == [481]


def test_sent_refer_notify_of_another_dialog_is_refused() -> None:
    ua = make_ua()
    refer, _send = _sent_refer(ua)
    assert "refer-sub" not in refer.headers
    ua.receive(_answer(refer, 202), ("10.9.9.9", 5060), 0.1)
    stranger = _notify(refer, "active", 1)
    stranger.headers.set("From", "<sip:mallory@10.9.9.9>;tag=other")
    assert [r.status for r in responses(ua.receive(stranger, ("10.9.9.9", 5060), 0.2))] == [481]
    # past the subscription's lifetime its NOTIFYs are refused too
    late = _notify(refer, "active", 2)
    assert [r.status for r in responses(ua.receive(late, ("10.9.9.9", 5060), 700.0))] == [481]


# ----------------------------------------------------------------------- REFER we send


def test_refer_in_dialog_asks_the_peer_to_call_the_target() -> None:
    ua = make_ua()
    peer = Peer(ua)
    [refer] = sent_requests(ua.refer(peer.call, "sip:3000@10.0.0.9", 1.0))
    assert refer.method == "REFER"
    assert refer.call_id == peer.invite.call_id
    assert refer.to.tag == peer.invite.from_.tag  # the peer's tag: in the dialog
    assert refer.from_.tag == peer.call.local_tag
    assert refer.headers.get("refer-to") == "<sip:3000@10.0.0.9>"
    assert (refer.headers.get("referred-by") or "").startswith("<sip:1000@")
    [custom] = sent_requests(ua.refer(peer.call, "sip:3000@10.0.0.9", 1.1, referred_by="<sip:x@y>"))
    assert custom.headers.get("referred-by") == "<sip:x@y>"
    assert custom.cseq.number > refer.cseq.number
    # the peer accepts without a subscription; its NOTIFYs (if any) are still answered
    ua.receive(make_response(refer, 200, headers=[("Refer-Sub", "false")]), TRUNK, 1.2)
    notify = peer.in_dialog("NOTIFY", [("Event", "refer"), ("Subscription-State", "terminated")])
    assert [r.status for r in responses(ua.receive(notify, TRUNK, 1.3))] == [200]
    assert ua.refer(peer.call, "not a uri", 1.4) == []


def test_redirect_answers_a_ringing_call_302() -> None:
    ua = make_ua()
    sdp = create_offer(["ulaw"], TRUNK[0], 4000, session_id="1").to_bytes()
    invite = request("INVITE", "1000", src=TRUNK, from_user="carrier", body=sdp,
                     content_type="application/sdp")  # fmt: skip
    [incoming] = [a for a in ua.receive(invite, TRUNK, 0.0) if isinstance(a, IncomingCall)]
    call = incoming.call
    assert ua.redirect(call, "bogus", 0.1) == []  # not a SIP URI: nothing sent
    [moved] = responses(ua.redirect(call, "sip:3000@10.0.0.9", 0.2))
    assert moved.status == 302
    assert moved.headers.get("contact") == "<sip:3000@10.0.0.9>"
    assert not ua.calls
    assert ua.redirect(call, "sip:3000@10.0.0.9", 0.3) == []  # once
    # an answered call cannot be redirected (it is REFERred instead)
    peer = Peer(ua)
    assert ua.redirect(peer.call, "sip:3000@10.0.0.9", 1.0) == []
