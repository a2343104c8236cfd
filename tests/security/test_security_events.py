"""Failed logins leave Asterisk's security events and NOTICE lines (so fail2ban's
``asterisk`` filter bans), and an address that keeps failing is refused unchecked for a
while (issue #11, item 4)."""

from __future__ import annotations

import asyncio
import calendar
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import aiohttp
import pytest

import pyari.wallclock
from conftest import PASSWORD, USER, auth_headers, make_server, wait_for
from pyari.ari.service import AriService
from pyari.config import parse_text
from pyari.config.backoff import AuthBackoff
from pyari.config.embedded import write_samples
from pyari.config.errors import ConfigError
from pyari.config.pjsip import PjsipSettings
from pyari.config.settings import AriSettings
from pyari.core.logchannels import asterisk_level
from pyari.core.security import FailureGuard, SecurityEvent, address_ie, event_tv
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Request, Response, parse_message, parse_uri
from pyari.sip.transaction import Send
from pyari.sip.ua import SecurityAlert, UserAgent

# A line of Asterisk 23.4.1's security.log (a REGISTER with a wrong password), without
# its "[date] SECURITY[pid] res_security_log.c: " prefix.
ASTERISK_LINE = (
    'SecurityEvent="ChallengeResponseFailed",EventTV="2026-12-07T14:38:18.241+0000",'
    'Severity="Error",Service="PJSIP",EventVersion="1",AccountID="2222",'
    'SessionID="secprobe-2222",LocalAddress="IPV4/UDP/127.0.0.1/5160",'
    'RemoteAddress="IPV4/UDP/127.0.0.1/44896",'
    'Challenge="1796654298/cd6daf31fc296cabed3223525594c9f6",'
    'Response="e7c5069cacc8d8c0acc02534dfc071f5",ExpectedResponse=""'
)
PREFIX = re.compile(r"^\[[^\]]+\] (SECURITY|NOTICE|WARNING)\[\d+\] (\S+): (.*)$")


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def pyari_info() -> Iterator[None]:
    """Let INFO records (NOTICE, SECURITY) of the ``pyari`` loggers reach the channels."""
    logger = logging.getLogger("pyari")
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(before)


# --------------------------------------------------------------------------- format


def test_event_line_is_asterisks(utc: None) -> None:
    wall = calendar.timegm((2026, 12, 7, 14, 38, 18)) + 0.241
    assert event_tv(wall) == "2026-12-07T14:38:18.241+0000"
    event = SecurityEvent(
        "ChallengeResponseFailed",
        "PJSIP",
        "2222",
        "secprobe-2222",
        address_ie("UDP", ("127.0.0.1", 5160)),
        address_ie("UDP", ("127.0.0.1", 44896)),
        (
            ("Challenge", "1796654298/cd6daf31fc296cabed3223525594c9f6"),
            ("Response", "e7c5069cacc8d8c0acc02534dfc071f5"),
            ("ExpectedResponse", ""),
        ),
    )
    assert event.line(wall) == ASTERISK_LINE
    assert address_ie("TCP", ("::1", 8088)) == "IPV6/TCP/::1/8088"


def test_a_quote_in_a_value_cannot_forge_a_remote_address() -> None:
    forged = 'x",RemoteAddress="IPV4/UDP/192.0.2.1/5060'
    event = SecurityEvent("InvalidAccountID", "PJSIP", forged, "c", "", "IPV4/UDP/127.0.0.1/1")
    line = event.line(0.0)
    assert line.count('RemoteAddress="') == 1
    assert 'AccountID="x%22,RemoteAddress=%22IPV4/UDP/192.0.2.1/5060"' in line


def test_security_is_a_level_of_its_own() -> None:
    record = logging.LogRecord("pyari.security", logging.INFO, "f.py", 1, "m", None, None)
    assert asterisk_level(record) == "SECURITY"
    record.name = "pyari.ari"
    assert asterisk_level(record) == "NOTICE"


# --------------------------------------------------------------------------- back-off


def test_guard_blocks_after_the_limit_within_the_window_for_the_block_time() -> None:
    guard = FailureGuard(AuthBackoff(limit=3, window=10, block=30))
    assert not guard.failed("a", 0.0)
    assert not guard.failed("a", 5.0)
    assert not guard.failed("a", 11.0)  # the first one left the window
    assert not guard.blocked("a", 11.0)
    assert guard.failed("a", 12.0)
    assert guard.blocked("a", 12.0) and guard.blocked("a", 41.9)
    assert not guard.blocked("b", 12.0)  # per address
    assert not guard.blocked("a", 42.0)
    assert not guard.failed("a", 43.0)  # counting starts again


