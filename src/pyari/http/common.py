"""What both HTTP cores (:mod:`pyari.http.aiohttp_core`, :mod:`pyari.http.httptools_core`) share.

The framework-free parts of serving http.conf: the HTML error page, the
checks a media WebSocket request passes before it is accepted, and the loop
that serves an accepted events socket (routing is in :mod:`pyari.http.routing`,
listeners in :mod:`pyari.http.listeners`, session limits in
:mod:`pyari.http.sessions`; the events socket's checks and session are
:meth:`AriService.open_events <pyari.ari.service.AriService.open_events>`).
Each core turns the answers here into its own responses.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from aiohttp import WSMessage, WSMsgType

if TYPE_CHECKING:
    from pyari.ari.events_ws import EventSession
    from pyari.ari.service import AriResponse
    from pyari.config import HttpSettings

verbose = logging.getLogger("pyari.verbose")

NO_CACHE = "no-cache, no-store"
NOT_FOUND_TEXT = "The requested URL was not found on this server."
WS_VERSIONS = "7, 8, 13"


@dataclass
class Binding:
    host: str
    port: int
    tls: bool


class MediaSockets(Protocol):
    """What serves ``/media/...`` (:class:`~pyari.channels.websocket_media.WebSocketMediaTech`)."""

    def check(self, connection_id: str) -> tuple[int, str, str] | None: ...

    async def serve(self, connection_id: str, ws: Any) -> None: ...


class SipFlow(Protocol):
    """One accepted ``/ws`` socket as SIP sees it (:class:`pyari.sip.websocket.SipFlow`)."""

    def receive(self, data: bytes | str) -> None: ...

    def closed(self) -> None: ...


class SipSockets(Protocol):
    """What serves ``/ws``, SIP over WebSocket (:class:`pyari.sip.websocket.SipWebSockets`,
    handed down by the server: the HTTP layer imports no SIP)."""

    def serves(self, secure: bool) -> bool: ...

    def open(
        self,
        peer: tuple[str, int],
        local: tuple[str, int],
        secure: bool,
        send: Callable[[str], None],
        close: Callable[[], None],
    ) -> SipFlow | None: ...


SIP_MAX_MESSAGE = 65535
"""Largest message on a SIP WebSocket (a larger one closes it with 1009)."""


class EventsSocket(Protocol):
    """The parts of an accepted WebSocket the events socket uses (either core's)."""

    @property
    def closed(self) -> bool: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...

    def __aiter__(self) -> AsyncIterator[WSMessage]: ...


class Page(NamedTuple):
    """An HTML error page to answer with."""

    status: int
    title: str
    text: str


class Answer(NamedTuple):
    """A response other than a page (after the base headers)."""

    status: int
    headers: dict[str, str]
    body: bytes


def html_page(status: int, title: str, text: str, server: str) -> str:
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n'
        f"<html><head>\r\n<title>{status} {title}</title>\r\n"
        f"</head><body>\r\n<h1>{title}</h1>\r\n<p>{text}</p>\r\n<hr />\r\n"
        f"<address>{server}</address>\r\n</body></html>\r\n"
    )


def url_prefix(settings: HttpSettings) -> str:
    """http.conf ``prefix`` as a path start (``""`` when there is none)."""
    p = settings.prefix.strip("/")
    return "/" + p if p else ""


def bound_port(server: object, default: int) -> int:
    """The port a listening server got (``default`` when it has no socket)."""
    sockets: Iterable[Any] = getattr(server, "sockets", None) or []
    for sock in sockets:
        return int(sock.getsockname()[1])
    return default


def peer_name(peer: Any) -> str:
    """``host:port`` of a transport's ``peername`` (for the verbose log)."""
    return f"{peer[0]}:{peer[1]}" if peer else "unknown"


def is_websocket_upgrade(headers: Mapping[str, str]) -> bool:
    return headers.get("Upgrade", "").lower() == "websocket"


def refusal(resp: AriResponse) -> Page | Answer:
    """How a core answers an ARI refusal: the HTML page it asks for, or its JSON."""
    if resp.page is not None:
        return Page(resp.status, HTTPStatus(resp.status).phrase, resp.page)
    return Answer(resp.status, resp.headers, resp.body)


