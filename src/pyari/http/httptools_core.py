"""The HTTP server of http.conf on httptools and wsproto (``PYARI_HTTP_BACKEND=httptools``).

One :class:`HttpProtocol` per connection, an ``asyncio.Protocol`` on the
running (uv)loop.  httptools (llhttp) parses requests, wsproto frames
WebSockets; this module does the connection rules around them:

* requests on a connection are answered one at a time, in order (pipelining
  queues them; reading pauses while too many wait);
* keep-alive as httptools decides it (HTTP/1.1 unless ``Connection: close``,
  HTTP/1.0 only with ``Connection: keep-alive``);
* a request body over :data:`MAX_BODY`, a header line over :data:`MAX_FIELD`
  or more than :data:`MAX_HEADERS` headers, and anything llhttp rejects get
  an error page and the connection is closed after it;
* ``Expect: 100-continue`` is answered once earlier responses are written;
* http.conf's session limits and timeouts are those of
  :mod:`pyari.http.sessions` (a connection over ``sessionlimit`` makes room
  by closing a stalled one, or is closed at once when every one is busy).

The ARI work is :meth:`AriService.handle`; the request coroutine is driven
inline from ``data_received`` and only becomes a Task when it has to wait
(most GETs finish without waiting, and a Task per request costs more than
the request).  Responses are written as one bytes object; the ``Server`` and
``Cache-Control`` lines and the ``Date`` line (renewed once a second) are
pre-built.

Responses are those of :mod:`pyari.http.aiohttp_core` (the aiohttp core), header
order included; see docs/decisions/0006-http-core.md for the few protocol
errors whose pages differ.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httptools
from aiohttp import WSMessage, WSMsgType
from multidict import CIMultiDict, CIMultiDictProxy
from wsproto.connection import Connection as WsConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token

from pyari.ari.events_ws import EventSession
from pyari.ari.service import AriRequest, AriService
from pyari.http.common import (
    NO_CACHE,
    NOT_FOUND_TEXT,
    SIP_MAX_MESSAGE,
    WS_VERSIONS,
    Answer,
    Binding,
    MediaSockets,
    Page,
    SipSockets,
    check_media,
    check_sip,
    html_page,
    log_accepted,
    peer_name,
    refusal,
    run_events_socket,
    run_sip_socket,
    url_prefix,
)
from pyari.http.listeners import Listeners
from pyari.http.routing import EVENTS, MEDIA, NOT_FOUND, SIP, STATIC, Router, parse_query
from pyari.http.sessions import SessionLimits, Wait, WaitKind, sweep_interval
from pyari.http.static import static_answer

if TYPE_CHECKING:
    from pyari.config import HttpSettings

log = logging.getLogger("pyari.http")

MAX_BODY = 2 * 1024 * 1024
"""Largest request body (as the aiohttp core's ``client_max_size``)."""
MAX_FIELD = 8190
"""Longest request target, header name or header value."""
MAX_HEADERS = 128
MAX_PIPELINE = 32
MAX_REPLAYS = 256
"""Distinct requests whose static answers are kept (per scheme)."""
"""Requests that may wait on a connection before reading pauses."""
EVENTS_MAX_MESSAGE = 1024 * 1024
CLOSE_TIMEOUT = 2.0
"""How long a WebSocket close waits for the peer's close frame."""

KNOWN_HEADS = 4
"""Sets of header lines a connection keeps decoded (see ``HttpProtocol._known_heads``)."""
KNOWN_HEAD_BYTES = 4096
"""Larger sets are decoded for their request only (an idle connection keeps little)."""

NO_BODY_STATUS = frozenset({204, 304})
_SHORT_TEXT_HEADS = tuple(bytes((0x81, n)) for n in range(126))
"""The head of an unmasked, whole text frame of each length under 126."""
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _status_line(version: str, status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/{version} {status} {phrase}\r\n".encode()


_STATUS_LINES: dict[tuple[str, int], bytes] = {
    (v, int(s)): _status_line(v, int(s)) for v in ("1.0", "1.1") for s in HTTPStatus
}


class _Failure:
    """A request that cannot be served: its error page ends the connection."""

    __slots__ = ("headers", "status", "text", "title")

    def __init__(
        self, status: int, title: str, text: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.title = title
        self.text = text
        self.headers = headers


class _Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "raw", "upgrade", "url", "version")

    def __init__(
        self,
        method: str,
        url: bytes,
        headers: CIMultiDictProxy[str],
        body: bytes,
        version: str,
        keep_alive: bool,
        upgrade: bool,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.version = version
        self.keep_alive = keep_alive
        self.upgrade = upgrade
        self.raw: bytes | None = None
        """The request's bytes, when they arrived alone in one read."""


class _LimitExceeded(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.text)
        self.failure = failure


class HttptoolsServer:
    """Serves ARI over HTTP (and HTTPS when http.conf enables TLS), on httptools."""

    backend = "httptools"

    def __init__(
        self,
        service: AriService,
        http_settings: HttpSettings,
        media_sockets: MediaSockets | None = None,
        *,
        sip_sockets: SipSockets | None = None,
        static_roots: Sequence[Path] = (),
    ) -> None:
        self.service = service
        self.settings = http_settings
        self.router = Router(service, media_sockets, sip_sockets)
        """Where requests go (``media_sockets`` serve ``/media/<connection_id>``,
        ``sip_sockets`` ``/ws``)."""
        self.static_roots = tuple(static_roots)
        """Where ``/static/...`` files are looked for, in order (``enablestatic``)."""
        self.connections: set[HttpProtocol] = set()
        self.limits = SessionLimits(http_settings)
        """http.conf's session limits and timeouts over :attr:`connections`."""
        self.listeners = Listeners(lambda tls: lambda: HttpProtocol(self, tls))
        self._sweeper: asyncio.TimerHandle | None = None
        self._base_for: object = None
        self._base = b""
        self._prefix = ""
        self._date_second = -1
        self._date_line = b""
        self._header_cache: dict[tuple[tuple[str, str], ...], bytes] = {}
        self.replays: dict[str, dict[bytes, _Replay]] = {"http": {}, "https": {}}
        """Static answers by the exact bytes of their request, per scheme."""

    # -- lifecycle -----------------------------------------------------------------

    @property
    def bindings(self) -> list[Binding]:
        """Where it listens (``bindport = 0`` gives the port it got)."""
        return self.listeners.bindings

    async def start(self) -> None:
        await self.listeners.start(self.settings)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(
                sweep_interval(self.settings), self._sweep
            )

    async def reconfigure(self, http_settings: HttpSettings) -> None:
        """Apply new settings (``reload http``), all or nothing.

        New listeners are bound, and a TLS certificate read, before old ones
        close: on a :class:`~pyari.http.listeners.ListenError` everything is
        as it was.  Open connections (and calls) are not dropped.
        """
        await self.listeners.update(http_settings)
        self.settings = http_settings
        self.limits.settings = http_settings

    async def stop(self) -> None:
        """Stop listening and close every connection.

        Events sockets get a normal close, media sockets' handlers are
        cancelled (their channels hang up), requests being answered finish
        first (for up to two seconds).
        """
        self.service.close_event_sessions()
        self.listeners.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in list(self.connections):
            conn.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CLOSE_TIMEOUT
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.abort()
        tasks = [c.ws_task for c in list(self.connections) if c.ws_task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.connections.clear()

    def _sweep(self) -> None:
        """Close connections that waited too long (:meth:`SessionLimits.sweep`)."""
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(sweep_interval(self.settings), self._sweep)
        self.limits.sweep()

    @property
    def clock(self) -> Callable[[], float]:
        """The monotonic clock of the session timeouts (tests inject their own)."""
        return self.limits.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.limits.clock = clock

    # -- response pieces -----------------------------------------------------------

    def base_headers(self) -> bytes:
        """The ``Server`` and ``Cache-Control`` lines of every response."""
        settings = self.settings
        if settings is not self._base_for:
            self._base_for = settings
            self._base = f"Server: {settings.servername}\r\nCache-Control: {NO_CACHE}\r\n".encode()
            self._prefix = url_prefix(settings)
        return self._base

    def prefix(self) -> str:
        """http.conf's ``prefix`` as :func:`~pyari.http.common.url_prefix` gives it."""
        if self.settings is not self._base_for:
            self.base_headers()
        return self._prefix

    def date_line(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date_line = f"Date: {formatdate(second, usegmt=True)}\r\n".encode()
        return self._date_line

    def header_lines(self, headers: Mapping[str, str]) -> bytes:
        key = tuple(headers.items())
        data = self._header_cache.get(key)
        if data is None:
            data = "".join([f"{k}: {v}\r\n" for k, v in key]).encode("utf-8", "surrogateescape")
            if len(self._header_cache) < 256 and len(key) <= 2:
                self._header_cache[key] = data
        return data

    def static_epoch(self) -> tuple[object, ...]:
        """What a static answer depends on (see :attr:`AriResponse.static`)."""
        return (self.settings, self.service.static_epoch())

    def keep_replay(self, scheme: str, raw: bytes, head: bytes, tail: bytes) -> None:
        replays = self.replays[scheme]
        if len(replays) >= MAX_REPLAYS:
            replays.clear()
        replays[raw] = _Replay(self.static_epoch(), head, tail)


class _Replay:
    """A static answer kept for its exact request: the bytes around its Date line."""

    __slots__ = ("epoch", "head", "tail")

    def __init__(self, epoch: tuple[object, ...], head: bytes, tail: bytes) -> None:
        self.epoch = epoch
        self.head = head
        self.tail = tail


Sender = Callable[[bytes], Coroutine[Any, Any, None]]


class HttpProtocol(asyncio.Protocol):
    """One client connection: HTTP/1.x requests, then maybe a WebSocket."""

    def __init__(self, server: HttptoolsServer, tls: bool) -> None:
        self.srv = server
        self.scheme = "https" if tls else "http"
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[_Request | _Failure] = deque()
        self.busy = False
        """A request is being answered (or the connection became a WebSocket)."""
        self.closed = False
        self.last = self.accepted = server.clock()
        """When the last byte arrived or the last answer left; when it was accepted."""
        self.head_started = 0.0
        """When the first byte of the request being received arrived."""
        self.head_done = False
        """The head of the request being received is in (its body is arriving)."""
        self.host = ""
        self.peer: tuple[str, int] | None = None
        self.local: tuple[str, int] | None = None
        self.ws: WebSocket | None = None
        self.ws_task: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._eof = False
        self._stopping = False
        self._failed = False
        """The parser gave up: the rest of the input is ignored."""
        self._upgrade_rest: bytes | None = None
        self._pending_continue = False
        self.served = 0
        """Requests received in full on this connection."""
        self.in_request = False
        """A request has begun arriving and is not complete."""
        self._completed = 0
        """Requests completed by the read being parsed."""
        # the request being parsed
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._known_heads: list[tuple[list[tuple[bytes, bytes]], CIMultiDictProxy[str]]] = []
        """Header lines of recent requests and their (read-only) mapping, newest first: a
        client sends the same few sets of lines (one per method, say) with each request on
        a connection, each set decoded once (:data:`KNOWN_HEADS`, :data:`KNOWN_HEAD_BYTES`)."""

    # -- transport callbacks ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport = cast(
            asyncio.Transport, transport
        )  # uvloop's are not subclasses
        srv = self.srv
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if peer else ""
        self.peer = (self.host, int(peer[1])) if peer else None
        local = transport.get_extra_info("sockname")
        self.local = (str(local[0]), int(local[1])) if local else None
        if not srv.limits.admit(self):
            # Over http.conf's limits with every session busy: closed without
            # an answer, as Asterisk does.
            self.closed = True
            transport.close()
            return
        srv.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.srv.connections.discard(self)
        self.srv.limits.remove(self)
        self.queue.clear()
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_exception(ConnectionResetError("connection lost"))
        self._drain_waiters.clear()
        if self.ws is not None:
            self.ws.connection_lost()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()
        if not self.busy:
            self._kick()

    async def drain(self) -> None:
        """Wait until the transport takes writes again."""
        if self.closed:
            raise ConnectionResetError("connection lost")
        if not self._write_paused:
            return
        fut = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(fut)
        await fut

    def eof_received(self) -> bool:
        self._eof = True
        if self.ws is not None:
            self.ws.feed_eof()
            return False
        # Answer what was asked before the half-close, then close.
        return self.busy or bool(self.queue)

    def data_received(self, data: bytes) -> None:
        self.last = now = self.srv.limits.clock()
        if not (self.in_request or self.busy or self.queue):
            self.head_started = now
        ws = self.ws
        if ws is not None:
            ws.feed(data)
            return
        if self._upgrade_rest is not None or self._stopping or self._failed:
            return  # waiting for an upgrade (reading is paused) or closing: ignore
        whole = not (self.in_request or self.busy or self.queue or self._write_paused)
        if whole and data.startswith(b"GET "):  # (only GETs are kept: no hash of others)
            replay = self.srv.replays[self.scheme].get(data)
            if replay is not None and self._replay(data, replay):
                return
        self._completed = 0
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade_rest = data[exc.args[0] :]
            self._pause_reading()
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _LimitExceeded):
                self._fail(cause.failure)
            else:
                self._fail(_Failure(400, "Bad Request", "Invalid HTTP request."))
        except httptools.HttpParserError:
            self._fail(_Failure(400, "Bad Request", "Invalid HTTP request."))
        else:
            if whole and self._completed == 1 and not self.in_request:
                last = self.queue[-1] if self.queue else None
                if isinstance(last, _Request):
                    last.raw = data  # this read held exactly this one request
        if not self.busy:
            self._kick()

    def _replay(self, data: bytes, replay: _Replay) -> bool:
        """Answer a request seen before with its kept static answer, if still right."""
        srv = self.srv
        if replay.epoch != srv.static_epoch():
            srv.replays[self.scheme].pop(data, None)
            return False
        transport = self.transport
        if transport is None or self.closed:
            return True
        self.served += 1
        transport.write(replay.head + srv.date_line() + replay.tail)
        return True

    def _fail(self, failure: _Failure) -> None:
        """Stop parsing; the failure is answered in order, then the connection closes."""
        self.queue.append(failure)
        self._failed = True
        self._pause_reading()

    def _pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    # -- httptools callbacks -----------------------------------------------------------

    def on_message_begin(self) -> None:
        self.in_request = True
        self.head_done = False
        self.head_started = self.last
        self._url = b""
        self._headers = []
        self._body = []
        self._body_size = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > MAX_FIELD:
            raise _LimitExceeded(_Failure(414, "Request-URI Too Long", "The URL is too long."))

    def on_header(self, name: bytes, value: bytes) -> None:
        headers = self._headers
        if len(name) > MAX_FIELD or len(value) > MAX_FIELD or len(headers) >= MAX_HEADERS:
            raise _LimitExceeded(_Failure(400, "Bad Request", "Request header too large."))
        headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True
        expect = None
        length = 0
        for name, value in self._headers:
            size = len(name)
            if size == 14 and name.lower() == b"content-length":
                try:  # noqa: SIM105 (contextlib.suppress: three calls more per request)
                    length = int(value)
                except ValueError:
                    pass
            elif size == 6 and name.lower() == b"expect":
                expect = value
        if length > MAX_BODY:
            raise _LimitExceeded(
                _Failure(413, "Request Entity Too Large", "The request body is too large.")
            )
        if expect is not None and self.parser.get_http_version() == "1.1":
            if expect.lower() != b"100-continue":
                raise _LimitExceeded(_Failure(417, "Expectation Failed", ""))
            if self.busy or self.queue:
                self._pending_continue = True
            elif self.transport is not None and not self.closed:
                self.transport.write(CONTINUE)

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > MAX_BODY:
            raise _LimitExceeded(
                _Failure(413, "Request Entity Too Large", "The request body is too large.")
            )
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        body = self._body
        lines = self._headers
        known = self._known_heads
        headers = None
        for seen, mapping in known:
            if seen == lines:
                headers = mapping
                break
        if headers is None:
            headers = CIMultiDictProxy(
                CIMultiDict(
                    [
                        (n.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
                        for n, v in lines
                    ]
                )
            )
            if sum([len(n) + len(v) for n, v in lines]) <= KNOWN_HEAD_BYTES:
                known.insert(0, (lines, headers))
                del known[KNOWN_HEADS:]
        self.queue.append(
            _Request(
                parser.get_method().decode("ascii"),
                self._url,
                headers,
                body[0] if len(body) == 1 else b"".join(body),
                parser.get_http_version(),
                parser.should_keep_alive(),
                parser.should_upgrade(),
            )
        )
        self._pending_continue = False
        self.in_request = False
        self.served += 1
        self._completed += 1
        if len(self.queue) >= MAX_PIPELINE:
            self._pause_reading()

    # -- answering ------------------------------------------------------------------------

    def _kick(self) -> None:
        """Answer queued requests in order, inline while they need not wait."""
        queue = self.queue
        while queue and not self.busy and not self._write_paused and not self.closed:
            item = queue.popleft()
            if isinstance(item, _Failure):
                queue.clear()
                self._write_error(item)
                return
            self.busy = True
            coro = self._serve(item)
            try:
                yielded = coro.send(None)
            except StopIteration:
                continue
            except BaseException:
                log.exception("HTTP request failed")
                self.busy = False
                self.abort()
                return
            self._await(coro, yielded)
            return
        if self.closed or self.busy or queue:
            return
        rest = self._upgrade_rest
        if rest is not None and not self._stopping and not self._failed:
            # An upgrade that was refused: HTTP goes on after it, on a new parser
            # (llhttp stays paused after an upgrade request).
            self._upgrade_rest = None
            self.parser = httptools.HttpRequestParser(self)
            self._resume_reading()
            if rest:
                self.data_received(rest)
            return
        if self._reading_paused and not self._stopping and not self._failed:
            self._resume_reading()
        if self._pending_continue and self.transport is not None:
            self._pending_continue = False
            self.transport.write(CONTINUE)
        if self._eof and self.transport is not None:
            self.transport.close()

    def _await(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        """The request coroutine has to wait: a Task carries it on once it can."""
        loop = asyncio.get_running_loop()
        if yielded is None:  # a bare yield (asyncio.sleep(0)): go on next round
            self._start_task(coro)
            return
        if getattr(yielded, "_asyncio_future_blocking", None):
            # What Task.__step does with a future it is given: wait for it, then
            # resume the coroutine (as a Task, so it can wait again).
            yielded._asyncio_future_blocking = False
            yielded.add_done_callback(lambda _f: self._start_task(coro))
            return
        coro.close()
        log.error("HTTP request yielded %r; closing the connection", yielded)
        self.busy = False
        loop.call_soon(self.abort)

    def _start_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._task = task
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if not task.cancelled() and task.exception() is not None:
            log.error("HTTP request failed", exc_info=task.exception())
            self.busy = False
            self.abort()
            return
        if not self.busy:
            self._kick()

    async def _serve(self, req: _Request) -> None:
        try:
            await self._route(req)
        except Exception:
            log.exception("HTTP %s %r failed", req.method, req.url)
            self._html(req, 500, "Internal Server Error", "")
        finally:
            if self.ws is None:
                self.busy = False

    async def _route(self, req: _Request) -> None:
        srv = self.srv
        url = req.url
        if url[:1] == b"/":
            raw_path, _, raw_query = url.partition(b"?")
            raw_path = raw_path.partition(b"#")[0]
        else:  # absolute-form (or garbage llhttp let through)
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                self._html(req, 400, "Bad Request", "Invalid URL.", close=True)
                return
            raw_path, raw_query = parsed.path or b"/", parsed.query or b""
        target, sub = srv.router.route(
            srv.prefix(), raw_path.decode("utf-8", "surrogateescape"), req.method
        )
        if target == NOT_FOUND:
            self._html(req, 404, "Not Found", NOT_FOUND_TEXT)
            return
        if target == MEDIA:
            self._media(req, sub)
            return
        if target == SIP:
            self._sip(req)
            return
        if target == STATIC:
            answer = await asyncio.to_thread(
                static_answer, srv.static_roots, sub, req.method, srv.settings.enablestatic
            )
            self._answer(req, answer)
            return
        query = parse_query(raw_query.decode("utf-8", "surrogateescape")) if raw_query else []
        if target == EVENTS:
            self._events(req, sub, query)
            return
        resp = await srv.service.handle(
            AriRequest(
                req.method,
                sub,
                query,
                req.headers,
                req.body,
                self.scheme,
                self.peer,
                self.local,
                http=True,
            )
        )
        keep = (
            resp.static
            and req.raw is not None
            and req.method == "GET"
            and "Expect" not in req.headers  # a replay would not send its 100 Continue
        )
        self._respond(req, resp.status, resp.headers, resp.body, replay=keep)

    # -- writing responses -----------------------------------------------------------------

    def _respond(
        self,
        req: _Request | None,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        close: bool = False,
        replay: bool = False,
    ) -> None:
        transport = self.transport
        if transport is None or self.closed:
            return
        srv = self.srv
        version = req.version if req is not None else "1.1"
        keep = (
            req is not None
            and req.keep_alive
            and not close
            and not self._stopping
            and srv.settings.session_keep_alive > 0  # Asterisk: keep-alive off, close
        )
        line = _STATUS_LINES.get((version, status)) or _status_line(version, status)
        if not headers:
            parts = [line, srv.base_headers()]
        elif "Server" in headers or "Cache-Control" in headers:
            merged = {"Server": srv.settings.servername, "Cache-Control": NO_CACHE}
            merged.update(headers)
            parts = [line, srv.header_lines(merged)]
        else:
            parts = [line, srv.base_headers(), srv.header_lines(headers)]
        if status >= 200 and status not in NO_BODY_STATUS:
            parts.append(b"Content-Length: %d\r\n" % len(body))
        else:
            body = b""
        date_at = len(parts)
        parts.append(srv.date_line())
        if keep:
            if version == "1.0":
                parts.append(b"Connection: keep-alive\r\n")
        elif version == "1.1":
            parts.append(b"Connection: close\r\n")
        parts.append(b"\r\n")
        if body and (req is None or req.method != "HEAD"):
            parts.append(body)
        transport.write(b"".join(parts))
        self.last = srv.limits.clock()
        if not keep:
            self._close_after_write()
        elif replay and version == "1.1" and req is not None and req.raw is not None:
            srv.keep_replay(
                self.scheme, req.raw, b"".join(parts[:date_at]), b"".join(parts[date_at + 1 :])
            )

    def _html(
        self,
        req: _Request | None,
        status: int,
        title: str,
        text: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        page = html_page(status, title, text, self.srv.settings.servername).encode()
        h = {"Content-Type": "text/html; charset=utf-8"}
        if headers:
            h.update(headers)
        self._respond(req, status, h, page, close=close)

    def _answer(self, req: _Request, answer: Page | Answer) -> None:
        if isinstance(answer, Page):
            self._html(req, *answer)
        else:
            self._respond(req, *answer)

    def _write_error(self, failure: _Failure) -> None:
        self._html(
            None, failure.status, failure.title, failure.text, close=True, headers=failure.headers
        )

    def _close_after_write(self) -> None:
        """Close once the written data has gone (transport.close flushes first)."""
        self._stopping = True
        self.queue.clear()
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    # -- WebSockets --------------------------------------------------------------------------

    def _handshake_problem(self, req: _Request) -> _Failure | None:
        """What is wrong with a WebSocket upgrade request (as the aiohttp core checks it)."""
        h = req.headers
        if "upgrade" not in h.get("Connection", "").lower() or not req.upgrade:
            return _Failure(400, "Bad Request", "No Connection: upgrade header.")
        if req.method != "GET":
            return _Failure(405, "Method Not Allowed", "", {"Allow": "GET"})
        version = h.get("Sec-WebSocket-Version", "")
        if version not in ("13", "8", "7"):
            return _Failure(
                400, "Bad Request", "Unsupported version.", {"Sec-WebSocket-Version": WS_VERSIONS}
            )
        key = h.get("Sec-WebSocket-Key", "")
        try:
            if not key or len(base64.b64decode(key, validate=True)) != 16:
                raise ValueError(key)
        except (ValueError, binascii.Error):
            return _Failure(400, "Bad Request", "Handshake error.")
        return None

    def _accept(self, req: _Request, offered: tuple[str, ...], max_size: int) -> WebSocket | None:
        """Answer 101 and turn the connection into a WebSocket (None: refused, answered)."""
        problem = self._handshake_problem(req)
        if problem is not None:
            self._html(req, problem.status, problem.title, problem.text, headers=problem.headers)
            return None
        asked = [p.strip() for p in req.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        protocol = next((p for p in offered if p in asked), None)
        key = req.headers["Sec-WebSocket-Key"].encode()
        srv = self.srv
        lines = [
            b"HTTP/1.1 101 Switching Protocols\r\n",
            srv.base_headers(),
            b"Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: ",
            generate_accept_token(key),
            b"\r\n",
        ]
        if protocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}\r\n".encode())
        lines += [srv.date_line(), b"\r\n"]
        assert self.transport is not None
        self.transport.write(b"".join(lines))
        ws = self.ws = WebSocket(self, protocol, max_size)
        rest, self._upgrade_rest = self._upgrade_rest or b"", None
        if rest:
            ws.feed(rest)
        self._resume_reading()
        return ws

    def _media(self, req: _Request, connection_id: str) -> None:
        """``/media/<connection_id>``: the application's end of a WebSocket media channel."""
        sockets = self.srv.router.media
        assert sockets is not None
        refusal = check_media(sockets, connection_id, req.headers)
        if refusal is not None:
            self._answer(req, refusal)
            return
        ws = self._accept(req, ("media",), 0)
        if ws is None:
            return
        self._spawn(self._run_media(sockets, connection_id, ws))

    async def _run_media(self, sockets: MediaSockets, connection_id: str, ws: WebSocket) -> None:
        try:
            await sockets.serve(connection_id, ws)
        finally:
            if not ws.closed:
                await ws.close(code=1001)

    def _sip(self, req: _Request) -> None:
        """``/ws``: SIP over WebSocket (RFC 7118) when a ws/wss transport serves it here."""
        sockets = self.srv.router.sip
        if sockets is None or not sockets.serves(self.scheme == "https"):
            self._html(req, 404, "Not Found", NOT_FOUND_TEXT)
            return
        refusal = check_sip(req.headers)
        if refusal is not None:
            self._answer(req, refusal)
            return
        ws = self._accept(req, ("sip",), SIP_MAX_MESSAGE)
        if ws is None:
            return
        peer = self.peer or ("", 0)
        log_accepted(peer_name(peer), ws.ws_protocol)
        self._spawn(
            run_sip_socket(sockets, ws, peer, self.local or ("", 0), self.scheme == "https")
        )

    def _events(self, req: _Request, sub: str, query: list[tuple[str, str]]) -> None:
        holder: list[WebSocket] = []

        async def send(data: bytes) -> None:
            await holder[0].send_text_bytes(data)

        ari = AriRequest("GET", sub, query, req.headers, b"", self.scheme, self.peer, self.local)
        session = self.srv.service.open_events(
            ari, send, lambda: self._handshake_problem(req) is None
        )
        if session is None:  # a bad handshake: no app was touched
            self._accept(req, (), 0)  # answers the problem
            return
        if not isinstance(session, EventSession):
            self._answer(req, refusal(session))
            return
        # The session's apps are registered (events wait in its queue); a
        # handshake that fails closes it.
        ws = self._accept(req, ("ari",), EVENTS_MAX_MESSAGE)
        if ws is None:
            session.close()
            return
        holder.append(ws)
        session.send_now = ws.send_text_now
        session.at_round_end = ws.call_at_round_end
        peer = self.transport.get_extra_info("peername") if self.transport else None
        who = peer_name(peer)
        log_accepted(who, ws.ws_protocol)
        self._spawn(run_events_socket(session, ws, who, ws.aborted))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.ws_task = task

        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("WebSocket handler failed", exc_info=t.exception())
            if self.ws is not None:
                self.ws.terminate()

        task.add_done_callback(done)

    # -- closing ------------------------------------------------------------------------------

    def wait(self) -> Wait | None:
        """What this connection waits for (None: answering, or a WebSocket)."""
        if self.closed:
            # Closing: it waits only for the client to read what is left.
            return Wait("next", self.last, self.last) if self._unwritten() else None
        if self.busy or self.queue or self.ws is not None:
            return None
        if self._upgrade_rest is not None or self._failed or self._stopping:
            return None
        if self.in_request:
            kind: WaitKind = "body" if self.head_done else "head"
            return Wait(kind, self.head_started, self.last)
        if self.served:
            return Wait("next", self.last, self.last)
        if self.head_started:  # bytes that began no request yet (blank lines)
            return Wait("head", self.head_started, self.last)
        return Wait("first", self.accepted, self.accepted)

    def _unwritten(self) -> bool:
        """Answers wait in the transport for a client that does not read them."""
        transport = self.transport
        return transport is not None and transport.get_write_buffer_size() > 0

    def evict(self) -> None:
        """Closed to make room for a new connection (it had no request to answer)."""
        if self.transport is None:
            return
        if self.closed or self._unwritten():
            self.abort()  # a client that does not read gets no time to drain
        else:
            self.closed = True
            self.transport.close()

    def expire(self, kind: WaitKind) -> None:
        """It waited too long: a head cut short gets Asterisk's 400 Timeout page."""
        if self.transport is None:
            return
        if self.closed or self._unwritten():
            self.abort()
        elif kind == "head" and self.in_request:
            self._failed = True
            self._write_error(_Failure(400, "Bad Request", "Timeout"))
        else:
            self._close_after_write()

    def shutdown(self) -> None:
        """The server stops: idle connections close now, busy ones after their answer."""
        self._stopping = True
        if self.ws is not None:
            if self.ws_task is not None and self.ws.protocol_name in ("media", "sip"):
                self.ws_task.cancel()
            return
        if not self.busy:
            self._close_after_write()

    def abort(self) -> None:
        if self.transport is not None:
            self.closed = True
            self.transport.abort()


class WebSocket:
    """An accepted WebSocket, framed by wsproto.

    It has the parts of aiohttp's ``WebSocketResponse`` that pyari's socket
    code uses (``async for msg in ws``, ``send_str``, ``send_bytes``,
    ``close``, ``closed``), so the media channel serves either core's socket.
    Pings are answered, fragments are joined, a message over ``max_size``
    closes with 1009; writes wait while the transport is paused.
    """

    def __init__(self, proto: HttpProtocol, protocol: str | None, max_size: int) -> None:
        self._proto = proto
        self._conn = WsConnection(ConnectionType.SERVER)
        self.ws_protocol = protocol
        self.protocol_name = protocol or ""
        self.max_size = max_size
        self._inbox: deque[WSMessage] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._parts: list[Any] = []
        self._size = 0
        self.closed = False
        """A close frame was sent or came, the peer broke the protocol, or the connection
        is gone: nothing more is written. Set whenever wsproto's state leaves OPEN."""
        self.close_code: int | None = None
        self._peer_closed: asyncio.Future[None] | None = None
        self._ended = False
        self._loop = asyncio.get_running_loop()
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_handle: asyncio.Handle | None = None
        """The write at the end of this loop round (``_flush(True)``) is scheduled."""
        self._round_hook: Callable[[], None] | None = None
        """Called at the end of this round (:meth:`call_at_round_end`)."""
        self._text_handler: Callable[[str], Coroutine[Any, Any, None]] | None = None
        self._texts: deque[str] = deque()
        self._text_busy = False
        self._feeding = False
        """Inside :meth:`feed`: frames sent now leave in one write at its end."""
        self._fast = True
        """Whole unfragmented data frames are read here; the first other frame hands the
        rest of the stream to wsproto for good (it has seen only whole frames so far)."""
        self._pending = b""

    # -- reading ----------------------------------------------------------------------

    def _deliver(self, msg: WSMessage) -> None:
        self._inbox.append(msg)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def feed(self, data: bytes) -> None:
        self._receive(data)
        if self._texts:
            self._feeding = True
            try:
                self._run_texts()
            finally:
                self._feeding = False
            if self._out:  # the answers made inline leave in one write
                handle = self._flush_handle
                if handle is not None and self._round_hook is None:
                    handle.cancel()
                    self._flush_handle = None
                self._flush()

    def serve_text(self, handler: Callable[[str], Coroutine[Any, Any, None]]) -> None:
        """Text messages go to ``handler`` instead of the inbox: one at a time, in the
        order they came, run inline while they need not wait (as HTTP requests are)."""
        self._text_handler = handler

    def _run_texts(self) -> None:
        handler = self._text_handler
        texts = self._texts
        while texts and not self._text_busy and handler is not None:
            coro = handler(texts.popleft())
            try:
                yielded = coro.send(None)
            except StopIteration:
                continue
            except Exception:
                log.exception("WebSocket message handler failed")
                continue
            self._text_busy = True
            if yielded is None:  # a bare yield: go on next round
                self._text_task(coro)
            elif getattr(yielded, "_asyncio_future_blocking", None):
                # As Task.__step does: resume the coroutine (as a Task) once it may.
                yielded._asyncio_future_blocking = False
                yielded.add_done_callback(lambda _f, c=coro: self._text_task(c))
            else:
                coro.close()
                log.error("WebSocket message handler yielded %r", yielded)
                self._text_busy = False
            return

    def _text_task(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        task.add_done_callback(self._text_done)

    def _text_done(self, task: asyncio.Task[None]) -> None:
        self._text_busy = False
        if not task.cancelled() and task.exception() is not None:
            log.error("WebSocket message handler failed", exc_info=task.exception())
        self._run_texts()

    def _receive(self, data: bytes) -> None:
        if self._ended:
            return
        if self._fast:
            data = self._fast_frames(self._pending + data if self._pending else data)
            if not data:
                return
        conn = self._conn
        try:
            conn.receive_data(data)
        except Exception:
            self.terminate()
            return
        for event in conn.events():
            if isinstance(event, TextMessage | BytesMessage):
                self._parts.append(event.data)
                self._size += len(event.data)
                if self.max_size and self._size > self.max_size:
                    self._parts, self._size = [], 0
                    self._fail(1009, "Message too big")
                    return
                if event.message_finished:
                    parts, self._parts, self._size = self._parts, [], 0
                    if isinstance(event, TextMessage):
                        if self._text_handler is not None:
                            self._texts.append("".join(parts))
                        else:
                            self._deliver(WSMessage(WSMsgType.TEXT, "".join(parts), None))
                    else:
                        self._deliver(WSMessage(WSMsgType.BINARY, b"".join(parts), None))
            elif isinstance(event, Ping):
                if conn.state is ConnectionState.OPEN:
                    self._write(conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                self._closing(event)
                return

    def _fast_frames(self, data: bytes) -> bytes:
        """Read the whole masked, unfragmented text and binary frames at the start of
        ``data``; keep an incomplete one for later. What is left is for wsproto."""
        i, end = 0, len(data)
        max_size = self.max_size
        while i < end:
            if end - i < 2:
                break
            b0, b1 = data[i], data[i + 1]
            if (b0 != 0x81 and b0 != 0x82) or not b1 & 0x80:
                self._fast = False  # a control frame, a fragment, an unmasked frame...
                self._pending = b""
                return data[i:]
            n = b1 & 0x7F
            start = i + 6
            if n == 126:
                start = i + 8
                if end < start:
                    break
                n = int.from_bytes(data[i + 2 : i + 4], "big")
            elif n == 127:
                start = i + 14
                if end < start:
                    break
                n = int.from_bytes(data[i + 2 : i + 10], "big")
            if end < start:
                break
            if (max_size and n > max_size) or (start + n > end and n > 65536):
                self._fast = False  # too big (wsproto's path closes), or a long wait
                self._pending = b""
                return data[i:]
            if start + n > end:
                break
            mask = data[start - 4 : start]
            payload = (
                (
                    int.from_bytes(data[start : start + n], "little")
                    ^ int.from_bytes((mask * ((n >> 2) + 1))[:n], "little")
                ).to_bytes(n, "little")
                if n
                else b""
            )
            if b0 == 0x81:
                try:
                    text = payload.decode()
                except UnicodeDecodeError:
                    self._fast = False  # wsproto's path closes with 1007
                    self._pending = b""
                    return data[i:]
                if self._text_handler is not None:
                    self._texts.append(text)
                else:
                    self._deliver(WSMessage(WSMsgType.TEXT, text, None))
            else:
                self._deliver(WSMessage(WSMsgType.BINARY, payload, None))
            i = start + n
        self._pending = data[i:] if i < end else b""
        return b""

    def _closing(self, event: CloseConnection) -> None:
        conn = self._conn
        state = conn.state
        if state is ConnectionState.REMOTE_CLOSING:
            # The peer closes: answer with its code, then the connection ends.
            self.close_code = event.code
            if not self.closed:
                self._write(conn.send(event.response()))
            self.closed = True
            self._deliver(WSMessage(WSMsgType.CLOSE, event.code, event.reason))
            self._end()
        elif state is ConnectionState.CLOSED:
            # The peer's answer to our close.
            if self._peer_closed is not None and not self._peer_closed.done():
                self._peer_closed.set_result(None)
            self._deliver(WSMessage(WSMsgType.CLOSE, event.code, event.reason))
            self._end()
        else:  # a protocol error wsproto found (the state is still OPEN)
            self._fail(event.code, event.reason or "")

    def _fail(self, code: int, reason: str) -> None:
        """Close with ``code`` after a protocol error from the peer."""
        self.close_code = code
        if self._conn.state is ConnectionState.OPEN:
            self._write(self._conn.send(CloseConnection(code=code, reason=reason)))
        self.closed = True
        self._deliver(WSMessage(WSMsgType.ERROR, ConnectionError(reason), None))
        self._end()

    def feed_eof(self) -> None:
        if self.close_code is None:
            self.close_code = 1006
        self.closed = True
        self._deliver(WSMessage(WSMsgType.CLOSED, None, None))
        self._end()

    def connection_lost(self) -> None:
        self.closed = True
        if self.close_code is None:
            self.close_code = 1006
        if self._peer_closed is not None and not self._peer_closed.done():
            self._peer_closed.set_result(None)
        self._deliver(WSMessage(WSMsgType.CLOSED, None, None))
        self._ended = True

    def _end(self) -> None:
        """The WebSocket is over: close the TCP connection once written out."""
        self._ended = True
        self.closed = True
        self._flush()
        self._proto._close_after_write()

    def terminate(self) -> None:
        """Drop the connection without a close handshake (and what is still unwritten)."""
        self.closed = True
        if not self._ended:
            self._ended = True
            self._proto.abort()
            self._deliver(WSMessage(WSMsgType.CLOSED, None, None))

    async def aborted(self) -> None:
        """:meth:`terminate`, for :func:`~pyari.http.common.run_events_socket`."""
        self.terminate()

    def __aiter__(self) -> WebSocket:
        return self

    async def __anext__(self) -> WSMessage:
        msg = await self.receive()
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            raise StopAsyncIteration
        return msg

    async def receive(self) -> WSMessage:
        while not self._inbox:
            if self._ended:
                return WSMessage(WSMsgType.CLOSED, None, None)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._inbox.popleft()

    # -- writing ----------------------------------------------------------------------

    def call_at_round_end(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at the end of this loop round, with the write of the round's
        frames (the events session's count of the frames it sent at once): one callback
        for both. One hook at a time (the socket's session)."""
        self._round_hook = callback
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush, True)

    def _flush(self, round_end: bool = False) -> None:
        """Write the frames sent so far as one piece. ``round_end``: the write scheduled
        for the end of the loop round (what comes before it leaves with it), which also
        runs the round's hook (:meth:`call_at_round_end`)."""
        if round_end:
            self._flush_handle = None
            hook = self._round_hook
            if hook is not None:
                self._round_hook = None
                hook()
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        self._out_size = 0
        transport = self._proto.transport
        if transport is not None and not self._proto.closed:
            transport.write(data)

    def _write(self, data: bytes) -> None:
        """Write a frame now (after those waiting)."""
        self._out.append(data)
        self._flush()

    async def _send(self, event: TextMessage | BytesMessage) -> None:
        if self.closed:
            raise ConnectionResetError("Cannot write to closing transport")
        # Frames sent in one go (an events batch) leave in one write, at the
        # end of this loop round or once 64 KiB are waiting.
        frame = self._conn.send(event)
        self._out.append(frame)
        self._out_size += len(frame)
        if self._out_size >= 65536:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush, True)
        if self._proto._write_paused:
            await self._proto.drain()

    def send_text_now(self, data: bytes) -> bool:
        """A text frame of UTF-8 ``data`` queued for writing without waiting (False: the
        socket is closing or the transport is paused, nothing was queued)."""
        if self.closed or self._proto._write_paused:  # (closed: wsproto's state is not OPEN)
            return False
        self._text_frame(data)
        return True

    def _text_frame(self, data: bytes) -> None:
        """Queue a text frame of ``data`` (the bytes wsproto makes of a whole, unmasked
        message without extensions) to leave with the others of this loop round (its
        head and ``data`` are joined then, in one copy)."""
        n = len(data)
        out = self._out
        if n < 126:
            out.append(_SHORT_TEXT_HEADS[n])
        elif n < 65536:
            out.append(b"\x81\x7e" + n.to_bytes(2, "big"))
        else:
            out.append(b"\x81\x7f" + n.to_bytes(8, "big"))
        out.append(data)
        self._out_size += n
        if self._out_size >= 65536:
            self._flush()
        elif self._flush_handle is None and not self._feeding:
            self._flush_handle = self._loop.call_soon(self._flush, True)

    async def send_text_bytes(self, data: bytes) -> None:
        """A text frame of UTF-8 ``data`` (the events socket's JSON)."""
        if self.closed:
            await self._send(TextMessage(data=data.decode()))  # raises as wsproto does
            return
        self._text_frame(data)
        if self._proto._write_paused:
            await self._proto.drain()

    async def send_str(self, data: str) -> None:
        await self._send(TextMessage(data=data))

    async def send_bytes(self, data: bytes) -> None:
        await self._send(BytesMessage(data=data))

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        """Send a close frame, wait (briefly) for the peer's, then end the connection."""
        if self.closed:
            return False
        self.closed = True
        self.close_code = code
        conn = self._conn
        if conn.state is not ConnectionState.OPEN:
            self._end()
            return False
        self._write(conn.send(CloseConnection(code=code, reason=message.decode() or None)))
        if self._ended:
            return True
        self._peer_closed = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._peer_closed), CLOSE_TIMEOUT)
        self._end()
        return True
