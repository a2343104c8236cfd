"""The standing defence against SIPVicious (issue #11): ``svwar`` enumerates no extension
and ``svcrack`` cracks no password of a pyari on loopback.

pyari must answer a request for an existing user exactly as one for a user that does
not exist; the unit test below compares the answers field by field, the slow ones run
the real tools. sipvicious is started bound to 127.0.0.1 (``-b``), with its external
address given (``-x``, so it resolves no host name) and the loopback target only; it
then cannot send anywhere else.

svwar stops at the first answer that is the same as the one to a made-up user but is
not a 404 (pyari's 401 to REGISTER and INVITE): the existing extension is therefore the
first word of the list, and the test reads from svwar's debug lines that it was asked
for. A control runs svwar against a registrar that does tell users apart (404 to unknown
users, 401 to 2222) and requires that svwar finds 2222 there: the tool works here and
the checks can fail.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from conftest import make_server
from pyari.config import parse_text
from pyari.config.embedded import embedded_dir
from pyari.config.pjsip import PjsipSettings
from pyari.server import Server
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    make_response,
    parse_message,
    parse_uri,
)
from pyari.sip.transaction import Send
from pyari.sip.ua import UserAgent

PHONE = ("127.0.0.1", 5070)
PASSWORD = "pyari-2222"
"""The password of endpoint 2222 in the embedded pjsip.conf."""
TOOLS = Path(sys.executable).parent


def _ua() -> UserAgent:
    text = (embedded_dir() / "pjsip.conf").read_text()
    ua = UserAgent(PjsipSettings.from_sections(parse_text(text, "pjsip.conf")))
    ua.addresses["UDP"] = ("127.0.0.1", 5060)
    return ua


def _request(method: str, user: str) -> Request:
    host = "127.0.0.1:5060"
    body = b""
    headers: list[tuple[str, str]] = []
    if method == "MESSAGE":
        body, headers = b"hi", [("Content-Type", "text/plain")]
    return build_request(
        method,
        parse_uri(f"sip:{user}@{host}"),
        from_=NameAddr(parse_uri(f"sip:{user}@{host}"), params={"tag": new_tag()}),
        to=NameAddr(parse_uri(f"sip:{user}@{host}")),
        call_id=new_call_id(),
        cseq=1,
        sent_by=f"{PHONE[0]}:{PHONE[1]}",
        contact=NameAddr(parse_uri(f"sip:{user}@{PHONE[0]}:{PHONE[1]}")),
        headers=headers,
        body=body,
    )


def _shape(response: Response, user: str) -> list[tuple[str, str]]:
    """The response with what differs per request anyway (tags, nonces, Call-ID, branch,
    the user it was asked about) blanked out."""
    out = [("status", f"{response.status} {response.reason}")]
    for name, value in response.headers:
        value = value.replace(user, "USER")
        value = re.sub(r'(nonce|opaque)="[^"]*"', r'\1="X"', value)
        value = re.sub(r"(tag|branch)=[^;,\s]+", r"\1=X", value)
        if name.lower() == "call-id":
            value = "X"
        out.append((name.lower(), value))
    return out


def _final(ua: UserAgent, request: Request, now: float) -> Response:
    sent = [parse_message(a.data) for a in ua.receive(request, PHONE, now) if isinstance(a, Send)]
    finals = [r for r in sent if isinstance(r, Response) and r.status >= 200]
    assert len(finals) == 1
    return finals[0]


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS", "MESSAGE"])
def test_existing_and_unknown_users_get_the_same_answers(method: str) -> None:
    ua = _ua()
    shapes = []
    for user in ("2222", "9999"):
        request = _request(method, user)
        first = _final(ua, request, 0.0)
        shapes.append(_shape(first, user))
        if first.status != 401:
            continue
        # a wrong answer to the challenge: again the same for both
        value = DigestClient(user, "wrong").authorize(
            first.headers.getall("www-authenticate"), method=method, uri=str(request.uri)
        )
        assert value is not None
        request.headers.set("Via", f"SIP/2.0/UDP {PHONE[0]}:{PHONE[1]};branch=z9hG4bK{new_tag()}")
        request.headers.set("CSeq", f"2 {method}")
        request.headers.add("Authorization", value)
        shapes.append(_shape(_final(ua, request, 1.0), user))
    half = len(shapes) // 2
    assert shapes[:half] == shapes[half:]


# --------------------------------------------------------------------------- the tools


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(tool: str, *args: str) -> tuple[int, str]:
    """Run a sipvicious tool bound to loopback against a loopback target (≤ 40 s)."""
    proc = await asyncio.create_subprocess_exec(
        str(TOOLS / f"sipvicious_{tool}"),
        "-b", "127.0.0.1", "-x", "127.0.0.1", "-P", str(_free_udp_port()),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 40)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace")


@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    """Three pyari servers with the embedded configuration (endpoint 2222)."""
    started: list[Server] = []
    try:
        for _ in range(3):
            srv = make_server(None)
            await srv.start(control_socket=False)
            started.append(srv)
        yield started
    finally:
        for srv in started:
            await srv.stop()


def _target(srv: Server) -> list[str]:
    return ["-p", str(srv.pjsip.address()[1]), "127.0.0.1"]


class _LeakyRegistrar(asyncio.DatagramProtocol):
    """The control: a registrar that tells users apart (401 to 2222, 404 to the rest)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        request = parse_message(data)
        if not isinstance(request, Request):
            return
        if request.to.uri.user == "2222":
            status, headers = 401, [("WWW-Authenticate", 'Digest realm="x", nonce="n"')]
        else:
            status, headers = 404, []
        response = make_response(
            request, status, to_tag=new_tag(), headers=[*headers, ("Content-Length", "0")]
        )
        self.transport.sendto(response.to_bytes(), addr)


