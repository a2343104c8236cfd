"""The call set-up's shortcuts (issue #16): what they hand out is what the general code
gives, and the values they share are never changed by the code that reads them."""

from __future__ import annotations

import pytest

from pyari.sip import message as m
from pyari.sip.message import Request, SipParseError, parse_message

INVITE = (
    b"INVITE sip:100@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n"
    b'From: "sipp" <sip:sipp@127.0.0.1:5061>;tag=1\r\n'
    b"To: <sip:100@127.0.0.1:5060>\r\n"
    b"Call-ID: 1-123@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:sipp@127.0.0.1:5061>;expires=60\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def _invite(data: bytes = INVITE) -> Request:
    msg = parse_message(data)
    assert isinstance(msg, Request)
    return msg


def test_messages_with_the_same_name_addr_text_share_its_parsed_value() -> None:
    first, second = _invite(), _invite()
    assert second.from_ is first.from_ and second.to is first.to
    assert second.contacts[0] is first.contacts[0]
    assert first.from_ == m.parse_name_addr('"sipp" <sip:sipp@127.0.0.1:5061>;tag=1')
    # the shared value is not parse_uri's remembered URI: changing a URI that
    # parse_uri handed out changes neither
    uri = m.parse_uri("sip:sipp@127.0.0.1:5061")
    uri.user = "mallory"
    assert m.parse_uri("sip:sipp@127.0.0.1:5061").user == "sipp"
    assert first.from_.uri.user == "sipp"


def test_a_copy_of_a_shared_name_addr_changes_alone() -> None:
    first, second = _invite(), _invite()
    mine = first.to.copy()
    mine.params["tag"] = "ours"
    mine.uri.user = "other"
    assert second.to.tag is None and second.to.uri.user == "100"


@pytest.mark.parametrize(
    "value",
    ["<sip:a@b>;tag=", "<sip:a@bad..host>", "sip:a@b c", '"x <sip:a@b>', "<sip:a@b>;;x"],
)
def test_a_bad_name_addr_fails_every_time_and_is_not_remembered(value: str) -> None:
    with pytest.raises(SipParseError) as general:
        m.parse_name_addr(value)
    for _ in range(2):
        with pytest.raises(SipParseError) as shared:
            m._header_name_addr(value)
        assert shared.value.reason == general.value.reason
    assert value not in m._HEADER_NAME_ADDRS
    bad = INVITE.replace(b"To: <sip:100@127.0.0.1:5060>", b"To: " + value.encode())
    with pytest.raises(SipParseError) as exc:
        parse_message(bad)
    assert exc.value.reason == general.value.reason


def test_the_shared_name_addrs_are_bounded() -> None:
    for i in range(m._HEADER_NAME_ADDRS_MAX + 5):
        m._header_name_addr(f"<sip:u{i}@example.com>")
    assert len(m._HEADER_NAME_ADDRS) <= m._HEADER_NAME_ADDRS_MAX


def test_random_draws_come_from_the_pool_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyari.sip import transaction as t

    reads: list[int] = []
    counter = iter(range(1, 10**6))

    def urandom(count: int) -> bytes:
        reads.append(count)
        return bytes(next(counter) % 256 for _ in range(count))

    monkeypatch.setattr(t.os, "urandom", urandom)
    t._new_pool()
    draws = [t.random_bytes(10) for _ in range(t._POOL_SIZE // 10 + 1)]
    # one read of a pool, then a new one when the next draw does not fit
    assert reads == [t._POOL_SIZE, t._POOL_SIZE]
    joined = b"".join(draws[:-1])
    assert joined == bytes(i % 256 for i in range(1, len(joined) + 1))
    assert draws[-1] == bytes(i % 256 for i in range(t._POOL_SIZE + 1, t._POOL_SIZE + 11))
    assert len(t.random_bytes(t._POOL_SIZE + 1)) == t._POOL_SIZE + 1
    t._new_pool()


def test_tags_branches_and_call_ids_are_fresh_and_well_formed() -> None:
    from pyari.sip.dialog import new_call_id, new_tag
    from pyari.sip.transaction import new_branch

    tags = {new_tag() for _ in range(2000)}
    assert len(tags) == 2000 and all(len(tag) == 16 for tag in tags)
    branch = new_branch()
    assert branch.startswith("z9hG4bK") and len(branch) == 7 + 20
    int(branch[7:], 16)
    call_id = new_call_id("example.com")
    assert call_id.endswith("@example.com") and len(call_id) == 24 + 12


def test_a_forked_child_draws_other_values() -> None:
    import os

    from pyari.sip.transaction import random_hex

    random_hex(4)  # the parent has a pool
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first draw, to the parent
        os.write(write, random_hex(8).encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child) == 16 and child != random_hex(8)


@pytest.mark.parametrize(
    ("transport", "sent_by"),
    [("UDP", "127.0.0.1:5060"), ("tcp", "Host.Example.COM"), ("TLS", "[2001:DB8::1]:5061"),
     ("WS", "abc.invalid:80"), ("UDP", "bad..host:5060"), ("UDP", "1.2.3.4:99999")],
)  # fmt: skip
def test_a_built_request_knows_its_via_as_parse_via_reads_it(transport: str, sent_by: str) -> None:
    from pyari.sip.dialog import build_request
    from pyari.sip.message import NameAddr, Uri

    for _ in range(2):  # the first one learns the sent-by, the second one uses it
        request = build_request(
            "BYE", Uri("sip", "a", "example.com"),
            from_=NameAddr(Uri(host="x"), params={"tag": "1"}), to=NameAddr(Uri(host="y")),
            call_id="c", cseq=2, sent_by=sent_by, transport=transport,
        )  # fmt: skip
        text = request.headers.get("via") or ""
        try:
            expected = m.parse_via(text)
        except SipParseError as exc:
            with pytest.raises(SipParseError) as got:
                request.top_via  # noqa: B018
            assert got.value.reason == exc.reason
            continue
        assert request.top_via == expected
        assert request.top_via.branch and request.top_via.branch.startswith("z9hG4bK")


def _old_to_bytes(msg: m.SipMessage) -> bytes:
    """What to_bytes gave before it joined the lines without a Python loop."""
    h = msg.headers
    if "content-length" in h._keys:
        lines = msg.header_lines()
    else:
        lines = [f"{n}: {v}" for n, v in h._items]
        lines.append(f"Content-Length: {len(msg.body)}")
    head = msg.start_line() + "\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + msg.body


@pytest.mark.parametrize(
    "data",
    [
        INVITE,
        INVITE.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: 4\r\n\r\nv=0\n"),
        INVITE.replace(b"Content-Length: 0\r\n", b"Subject: \xff\xfe caf\xc3\xa9\r\n"),
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
    ],
)
def test_to_bytes_gives_the_bytes_it_gave(data: bytes) -> None:
    msg = parse_message(data)
    assert msg.to_bytes() == _old_to_bytes(msg)
    response = m.make_response(_invite(), 200, to_tag="t", headers=[("Contact", "<sip:me@h>")])
    assert response.to_bytes() == _old_to_bytes(response)
    msg.headers.remove("content-length")
    msg.body = b"xy"
    assert msg.to_bytes() == _old_to_bytes(msg)


def _scan_split(value: str, sep: str) -> list[str]:
    """split_header_values as it was: one scan of every character."""
    items: list[str] = []
    start = i = 0
    in_quote = in_angle = False
    while i < len(value):
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif in_angle:
            if ch == ">":
                in_angle = False
        elif ch == "<":
            in_angle = True
        elif ch == sep:
            items.append(value[start:i].strip(" \t"))
            start = i + 1
        i += 1
    if in_quote:
        raise SipParseError("unterminated quoted string")
    if in_angle:
        raise SipParseError("unterminated '<'")
    items.append(value[start:].strip(" \t"))
    return items


SPLIT_VALUES = [
    "a", " a ", "a, b", "a;b", "<sip:a,b>", '"x, y" <sip:a>', '"x', "<sip:a", "", " \t",
    "a,,b", "<sip:a@b;transport=UDP>", " <sip:a@b> ", "<a>b<c", "<a<b>", "a>b<", ">", "<",
    "<<>>", "<a>;<b>", "<a>,<b>", "<a>x", "x<a>", "<a> ;q=1",
]  # fmt: skip


def _alphabet_values() -> list[str]:
    import itertools

    return ["".join(chars) for n in range(1, 5) for chars in itertools.product("<>,;a ", repeat=n)]


@pytest.mark.parametrize("value", SPLIT_VALUES + _alphabet_values())
def test_split_header_values_is_the_scan_of_every_character(value: str) -> None:
    for sep in (",", ";"):
        try:
            expected = _scan_split(value, sep)
        except SipParseError as exc:
            with pytest.raises(SipParseError) as got:
                m.split_header_values(value, sep)
            assert got.value.reason == exc.reason
            continue
        assert m.split_header_values(value, sep) == expected


@pytest.mark.parametrize(
    "text", ["0", "70", "255", "256", "2047", "2048", "070", " 70", "7 0", "", "-1", "²", "1e3"]
)
@pytest.mark.parametrize("maximum", [255, 65535])
def test_parse_uint_reads_small_numbers_as_the_general_check(text: str, maximum: int) -> None:
    def general(text: str) -> int:
        text = text.strip(" \t")
        if not m._digits(text, 12) or int(text) > maximum:
            raise SipParseError(f"bad X {text[:40]!r}")
        return int(text)

    try:
        expected = general(text)
    except SipParseError as exc:
        with pytest.raises(SipParseError) as got:
            m._parse_uint(text, "X", maximum)
        assert got.value.reason == exc.reason
        return
    assert m._parse_uint(text, "X", maximum) == expected


def test_a_response_copies_the_request_lines_as_they_are() -> None:
    request = _invite(
        INVITE.replace(b"CSeq: 1 INVITE\r\n", b"CSeq: 1 INVITE\r\nRecord-Route: <sip:p;lr>\r\n")
    )
    trying = m.make_response(request, 100, to_tag="t")
    assert list(trying.headers) == [
        (name, value)
        for name, value in request.headers
        if name in ("Via", "From", "To", "Call-ID", "CSeq")
    ]
    ok = m.make_response(request, 200, to_tag="t", headers=[("contact", "<sip:me@h>"), ("l", "0")])
    assert ok.headers.get("to") == "<sip:100@127.0.0.1:5060>;tag=t"
    assert ok.headers.get("record-route") == "<sip:p;lr>"
    assert list(ok.headers)[-2:] == [("Contact", "<sip:me@h>"), ("Content-Length", "0")]
    assert ok.headers.line_keys()[-2:] == ["contact", "content-length"]
    assert ok.reason == "OK" and m.make_response(request, 299).reason == "OK"


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except SipParseError as exc:
        return ("error", exc.reason, exc.status)


def _name_addrs() -> list[str]:
    from tests.sip.test_sip_parse_fast import NAME_ADDRS

    return NAME_ADDRS


@pytest.mark.parametrize("text", _name_addrs())
def test_a_shared_name_addr_is_what_parse_name_addr_gives(text: str) -> None:
    for _ in range(2):  # parsed, then remembered
        assert _outcome(m._header_name_addr, text) == _outcome(m.parse_name_addr, text)


@pytest.mark.parametrize(
    "uri",
    [
        "sip:100@127.0.0.1:5060",
        "sips:a@[::1];transport=tls",
        "tel:+1555",
        "sip:a@b?x=y",
        "sip:a@b c",
    ],
)
def test_request_uris_are_shared_and_read_as_parse_uri_reads_them(uri: str) -> None:
    data = INVITE.replace(b"sip:100@127.0.0.1:5060 SIP/2.0", uri.encode() + b" SIP/2.0")
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(_invite(data).uri)
        except SipParseError as exc:
            outcomes.append(("error", exc.reason))
    if isinstance(outcomes[0], m.Uri):
        assert outcomes[0] is outcomes[1] and outcomes[0] == m.parse_uri(uri)
        mine = m.parse_uri(uri)
        mine.params["x"] = "y"
        assert "x" not in _invite(data).uri.params
    else:
        assert outcomes[0] == outcomes[1]  # the same error each time


# Messages with several faults: the one reported (and whether a 400 can be sent) is what
# the parser reported before _read_headers also gathered what _check looks at.
_BASE = [
    b"Via: SIP/2.0/UDP h;branch=z9hG4bK1",
    b"From: <sip:a@b>;tag=1",
    b"To: <sip:c@d>",
    b"Call-ID: x",
    b"CSeq: 1 OPTIONS",
]
_FAULTS = {
    "dup cseq + bad contact": [*_BASE[:3], b"Contact: <sip:a", *_BASE[3:], b"CSeq: 2 OPTIONS"],
    "missing from + bad contact": [_BASE[0], b"Contact: <sip:a", *_BASE[2:]],
    "bad contact": [*_BASE, b"Contact: <sip:a"],
    "bad contact then dup to": [*_BASE, b"Contact: <sip:a", b"To: <sip:e@f>"],
    "dup to then dup call-id": [*_BASE, b"Call-ID: y", b"To: <sip:e@f>"],
    "dup call-id then dup to": [*_BASE, b"To: <sip:e@f>", b"Call-ID: y"],
    "bad via item + bad contact": [
        b'Via: SIP/2.0/UDP h;branch=z9hG4bK1, "x',
        *_BASE[1:],
        b"Contact: <sip:a",
    ],
    "empty via": [b"Via: SIP/2.0/UDP h;branch=z9hG4bK1,,", *_BASE[1:]],
    "dup content-length": [*_BASE, b"Content-Length: 0", b"Content-Length: 0"],
    "dup max-forwards + bad via": [b'Via: "x', *_BASE[1:], b"Max-Forwards: 70", b"Max-Forwards: 1"],
    "missing via": _BASE[1:],
    "bad header line + dup": [*_BASE, b"Bad Line", b"CSeq: 2 OPTIONS"],
    "empty contact": [*_BASE, b"Contact: <sip:a@b>,"],
    "bad max-forwards": [*_BASE, b"Max-Forwards: 256"],
    "bad uri + dup": [*_BASE, b"CSeq: 2 OPTIONS"],
}
_REPORTED = {
    "dup cseq + bad contact": ("more than one CSeq", 400, True),
    "missing from + bad contact": ("missing From", 400, False),
    "bad contact": ("unterminated '<'", 400, True),
    "bad contact then dup to": ("more than one To", 400, True),
    "dup to then dup call-id": ("more than one Call-ID", 400, True),
    "dup call-id then dup to": ("more than one To", 400, True),
    "bad via item + bad contact": ("unterminated quoted string", 400, False),
    "empty via": ("empty Via value", 400, True),
    "dup content-length": ("more than one Content-Length", 400, True),
    "dup max-forwards + bad via": ("more than one Max-Forwards", 400, False),
    "missing via": ("missing Via", 400, False),
    "bad header line + dup": ("bad header line 'Bad Line'", 400, False),
    "empty contact": ("empty Contact value", 400, True),
    "bad max-forwards": ("bad Max-Forwards '256'", 400, True),
    "bad uri + dup": ("Request-URI with headers", 400, True),
}


@pytest.mark.parametrize("name", list(_FAULTS))
def test_the_first_fault_is_reported_as_before(name: str) -> None:
    start = (
        b"OPTIONS sip:a@b?x=y SIP/2.0" if name == "bad uri + dup" else b"OPTIONS sip:a@b SIP/2.0"
    )
    with pytest.raises(SipParseError) as exc:
        parse_message(b"\r\n".join([start, *_FAULTS[name]]) + b"\r\n\r\n")
    assert (exc.value.reason, exc.value.status, exc.value.respond) == _REPORTED[name]


_HEAD = (
    b"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n"
    b"Call-ID: x\r\nCSeq: 1 %s\r\n\r\n"
)
# what parse_message made of each start line before it remembered them
_START_LINES = [
    (b"SIP/2.0 200 OK", ("ok", 200, "OK", None, "")),
    (b"SIP/2.0 486 Busy Here", ("ok", 486, "Busy Here", None, "")),
    (b"SIP/3.0 200 OK", ("error", "unsupported SIP version", 400, False)),
    (b"SIP/2.0 700 Odd", ("error", "bad status line 'SIP/2.0 700 Odd'", 400, False)),
    (b"SIP/2.0 200", ("error", "bad status line 'SIP/2.0 200'", 400, False)),
    (b"SIP/2.0 180 ", ("ok", 180, "", None, "")),
    (b"OPTIONS sip:a@b SIP/2.0", ("ok", None, None, "OPTIONS", "sip:a@b")),
    (b"OPTIONS sip:a@b SIP/3.0", ("error", "Version Not Supported", 505, True)),
    (b"OPTIONS  sip:a@b SIP/2.0", ("error", "bad request line", 400, True)),
    (b"OPTIONS sip:a@b?x=y SIP/2.0", ("error", "Request-URI with headers", 400, True)),
    (b"OPTIONS <sip:a@b> SIP/2.0", ("error", "bad URI '<sip:a@b>'", 400, True)),
    (b"OPT@ONS sip:a@b SIP/2.0", ("error", "bad request line", 400, False)),
    (b"OPTIONS sip:a@b", ("error", "bad request line", 400, True)),
]


@pytest.mark.parametrize(("start", "expected"), _START_LINES)
def test_a_remembered_start_line_reads_as_before(
    start: bytes, expected: tuple[object, ...]
) -> None:
    method = b"OPTIONS" if start.startswith(b"SIP/") else start.split(b" ")[0]
    for _ in range(2):  # read, then remembered (or refused again)
        try:
            msg = parse_message(start + _HEAD % method)
            fields = ("status", "reason", "method")
            got: tuple[object, ...] = (
                "ok", *(getattr(msg, name, None) for name in fields), str(getattr(msg, "uri", ""))
            )  # fmt: skip
        except SipParseError as exc:
            got = ("error", exc.reason, exc.status, exc.respond)
        assert got == expected
