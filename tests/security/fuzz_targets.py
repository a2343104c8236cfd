"""Fuzz targets: one function per parser, ``bytes`` in, and the parser's contract checked.

A target returns when the parser either gave a result or raised its documented error
(:class:`SipParseError`, :class:`SdpError`, :class:`ConfigError` / :class:`DialplanError`,
:class:`ExprError`; the HTTP core answers a 4xx page). Any other exception leaves the
target and is a crash: the fuzzer (``fuzz_main.py``, atheris) saves the input, and the
input becomes a regression test in ``test_fuzz_regressions.py``.

The targets are plain functions so the regression tests call them directly, without
atheris.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import errno
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyari.config.errors import ConfigError
from pyari.config.logger import LoggerSettings
from pyari.config.musiconhold import moh_classes
from pyari.config.parser import Section, parse_text
from pyari.config.pjsip import PjsipSettings
from pyari.config.settings import AriSettings, AsteriskSettings, HttpSettings
from pyari.config.websocket_client import websocket_clients
from pyari.dialplan.expr import ExprError, evaluate
from pyari.dialplan.loader import DialplanError, build_dialplan
from pyari.dialplan.substitute import MappingVarSource, substitute
from pyari.sip.message import (
    Request,
    Response,
    SipParseError,
    StreamFramer,
    check_request,
    error_response,
    make_response,
    parse_message,
)
from pyari.sip.sdp import SdpError, create_answer, create_offer, negotiated, parse_sdp

__all__ = ["TARGETS", "Target"]

Target = Callable[[bytes], None]


# --------------------------------------------------------------------------- SIP


def sip_message(data: bytes) -> None:
    """One datagram, then the same bytes as a stream cut in two."""
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        answer = error_response(exc, to_tag="fuzz")
        if answer is not None:
            answer.to_bytes()
        msg = None
    if msg is not None:
        _use_message(msg)
    framer = StreamFramer()
    half = len(data) // 2
    try:
        for part in (data[:half], data[half:]):
            for item in framer.feed(part):
                _use_message(item)
    except SipParseError:
        pass


def _use_message(msg: Any) -> None:
    """What the transaction layer and a UAS read of a parsed message: none of it may fail
    once the message parsed (parse_message checks what they rely on)."""
    wire = msg.to_bytes()
    assert msg.call_id
    _ = msg.cseq, msg.from_.tag, msg.to.tag, msg.content_type
    via = msg.top_via
    _ = via.branch, via.received, via.has_rport, via.rport, via.sent_by, str(via)
    _ = msg.vias, msg.expires, msg.max_forwards
    for contact in msg.contacts:
        _ = str(contact), contact.tag
    for name, _value in msg.headers:
        msg.headers.getall(name)
    if isinstance(msg, Request):
        check_request(msg)
        answer = make_response(msg, 200, to_tag="fuzz").to_bytes()
        assert isinstance(parse_message(answer), Response), answer
    # What we parsed, we write so that it parses again.
    again = parse_message(wire)
    assert type(again) is type(msg), (wire, again)


# --------------------------------------------------------------------------- SDP

_OUR_OFFER = create_offer(["ulaw", "alaw"], "192.0.2.1", 4000, session_id="1")


def sdp(data: bytes) -> None:
    """An SDP body as an offer we answer, and as an answer to our offer."""
    try:
        remote = parse_sdp(data)
    except SdpError:
        return
    for m in remote.media:
        _ = m.rtpmap(), m.fmtp(101), m.direction, m.ptime
        remote.connection_address(m)
    again = parse_sdp(remote.to_bytes())  # what we parsed, we write so that it parses again
    assert len(again.media) == len(remote.media)
    answer, _ = create_answer(remote, ["alaw", "ulaw"], "192.0.2.1", 4002, session_id="2")
    parse_sdp(answer.to_bytes())
    negotiated(_OUR_OFFER, remote)


# --------------------------------------------------------------------------- .conf

_INCLUDE_DIR = Path("/fuzz-config")
_FILES = {
    "/fuzz-config/other.conf": "[other]\nkey = value\n#include self.conf\n",
    "/fuzz-config/self.conf": "#include other.conf\n[self](other)\n",
}


def _opener(path: str) -> str:
    text = _FILES.get(path)
    if text is None:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    return text


def _decode_conf(data: bytes) -> str:
    """As :func:`pyari.config.parser.read_text` decodes a file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_LOADERS: tuple[Callable[[list[Section]], object], ...] = (
    lambda s: AsteriskSettings.from_sections(s, state=Path("/fuzz-state")),
    HttpSettings.from_sections,
    AriSettings.from_sections,
    PjsipSettings.from_sections,
    LoggerSettings.from_sections,
    lambda s: moh_classes(s, Path("/fuzz-data")),
    websocket_clients,
    build_dialplan,
)


def conf(data: bytes) -> None:
    """A .conf file (with two in-memory files to include), then every loader on it."""
    try:
        sections = parse_text(
            _decode_conf(data),
            "/fuzz-config/fuzz.conf",
            include_dir=_INCLUDE_DIR,
            opener=_opener,
            keep_templates=True,
        )
    except ConfigError:
        return
    plain = [s for s in sections if not s.is_template]
    for loader in _LOADERS:
        with contextlib.suppress(ConfigError, DialplanError):
            loader(sections if loader is _LOADERS[0] else plain)