def test_guard_limit_zero_never_blocks() -> None:
    guard = FailureGuard(AuthBackoff(limit=0))
    assert not any(guard.failed("a", float(i)) for i in range(100))
    assert not guard.blocked("a", 100.0)


def test_guard_forgets_the_oldest_addresses_beyond_its_bound() -> None:
    guard = FailureGuard(AuthBackoff(limit=2, window=60, block=60), max_tracked=3)
    for i in range(10):
        guard.failed(f"10.0.0.{i}", 0.0)
    assert len(guard._failures) == 3


def test_backoff_options() -> None:
    ari = AriSettings.from_sections(
        parse_text(
            "[general]\nauth_failure_limit = 4\nauth_failure_window = 5\n"
            "auth_failure_block = 300\n",
            "ari.conf",
        )
    )
    assert ari.auth_backoff == AuthBackoff(4, 5, 300)
    assert AriSettings().auth_backoff == AuthBackoff(10, 60, 60)
    sip = PjsipSettings.from_sections(
        parse_text("[global]\ntype = global\nauth_failure_limit = 0\n", "pjsip.conf")
    )
    assert sip.auth_backoff == AuthBackoff(0, 60, 60)
    with pytest.raises(ConfigError):
        AriSettings.from_sections(parse_text("[general]\nauth_failure_window = 0\n", "ari.conf"))


# --------------------------------------------------------------------------- SIP (pure UA)

CONF = """
[t]
type = transport
bind = 127.0.0.1:5060

[global]
type = global
auth_failure_limit = 3
auth_failure_window = 60
auth_failure_block = 120

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

[2222]
type = aor
max_contacts = 1

[noaor]
type = endpoint
context = ARI-test
allow = ulaw
"""
PHONE = ("127.0.0.1", 5070)


def make_ua() -> UserAgent:
    ua = UserAgent(PjsipSettings.from_sections(parse_text(CONF, "pjsip.conf")), secret=b"k" * 32)
    ua.addresses["UDP"] = ("127.0.0.1", 5060)
    return ua


def request(method: str, user: str, src: tuple[str, int] = PHONE) -> Request:
    host = "127.0.0.1:5060"
    return build_request(
        method,
        parse_uri(f"sip:{user}@{host}"),
        from_=NameAddr(parse_uri(f"sip:{user}@{host}"), params={"tag": new_tag()}),
        to=NameAddr(parse_uri(f"sip:{user}@{host}")),
        call_id=new_call_id(),
        cseq=1,
        sent_by=f"{src[0]}:{src[1]}",
        contact=NameAddr(parse_uri(f"sip:{user}@{src[0]}:{src[1]}")),
    )


def answer(req: Request, challenge: Response, password: str, user: str = "2222") -> Request:
    value = DigestClient(user, password).authorize(
        challenge.headers.getall("www-authenticate"), method=req.method, uri=str(req.uri)
    )
    assert value is not None
    again = Request(method=req.method, uri=req.uri, headers=req.headers.copy(), body=req.body)
    again.headers.set("Via", f"SIP/2.0/UDP {PHONE[0]}:{PHONE[1]};rport;branch=z9hG4bK{new_tag()}")
    again.headers.set("CSeq", f"{req.cseq.number + 1} {req.method}")
    again.headers.add("Authorization", value)
    return again


def split(actions: Sequence[object]) -> tuple[list[Response], list[SecurityAlert]]:
    sent = [parse_message(a.data) for a in actions if isinstance(a, Send)]
    return [r for r in sent if isinstance(r, Response) and r.status >= 200], [
        a for a in actions if isinstance(a, SecurityAlert)
    ]


def test_register_events_as_asterisks() -> None:
    ua = make_ua()
    reg = request("REGISTER", "2222")
    (challenge,), alerts = split(ua.receive(reg, PHONE, 0.0))
    assert challenge.status == 401
    assert [a.event.name for a in alerts] == ["ChallengeSent"]
    sent = alerts[0]
    assert sent.notice == ""
    assert sent.event.line(0.0).split(",", 2)[2] == (
        f'Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="2222",'
        f'SessionID="{reg.call_id}",LocalAddress="IPV4/UDP/127.0.0.1/5060",'
        f'RemoteAddress="IPV4/UDP/127.0.0.1/5070",Challenge=""'
    )

    wrong = answer(reg, challenge, "guess")
    (again,), alerts = split(ua.receive(wrong, PHONE, 1.0))
    assert again.status == 401
    (failed,) = alerts
    assert failed.event.name == "ChallengeResponseFailed"
    assert failed.notice == (
        "Request 'REGISTER' from '<sip:2222@127.0.0.1:5060>' failed for '127.0.0.1:5070' "
        f"(callid: {reg.call_id}) - Failed to authenticate"
    )
    nonce = re.search(r'nonce="([^"]+)"', wrong.headers.get("authorization") or "")
    response = re.search(r'response="([^"]+)"', wrong.headers.get("authorization") or "")
    assert nonce and response
    assert failed.event.extra == (
        ("Challenge", nonce.group(1)),
        ("Response", response.group(1)),
        ("ExpectedResponse", ""),
    )

    right = answer(reg, again, "secret")
    (ok,), alerts = split(ua.receive(right, PHONE, 2.0))
    assert ok.status == 200 and alerts == []


