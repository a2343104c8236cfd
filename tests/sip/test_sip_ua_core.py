"""The user agent as pure code: messages in, actions out, a fake clock."""

from __future__ import annotations

from pyari.config import parse_text
from pyari.config.pjsip import PjsipSettings
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Request, Response, parse_message, parse_uri
from pyari.sip.registrar import ChangeKind
from pyari.sip.sdp import create_offer
from pyari.sip.transaction import Send
from pyari.sip.ua import (
    CallEnded,
    ContactChanged,
    IncomingCall,
    UserAgent,
    cause_to_status,
    status_to_cause,
)

CONF = """
[t]
type = transport
bind = 127.0.0.1:5060

[2222]
type = endpoint
context = ARI-test
allow = ulaw
aors = 2222
auth = 2222

[2222]
type = auth
username = 2222
password = secret
supported_algorithms_uas = MD5, SHA-256

[2222]
type = aor
max_contacts = 1
remove_existing = yes
minimum_expiration = 10

[trunk]
type = endpoint
context = from-trunk
allow = ulaw

[trunk-ip]
type = identify
endpoint = trunk
match = 10.0.0.0/8
"""

PHONE = ("127.0.0.1", 5070)


def make_ua() -> UserAgent:
    ua = UserAgent(PjsipSettings.from_sections(parse_text(CONF, "pjsip.conf")), secret=b"k" * 32)
    ua.addresses["UDP"] = ("127.0.0.1", 5060)
    return ua


def request(method: str, user: str, *, src: tuple[str, int] = PHONE, **kw: object) -> Request:
    host = "127.0.0.1:5060"
    return build_request(
        method,
        parse_uri(f"sip:{user}@{host}"),
        from_=NameAddr(
            parse_uri(f"sip:{kw.pop('from_user', '2222')}@{host}"), params={"tag": new_tag()}
        ),
        to=NameAddr(parse_uri(f"sip:{user}@{host}")),
        call_id=new_call_id(),
        cseq=1,
        sent_by=f"{src[0]}:{src[1]}",
        contact=NameAddr(parse_uri(f"sip:2222@{src[0]}:{src[1]}")),
        **kw,  # type: ignore[arg-type]
    )


def responses(actions: list[object]) -> list[Response]:
    out = []
    for a in actions:
        if isinstance(a, Send) and isinstance(a.message, Response):
            out.append(parse_message(a.data))  # what went on the wire
    return [r for r in out if isinstance(r, Response)]


def authorize(req: Request, challenge: Response, password: str = "secret") -> Request:
    value = DigestClient("2222", password).authorize(
        challenge.headers.getall("www-authenticate"), method=req.method, uri=str(req.uri)
    )
    assert value is not None
    again = Request(method=req.method, uri=req.uri, headers=req.headers.copy(), body=req.body)
    again.headers.set("Via", f"SIP/2.0/UDP {PHONE[0]}:{PHONE[1]};rport;branch=z9hG4bK{new_tag()}")
    again.headers.set("CSeq", f"{req.cseq.number + 1} {req.method}")
    again.headers.add("Authorization", value)
    return again


def test_cause_mapping_is_chan_pjsips() -> None:
    assert cause_to_status(17) == 486
    assert cause_to_status(1) == 404
    assert cause_to_status(16) == 603
    assert cause_to_status(34) == 503
    assert status_to_cause(486) == 17
    assert status_to_cause(404) == 1
    assert status_to_cause(480) == 19
    assert status_to_cause(487) == 127
    assert status_to_cause(599) == 34


def test_register_challenge_md5_first_then_sha256_answer_and_expiry() -> None:
    ua = make_ua()
    reg = request("REGISTER", "2222", headers=[("Expires", "30")])
    challenge = responses(ua.receive(reg, PHONE, 0.0))[0]
    assert challenge.status == 401
    algorithms = [v.split("algorithm=")[1].split(",")[0] for v in
                  challenge.headers.getall("www-authenticate")]  # fmt: skip
    assert algorithms == ["MD5", "SHA-256"]
    again = authorize(reg, challenge)
    assert "SHA-256" in (again.headers.get("authorization") or "")
    actions = ua.receive(again, PHONE, 1.0)
    assert [r.status for r in responses(actions)] == [200]
    changes = [a for a in actions if isinstance(a, ContactChanged)]
    assert [(c.aor, c.kind) for c in changes] == [("2222", ChangeKind.CREATED)]
    assert ua.next_deadline() is not None
    expired = [a for a in ua.tick(40.0) if isinstance(a, ContactChanged)]
    assert [c.kind for c in expired] == [ChangeKind.EXPIRED]
    assert ua.contacts("2222", 40.0) == []


def test_challenges_offer_md5_only_by_default_as_asterisk() -> None:
    conf = CONF.replace("supported_algorithms_uas = MD5, SHA-256\n", "")
    ua = UserAgent(PjsipSettings.from_sections(parse_text(conf, "pjsip.conf")), secret=b"k" * 32)
    ua.addresses["UDP"] = ("127.0.0.1", 5060)
    reg = request("REGISTER", "2222", headers=[("Expires", "30")])
    challenge = responses(ua.receive(reg, PHONE, 0.0))[0]
    assert challenge.status == 401
    values = challenge.headers.getall("www-authenticate")
    assert len(values) == 1 and "algorithm=MD5" in values[0]


