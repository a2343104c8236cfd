"""pjsip.conf's ``type=acl`` sections over a real UDP socket (issue #11): a request from
an address, or with a Contact, that a section refuses gets Asterisk's stateless ``403``
(an ACK nothing) before any authentication; the NOTICE and WARNING lines are
res_pjsip_acl's; acl.conf's named ACLs count; ``pjsip reload`` and ``module reload
res_pjsip.so`` reread both files. Loopback has all of 127/8, so 127.0.0.1 and 127.0.0.2
are two phones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import pyari.sip.service
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Request, Response, parse_message, parse_uri
from security.sip_phones import Phone, add_to_pjsip, started

ONLY_ONE = """
[only-one]
type = acl
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1
"""
FAIL = "a failure to pass ACL"
TEST = "did not pass ACL test"


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    return [
        (r.levelname, getattr(r, "asterisk_source", ""), r.getMessage())
        for r in caplog.records
        if r.name == "pyari.sip.acl"
    ]


async def test_source_acl_refuses_register_and_invite_with_403(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    add_to_pjsip(etc, ONLY_ONE)
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        # allowed: on to authentication (2222 has auth=), so a 401 challenge
        assert await one.ask(port, "REGISTER") == 401
        assert await one.ask(port, "INVITE") == 401
        caplog.clear()
        assert await two.ask(port, "REGISTER") == 403
        assert await two.ask(port, "INVITE") == 403
        # an ACK is dropped without an answer: the OPTIONS sent after it gets the
        # only response
        assert two.transport is not None
        two.transport.sendto(two.request("ACK", port).to_bytes(), ("127.0.0.1", port))
        assert await two.ask(port, "OPTIONS") == 403
        assert len(two.inbox) == 3
        assert await one.ask(port, "OPTIONS") == 200
    finally:
        await srv.stop()
    where = f"127.0.0.2:{two.local[1]}"
    refusal = [
        ("INFO", "acl.c", f"SIP ACL: Rejecting '127.0.0.2' due to {FAIL} '(BASELINE)'"),
        ("WARNING", "res_pjsip_acl.c", f"Incoming SIP message from {where} {TEST}"),
    ]
    # REGISTER, INVITE, the phone's ACK of its 403, the lone ACK, OPTIONS
    assert _lines(caplog) == refusal * 5
    # res_pjsip_acl raises no security event, and nothing reached authentication
    assert not any("SecurityEvent=" in r.getMessage() for r in caplog.records)
    assert not any(
        "pjsip_distributor" in str(getattr(r, "asterisk_source", "")) for r in caplog.records
    )


async def test_contact_acl_checks_the_contact_host(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    add_to_pjsip(
        etc, "[contacts]\ntype = acl\ncontact_deny = 0.0.0.0/0\ncontact_permit = 127.0.0.0/8\n"
    )
    one, _ = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert await one.ask(port, "REGISTER") == 401
        assert await one.ask(port, "REGISTER", contact_host="127.0.0.9") == 401
        caplog.clear()
        assert await one.ask(port, "REGISTER", contact_host="192.0.2.1") == 403
        assert await one.ask(port, "INVITE", contact_host="192.0.2.1") == 403
        # a host name is not resolved, so not checked
        assert await one.ask(port, "REGISTER", contact_host="phone.example") == 401
    finally:
        await srv.stop()
    refusal = [
        ("INFO", "acl.c", f"SIP Contact ACL: Rejecting '192.0.2.1' due to {FAIL} '(BASELINE)'"),
        ("WARNING", "res_pjsip_acl.c", f"Incoming SIP message from 192.0.2.1:0 {TEST}"),
    ]
    assert _lines(caplog) == refusal * 2


async def test_named_acl_of_acl_conf_and_reloads(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    lan = "[lan]\ndeny = 0.0.0.0/0\npermit = {}\n"
    add_to_pjsip(etc, "[by-name]\ntype = acl\nacl = lan\n", lan.format("127.0.0.2"))
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert await one.ask(port, "REGISTER") == 403
        assert await two.ask(port, "REGISTER") == 401
        line = ("INFO", "acl.c", f"SIP ACL: Rejecting '127.0.0.1' due to {FAIL} 'lan'")
        assert line in _lines(caplog)

        # acl.conf changed: `pjsip reload` rereads it
        add_to_pjsip(etc, "[by-name]\ntype = acl\nacl = lan\n", lan.format("127.0.0.1"))
        assert srv.reload_pjsip() == "Module 'res_pjsip.so' reloaded successfully."
        assert await one.ask(port, "REGISTER") == 401
        assert await two.ask(port, "REGISTER") == 403

        # a name acl.conf does not define refuses everyone (a WARNING, as acl.c's)
        caplog.clear()
        add_to_pjsip(etc, "[by-name]\ntype = acl\nacl = nosuch\n")
        assert "successfully" in await srv.reload_res_pjsip()
        assert await one.ask(port, "INVITE") == 403
        text = "SIP ACL: Rejecting '127.0.0.1' due to use of an invalid ACL 'nosuch'."
        assert ("WARNING", "acl.c", text) in _lines(caplog)

        # a bad rule fails the reload: the running ACLs stay
        add_to_pjsip(etc, "[by-name]\ntype = acl\ndeny = 300.0.0.1\n")
        assert "failed" in srv.reload_pjsip()
        assert await two.ask(port, "REGISTER") == 403

        # the section gone: no check at all
        add_to_pjsip(etc, "")
        assert "successfully" in srv.reload_pjsip()
        assert srv.pjsip.settings.acls == ()
        assert await one.ask(port, "REGISTER") == 401
        assert await two.ask(port, "REGISTER") == 401
    finally:
        await srv.stop()


async def test_without_acl_sections_requests_are_never_checked(
    etc: Path, udp_phones: tuple[Phone, Phone], monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object) -> None:
        raise AssertionError("checked without a type=acl section")

    monkeypatch.setattr(pyari.sip.service, "refused_by", never)
    add_to_pjsip(etc, "")
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert srv.pjsip.settings.acls == ()
        assert await one.ask(port, "REGISTER") == 401
        assert await two.ask(port, "OPTIONS") == 200
    finally:
        await srv.stop()


def _from_two(method: str, transport: str = "UDP") -> Request:
    """A request of 2222 sent from 127.0.0.2:5999 (built, not sent)."""
    return build_request(
        method,
        parse_uri("sip:127.0.0.1"),
        from_=NameAddr(parse_uri("sip:2222@127.0.0.1"), params={"tag": new_tag()}),
        to=NameAddr(parse_uri("sip:2222@127.0.0.1")),
        call_id=new_call_id(),
        cseq=1,
        sent_by="127.0.0.2:5999",
        transport=transport,
    )


def test_the_refusal_goes_back_on_the_connection_over_tcp_and_ack_gets_none() -> None:
    from pyari.sip.acl import refusal

    req = _from_two("REGISTER", transport="TCP")
    send = refusal(req, ("127.0.0.2", 40000))
    assert send is not None
    assert (send.transport, send.dest) == ("TCP", ("127.0.0.2", 40000))
    response = parse_message(send.data)
    assert isinstance(response, Response) and response.status == 403
    assert response.call_id == req.call_id and response.to.tag
    ack = _from_two("ACK")
    assert refusal(ack, ("127.0.0.2", 5999)) is None
