"""The HTTP server of http.conf on aiohttp (``PYARI_HTTP_BACKEND=aiohttp``).

It turns aiohttp requests into :class:`~pyari.ari.service.AriRequest` values
and back, and serves the events and media WebSockets on aiohttp's
``WebSocketResponse``. The default core is :mod:`pyari.http.httptools_core`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from pyari.ari.events_ws import EventSession
from pyari.ari.service import AriRequest, AriService
from pyari.http.aiohttp_sessions import KEEPALIVE_TIMEOUT, TrackedHandler
from pyari.http.common import (
    NO_CACHE,
    NOT_FOUND_TEXT,
    SIP_MAX_MESSAGE,
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
from pyari.http.sessions import SessionLimits, sweep_interval
from pyari.http.static import static_answer

if TYPE_CHECKING:
    from pyari.config import HttpSettings

log = logging.getLogger("pyari.http")


class AiohttpServer:
    """Serves ARI over HTTP (and HTTPS when http.conf enables TLS)."""

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
        self._runner: web.AppRunner | None = None
        self.limits = SessionLimits(http_settings)
        """http.conf's session limits and timeouts (:mod:`pyari.http.aiohttp_sessions`)."""
        self.listeners = Listeners(lambda tls: self._protocol)
        self._sweeper: asyncio.TimerHandle | None = None
        self.app = web.Application(
            client_max_size=2 * 1024 * 1024,
            handler_args={"access_log": None, "keepalive_timeout": KEEPALIVE_TIMEOUT},
        )
        self.app.router.add_route("*", "/{tail:(?s:.*)}", self._handle)  # newlines too

    # -- lifecycle -----------------------------------------------------------------

    @property
    def bindings(self) -> list[Binding]:
        """Where it listens (``bindport = 0`` gives the port it got)."""
        return self.listeners.bindings

    def _protocol(self) -> TrackedHandler:
        assert self._runner is not None and self._runner.server is not None
        return TrackedHandler(self._runner.server, self.limits)

    async def start(self) -> None:
        if self._runner is None:
            self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
            await self._runner.setup()
        await self.listeners.start(self.settings)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(
                sweep_interval(self.settings), self._sweep
            )

    def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(sweep_interval(self.settings), self._sweep)
        self.limits.sweep()

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
        self.service.close_event_sessions()
        self.listeners.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- requests --------------------------------------------------------------------

    def _base_headers(self) -> dict[str, str]:
        return {"Server": self.settings.servername, "Cache-Control": NO_CACHE}

    def _html(self, status: int, title: str, text: str) -> web.Response:
        headers = self._base_headers()
        headers["Content-Type"] = "text/html"
        body = html_page(status, title, text, self.settings.servername)
        return web.Response(status=status, text=body, headers=headers)

    def _answer(self, answer: Page | Answer) -> web.Response:
        if isinstance(answer, Page):
            return self._html(*answer)
        status, extra, body = answer
        return web.Response(
            status=status, body=body or None, headers={**self._base_headers(), **extra}
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target, sub = self.router.route(
            url_prefix(self.settings), request.rel_url.raw_path, request.method
        )
        if target == NOT_FOUND:
            return self._html(404, "Not Found", NOT_FOUND_TEXT)
        if target == MEDIA:
            return await self._media(request, sub)
        if target == SIP:
            return await self._sip(request)
        if target == STATIC:
            answer = await asyncio.to_thread(
                static_answer,
                self.static_roots,
                sub,
                request.method,
                self.settings.enablestatic,
            )
            return self._answer(answer)
        query = parse_query(request.rel_url.raw_query_string)
        if target == EVENTS:
            return await self._events(request, sub, query)
        body = await request.read() if request.body_exists else b""
        resp = await self.service.handle(
            AriRequest(
                request.method,
                sub,
                query,
                request.headers,
                body,
                "https" if request.secure else "http",
                *_addresses(request),
                http=True,
            )
        )
        headers = self._base_headers()
        headers.update(resp.headers)
        return web.Response(status=resp.status, body=resp.body or None, headers=headers)

    async def _media(self, request: web.Request, connection_id: str) -> web.StreamResponse:
        """``/media/<connection_id>``: the application's end of a WebSocket media channel."""
        sockets = self.router.media
        assert sockets is not None
        refusal = check_media(sockets, connection_id, request.headers)
        if refusal is not None:
            return self._answer(refusal)
        ws = web.WebSocketResponse(protocols=("media",), autoping=True, max_msg_size=0)
        await ws.prepare(request)
        await sockets.serve(connection_id, ws)
        return ws

    async def _sip(self, request: web.Request) -> web.StreamResponse:
        """``/ws``: SIP over WebSocket (RFC 7118) when a ws/wss transport serves it here."""
        sockets = self.router.sip
        if sockets is None or not sockets.serves(request.secure):
            return self._html(404, "Not Found", NOT_FOUND_TEXT)
        refusal = check_sip(request.headers)
        if refusal is not None:
            return self._answer(refusal)
        ws = web.WebSocketResponse(protocols=("sip",), autoping=True, max_msg_size=SIP_MAX_MESSAGE)
        ws.headers.update(self._base_headers())
        await ws.prepare(request)
        peer, local = _addresses(request)
        log_accepted(peer_name(peer), ws.ws_protocol)
        await run_sip_socket(sockets, ws, peer or ("", 0), local or ("", 0), request.secure)
        return ws

    async def _events(
        self, request: web.Request, sub: str, query: list[tuple[str, str]]
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("ari",), autoping=True, max_msg_size=1024 * 1024)

        async def send(data: bytes) -> None:
            await ws.send_frame(data, WSMsgType.TEXT)

        req = AriRequest(
            "GET",
            sub,
            query,
            request.headers,
            b"",
            "https" if request.secure else "http",
            *_addresses(request),
        )
        session = self.service.open_events(req, send)
        assert session is not None  # (no handshake check: ws.prepare checks it)
        if not isinstance(session, EventSession):
            return self._answer(refusal(session))
        # The session's apps are registered (events wait in its queue); a
        # handshake that fails closes it.
        ws.headers.update(self._base_headers())
        try:
            await ws.prepare(request)
        except BaseException:
            session.close()
            raise
        peer = request.transport.get_extra_info("peername") if request.transport else None
        who = peer_name(peer)
        log_accepted(who, ws.ws_protocol)
        await run_events_socket(session, ws, who, ws.close)
        return ws


def _addresses(request: web.Request) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """(client, server) addresses of a request's connection."""
    transport = request.transport
    if transport is None:
        return None, None
    peer = transport.get_extra_info("peername")
    local = transport.get_extra_info("sockname")
    return (
        (str(peer[0]), int(peer[1])) if peer else None,
        (str(local[0]), int(local[1])) if local else None,
    )
