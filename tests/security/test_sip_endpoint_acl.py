"""An endpoint's own ``permit``/``deny``/``acl``/``contact_*`` options over real UDP
sockets, as res_pjsip's distributor applies them: once a request is matched to the
endpoint, a refused source address (or Contact host) makes it a request of no endpoint,
so it gets the ``401`` challenge nothing can answer, with acl.c's NOTICE, the
distributor's ``Request ... failed for ... - Not match Endpoint ACL`` NOTICE and a
FailedACL security event naming the endpoint. Loopback has all of 127/8, so 127.0.0.1
and 127.0.0.2 are two phones."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from pyari.sip.auth import DigestClient
from pyari.sip.dialog import new_call_id
from security.sip_phones import Phone, add_to_pjsip, started

# an endpoint with auth= that refuses 127.0.0.2, and one without auth whose ACL options
# each test gives
ENDPOINTS = """
[locked]
type = endpoint
context = ARI-test
aors = locked
auth = locked
deny = 0.0.0.0/0
permit = 127.0.0.1

[locked]
type = auth
username = locked
password = pyari-locked

[locked]
type = aor
max_contacts = 5

[open]
type = endpoint
context = ARI-test
aors = open
{acl}

[open]
type = aor
max_contacts = 5
"""
ONLY_ONE = "deny = 0.0.0.0/0\npermit = 127.0.0.1"
FAILED = "due to a failure to pass ACL"


def _configure(etc: Path, open_acl: str, acl_conf: str | None = None) -> None:
    add_to_pjsip(etc, ENDPOINTS.format(acl=open_acl), acl_conf)


def _events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pyari.security"]


def _field(line: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', line)
    assert found is not None, line
    return found.group(1)


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    """acl.c's and the distributor's lines, in order."""
    return [
        (r.levelname, str(getattr(r, "asterisk_source", "")), r.getMessage())
        for r in caplog.records
        if getattr(r, "asterisk_source", "") in ("acl.c", "res_pjsip/pjsip_distributor.c")
    ]


async def test_refused_address_is_challenged_as_no_endpoint_with_a_failed_acl_event(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    _configure(etc, ONLY_ONE)
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        # allowed: an endpoint without auth registers, locked is challenged as itself
        assert await one.ask(port, "REGISTER", "open") == 200
        assert await one.ask(port, "REGISTER", "locked") == 401
        assert await one.ask(port, "INVITE", "locked") == 401
        assert [_field(e, "AccountID") for e in _events(caplog)] == ["locked", "locked"]
        assert not any("FailedACL" in e for e in _events(caplog))
        assert [b.aor for b in srv.pjsip.bindings()] == ["open"]
        caplog.clear()

        # refused: no endpoint, so the challenge nothing can answer (no 403)
        register = two.request("REGISTER", port, "open")
        assert (await two.send(port, register)).status == 401
        invite = two.request("INVITE", port, "locked")
        assert (await two.send(port, invite)).status == 401
        assert [b.aor for b in srv.pjsip.bindings()] == ["open"]
        local = srv.pjsip.address()
    finally:
        await srv.stop()
    events = _events(caplog)
    assert [_field(e, "SecurityEvent") for e in events] == [
        "FailedACL",
        "ChallengeSent",
        "FailedACL",
        "ChallengeSent",
    ]
    assert [_field(e, "AccountID") for e in events] == ["open", "<unknown>", "locked", "<unknown>"]
    remote = f"IPV4/UDP/127.0.0.2/{two.local[1]}"
    assert events[0].startswith('SecurityEvent="FailedACL",EventTV="')
    assert events[0].endswith(
        f'",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="open",'
        f'SessionID="{register.call_id}",LocalAddress="IPV4/UDP/{local[0]}/{local[1]}",'
        f'RemoteAddress="{remote}",ACLName="not_match_endpoint_acl"'
    )
    assert {_field(e, "ACLName") for e in events[::2]} == {"not_match_endpoint_acl"}
    # no "No matching endpoint found": the endpoint was found, then refused
    # (NOTICE lines are INFO records with Asterisk's source file)
    where = f"127.0.0.2:{two.local[1]}"
    acl_c = ("INFO", "acl.c", f"SIP ACL: Rejecting '127.0.0.2' {FAILED} '(BASELINE)'")
    assert _lines(caplog) == [
        acl_c,
        (
            "INFO",
            "res_pjsip/pjsip_distributor.c",
            f"Request 'REGISTER' from '<sip:open@127.0.0.1>' failed for '{where}' "
            f"(callid: {register.call_id}) - Not match Endpoint ACL",
        ),
        acl_c,
        (
            "INFO",
            "res_pjsip/pjsip_distributor.c",
            f"Request 'INVITE' from '<sip:locked@127.0.0.1>' failed for '{where}' "
            f"(callid: {invite.call_id}) - Not match Endpoint ACL",
        ),
    ]


async def test_right_password_from_a_refused_address_fails_and_counts(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    _configure(etc, "")
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        client = DigestClient("locked", "pyari-locked")
        for phone, expected in ((one, 200), (two, 401)):
            call_id = new_call_id()
            first = await phone.send(
                port, phone.request("REGISTER", port, "locked", call_id=call_id)
            )
            assert first.status == 401
            uri = f"sip:locked@127.0.0.1:{port}"
            answer = client.authorize(
                first.headers.getall("www-authenticate"), method="REGISTER", uri=uri
            )
            assert answer is not None
            again = phone.request(
                "REGISTER", port, "locked", call_id=call_id, cseq=2,
                headers=(("Authorization", answer),),
            )  # fmt: skip
            assert (await phone.send(port, again)).status == expected
        # the failure counts toward the back-off of 127.0.0.2, as any failed answer
        assert srv.pjsip.ua.guard._failures["127.0.0.2"]
        assert "127.0.0.1" not in srv.pjsip.ua.guard._failures
    finally:
        await srv.stop()
    refused = [e for e in _events(caplog) if "127.0.0.2" in _field(e, "RemoteAddress")]
    assert [(_field(e, "SecurityEvent"), _field(e, "AccountID")) for e in refused] == [
        ("FailedACL", "locked"),
        ("ChallengeSent", "<unknown>"),
        ("FailedACL", "locked"),
        ("ChallengeResponseFailed", "<unknown>"),
    ]
    notices = [m for _, s, m in _lines(caplog) if s.startswith("res_pjsip")]
    assert [n.rsplit(" - ", 1)[1] for n in notices] == [
        "Not match Endpoint ACL",
        "Not match Endpoint ACL",
        "Failed to authenticate",
    ]


async def test_contact_acl_checks_contact_hosts_after_the_source(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    _configure(etc, "contact_deny = 0.0.0.0/0\ncontact_permit = 127.0.0.0/8")
    one, _ = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert await one.ask(port, "REGISTER", "open", contact_host="127.0.0.9") == 200
        caplog.clear()
        assert await one.ask(port, "REGISTER", "open", contact_host="192.0.2.1") == 401
        # a host name is not resolved on receive, so not checked
        assert await one.ask(port, "REGISTER", "open", contact_host="phone.example") == 200
    finally:
        await srv.stop()
    events = _events(caplog)
    assert _field(events[0], "ACLName") == "not_match_endpoint_contact_acl"
    assert [_field(e, "SecurityEvent") for e in events] == ["FailedACL", "ChallengeSent"]
    lines = _lines(caplog)
    assert lines[0] == (
        "INFO",
        "acl.c",
        f"SIP Contact ACL: Rejecting '192.0.2.1' {FAILED} '(BASELINE)'",
    )
    assert lines[1][2].endswith(" - Not match Endpoint Contact ACL")
    assert len(lines) == 2


async def test_named_acl_of_acl_conf_and_pjsip_reload(
    etc: Path, udp_phones: tuple[Phone, Phone], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyari")
    lan = "[lan]\ndeny = 0.0.0.0/0\npermit = {}\n"
    _configure(etc, "acl = lan", lan.format("127.0.0.2"))
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert await one.ask(port, "REGISTER", "open") == 401
        assert await two.ask(port, "REGISTER", "open") == 200
        line = ("INFO", "acl.c", f"SIP ACL: Rejecting '127.0.0.1' {FAILED} 'lan'")
        assert line in _lines(caplog)

        # acl.conf changed: `pjsip reload` rereads it
        _configure(etc, "acl = lan", lan.format("127.0.0.1"))
        assert srv.reload_pjsip() == "Module 'res_pjsip.so' reloaded successfully."
        assert await one.ask(port, "REGISTER", "open") == 200
        assert await two.ask(port, "REGISTER", "open") == 401

        # a name acl.conf does not define refuses everyone (acl.c's WARNING)
        caplog.clear()
        _configure(etc, "acl = nosuch")
        assert "successfully" in srv.reload_pjsip()
        assert await one.ask(port, "REGISTER", "open") == 401
        text = "SIP ACL: Rejecting '127.0.0.1' due to use of an invalid ACL 'nosuch'."
        assert ("WARNING", "acl.c", text) in _lines(caplog)

        # a bad rule fails the reload: the running endpoint stays as it was
        _configure(etc, "deny = 300.0.0.1")
        assert "failed" in srv.reload_pjsip()
        assert await two.ask(port, "REGISTER", "open") == 401

        # the options gone: no check at all
        _configure(etc, "")
        assert "successfully" in srv.reload_pjsip()
        assert not srv.pjsip.settings.endpoints["open"].acl
        assert await one.ask(port, "REGISTER", "open") == 200
        assert await two.ask(port, "REGISTER", "open") == 200
    finally:
        await srv.stop()


async def test_endpoints_without_acl_options_never_reach_the_check(
    etc: Path, udp_phones: tuple[Phone, Phone], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyari.sip.ua

    def never(*args: object) -> None:
        raise AssertionError("checked an endpoint without ACL options")

    monkeypatch.setattr(pyari.sip.ua, "endpoint_refusal", never)
    (etc / "pjsip.conf").write_text(
        (etc / "pjsip.conf").read_text() + "\n[open]\ntype=endpoint\naors=open\n"
        "[open]\ntype=aor\nmax_contacts=1\n"
    )
    one, two = udp_phones
    srv = await started(etc)
    try:
        port = srv.pjsip.address()[1]
        assert await one.ask(port, "REGISTER", "open") == 200
        assert await two.ask(port, "REGISTER", "2222") == 401
        assert await two.ask(port, "INVITE", "nobody") == 401
    finally:
        await srv.stop()