def test_invite_with_a_wrong_digest_is_asterisks_failed_authentication() -> None:
    ua = make_ua()
    invite = request("INVITE", "2222")
    (challenge,), alerts = split(ua.receive(invite, PHONE, 0.0))
    assert challenge.status == 401
    assert [(a.event.name, a.event.account) for a in alerts] == [("ChallengeSent", "2222")]
    (again,), alerts = split(ua.receive(answer(invite, challenge, "guess"), PHONE, 1.0))
    assert again.status == 401
    (failed,) = alerts
    assert (failed.event.name, failed.event.account) == ("ChallengeResponseFailed", "2222")
    assert f'SessionID="{invite.call_id}"' in failed.event.line(1.0)
    assert failed.notice == (
        "Request 'INVITE' from '<sip:2222@127.0.0.1:5060>' failed for '127.0.0.1:5070' "
        f"(callid: {invite.call_id}) - Failed to authenticate"
    )


def test_unknown_user_is_invalid_account_then_challenged_as_unknown() -> None:
    ua = make_ua()
    invite = request("INVITE", "9999")
    (challenge,), alerts = split(ua.receive(invite, PHONE, 0.0))
    assert challenge.status == 401
    assert [(a.event.name, a.event.account) for a in alerts] == [
        ("InvalidAccountID", "9999"),
        ("ChallengeSent", "<unknown>"),
    ]
    assert alerts[0].notice == (
        "Request 'INVITE' from '<sip:9999@127.0.0.1:5060>' failed for '127.0.0.1:5070' "
        f"(callid: {invite.call_id}) - No matching endpoint found"
    )
    # even the password of another account gets nowhere
    (again,), alerts = split(ua.receive(answer(invite, challenge, "secret", "9999"), PHONE, 1.0))
    assert again.status == 401
    assert [(a.event.name, a.event.account) for a in alerts] == [
        ("InvalidAccountID", "9999"),
        ("ChallengeResponseFailed", "<unknown>"),
    ]
    assert alerts[1].notice.endswith(" - Failed to authenticate")


def test_register_to_an_endpoint_without_aors_is_a_failed_acl() -> None:
    ua = make_ua()
    (refused,), alerts = split(ua.receive(request("REGISTER", "noaor"), PHONE, 0.0))
    assert refused.status == 403
    (alert,) = alerts
    assert alert.event.name == "FailedACL"
    assert alert.event.extra == (("ACLName", "registrar_attempt_without_configured_aors"),)
    assert alert.warning == "Endpoint 'noaor' (127.0.0.1:5070) has no configured AORs"


def test_sip_backoff_refuses_even_the_right_password_until_the_block_ends() -> None:
    ua = make_ua()
    checks = 0
    verify = ua.digest("asterisk").verify

    def counting(*args: object, **kw: object) -> object:
        nonlocal checks
        checks += 1
        return verify(*args, **kw)  # type: ignore[arg-type]

    ua.digest("asterisk").verify = counting  # type: ignore[method-assign,assignment]
    reg = request("REGISTER", "2222")
    (challenge,), _ = split(ua.receive(reg, PHONE, 0.0))
    for i in range(3):
        (challenge,), _ = split(ua.receive(answer(reg, challenge, f"guess{i}"), PHONE, 1.0 + i))
        assert challenge.status == 401
    assert checks == 4 and ua.guard.blocked(PHONE[0], 4.0)
    (refused,), alerts = split(ua.receive(answer(reg, challenge, "secret"), PHONE, 10.0))
    assert refused.status == 401 and checks == 4  # not even looked at
    assert [a.event.name for a in alerts] == ["ChallengeResponseFailed"]
    # another address is not affected
    other = ("127.0.0.2", 5070)
    (challenge2,), _ = split(ua.receive(request("REGISTER", "2222", other), other, 10.0))
    assert challenge2.status == 401 and not ua.guard.blocked(other[0], 10.0)
    # the block ends 120 s after the third failure
    (fresh,), _ = split(ua.receive(request("REGISTER", "2222"), PHONE, 123.5))
    (ok,), _ = split(ua.receive(answer(reg, fresh, "secret"), PHONE, 123.5))
    assert ok.status == 200