_FOUND_ROW = re.compile(r"(?m)^\|\s*2222\s*\|")
"""A row of svwar's table of extensions found."""


def _svwar(method: str, words: Path, port: int) -> Any:
    return _run(
        "svwar", "-v", "-v", "--force", "-m", method, "-d", str(words),
        "-p", str(port), "127.0.0.1",
    )  # fmt: skip


@pytest.mark.slow
async def test_svwar_enumerates_nothing(servers: list[Server], tmp_path: Path) -> None:
    words = tmp_path / "extensions.txt"
    # 2222 (it exists) first: svwar stops at pyari's first 401 (see the module's text)
    words.write_text("".join(f"{n}\n" for n in ("2222", "100", "1000", "2221", "9999", "s")))
    loop = asyncio.get_running_loop()
    leaky, _ = await loop.create_datagram_endpoint(_LeakyRegistrar, local_addr=("127.0.0.1", 0))
    try:
        runs = await asyncio.gather(
            *(
                _svwar(method, words, srv.pjsip.address()[1])
                for method, srv in zip(("REGISTER", "INVITE", "OPTIONS"), servers, strict=True)
            ),
            _svwar("REGISTER", words, leaky.get_extra_info("sockname")[1]),
        )
    finally:
        leaky.close()
    for code, out in runs[:3]:
        assert "sending request for 2222" in out, out  # asked about the extension
        assert "found nothing" in out, out
        assert not _FOUND_ROW.search(out), out
        assert "exists" not in out, out
        assert code == 0, out
    code, out = runs[3]
    assert "extension '2222' exists" in out and _FOUND_ROW.search(out), out
    assert code == 40, out  # sipvicious: "found something"


@pytest.mark.slow
async def test_svcrack_cracks_nothing(servers: list[Server], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("".join(f"{w}\n" for w in ("1234", "2222", "password", "secret", "asterisk")))
    late = tmp_path / "late.txt"
    late.write_text("".join(f"guess{i}\n" for i in range(12)) + f"{PASSWORD}\n")
    control = tmp_path / "control.txt"
    control.write_text(f"1234\n{PASSWORD}\n")
    crack = ("svcrack", "--maximumtime", "5", "-u", "2222", "-d")
    runs = await asyncio.gather(
        # a small list without the password: nothing
        _run(*crack, str(wrong), *_target(servers[0])),
        # the password after ten failures: the back-off refuses it unchecked
        _run(*crack, str(late), *_target(servers[1])),
        # the control: the tool does crack a password it is given early enough
        _run(*crack, str(control), *_target(servers[2])),
    )
    for code, out in runs[:2]:
        assert "found nothing" in out and PASSWORD not in out, out
        assert code == 0, out
    code, out = runs[2]
    assert re.search(rf"\|\s*2222\s*\|\s*{PASSWORD}\s*\|", out), out
    assert code == 40, out  # sipvicious: "found something"
