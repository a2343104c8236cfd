"""Outbound ARI WebSockets: pyari dials the application (ari.conf ``type = outbound_websocket``).

Each valid ``outbound_websocket`` section names a websocket_client.conf connection
(:mod:`pyari.config.ari_outbound`). As Asterisk's res/ari/ari_websockets.c:

* ``connection_type = persistent``: at start and on reload the section's apps are
  registered at once (events queue while no connection is up) and a task connects to
  ``uri``, retrying for ever: ``reconnect_attempts`` tries ``reconnect_interval`` ms apart,
  a warning, a pause of ``reconnect_interval``, again. Once connected the queued events
  go out, then the live ones, exactly as on an ``/ari/events`` socket; when the
  connection drops it reconnects and sends ApplicationRegistered for each app.
* ``connection_type = per_call_config``: nothing connects until ``Stasis(app)`` runs
  with no registered ``app``; then a connection is opened for that call, the channel
  runs in the app ``<app>:<channel name>`` registered on it (the application sees
  ApplicationRegistered, then StasisStart), and once the call leaves the app and its
  StasisEnd is written the connection closes after :attr:`OutboundWebsockets.linger`
  seconds (Asterisk's 3, so ChannelVarset and ChannelDestroyed get through). When it
  cannot connect, ``Stasis()`` fails (STASISSTATUS=FAILED) and the dialplan goes on.

What the application sends is read by :func:`pyari.http.common.read_events_socket`,
the events socket's own reader, so it is handled as on an accepted socket; requests on
the connection speak for the section's ``local_ari_user``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Protocol

import aiohttp

from pyari.ari.app_events import release_channels, send_registered, send_unregistered
from pyari.config.websocket_client import client_ssl_context
from pyari.http.common import read_events_socket
from pyari.http.ws_liveness import PingPong, set_tcp_keepalive

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pyari.ari.events_ws import EventSession
    from pyari.ari.service import AriService
    from pyari.config.ari_outbound import OutboundWebsocket

log = logging.getLogger("pyari.ari")


class Call(Protocol):
    """What a per-call connection needs of the channel (a core ``Channel``)."""

    @property
    def name(self) -> str: ...


STASIS_END_MAX_WAIT = 5.0
"""Seconds a per-call connection waits for the call's StasisEnd to be written."""
PER_CALL_LINGER = 3.0
"""Seconds a per-call connection stays up after StasisEnd (Asterisk's)."""
CLOSE_TIMEOUT = 2.0