# --------------------------------------------------------------------------- end to end

LOGGER_CONF = """[logfiles]
security.log => security
messages.log => notice,warning,error
"""
FAILURE_EVENTS = ("ChallengeResponseFailed", "InvalidAccountID", "InvalidPassword", "FailedACL")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.inbox: list[Response] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = parse_message(data)
        if isinstance(message, Response):
            self.inbox.append(message)


def _register(user: str, port: int, local: tuple[str, int], call_id: str, cseq: int) -> Request:
    host = f"127.0.0.1:{port}"
    return build_request(
        "REGISTER",
        parse_uri(f"sip:{host}"),
        from_=NameAddr(parse_uri(f"sip:{user}@127.0.0.1"), params={"tag": new_tag()}),
        to=NameAddr(parse_uri(f"sip:{user}@127.0.0.1")),
        call_id=call_id,
        cseq=cseq,
        sent_by=f"{local[0]}:{local[1]}",
        contact=NameAddr(parse_uri(f"sip:{user}@{local[0]}:{local[1]}")),
    )


async def _sip_failures(port: int) -> tuple[int, str, str]:
    """A REGISTER of 2222 without and with a wrong password, one of an unknown 9999."""
    loop = asyncio.get_running_loop()
    transport, udp = await loop.create_datagram_endpoint(
        _Udp, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", port)
    )
    try:
        local = transport.get_extra_info("sockname")[:2]
        reg = _register("2222", port, local, "secprobe-2222", 1)
        transport.sendto(reg.to_bytes())
        await wait_for(lambda: len(udp.inbox) == 1)
        value = DigestClient("2222", "wrong").authorize(
            udp.inbox[0].headers.getall("www-authenticate"), method="REGISTER", uri=str(reg.uri)
        )
        assert value is not None
        again = _register("2222", port, local, "secprobe-2222", 2)
        again.headers.add("Authorization", value)
        transport.sendto(again.to_bytes())
        await wait_for(lambda: len(udp.inbox) == 2)
        transport.sendto(_register("9999", port, local, "secprobe-9999", 1).to_bytes())
        await wait_for(lambda: len(udp.inbox) == 3)
        assert [r.status for r in udp.inbox] == [401, 401, 401]
        return int(local[1]), "secprobe-2222", "secprobe-9999"
    finally:
        transport.close()


