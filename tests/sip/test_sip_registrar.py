"""The registrar (RFC 3261 §10.3) with pjsip aor rules."""

from __future__ import annotations

from pyari.sip.message import Request, parse_message
from pyari.sip.registrar import AorPolicy, ChangeKind, Location, Registrar


def register(
    *contacts: str, expires: int | None = None, cseq: int = 1, call_id: str = "reg-1"
) -> Request:
    lines = [
        "REGISTER sip:127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKr1",
        "Max-Forwards: 70",
        "From: <sip:2222@127.0.0.1>;tag=r1",
        "To: <sip:2222@127.0.0.1>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        *[f"Contact: {c}" for c in contacts],
        *([f"Expires: {expires}"] if expires is not None else []),
        "User-Agent: test-phone",
        "Content-Length: 0",
    ]
    msg = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(msg, Request)
    return msg


def test_register_refresh_and_unregister() -> None:
    loc = Location()
    reg = Registrar(loc)
    out = reg.register(register("<sip:2222@192.0.2.4:5060>"), "2222", AorPolicy(), 0.0)
    assert out.response.status == 200
    assert [c.kind for c in out.changes] == [ChangeKind.CREATED]
    assert out.response.headers.get("contact") == "<sip:2222@192.0.2.4:5060>;expires=3600"
    (binding,) = loc.lookup("2222", 10.0)
    assert binding.user_agent == "test-phone"
    out = reg.register(
        register("<sip:2222@192.0.2.4:5060>;expires=120", cseq=2), "2222", AorPolicy(), 10.0
    )
    assert [c.kind for c in out.changes] == [ChangeKind.UPDATED]
    assert loc.lookup("2222", 10.0)[0].expires_at == 130.0
    out = reg.register(
        register("<sip:2222@192.0.2.4:5060>", expires=0, cseq=3), "2222", AorPolicy(), 20.0
    )
    assert [c.kind for c in out.changes] == [ChangeKind.REMOVED]
    assert loc.lookup("2222", 20.0) == []
    assert out.response.headers.getall("contact") == []


def test_expiry_bounds_and_423() -> None:
    reg = Registrar(Location())
    policy = AorPolicy(minimum_expiration=60, maximum_expiration=600)
    too_short = reg.register(register("<sip:a@192.0.2.4>", expires=30), "2222", policy, 0.0)
    assert too_short.response.status == 423
    assert too_short.response.headers.get("min-expires") == "60"
    capped = reg.register(register("<sip:a@192.0.2.4>", expires=99999), "2222", policy, 0.0)
    assert capped.response.headers.get("contact") == "<sip:a@192.0.2.4>;expires=600"


def test_max_contacts_and_remove_existing() -> None:
    loc = Location()
    reg = Registrar(loc)
    strict = AorPolicy(max_contacts=1)
    assert reg.register(register("<sip:a@192.0.2.4>"), "2222", strict, 0.0).response.status == 200
    second = reg.register(register("<sip:b@192.0.2.5>", call_id="reg-2"), "2222", strict, 1.0)
    assert second.response.status == 403
    assert [b.uri for b in loc.lookup("2222", 1.0)] == ["sip:a@192.0.2.4"]
    replacing = AorPolicy(max_contacts=1, remove_existing=True)
    third = reg.register(register("<sip:b@192.0.2.5>", call_id="reg-2"), "2222", replacing, 2.0)
    assert third.response.status == 200
    assert sorted(c.kind.value for c in third.changes) == ["created", "removed"]
    assert [b.uri for b in loc.lookup("2222", 2.0)] == ["sip:b@192.0.2.5"]


def test_wildcard_unregister() -> None:
    loc = Location()
    reg = Registrar(loc)
    reg.register(register("<sip:a@192.0.2.4>", "<sip:b@192.0.2.5>"), "2222", AorPolicy(), 0.0)
    assert len(loc.lookup("2222", 0.0)) == 2
    bad = reg.register(register("*", cseq=2), "2222", AorPolicy(), 1.0)
    assert bad.response.status == 400  # '*' needs Expires: 0
    out = reg.register(register("*", expires=0, cseq=3), "2222", AorPolicy(), 1.0)
    assert out.response.status == 200 and len(out.changes) == 2
    assert loc.lookup("2222", 1.0) == []


def test_out_of_order_cseq_and_query_and_expiry() -> None:
    loc = Location()
    reg = Registrar(loc)
    reg.register(register("<sip:a@192.0.2.4>;expires=100", cseq=5), "2222", AorPolicy(), 0.0)
    stale = reg.register(register("<sip:a@192.0.2.4>", cseq=4), "2222", AorPolicy(), 1.0)
    assert stale.response.status == 500
    query = reg.register(register(cseq=6), "2222", AorPolicy(), 50.0)
    assert query.response.headers.get("contact") == "<sip:a@192.0.2.4>;expires=50"
    assert loc.next_expiry() == 100.0
    assert [c.kind for c in loc.purge(100.0)] == [ChangeKind.EXPIRED]
    assert loc.lookup("2222", 100.0) == []


def test_static_contacts_are_found_but_not_listed() -> None:
    loc = Location()
    loc.add_static("trunk", "sip:trunk@203.0.113.5:5060")
    assert [b.uri for b in loc.lookup("trunk", 1e9)] == ["sip:trunk@203.0.113.5:5060"]
    assert loc.purge(1e9) == []