# --------------------------------------------------------------------------- dialplan

_VARS = {"A": "1", "B": "hello world", "LIST": "a,b,c,d,e", "NAME": "A", "X": "12345"}


def _functions(name: str, args: str) -> str | None:
    if name == "ECHO":
        return args
    if name == "NUM":
        return "1" * min(len(args), 400) + ".5"
    return None


def dialplan_expr(data: bytes) -> None:
    """The text of ``$[...]``: values come from channel variables, so any text."""
    text = data.decode("utf-8", "surrogateescape")
    try:
        result = evaluate(text, functions=_functions, on_warning=lambda _m: None)
    except ExprError:
        return
    assert isinstance(result, str)


def dialplan_substitute(data: bytes) -> None:
    """``${...}``/``$[...]`` substitution never raises: errors go to ``on_error``."""
    text = data.decode("utf-8", "surrogateescape")
    result = substitute(text, MappingVarSource(_VARS), on_error=lambda _m: None)
    assert isinstance(result, str)


# --------------------------------------------------------------------------- HTTP


class _Transport(asyncio.Transport):
    """Collects what the protocol writes; no socket."""

    def __init__(self) -> None:
        super().__init__()
        self.out = bytearray()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not self.closed, "write after close"
        self.out += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default


class _Errors(logging.Handler):
    """Errors logged while an input is handled (a request that failed inside)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_ARI_CONF = """[general]
enabled = yes
[fuzz]
type = user
read_only = yes
password = fuzz
"""


@dataclasses.dataclass
class _HttpWorld:
    loop: asyncio.AbstractEventLoop
    server: Any
    errors: _Errors


_http_world: _HttpWorld | None = None


def _world() -> _HttpWorld:
    """One unstarted :class:`pyari.server.Server` (state in a temporary folder)."""
    global _http_world
    if _http_world is None:
        from pyari.config import load_config
        from pyari.http.httptools_core import HttptoolsServer
        from pyari.server import Server

        state = tempfile.mkdtemp(prefix="pyari-fuzz-")
        atexit.register(shutil.rmtree, state, True)
        cfg = load_config(None)
        cfg = dataclasses.replace(
            cfg,
            asterisk=AsteriskSettings.from_sections([], state=Path(state)),
            ari=AriSettings.from_sections(parse_text(_ARI_CONF, "ari.conf")),
        )
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = Server(cfg, sip_port=0)
        assert isinstance(server.http, HttptoolsServer)
        errors = _Errors()
        logging.getLogger("pyari").addHandler(errors)
        logging.getLogger("pyari").setLevel(logging.WARNING)
        logging.getLogger("asyncio").addHandler(errors)
        _http_world = _HttpWorld(loop, server, errors)
    return _http_world


def http_head(data: bytes) -> None:
    """Bytes on one connection of the default HTTP core; then the peer half-closes.

    Every answer must be a well-formed status line that is not a 5xx, and nothing may be
    logged as an error (a request that failed inside the server).
    """
    world = _world()
    world.errors.records.clear()
    world.loop.run_until_complete(_http_connection(world, data))
    assert not world.errors.records, [r.getMessage() for r in world.errors.records]


async def _http_connection(world: _HttpWorld, data: bytes) -> None:
    from pyari.http.httptools_core import HttpProtocol

    for cut in (len(data), len(data) // 3):
        transport = _Transport()
        proto = HttpProtocol(world.server.http, tls=False)
        proto.connection_made(transport)
        for part in (data[:cut], data[cut:]):
            if part and not transport.closed:
                proto.data_received(part)
            await _settle(proto)
        if not transport.closed and not proto.eof_received():
            transport.close()  # what asyncio does when eof_received() says so
        await _settle(proto)
        # After the peer's EOF everything asked is answered and the connection closes.
        assert transport.closed or proto.ws is not None, bytes(transport.out)[-200:]
        proto.connection_lost(None)
        for task in (proto.ws_task, proto._task):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        _check_http_output(bytes(transport.out))


async def _settle(proto: Any) -> None:
    """Until the requests received are answered (some wait on a thread: a few ms)."""
    for i in range(2000):
        if proto.ws is not None or proto.closed or not (proto.busy or proto.queue):
            break
        await asyncio.sleep(0 if i < 5 else 0.001)
    for _ in range(3):
        await asyncio.sleep(0)


def _check_http_output(out: bytes) -> None:
    for line in out.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            status = line[9:12]
            assert status.isdigit() and not status.startswith(b"5"), line


TARGETS: dict[str, tuple[Target, int]] = {
    "sip": (sip_message, 8192),
    "sdp": (sdp, 4096),
    "conf": (conf, 4096),
    "expr": (dialplan_expr, 512),
    "substitute": (dialplan_substitute, 512),
    "http": (http_head, 4096),
}
"""name → (target, largest input the fuzzer makes). The seed corpus of a target is
``corpus/<name>/``."""