def check_media(
    sockets: MediaSockets, connection_id: str, headers: Mapping[str, str]
) -> Page | Answer | None:
    """What refuses a ``/media/<connection_id>`` request (None: it may be accepted)."""
    problem = sockets.check(connection_id)
    if problem is not None:
        return Page(*problem)
    if not is_websocket_upgrade(headers):
        return Page(426, "Upgrade Required", "")
    asked = headers.get("Sec-WebSocket-Protocol")
    if asked and "media" not in [p.strip() for p in asked.split(",")]:
        return Answer(400, {"Sec-WebSocket-Version": WS_VERSIONS}, b"")
    return None


def check_sip(headers: Mapping[str, str]) -> Page | Answer | None:
    """What refuses a ``/ws`` request that SIP serves (None: it may be accepted): it must
    be a WebSocket upgrade asking for the ``sip`` subprotocol (RFC 7118 §4)."""
    if not is_websocket_upgrade(headers):
        return Page(426, "Upgrade Required", "")
    asked = headers.get("Sec-WebSocket-Protocol") or ""
    if "sip" not in [p.strip().lower() for p in asked.split(",")]:
        return Answer(400, {"Sec-WebSocket-Version": WS_VERSIONS}, b"")
    return None


class SipSocket(Protocol):
    """The parts of an accepted WebSocket (either core's) a SIP flow uses."""

    @property
    def closed(self) -> bool: ...

    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...

    async def send_str(self, data: str) -> None: ...

    def __aiter__(self) -> AsyncIterator[WSMessage]: ...


async def run_sip_socket(
    sockets: SipSockets,
    ws: SipSocket,
    peer: tuple[str, int],
    local: tuple[str, int],
    secure: bool,
) -> None:
    """Serve an accepted ``/ws`` socket as one SIP flow until either end closes it.

    What SIP sends waits in a queue written in order by one task (SIP sends without
    waiting); a message that SIP cannot take never closes the socket.
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    flow = sockets.open(peer, local, secure, queue.put_nowait, lambda: queue.put_nowait(None))
    if flow is None:
        await ws.close(code=1001)
        return

    async def write() -> None:
        while (text := await queue.get()) is not None:
            await ws.send_str(text)
        await ws.close()

    writer = asyncio.get_running_loop().create_task(write())
    who = peer_name(peer)
    try:
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                try:
                    flow.receive(msg.data)
                except Exception:  # a bad message never ends the flow
                    logging.getLogger("pyari.http").exception("SIP message from %s failed", who)
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        flow.closed()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
        verbose.info("  == WebSocket connection from '%s' closed", who)


def log_accepted(who: str, protocol: str | None) -> None:
    verbose.info(
        "  == WebSocket connection from '%s' for protocol '%s' accepted using version '13'",
        who,
        protocol or "",
    )


async def run_events_socket(
    session: EventSession,
    ws: EventsSocket,
    who: str,
    abort: Callable[[], Awaitable[object]],
) -> None:
    """Serve an accepted events socket until either end closes it.

    ``abort`` drops the socket after a fatal write error.
    """
    writer = asyncio.get_running_loop().create_task(_write_events(session, ws, who, abort))
    try:
        await read_events_socket(session, ws)
    finally:
        session.close()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        if not ws.closed:
            await ws.close()
        verbose.info("  == WebSocket connection from '%s' closed", who)


async def read_events_socket(session: EventSession, ws: EventsSocket) -> None:
    """Read what the application sends on its events socket until the socket closes.

    Both an accepted events socket (:func:`run_events_socket`) and an outbound
    connection (:mod:`pyari.http.outbound`) read here, so a message the application
    sends is handled the same way on either: a text message is a ``RESTRequest``, answered
    (on the event queue) before the next one is read, as Asterisk's socket reader does.
    """
    serve_text = getattr(ws, "serve_text", None)
    if serve_text is not None:  # the socket runs them itself (inline while they need not wait)
        serve_text(functools.partial(_text_message, session))
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await _text_message(session, msg.data)
        elif msg.type == WSMsgType.ERROR:
            break


async def _text_message(session: EventSession, data: str) -> None:
    if session.acknowledge(data):  # EventAck (docs/event-streams.md)
        return
    requests = session.requests
    if requests is not None and not session.closed:
        await requests(data)


async def _write_events(
    session: EventSession,
    ws: EventsSocket,
    who: str,
    abort: Callable[[], Awaitable[object]],
) -> None:
    try:
        await session.write_loop(session.write_timeout)
        # The session ended (e.g. it could not keep up): close the socket.
        if not ws.closed:
            await ws.close(code=session.close_code)
    except (TimeoutError, ConnectionError, RuntimeError):
        verbose.info(
            "  == WebSocket connection from '%s' forcefully closed due to fatal write error",
            who,
        )
        session.close()
        await abort()