class OutboundConnection:
    """One outbound ARI connection: a section's persistent one, or one call's."""

    def __init__(
        self,
        service: AriService,
        owc: OutboundWebsocket,
        session_id: str,
        apps: list[str],
        *,
        per_call: bool = False,
        channel_name: str = "",
    ) -> None:
        self.service = service
        self.owc = owc
        self.session_id = session_id
        """``<section>`` (persistent) or ``<section>:<channel name>`` (per call)."""
        self.apps = apps
        self.per_call = per_call
        self.channel_name = channel_name
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.connected = False
        self.closing = False
        self.remote_addr = ""
        self.pingpong: PingPong | None = None
        """The PING/PONG keeper of the current connection (``enable_pingpongs``)."""
        self.settled = asyncio.Event()
        """Set once the first connection is up, or has failed for good (per call)."""
        self.task: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.events: EventSession = self._open_events(apps, owc.subscribe_all)

    @property
    def kind(self) -> str:
        """The type as Asterisk's CLI names it."""
        return "per_call" if self.per_call else "persistent"

    # -- the events session ----------------------------------------------------------

    def _open_events(self, apps: list[str], subscribe_all: bool) -> EventSession:
        stasis = self.service.ctx.stasis
        new = [a for a in apps if (held := stasis.get(a)) is None or not held.active]
        session = self.service.open_outbound_events(
            self.owc.local_ari_user, apps, self._send, subscribe_all=subscribe_all
        )
        # RESTRequests on the connection speak for local_ari_user (open_outbound_events
        # gives the session that user's Basic credentials, as Asterisk does).
        for app in new:  # an app that replaced another gets ApplicationReplaced instead
            send_registered(session, app)
        return session

    async def _send(self, data: bytes) -> None:
        ws = self.ws
        if ws is None or ws.closed:
            raise ConnectionError("outbound websocket is not connected")
        await ws.send_str(data.decode())

    def update(self, owc: OutboundWebsocket) -> None:
        """Apply a reloaded section: new apps re-registered, a new connection if asked.

        As Asterisk: the apps taken away get ApplicationUnregistered, then the section's
        apps are registered again (ApplicationReplaced for those kept, ApplicationRegistered
        for new ones), all on the same connection and in that order.
        """
        old = self.owc
        self.owc = owc
        if old.apps != owc.apps or old.subscribe_all != owc.subscribe_all:
            previous = self.events
            for app in old.apps:
                if app not in owc.apps:
                    send_unregistered(previous, app)
            self.apps = list(owc.apps)
            self.events = self._open_events(self.apps, owc.subscribe_all)
            writer = self._writer
            if writer is None or writer.done():
                previous.close()
            else:
                self._writer = asyncio.get_running_loop().create_task(
                    self._hand_over(previous, writer)
                )
        if old.client != owc.client or old.local_ari_user != owc.local_ari_user:
            ws = self.ws
            if ws is not None and not ws.closed:
                asyncio.get_running_loop().create_task(ws.close(code=1000))

    async def _hand_over(self, previous: EventSession, writer: asyncio.Task[None]) -> None:
        """Let the old session's writer finish what it holds, then write the new session."""
        try:
            await _drained(previous, lambda: not writer.done(), STASIS_END_MAX_WAIT)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            previous.close()
        await self._write()

    # -- connecting --------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def _connect(self, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse | None:
        """One round of tries (``reconnect_attempts``), as ``ast_websocket_client_connect``."""
        client = self.owc.client
        attempts = max(client.reconnect_attempts, 1)
        headers = (
            {"Authorization": aiohttp.encode_basic_auth(client.username, client.password)}
            if client.username
            else {}
        )
        ssl_ctx = client_ssl_context(client) if client.tls_enabled else False
        name = self.channel_name if self.per_call else self.session_id
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(max(client.connection_timeout, 1) / 1000.0):
                    return await http.ws_connect(
                        client.uri,
                        protocols=client.protocol_list,
                        headers=headers,
                        ssl=ssl_ctx,
                        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                        autoping=not client.enable_pingpongs,
                        max_msg_size=0,
                    )
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                if attempt + 1 >= attempts:
                    why = _reason(exc)
                    if self.per_call:
                        log.warning(
                            "%s: Websocket connection to %s failed after %d tries: %s.  "
                            "Hanging up after exhausting retries.",
                            name,
                            client.uri,
                            attempts,
                            why,
                        )
                    else:
                        log.warning(
                            "%s: Websocket connection to %s failed after %d tries: %s.  "
                            "Retrying in %d ms.",
                            name,
                            client.uri,
                            attempts,
                            why,
                            client.reconnect_interval,
                        )
                    return None
            if self.closing:
                return None
            await asyncio.sleep(client.reconnect_interval / 1000.0)
        return None

    async def run(self) -> None:
        """Connect, serve, reconnect until closed (a per-call one gives up when it cannot)."""
        first = True
        try:
            async with aiohttp.ClientSession() as http:
                while not self.closing:
                    ws = await self._connect(http)
                    if ws is None:
                        if self.per_call or self.closing:
                            break
                        await asyncio.sleep(self.owc.client.reconnect_interval / 1000.0)
                        continue
                    await self._serve(ws, first)
                    first = False
                    if self.closing:
                        break
                    log.warning("%s: Websocket disconnected.  Reconnecting", self.session_id)
        finally:
            self.connected = False
            self.settled.set()
            if self.per_call and not self.closing and not first:
                release_channels(self.events)  # lost for good: the call goes on in the dialplan
            self.events.close()

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, first: bool) -> None:
        self.ws = ws
        peer = ws.get_extra_info("peername")
        self.remote_addr = f"{peer[0]}:{peer[1]}" if peer else ""
        log.info(  # a NOTICE, as Asterisk's
            "%s: Outbound websocket connected to %s",
            self.channel_name if self.per_call else self.session_id,
            self.owc.client.uri,
            extra={"asterisk_source": "ari_websockets.c"},
        )
        if not first:
            for app in self.apps:
                send_registered(self.events, app)
        client = self.owc.client
        sock = ws.get_extra_info("socket")
        if client.enable_tcp_keepalives and sock is not None:
            set_tcp_keepalive(
                sock,
                client.tcp_keepalive_time,
                client.tcp_keepalive_interval,
                client.tcp_keepalive_probes,
            )
        self.pingpong = (
            PingPong(ws, client.pingpong_interval, client.pingpong_probes, self.session_id)
            if client.enable_pingpongs
            else None
        )
        loop = asyncio.get_running_loop()
        pinger = loop.create_task(self.pingpong.run()) if self.pingpong is not None else None
        self.connected = True
        self.settled.set()
        self._writer = loop.create_task(self._write())
        try:
            await read_events_socket(self.events, self.pingpong or ws)
        finally:
            self.connected = False
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pinger
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close(code=1001)
            self.ws = None

    async def _write(self) -> None:
        """Write the session's events while connected; a failed write drops the connection."""
        ws = self.ws
        try:
            events = self.events
            await events.write_loop(events.write_timeout)
        except (TimeoutError, ConnectionError, RuntimeError, aiohttp.ClientError):
            log.warning("%s: Outbound websocket write failed; reconnecting", self.session_id)
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close(code=1000 if self.closing else 1001)

    async def drained(self, limit: float) -> None:
        """Wait (at most ``limit`` seconds) until every queued event is written."""
        await _drained(self.events, lambda: self.connected, limit)

    async def close(self) -> None:
        """Stop: the connection closes (1000), the apps are unregistered."""
        self.closing = True
        ws = self.ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close(code=1000)
        task = self.task
        if task is not None and not task.done():
            if not self.connected:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
            if not task.done():
                task.cancel()
        self.events.close()


