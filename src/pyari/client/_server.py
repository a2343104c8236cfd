"""Server mode's listener: accepts the outbound ARI WebSockets a server dials."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import aiohttp
from aiohttp import web

__all__ = ["SocketServer", "WebSocket"]

WebSocket: TypeAlias = aiohttp.ClientWebSocketResponse | web.WebSocketResponse
"""An events socket, dialled by the client or accepted from the server."""


class SocketServer:
    """An HTTP listener upgrading ``GET path`` (Basic-authenticated, subprotocol ``ari``).

    ``accept(ws)`` runs for each accepted socket until it closes.
    """

    def __init__(
        self,
        accept: Callable[[web.WebSocketResponse], Awaitable[None]],
        *,
        auth: str | None,
        path: str = "/",
        heartbeat: float | None = None,
    ) -> None:
        self._accept = accept
        self._auth = auth
        self._path = "/" + path.lstrip("/")
        self._heartbeat = heartbeat
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    async def start(self, host: str, port: int, *, ssl: Any = None) -> int:
        """Listen on ``host:port`` (0: any free port); returns the port."""
        app = web.Application()
        app.router.add_get(self._path, self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=ssl)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        bound: int = sockets[0].getsockname()[1] if sockets else port
        return bound

    async def stop(self) -> None:
        """Close every accepted socket and stop listening."""
        for ws in list(self._sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._auth is not None and not hmac.compare_digest(
            request.headers.get("Authorization", "").encode(), self._auth.encode()
        ):
            return web.Response(
                status=401,
                text="Authentication required\n",
                headers={"WWW-Authenticate": 'Basic realm="ARI application"'},
            )
        ws = web.WebSocketResponse(
            protocols=("ari",), heartbeat=self._heartbeat, max_msg_size=0, autoping=True
        )
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="Expected a WebSocket upgrade\n")
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._accept(ws)
        finally:
            self._sockets.discard(ws)
            await ws.close()
        return ws