def test_wrong_password_is_challenged_again() -> None:
    ua = make_ua()
    reg = request("REGISTER", "2222")
    challenge = responses(ua.receive(reg, PHONE, 0.0))[0]
    bad = authorize(reg, challenge, password="nope")
    assert [r.status for r in responses(ua.receive(bad, PHONE, 1.0))] == [401]
    assert ua.location.all() == []


def test_invite_cancel_gets_487_and_ends_the_call() -> None:
    ua = make_ua()
    sdp = create_offer(["ulaw"], "127.0.0.1", 4000, session_id="1").to_bytes()
    invite = request("INVITE", "1000", body=sdp, content_type="application/sdp")
    challenge = responses(ua.receive(invite, PHONE, 0.0))[-1]
    assert challenge.status == 401
    invite = authorize(invite, challenge)
    actions = ua.receive(invite, PHONE, 0.1)
    assert [r.status for r in responses(actions)] == [100]
    incoming = [a for a in actions if isinstance(a, IncomingCall)]
    assert len(incoming) == 1 and incoming[0].exten == "1000"
    call = incoming[0].call
    assert [r.status for r in responses(ua.ring(call, 0.2))] == [180]
    cancel = Request(method="CANCEL", uri=invite.uri, headers=invite.headers.copy())
    cancel.headers.set("CSeq", f"{invite.cseq.number} CANCEL")
    cancel.headers.remove("content-type")
    actions = ua.receive(cancel, PHONE, 0.3)
    assert sorted(r.status for r in responses(actions)) == [200, 487]
    ended = [a for a in actions if isinstance(a, CallEnded)]
    assert ended and ended[0].reason == "cancel"
    assert not ua.calls


def test_answer_without_ack_retransmits_then_byes() -> None:
    ua = make_ua()
    sdp = create_offer(["ulaw"], "127.0.0.1", 4000, session_id="1").to_bytes()
    invite = request("INVITE", "1000", src=("10.1.2.3", 5060), from_user="carrier", body=sdp,
                     content_type="application/sdp")  # fmt: skip
    actions = ua.receive(invite, ("10.1.2.3", 5060), 0.0)
    incoming = [a for a in actions if isinstance(a, IncomingCall)]
    assert incoming and incoming[0].call.endpoint.name == "trunk"  # identify by IP, no auth
    call = incoming[0].call
    assert [r.status for r in responses(ua.answer(call, sdp, 0.1))] == [200]
    resent = responses(ua.tick(0.65))
    assert [r.status for r in resent] == [200]
    out = ua.tick(40.0)
    assert any(isinstance(a, Send) and a.data.startswith(b"BYE ") for a in out)
    assert any(isinstance(a, CallEnded) and a.reason == "timeout" for a in out)


def test_2xx_retransmission_is_timed_until_the_ack_or_the_call_ends() -> None:
    ua = make_ua()
    sdp = create_offer(["ulaw"], "127.0.0.1", 4000, session_id="1").to_bytes()
    src = ("10.1.2.3", 5060)
    calls = []
    for n in range(2):
        invite = request("INVITE", "1000", src=src, from_user="carrier", body=sdp,
                         content_type="application/sdp")  # fmt: skip
        call = next(a.call for a in ua.receive(invite, src, n) if isinstance(a, IncomingCall))
        ok = responses(ua.answer(call, sdp, n + 0.1))[0]
        calls.append((invite, ok, call))
    assert ua.next_deadline() == 0.6  # the first 2xx's retransmission (T1)
    # the first call's ACK stops its retransmissions; the second's BYE (before any
    # ACK) ends the call, and its 2xx is not sent again either
    invite, ok, first = calls[0]
    ack = build_request("ACK", invite.uri, from_=invite.from_, to=ok.to, call_id=invite.call_id,
                        cseq=1, sent_by=f"{src[0]}:{src[1]}")  # fmt: skip
    assert ua.receive(ack, src, 0.2) == []
    assert ua.next_deadline() == 1.6
    invite, ok, _second = calls[1]
    bye = build_request("BYE", invite.uri, from_=invite.from_, to=ok.to, call_id=invite.call_id,
                        cseq=2, sent_by=f"{src[0]}:{src[1]}")  # fmt: skip
    assert [r.status for r in responses(ua.receive(bye, src, 1.2))] == [200]
    assert list(ua.calls.values()) == [first]
    assert ua.next_deadline() != 1.6
    assert not [a for a in ua.tick(1.6) if isinstance(a, Send)]


def test_out_of_dialog_requests() -> None:
    ua = make_ua()
    assert [r.status for r in responses(ua.receive(request("BYE", "1000"), PHONE, 0.0))] == [481]
    options = responses(ua.receive(request("OPTIONS", "1000"), PHONE, 0.0))
    assert options[0].status == 200 and "INVITE" in options[0].headers.getall("allow")
    odd = request("FROBNICATE", "1000")
    assert [r.status for r in responses(ua.receive(odd, PHONE, 0.0))] == [501]