async def _drained(session: EventSession, writing: Callable[[], bool], limit: float) -> None:
    """Wait until ``session``'s queue is empty, while ``writing()``, ``limit`` seconds at most."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while writing() and not session.queue.empty() and loop.time() < end:
        await asyncio.sleep(0.01)


def _notice_shutdown(session_id: str, kind: str, direction: str, remote_addr: str) -> None:
    log.info(  # a NOTICE, as Asterisk's
        "%s: Shutting down %s ARI websocket session %s %s",
        session_id,
        kind,
        direction,
        remote_addr,
        extra={"asterisk_source": "ari_websockets.c"},
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"Unexpected HTTP status {exc.status}"
    if isinstance(exc, TimeoutError):
        return "Timeout"
    return str(exc) or type(exc).__name__


class StasisContexts(Protocol):
    """The dialplan's ``stasis-<app>`` contexts (:mod:`pyari.dialplan.stasis_contexts`)."""

    def add(self, app: str) -> None: ...

    def remove(self, app: str) -> None: ...


class OutboundWebsockets:
    """Every outbound ARI connection of the server: the sections and their connections.

    :meth:`apply` takes the sections at start and on ``module reload res_ari.so``; it
    is also the Stasis registry's per-call connector (``Registry.per_call``).
    """

    def __init__(
        self,
        service: AriService,
        *,
        linger: float = PER_CALL_LINGER,
        contexts: StasisContexts | None = None,
    ) -> None:
        self.service = service
        self.contexts = contexts
        """Where the apps of per_call_config sections get their ``stasis-<app>`` context."""
        self.context_apps: set[str] = set()
        """The apps whose context was asked for."""
        self.linger = linger
        """Seconds a per-call connection stays up after its call's StasisEnd."""
        self.configs: dict[str, OutboundWebsocket] = {}
        self.persistent: dict[str, OutboundConnection] = {}
        self.per_call: dict[str, OutboundConnection] = {}
        """Per-call connections by the app id their call runs in."""
        self._closers: set[asyncio.Task[None]] = set()
        self.running = False
        self.shut: set[str] = set()
        """per_call_config sections whose session ``ari shutdown websocket session`` ended
        (not listed, no ``stasis-<app>`` context) until ``ari start outbound-websocket``
        or a reload makes it again, as Asterisk does."""

    def connections(self) -> list[OutboundConnection]:
        return [*self.persistent.values(), *self.per_call.values()]

    # -- start, reload, stop ----------------------------------------------------------

    def apply(self, configs: Mapping[str, OutboundWebsocket]) -> None:
        """Take the sections in force: start, update or stop persistent connections.

        A connection whose section did not change is left alone (calls in its apps go on).
        """
        self.running = True
        self.configs = dict(configs)
        self.shut.clear()  # a reload makes every section's session again
        self._sync_contexts()
        for name, owc in configs.items():
            current = self.persistent.get(name)
            if current is not None:
                if owc.invalid:
                    log.warning(
                        "%s: Unable to update websocket session. "
                        "Outbound websocket config is invalid",
                        name,
                    )
                elif owc.per_call:
                    self._stop(self.persistent.pop(name))
                elif owc != current.owc:
                    current.update(owc)
                continue
            self.start(name)
        for name in list(self.persistent):
            if name not in configs:
                self._stop(self.persistent.pop(name))

    def _sync_contexts(self) -> None:
        """As Asterisk registers a per_call_config section's apps: a ``stasis-<app>``
        context for each app of a valid section, removed when the app is no longer
        served (a running call in it goes on)."""
        wanted = {
            app
            for owc in self.configs.values()
            if owc.per_call and not owc.invalid and self.running and owc.name not in self.shut
            for app in owc.apps
        }
        if self.contexts is None:
            return
        for app in sorted(self.context_apps - wanted):
            self.contexts.remove(app)
        for app in sorted(wanted - self.context_apps):
            self.contexts.add(app)
        self.context_apps = wanted

    def start(self, name: str) -> bool:
        """Start the persistent connection of section ``name`` unless it runs (False: no
        such section). A per-call section has nothing to start; an invalid one is logged."""
        owc = self.configs.get(name)
        if owc is None:
            return False
        if owc.per_call:
            if name in self.shut:  # shut down: its session (and contexts) come back
                self.shut.discard(name)
                self._sync_contexts()
            return True
        if owc.invalid:
            log.warning(
                "%s: Unable to create websocket session. Outbound websocket config is invalid",
                name,
            )
            return True
        current = self.persistent.get(name)
        if current is not None and current.task is not None and not current.task.done():
            return True
        conn = OutboundConnection(self.service, owc, name, list(owc.apps))
        self.persistent[name] = conn
        conn.start()
        return True

    def _stop(self, conn: OutboundConnection) -> None:
        task = asyncio.get_running_loop().create_task(conn.close())
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    def per_call_configs(self) -> list[OutboundWebsocket]:
        """The per_call_config sections that have a session (``ari show websocket
        sessions`` lists them): valid, and not shut down."""
        return [
            owc
            for owc in self.configs.values()
            if owc.per_call and not owc.invalid and owc.name not in self.shut
        ]

    # -- ari shutdown websocket session(s) ---------------------------------------------

    def shutdown(self, session_id: str) -> bool:
        """``ari shutdown websocket session <id>``, as Asterisk's session_shutdown_cb: the
        session's apps are unregistered and its socket closes (1000); an outbound one does
        not reconnect (``ari start outbound-websocket`` or a reload starts it again); a
        per_call_config section loses its session and ``stasis-<app>`` contexts. False: no
        session has that id (the ids ``ari show websocket sessions`` lists)."""
        for conns in (self.persistent, self.per_call):
            for key, conn in list(conns.items()):
                if conn.session_id == session_id:
                    _notice_shutdown(session_id, conn.kind, "to", conn.remote_addr)
                    del conns[key]
                    self._stop(conn)
                    return True
        if any(owc.name == session_id for owc in self.per_call_configs()):
            log.info(
                "%s: Shutting down per_call_config ARI websocket session",
                session_id,
                extra={"asterisk_source": "ari_websockets.c"},
            )
            self.shut.add(session_id)
            self._sync_contexts()
            return True
        for session, inbound in list(self.service.inbound.items()):
            if inbound.connection_id == session_id and not session.closed:
                _notice_shutdown(session_id, "inbound", "from", inbound.remote_addr)
                session.close(1000)  # its writer closes the socket with this code
                return True
        return False

    def shutdown_all(self) -> None:
        """``ari shutdown websocket sessions``: :meth:`shutdown` for every session."""
        ids = [c.session_id for c in self.connections()]
        ids += [owc.name for owc in self.per_call_configs()]
        ids += [i.connection_id for s, i in self.service.inbound.items() if not s.closed]
        for session_id in ids:
            self.shutdown(session_id)

    async def stop(self) -> None:
        """The server stops: every connection closes."""
        self.running = False
        self._sync_contexts()
        conns = self.connections()
        self.persistent.clear()
        self.per_call.clear()
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        closers = list(self._closers)
        for task in closers:
            task.cancel()
        await asyncio.gather(*closers, return_exceptions=True)

    # -- per call ---------------------------------------------------------------------

    def _per_call_config(self, app: str) -> OutboundWebsocket | None:
        for owc in self.configs.values():
            if owc.per_call and app in owc.apps:
                return owc
        return None

    def serves(self, app: str) -> bool:
        """Whether a per-call section lists ``app`` (``Stasis(app)`` then asks :meth:`open`)."""
        return self._per_call_config(app) is not None

    async def open(self, app: str, chan: Call) -> str | None:
        """Connect for a call entering ``app`` (not registered); the app id it runs in."""
        owc = self._per_call_config(app)
        if owc is None or not self.running:
            log.warning(
                "%s: Failed to find outbound websocket per-call config for app '%s'",
                chan.name,
                app,
            )
            return None
        if owc.invalid:
            log.warning(
                "%s: Unable to create per-call websocket.  Outbound websocket config is invalid",
                owc.name,
            )
            return None
        app_id = f"{app}:{chan.name}"
        session_id = f"{owc.name}:{chan.name}"
        conn = OutboundConnection(
            self.service, owc, session_id, [app_id], per_call=True, channel_name=chan.name
        )
        self.per_call[app_id] = conn
        conn.start()
        await conn.settled.wait()
        if not conn.connected:
            self.per_call.pop(app_id, None)
            await conn.close()
            log.warning("%s: Failed to create per call websocket", session_id)
            return None
        return app_id

    def close(self, app_id: str) -> None:
        """The call left ``app_id``: its connection closes once its StasisEnd is out."""
        conn = self.per_call.get(app_id)
        if conn is None:
            return
        task = asyncio.get_running_loop().create_task(self._close_per_call(app_id, conn))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _close_per_call(self, app_id: str, conn: OutboundConnection) -> None:
        try:
            await conn.drained(STASIS_END_MAX_WAIT)
            await asyncio.sleep(self.linger)
            await conn.drained(STASIS_END_MAX_WAIT)
        finally:
            if self.per_call.get(app_id) is conn:
                del self.per_call[app_id]
            await conn.close()
