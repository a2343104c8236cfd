"""Every crash the fuzz targets found, kept: each input must now meet its parser's contract.

``fuzzer`` cases are inputs atheris found (test_fuzz.py); ``review`` cases were found by
reading the parsers for the same classes of bug and run through the same targets. The
tests after the table check what the fixed parsers answer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import ConfigError, parse_text
from pyari.config.settings import HttpSettings
from pyari.dialplan.cint import INT_MAX, INT_MIN, c_int, scan_int
from pyari.dialplan.expr import MAX_DEPTH, ExprError, evaluate
from pyari.dialplan.loader import build_dialplan
from pyari.dialplan.substitute import MappingVarSource, substitute
from pyari.sip.message import SipParseError, StreamFramer, error_response, parse_message
from pyari.sip.sdp import SdpError, create_answer, parse_sdp
from security.fuzz_targets import TARGETS

BIG = b"9" * 5000  # past Python's 4300-digit limit of int()
SUPERSCRIPT_TWO = "\u00b2".encode()  # str.isdigit() says yes, int() says no


def _sip(cseq: bytes = b"1 OPTIONS", length: bytes = b"0", via_port: bytes = b"5060") -> bytes:
    return (
        b"OPTIONS sip:alice@192.0.2.1 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.2:" + via_port + b";branch=z9hG4bK1\r\n"
        b"From: <sip:bob@192.0.2.2>;tag=1\r\nTo: <sip:alice@192.0.2.1>\r\n"
        b"Call-ID: c1@192.0.2.2\r\nCSeq: " + cseq + b"\r\nContent-Length: " + length + b"\r\n\r\n"
    )


def _sdp(*lines: bytes) -> bytes:
    head = [b"v=0", b"o=- 1 1 IN IP4 192.0.2.1", b"s=-", b"c=IN IP4 192.0.2.1", b"t=0 0"]
    return b"\r\n".join([*head, *lines]) + b"\r\n"


CRASHES: list[tuple[str, str, bytes]] = [
    # (target, found by, input)
    (
        "expr",  # % of -inf (LOG10(0)): math.fmod raised ValueError
        "fuzzer",
        b"POW(1+ LOG10(1 + -1\x00&\xba & \xba:\xe0\xc8 / 2  & r) % 4 / 2 % |3(1000)"
        b" + A1 N2(1,1):\x00\x00\x00\x00\x00\x00\x00NDER(7,3)",
    ),
    (
        "http",  # non-ASCII Basic credentials: base64 raised ValueError, a 500 page
        "fuzzer",
        b"POST /ari/channels/abc/variable?variable=X HTTP/1.1\r\nHost: h\r\n"
        b"Authorization: Basic ZnV" + b"\xff" * 27 + b"6ejpmdXp6\r\n"
        b"Content-Type: application/json\r\nContent-Length: 27\r\n\r\n"
        b'{"variable":"A","value":"b"}',
    ),
    (
        "sip",  # a list header with an open '<' parsed, then getall() raised in the UA
        "fuzzer",
        _sip(cseq=b"8 INVITE").replace(b"OPTIONS sip", b"INVITE sip")
        + b"Accept: application/sdp,< message/sipfrag\r\n\r\n",
    ),
    (
        "sip",  # status 085 parsed as 85, written out as "85", which no longer parsed
        "fuzzer",
        b"SIP/2.0 085 Odd\r\nVia: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1\r\n"
        b"Call-ID: a\r\nCSeq: 35 INVITE\r\nFrom: sip:u@example.com;tag=1\r\n"
        b"To: sip:u@example.edu;tag=2\r\nContent-Length: 0\r\n\r\n",
    ),
    ("http", "review", b"GET /ari/asterisk/ping?api_key=\xff:\xfe HTTP/1.1\r\n\r\n"),
    ("expr", "review", b"SQRT(-1) < 1"),  # nan compared: decimal.InvalidOperation
    ("expr", "review", b"EXP10(100000000) + EXP(99999999)"),  # decimal.Overflow
    ("expr", "review", b"(" * 2000 + b"1"),  # RecursionError
    ("expr", "review", b"!" * 3000 + b"1"),  # RecursionError
    ("expr", "review", b"1 ? " * 1000 + b"1"),  # RecursionError
    ("expr", "review", b"!" + BIG),  # int() of 5000 digits
    ("expr", "review", b"9" * 400 + b" % 7"),  # fmod of a double's inf
    ("expr", "review", b'x : "a{99999999999}"'),  # OverflowError from re
    ("expr", "review", b'x : "' + b"(" * 1000 + b'"'),  # RecursionError from re
    ("substitute", "review", b"${X:" + BIG + b"}${X:1:-" + BIG + b"}"),
    ("substitute", "review", b"${CUT(LIST,\\,," + BIG + b"-" + BIG + b")}"),
    ("substitute", "review", b"${IF(" + BIG + b"?a:b)}$[!" + BIG + b"]"),
    ("sip", "review", _sip(cseq=SUPERSCRIPT_TWO + b" OPTIONS")),
    ("sip", "review", _sip(cseq=BIG + b" OPTIONS")),
    ("sip", "review", _sip(length=SUPERSCRIPT_TWO)),
    ("sip", "review", _sip(via_port=SUPERSCRIPT_TWO)),
    ("sip", "review", _sip().replace(b"Content-Length: 0", b"l: " + BIG)),
    ("sdp", "review", _sdp(b"m=audio 4000 RTP/AVP 0", b"a=ptime:1e999")),
    ("sdp", "review", _sdp(b"m=audio 4000 RTP/AVP 0", b"a=rtpmap:" + BIG + b" PCMU/8000")),
    ("sdp", "review", _sdp(b"m=audio " + SUPERSCRIPT_TWO + b" RTP/AVP 0")),
    ("sdp", "review", _sdp(b"m=audio 4000/" + SUPERSCRIPT_TWO + b" RTP/AVP " + SUPERSCRIPT_TWO)),
    ("sdp", "review", b"v=0\r\no=- 1 " + BIG + b" IN IP4 192.0.2.1\r\ns=-\r\n"),
    ("sdp", "review", b"v=0\r\no=- 1 " + SUPERSCRIPT_TWO + b" IN IP4 192.0.2.1\r\ns=-\r\n"),
    ("conf", "review", b"[general]\nbindport=" + BIG + b"\nsessionlimit=" + BIG + b"\n"),
    ("conf", "review", b"[general]\nbindaddr=[::1]:" + BIG + b"\n"),
    ("conf", "review", b"[a]\nx=1\n[a](+x=" + b"(" * 2000 + b")\n"),
    ("conf", "review", b"[a]\nx=1\n[a](+x=a{99999999999})\n"),
    ("conf", "review", b"[ctx]\nexten => 1," + BIG + b",NoOp()\nexten => 2,1+" + BIG + b",NoOp\n"),
]


@pytest.mark.parametrize(
    ("target", "data"),
    [(target, data) for target, _, data in CRASHES],
    ids=[f"{target}-{how}-{n}" for n, (target, how, _) in enumerate(CRASHES)],
)
def test_crash_input_meets_the_contract(target: str, data: bytes) -> None:
    TARGETS[target][0](data)


# -- what the fixed parsers answer -----------------------------------------------------


def test_c_ints_saturate() -> None:
    assert c_int("12") == 12
    assert c_int("-0007") == -7
    assert c_int("+" + "9" * 5000) == INT_MAX
    assert c_int("-" + "9" * 5000) == INT_MIN
    assert c_int("2147483648") == INT_MAX
    assert scan_int("  42abc") == (42, 4)
    assert scan_int("\u00b2") is None  # ASCII digits only, as C's %d


@pytest.mark.parametrize(
    ("expr", "result"),
    [
        ("SQRT(-1)", "nan"),
        ("SQRT(-1) < 1", "0"),
        ("SQRT(-1) = SQRT(-1)", "0"),
        ("SQRT(-1) != 1", "1"),
        ("EXP10(100000000)", "inf"),
        ("-EXP(99999999)", "-inf"),
        ("EXP10(100000000) - EXP10(100000000)", "nan"),
        ("LOG10(0) % 4", "nan"),
        ("9" * 400 + " % 7", "nan"),  # beyond a double, as fmodl's operand would be
        (f"{2**170} % 7", "4"),  # past 40 digits: a double's fmod, exact here
        ("7 % 3", "1"),
        ("!" + "9" * 5000, "0"),
        ("(" * 40 + "1" + ")" * 40, "1"),
        ("!" * 40 + "1", "1"),
    ],
)
def test_expression_numbers_act_like_c(expr: str, result: str) -> None:
    assert evaluate(expr) == result


@pytest.mark.parametrize(
    "expr", ["(" * (MAX_DEPTH + 1) + "1", "-" * (MAX_DEPTH + 1) + "1", "1 ? " * 200 + "1"]
)
def test_too_deep_an_expression_is_a_syntax_error(expr: str) -> None:
    with pytest.raises(ExprError, match="memory exhausted"):
        evaluate(expr)
    warnings: list[str] = []
    assert substitute(f"$[{expr}]", MappingVarSource(), on_error=warnings.append) == "0"
    assert "memory exhausted" in warnings[0]


def test_a_pattern_re_refuses_is_a_regcomp_warning() -> None:
    seen: list[str] = []
    assert evaluate('x : "a{99999999999}"', on_warning=seen.append) == ""
    assert evaluate('x : "' + "(" * 1000 + '"', on_warning=seen.append) == ""
    assert len(seen) == 2 and all(w.startswith("regcomp() error") for w in seen)


def test_substitution_offsets_saturate() -> None:
    source = MappingVarSource({"X": "12345", "LIST": "a,b,c"})
    big = "9" * 5000
    assert substitute(f"${{X:{big}}}", source) == ""
    assert substitute(f"${{X:-{big}}}", source) == "12345"
    assert substitute(f"${{X:1:{big}}}", source) == "2345"
    assert substitute(f"${{CUT(LIST,\\,,2-{big})}}", source) == "b,c"
    assert substitute(f"${{IF({big}?yes:no)}}", source) == "yes"


@pytest.mark.parametrize(
    "data",
    [
        _sip(cseq=SUPERSCRIPT_TWO + b" OPTIONS"),
        _sip(cseq=b"9" * 13 + b" OPTIONS"),
        _sip(length=SUPERSCRIPT_TWO),
        _sip(length=BIG),
        _sip(via_port=SUPERSCRIPT_TWO),
    ],
)
def test_sip_numbers_are_ascii_and_bounded(data: bytes) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    answer = error_response(info.value)
    assert answer is not None and answer.status == 400


@pytest.mark.parametrize("value", [b"<sip:a@b", b'"open quote', b"a, <b, c"])
@pytest.mark.parametrize("name", [b"Accept", b"Require", b"Supported", b"k", b"Route"])
def test_list_header_that_does_not_split_is_a_400(name: bytes, value: bytes) -> None:
    data = _sip().replace(b"Content-Length", name + b": " + value + b"\r\nContent-Length")
    with pytest.raises(SipParseError, match="unterminated") as info:
        parse_message(data)
    answer = error_response(info.value)
    assert answer is not None and answer.status == 400


def test_sip_stream_with_a_huge_content_length_is_dropped() -> None:
    with pytest.raises(SipParseError, match="too large") as info:
        StreamFramer().feed(_sip().replace(b"Content-Length: 0", b"l: " + BIG))
    assert not info.value.respond


@pytest.mark.parametrize(
    "data",
    [
        _sdp(b"m=audio " + SUPERSCRIPT_TWO + b" RTP/AVP 0"),
        b"v=0\r\no=- 1 " + BIG + b" IN IP4 192.0.2.1\r\ns=-\r\n",
        b"v=0\r\no=- 1 " + SUPERSCRIPT_TWO + b" IN IP4 192.0.2.1\r\ns=-\r\n",
    ],
)
def test_sdp_numbers_are_ascii_and_bounded(data: bytes) -> None:
    with pytest.raises(SdpError):
        parse_sdp(data)


@pytest.mark.parametrize("ptime", [b"1e999", b"inf", b"nan", b"-20", b"0", b"100000"])
def test_sdp_ptime_out_of_range_is_ignored(ptime: bytes) -> None:
    offer = parse_sdp(_sdp(b"m=audio 4000 RTP/AVP 0 101", b"a=ptime:" + ptime))
    assert offer.media[0].ptime is None
    _, session = create_answer(offer, ["ulaw"], "192.0.2.9", 5000, session_id="1")
    assert session is not None and session.ptime == 20


def test_sdp_payload_types_are_seven_bits() -> None:
    offer = parse_sdp(
        _sdp(
            b"m=audio 4000 RTP/AVP 200 " + SUPERSCRIPT_TWO + b" 8",
            b"a=rtpmap:200 PCMU/8000",
            b"a=rtpmap:8 PCMA/" + BIG,
        )
    )
    assert offer.media[0].rtpmap() == {8: ("PCMA", 8000, 1)}  # the static type stays


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[general]\nbindport=" + "9" * 5000, "not a port number"),
        ("[general]\nsessionlimit=" + "9" * 5000, "out of range"),
        ("[general]\nsessionlimit=0000000000000000000000000000000000000005", None),
        ("[general]\nbindaddr=[::1]:" + "9" * 5000, "bad port"),
    ],
)
def test_conf_numbers_of_any_length(text: str, reason: str | None) -> None:
    sections = parse_text(text, "http.conf")
    if reason is None:
        assert HttpSettings.from_sections(sections).sessionlimit == 5
        return
    with pytest.raises(ConfigError, match=reason) as info:
        HttpSettings.from_sections(sections)
    assert info.value.line == 2


@pytest.mark.parametrize("pattern", ["(" * 2000, "a{99999999999}", "("])
def test_conf_section_filter_that_re_refuses(pattern: str) -> None:
    with pytest.raises(ConfigError, match="bad regex in section filter") as info:
        parse_text(f"[a]\nx=1\n[a](+x={pattern})\n", "f.conf")
    assert info.value.line == 3


def test_dialplan_priority_of_any_length() -> None:
    sections = parse_text(f"[ctx]\nexten => 1,{'9' * 5000},NoOp()\n", "extensions.conf")
    extension = build_dialplan(sections).contexts["ctx"].extension("1")
    assert extension is not None
    assert [p.priority for p in extension.priorities] == [INT_MAX]  # saturated, as a C int


def test_conf_include_of_a_name_with_nul(tmp_path: Path) -> None:
    """Found by review next to the fuzzed in-memory includes: on the file system a NUL
    made ``open``/``realpath`` raise ValueError."""
    (tmp_path / "x").write_text("[x]\nk=v\n")
    path = str(tmp_path / "f.conf")
    with pytest.raises(ConfigError, match="NUL") as info:
        parse_text('[a]\n#include "x\0y"\n', path, include_dir=tmp_path)
    assert info.value.line == 2
    assert [s.name for s in parse_text("[a]\n#tryinclude x\0y\n", path)] == ["a"]
    assert [s.name for s in parse_text("[a]\n#tryinclude x\0*\n#include x\n", path)] == ["a", "x"]