async def test_failed_logins_reach_security_log_and_messages_and_fail2ban(
    tmp_path: Path, pyari_info: None
) -> None:
    etc = tmp_path / "etc"
    write_samples(etc)
    (etc / "logger.conf").write_text(LOGGER_CONF)
    srv = make_server(etc)
    await srv.start(control_socket=False)
    try:
        logdir = srv.config.asterisk.astlogdir
        sip_port = srv.pjsip.address()[1]
        http_port = srv.http_port
        phone_port, call_2222, call_9999 = await _sip_failures(sip_port)
        base = f"http://127.0.0.1:{http_port}"
        async with aiohttp.ClientSession(base) as http:
            for kwargs in (
                {"headers": auth_headers(USER, "wrong")},
                {"headers": auth_headers("nobody", "x")},
                {"params": {"api_key": f"{USER}:wrong"}},
                {},  # no credentials at all: no failed login
            ):
                async with http.get("/ari/asterisk/info", **kwargs) as r:  # type: ignore[arg-type]
                    assert r.status == 401
            async with http.get("/ari/asterisk/info", headers=auth_headers()) as r:
                assert r.status == 200
    finally:
        await srv.stop()

    security = (logdir / "security.log").read_text().splitlines()[1:]
    messages = (logdir / "messages.log").read_text().splitlines()[1:]
    parsed = [PREFIX.match(line) for line in security]
    assert all(m is not None for m in parsed), security
    assert {(m.group(1), m.group(2)) for m in parsed if m} == {("SECURITY", "res_security_log.c")}
    events = [m.group(3) for m in parsed if m]
    sip_remote = f'RemoteAddress="IPV4/UDP/127.0.0.1/{phone_port}"'
    sip_local = f'LocalAddress="IPV4/UDP/127.0.0.1/{sip_port}"'
    names = [(e.split('"')[1], re.search(r'AccountID="([^"]*)"', e).group(1)) for e in events]  # type: ignore[union-attr]
    assert names == [
        ("ChallengeSent", "2222"),
        ("ChallengeResponseFailed", "2222"),
        ("InvalidAccountID", "9999"),
        ("ChallengeSent", "<unknown>"),
        ("InvalidPassword", USER),
        ("InvalidAccountID", "nobody"),
        ("InvalidPassword", USER),
    ]
    for event in events[:4]:
        assert 'Service="PJSIP"' in event and sip_remote in event and sip_local in event
    assert f'SessionID="{call_2222}"' in events[1] and f'SessionID="{call_9999}"' in events[2]
    for event in events[4:]:
        assert 'Service="ARI"' in event
        assert re.search(r'RemoteAddress="IPV4/TCP/127\.0\.0\.1/\d+"', event)
        assert f'LocalAddress="IPV4/TCP/127.0.0.1/{http_port}"' in event

    notices = [m.groups() for m in map(PREFIX.match, messages) if m and m.group(1) == "NOTICE"]
    pjsip = [text for _, source, text in notices if source == "res_pjsip/pjsip_distributor.c"]
    assert pjsip == [
        f"Request 'REGISTER' from '<sip:2222@127.0.0.1>' failed for '127.0.0.1:{phone_port}' "
        f"(callid: {call_2222}) - Failed to authenticate",
        f"Request 'REGISTER' from '<sip:9999@127.0.0.1>' failed for '127.0.0.1:{phone_port}' "
        f"(callid: {call_9999}) - No matching endpoint found",
    ]
    ari = [text for _, source, text in notices if source == "res_ari.c"]
    assert ari == [
        f"127.0.0.1 failed to authenticate as '{USER}'",
        "127.0.0.1 tried to authenticate with nonexistent user 'nobody'",
        f"127.0.0.1 failed to authenticate as '{USER}'",
    ]

    if shutil.which("fail2ban-regex") is None:
        pytest.skip("fail2ban-regex is not installed (scripts/system-deps.sh installs it)")
    filt = Path("/etc/fail2ban/filter.d/asterisk.conf")
    failures = sum(1 for e in events if e.split('"')[1] in FAILURE_EVENTS)
    assert _fail2ban_matches(logdir / "security.log", filt) == failures == 5
    assert _fail2ban_matches(logdir / "messages.log", filt) == len(pjsip) + len(ari) == 5


def _fail2ban_matches(log: Path, filt: Path) -> int:
    """How many lines of ``log`` fail2ban's filter matches; each must name 127.0.0.1."""
    ips = subprocess.run(
        ["fail2ban-regex", "--out", "ip", str(log), str(filt)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert set(ips) <= {"127.0.0.1"}, ips
    return len(ips)


class _Clock(pyari.wallclock.Clock):
    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


async def test_ari_backoff_refuses_unchecked_then_lets_in_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    write_samples(etc)
    conf = etc / "ari.conf"
    conf.write_text(
        conf.read_text().replace(
            "[general]\n", "[general]\nauth_failure_limit = 3\nauth_failure_block = 30\n", 1
        )
    )
    clock = _Clock()
    monkeypatch.setattr(pyari.wallclock, "clock", clock)
    checks: list[str] = []
    verify = AriService._verify

    def counting(users: object, auth: str | None, query: object) -> object:
        checks.append(auth or "")
        return verify(users, auth, query)  # type: ignore[arg-type]

    monkeypatch.setattr(AriService, "_verify", staticmethod(counting))
    srv = make_server(etc)
    await srv.start(control_socket=False)
    try:
        base = f"http://127.0.0.1:{srv.http_port}"
        async with aiohttp.ClientSession(base, headers=auth_headers()) as known:
            async with known.get("/ari/asterisk/info") as r:
                assert r.status == 200  # verified once, then remembered
            async with aiohttp.ClientSession(base) as http:
                for i in range(3):
                    async with http.get(
                        "/ari/asterisk/info", headers=auth_headers(USER, f"guess{i}")
                    ) as r:
                        assert r.status == 401
                assert len(checks) == 4
                # blocked: refused without looking, the right password too ...
                for _ in range(50):
                    async with http.get(
                        "/ari/asterisk/ping", params={"api_key": f"{USER}:{PASSWORD}"}
                    ) as r:
                        assert r.status == 401
                assert len(checks) == 4
                # ... but credentials verified before the block still work
                async with known.get("/ari/asterisk/info") as r:
                    assert r.status == 200
                clock.offset += 31
                async with http.get(
                    "/ari/asterisk/ping", params={"api_key": f"{USER}:{PASSWORD}"}
                ) as r:
                    assert r.status == 200
                assert len(checks) == 5
    finally:
        await srv.stop()
