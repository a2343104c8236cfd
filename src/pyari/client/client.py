"""The ARI client: connection, event dispatch, reconnect and re-sync."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import inspect
import logging
import random as _random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import aiohttp
import msgspec
import yarl

from pyari.client._base import EventHandler, EventStream, Handle, Unsubscribe, encode_query
from pyari.client._codec import MessageDecoder
from pyari.client._models import Bridge, Channel, Event, Message
from pyari.client._operations import AriApi
from pyari.client._sequence import RESUME_HEADER, SEQUENCE_HEADER, EventsLost, Sequences
from pyari.client._server import SocketServer, WebSocket
from pyari.client._wsrest import RestOverSocket
from pyari.client.errors import AriConnectionError, AriError, AriHttpError, Unauthorized

__all__ = [
    "AriClient",
    "Backoff",
    "EventStream",
    "EventsLost",
    "Resynced",
    "Transport",
    "connect",
    "serve",
]

log = logging.getLogger("pyari.client")

H = TypeVar("H", bound=Callable[..., Any])
Key = tuple[str, str] | None
Sleep = Callable[[float], Awaitable[None]]
ErrorHandler = Callable[[BaseException, Message], None]
Transport = Literal["http", "websocket"]


class Resynced(Event, kw_only=True, tag="Resynced"):
    """Pseudo-event after a reconnect: the application's state, fetched again.

    Delivered (to ``client.on("Resynced")`` and ``client.events()``) once per
    application after the events socket came back, before any event of the
    new connection.  ``channels``/``bridges`` are what the application still
    has; ``gone_channel_ids``/``gone_bridge_ids`` what it had before the
    disconnect and is gone now (hung up, destroyed, or taken by another app
    while away).  Per-object handlers of gone objects are removed.
    """

    channels: list[Channel] = msgspec.field(default_factory=list)
    bridges: list[Bridge] = msgspec.field(default_factory=list)
    gone_channel_ids: list[str] = msgspec.field(default_factory=list)
    gone_bridge_ids: list[str] = msgspec.field(default_factory=list)
    reconnects: int = 0
    """How many times the client reconnected so far (1 for the first time)."""


@dataclass
class Backoff:
    """Delays between reconnect attempts: exponential, capped, with jitter.

    Attempt ``n`` (from 0) waits ``min(maximum, initial * factor**n)`` reduced by
    up to ``jitter`` of itself at random, so many clients do not come back in
    step.  ``random`` is injectable for tests.
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.5
    random: Callable[[], float] = field(default=_random.random, repr=False)

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * self.random())


class _Sub:
    """One handler, with its own ordered lanes (one per object) when it is async."""

    __slots__ = ("client", "fn", "is_async", "lanes")

    def __init__(self, client: AriClient, fn: EventHandler[Any]) -> None:
        self.client = client
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004
        )
        self.lanes: dict[Key, deque[Message]] = {}

    def deliver(self, event: Message, key: Key) -> None:
        if not self.is_async:
            try:
                res = self.fn(event)
            except Exception as exc:
                self.client._handler_failed(exc, event)
                return
            if res is not None and inspect.isawaitable(res):
                self.is_async = True  # a sync callable returning awaitables
                pending = event.__dict__.get("_pending")
                if pending is not None:
                    pending.count += 1
                self.client._spawn(self._await(res, event))
            return
        pending = event.__dict__.get("_pending")
        if pending is not None:
            pending.count += 1  # released when this handler has run (sequenced streams)
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = deque((event,))
            self.client._spawn(self._drain(key, lane))
        else:
            lane.append(event)

    async def _await(self, res: Awaitable[None], event: Message) -> None:
        try:
            await res
        except Exception as exc:
            self.client._handler_failed(exc, event)
        pending = event.__dict__.get("_pending")
        if pending is not None:
            pending.release()

    async def _drain(self, key: Key, lane: deque[Message]) -> None:
        fn = self.fn
        try:
            while lane:
                event = lane[0]
                try:
                    res = fn(event)
                    if res is not None:
                        await res
                except Exception as exc:
                    self.client._handler_failed(exc, event)
                lane.popleft()
                pending = event.__dict__.get("_pending")
                if pending is not None:
                    pending.release()
        finally:
            if self.lanes.get(key) is lane:
                del self.lanes[key]


class _Conn:
    """One events socket: its REST requests in flight, and events held while syncing."""

    __slots__ = ("held", "rest", "task", "ws")

    def __init__(self, ws: WebSocket, timeout: float) -> None:
        self.ws = ws
        self.rest = RestOverSocket(ws.send_str, timeout)
        self.held: list[Message] | None = None
        """Events read before the state was fetched (``None``: dispatch at once)."""
        self.task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self.ws.closed


_CONN: contextvars.ContextVar[_Conn | None] = contextvars.ContextVar(
    "pyari_client_conn", default=None
)
"""The socket the event being handled came from: its handlers' requests go back on it."""


class _AppState:
    __slots__ = ("bridges", "channels")

    def __init__(self) -> None:
        self.channels: set[str] = set()
        self.bridges: set[str] = set()


class AriClient(AriApi):
    """An ARI client for one server and a set of Stasis applications.

    ``client.channels``, ``client.bridges`` ... hold a typed method per ARI
    operation.  :meth:`connect` opens the events WebSocket for ``apps``; the
    client then keeps it open, reconnecting with :class:`Backoff` and
    re-synchronising the applications' state (see :class:`Resynced`).

    Handlers (:meth:`on`, ``channel.on(...)``) may be sync or async.  Sync
    handlers run as each event is read; async handlers run on their own
    tasks, so a slow handler never holds up the socket or other handlers.
    Each handler gets the events of one object (the event's first channel,
    bridge, playback ...) in order, one at a time; events of different
    objects may be handled concurrently.

    ``transport="websocket"`` sends every operation as a RESTRequest on the
    events socket (opened on the first call if need be) instead of HTTP:
    one connection for everything, the same methods, results and errors.
    :meth:`serve` turns the client around: it accepts the server's outbound
    ARI WebSockets and works over them with the same handlers.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        apps: str | Sequence[str] = (),
        *,
        subscribe_all: bool = False,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
        heartbeat: float | None = 20.0,
        request_timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        on_error: ErrorHandler | None = None,
        transport: Transport = "http",
        sequences: bool = True,
        resume_from: Mapping[str, int] | None = None,
        ack_interval: float = 0.1,
    ) -> None:
        super().__init__(
            base_url, username, password, session=session, request_timeout=request_timeout
        )
        if transport not in ("http", "websocket"):
            raise ValueError(f"transport must be 'http' or 'websocket', not {transport!r}")
        self.transport: Transport = transport
        self._password = password
        self._request_timeout = request_timeout
        self.apps = [a for a in ([apps] if isinstance(apps, str) else list(apps)) if a]
        self.subscribe_all = subscribe_all
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._heartbeat = heartbeat
        self._on_error = on_error
        self.sequences = sequences
        """Ask a pyari server for numbered events (exactly-once across reconnects)."""
        self.ack_interval = ack_interval
        self._seq = Sequences(self._wake_acks, resume_from)
        self._ack_timer: asyncio.TimerHandle | None = None
        self._handlers: dict[str, list[_Sub]] = {}
        self._object_handlers: dict[tuple[str, str], dict[str, list[_Sub]]] = {}
        self._streams: set[EventStream] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._decode = MessageDecoder(self)
        self._ws: WebSocket | None = None
        self._conn: _Conn | None = None
        self._server: SocketServer | None = None
        self._served: dict[_Conn, None] = {}  # oldest first
        self._reader: asyncio.Task[None] | None = None
        self._state: dict[str, _AppState] = {}
        self._closing = False
        self._closed: asyncio.Event | None = None
        self._up: asyncio.Event | None = None
        self.connections = 0
        """How many times the events socket was opened (reconnects + 1; served: accepted)."""
        self.port: int | None = None
        """The port :meth:`serve` listens on."""

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the events socket (in :meth:`serve` mode: any socket) is open."""
        if self._server is not None:
            return any(not c.closed for c in self._served)
        return self._ws is not None and not self._ws.closed

    async def connect(self, apps: str | Sequence[str] | None = None) -> AriClient:
        """Open the events socket (registering the apps) and start reading.

        The first attempt's errors are raised (wrong credentials, nobody
        listening); after that the client reconnects by itself.
        """
        if apps is not None:
            self.apps = [a for a in ([apps] if isinstance(apps, str) else list(apps)) if a]
        if not self.apps:
            raise ValueError("connect() needs at least one application name")
        if self._reader is not None or self._server is not None:
            raise RuntimeError("already connected")
        self._closing = False
        self._closed = asyncio.Event()
        self._up = asyncio.Event()
        try:
            await self._open(resync=False)
        except BaseException:
            self._up = None
            raise
        self._reader = asyncio.get_running_loop().create_task(self._run())
        return self

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        path: str = "/",
        ssl: Any = None,
    ) -> int:
        """Accept outbound ARI WebSockets (Asterisk's or pyari's ``outbound_websocket``).

        The server dials ``ws://host:port/path`` with the subprotocol ``ari``
        and the Basic credentials of its ``websocket_client.conf`` connection,
        which must be this client's ``username``/``password`` (an empty
        username accepts anyone).  Events of every accepted socket reach the
        same handlers; operations travel as RESTRequests, on the socket the
        event being handled came from (else on the newest open one).
        ``ssl`` is an :class:`ssl.SSLContext` for ``wss://``.  Returns the
        port listened on; :meth:`run_forever` then waits for :meth:`close`.
        """
        if self._reader is not None or self._server is not None:
            raise RuntimeError("already connected")
        self.transport = "websocket"
        self._closing = False
        self._closed = asyncio.Event()
        self._up = asyncio.Event()
        auth = self._auth_headers["Authorization"] if self.username else None
        server = SocketServer(self._serve_socket, auth=auth, path=path, heartbeat=self._heartbeat)
        self.port = await server.start(host, port, ssl=ssl)
        self._server = server
        return self.port

    async def _serve_socket(self, ws: WebSocket) -> None:
        """One accepted outbound connection, read until it closes."""
        conn = _Conn(ws, self._request_timeout)
        self._served[conn] = None
        self._conn, self._ws = conn, ws
        self.connections += 1
        if self._up is not None:
            self._up.set()
        try:
            await self._read(conn)
        finally:
            self._served.pop(conn, None)
            if self._conn is conn:
                newest = next(reversed(self._served), None)
                self._conn = newest
                self._ws = newest.ws if newest else None
            if not self._served and self._up is not None:
                self._up.clear()

    async def wait_connected(self) -> None:
        """Wait until the events socket is open (again)."""
        if self._up is None:
            raise RuntimeError("not connected")
        await self._up.wait()

    async def run_forever(self) -> None:
        """Wait until :meth:`close` (or, without reconnect, the socket's end)."""
        if self._closed is None:
            raise RuntimeError("not connected")
        await self._closed.wait()

    async def close(self) -> None:
        """Close the events socket, stop the handlers' tasks and the HTTP session."""
        self._closing = True
        await self._send_acks()
        ws, self._ws = self._ws, None
        conn, self._conn = self._conn, None
        if ws is not None:
            await ws.close()
        server, self._server = self._server, None
        if server is not None:
            await server.stop()
        if conn is not None and conn.task is not None and conn.task is not asyncio.current_task():
            conn.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.task
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for stream in list(self._streams):
            stream._end()
        self._streams.clear()
        await self.close_http()
        if self._closed is not None:
            self._closed.set()

    async def __aenter__(self) -> AriClient:
        if self._reader is None and self._server is None and self.apps:
            await self.connect()
        return self

    # -- requests ----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
    ) -> bytes:
        """Perform one ARI request over the client's transport."""
        if self.transport != "websocket":
            return await super().request(method, path, query, body)
        conn = await self._socket_for(method, path)
        return await conn.rest.request(method, path, query, body)

    async def _socket_for(self, method: str, path: str) -> _Conn:
        conn = _CONN.get()
        if conn is None or conn.closed:
            conn = self._conn
        if conn is not None and not conn.closed:
            return conn
        if self._up is None and self._server is None and self.apps and not self._closing:
            await self.connect()  # the first operation opens the socket
        elif self._up is not None and not self._closing and (self.reconnect or self._server):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), self._request_timeout)
        conn = self._conn
        if conn is None or conn.closed:
            raise AriConnectionError(f"{method} {path}: the events socket is not open")
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- handlers ----------------------------------------------------------------------

    @overload
    def on(self, event_type: str | type[Message]) -> Callable[[H], H]: ...

    @overload
    def on(self, event_type: str | type[Message], handler: EventHandler[Any]) -> Unsubscribe: ...

    def on(
        self, event_type: str | type[Message], handler: EventHandler[Any] | None = None
    ) -> Callable[[H], H] | Unsubscribe:
        """Call ``handler(event)`` for every event of ``event_type`` (``"*"``: all).

        ``client.on("StasisStart", fn)`` returns a function that removes the
        handler; ``@client.on("StasisStart")`` decorates a handler (remove it
        with :meth:`off`).  ``event_type`` may also be an event class.
        """
        name = event_type if isinstance(event_type, str) else event_type.__name__
        if handler is None:

            def decorate(fn: H) -> H:
                self._add(self._handlers, name, fn)
                return fn

            return decorate
        return self._add(self._handlers, name, handler)

    def off(self, event_type: str | type[Message], handler: EventHandler[Any]) -> None:
        """Remove a handler added with :meth:`on`."""
        name = event_type if isinstance(event_type, str) else event_type.__name__
        subs = self._handlers.get(name, [])
        for sub in list(subs):
            if sub.fn == handler:
                subs.remove(sub)

    def _add(
        self, table: dict[str, list[_Sub]], event_type: str, handler: EventHandler[Any]
    ) -> Unsubscribe:
        sub = _Sub(self, handler)
        subs = table.setdefault(event_type, [])
        subs.append(sub)

        def remove() -> None:
            if sub in subs:
                subs.remove(sub)

        return remove

    def _on_object(
        self, key: tuple[str, str], event_type: str, handler: EventHandler[Any]
    ) -> Unsubscribe:
        return self._add(self._object_handlers.setdefault(key, {}), event_type, handler)

    def event_stream(self, *types: str | type[Message], maxsize: int = 0) -> EventStream:
        """``client.events(...)``: an async iterator over events, from now on.

        ``maxsize`` bounds the backlog (0: unbounded); beyond it events are
        dropped and counted in ``stream.dropped``.
        """
        names = frozenset(t if isinstance(t, str) else t.__name__ for t in types) or None
        stream = EventStream(self._streams, names, maxsize)
        if self._closing and self._closed is not None and self._closed.is_set():
            stream._end()
        else:
            self._streams.add(stream)
        return stream

    def _handler_failed(self, exc: BaseException, event: Message) -> None:
        if self._on_error is not None:
            self._on_error(exc, event)
        else:
            log.error("handler of %s failed", event.type, exc_info=exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- dispatch ----------------------------------------------------------------------

    def dispatch(self, event: Message) -> None:
        """Deliver one event to the handlers and streams (the reader calls this).

        A numbered event (``pyari_sequence``) already dispatched is dropped; its
        number counts as handled once every handler it went to has run.
        """
        seq = event.pyari_sequence
        if seq is None or not self.sequences:
            self._deliver(event)
            return
        pending = self._seq.begin(getattr(event, "application", ""), seq, event)
        if pending is None:
            return  # seen before the reconnect: its handlers have it already
        event.__dict__["_pending"] = pending
        try:
            self._deliver(event)
        finally:
            self._seq.end(pending)

    def _deliver(self, event: Message) -> None:
        etype = event.type
        objects = event._objects()
        key: Key = objects[0]._key if objects else None
        for sub in self._handlers.get(etype, ()):
            sub.deliver(event, key)
        for sub in self._handlers.get("*", ()):
            sub.deliver(event, key)
        if objects and self._object_handlers:
            seen: set[tuple[str, str]] = set()
            for obj in objects:
                okey = obj._key
                if okey in seen:
                    continue
                seen.add(okey)
                table = self._object_handlers.get(okey)
                if table is not None:
                    for sub in table.get(etype, ()):
                        sub.deliver(event, okey)
                    for sub in table.get("*", ()):
                        sub.deliver(event, okey)
        for stream in self._streams:
            stream._put(event)
        ends = getattr(event, "_ends", None)
        if ends is not None:
            ended = getattr(event, ends, None)
            if isinstance(ended, Handle):
                self._object_handlers.pop(ended._key, None)
        if isinstance(event, Event):
            self._track(etype, event)

    def feed(self, raw: bytes) -> Message | None:
        """Decode one frame of the events socket and dispatch it (for tests, benches)."""
        event = self._decode(raw)
        if event is not None:
            self.dispatch(event)
        return event

    # -- sequences ---------------------------------------------------------------------

    def handled_sequence(self, app: str) -> int | None:
        """The last ``pyari_sequence`` of ``app`` up to which every event is handled.

        ``None`` until a numbered event of ``app`` arrives (always against
        Asterisk).  Keep it to resume a later client where this one stopped:
        ``AriClient(..., resume_from={app: n})``.
        """
        return self._seq.done(app)

    def _events_headers(self) -> dict[str, str]:
        """The events upgrade's headers: auth, and pyari's sequence and resume asks."""
        if not self.sequences:
            return self._auth_headers
        headers = {**self._auth_headers, SEQUENCE_HEADER: "1"}
        resume = self._seq.resume_header(self.apps)
        if resume is not None:
            headers[RESUME_HEADER] = resume
        return headers

    def _wake_acks(self) -> None:
        if self._ack_timer is None and not self._closing:
            with contextlib.suppress(RuntimeError):  # no loop: fed outside one
                loop = asyncio.get_running_loop()
                self._ack_timer = loop.call_later(self.ack_interval, self._ack_soon)

    def _ack_soon(self) -> None:
        self._ack_timer = None
        if self._ws is not None and not self._ws.closed:
            self._spawn(self._send_acks())
        else:
            self._seq.dirty = False  # the reconnect's Pyari-Resume carries it

    async def _send_acks(self) -> None:
        """Send ``EventAck`` for what the handlers finished since the last acks."""
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        ws = self._ws
        if ws is None or ws.closed or not self._seq.dirty:
            return
        for frame in self._seq.acks():
            try:
                await ws.send_str(frame.decode())
            except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
                log.debug("EventAck not sent: %s", exc)
                return

    def _track(self, etype: str, event: Event) -> None:
        """Keep the ids of the channels and bridges each application has."""
        state = self._state.get(event.application)
        if state is None:
            return
        if etype == "StasisStart":
            state.channels.add(event.channel.id)  # type: ignore[attr-defined]
        elif etype in ("StasisEnd", "ChannelDestroyed"):
            state.channels.discard(event.channel.id)  # type: ignore[attr-defined]
        elif etype in ("BridgeCreated", "ChannelEnteredBridge"):
            state.bridges.add(event.bridge.id)  # type: ignore[attr-defined]
        elif etype == "BridgeDestroyed":
            state.bridges.discard(event.bridge.id)  # type: ignore[attr-defined]

    # -- connection --------------------------------------------------------------------

    def _events_url(self) -> yarl.URL:
        query: list[tuple[str, Any]] = [("app", self.apps)]
        if self.subscribe_all:
            query.append(("subscribeAll", True))
        return yarl.URL(f"{self._ari_url}/events?{encode_query(query)}", encoded=True)

    async def _open(self, *, resync: bool) -> None:
        session = self.http_session()
        try:
            ws = await session.ws_connect(
                self._events_url(),
                headers=self._events_headers(),
                protocols=("ari",),
                heartbeat=self._heartbeat,
                max_msg_size=0,
                autoping=True,
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise AriHttpError.for_status(
                exc.status, exc.message or "handshake refused", "GET", "/events"
            ) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise AriConnectionError(f"events socket: {exc}") from exc
        # Read at once (RESTResponses of the sync may come on this socket);
        # events wait in conn.held until the state is fetched.
        conn = _Conn(ws, self._request_timeout)
        conn.held = []
        conn.task = asyncio.get_running_loop().create_task(self._read(conn))
        self._conn = conn
        try:
            resynced = await self._sync(resync)
        except BaseException:
            self._conn = None
            await ws.close()
            conn.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await conn.task
            raise
        self._ws = ws
        self.connections += 1
        if self._up is not None:
            self._up.set()
        # Events are handled from the caller's next pause on, as when the socket was
        # read only then: handlers added right after connect() see the first events.
        conn.held[:0] = resynced
        asyncio.get_running_loop().call_soon(self._release, conn)

    def _release(self, conn: _Conn) -> None:
        """Dispatch the events held while the state was fetched; then dispatch as read."""
        held, conn.held = conn.held or [], None
        _CONN.set(conn)  # in this callback's own context
        for message in held:
            try:
                self.dispatch(message)
            except Exception:
                log.exception("dispatching %s failed", message.type)

    async def _sync(self, resync: bool) -> list[Resynced]:
        """Fetch the applications' channels and bridges; on a reconnect, report changes."""
        apps = [await self.applications.get(name) for name in self.apps]
        channels: dict[str, Channel] = {}
        bridges: dict[str, Bridge] = {}
        if resync and any(a.channel_ids for a in apps):
            channels = {c.id: c for c in await self.channels.list()}
        if resync and any(a.bridge_ids for a in apps):
            bridges = {b.id: b for b in await self.bridges.list()}
        out: list[Resynced] = []
        for app in apps:
            old = self._state.get(app.name)
            state = self._state[app.name] = _AppState()
            state.channels = set(app.channel_ids)
            state.bridges = set(app.bridge_ids)
            if not resync:
                continue
            if resync:
                state.channels &= channels.keys()
                state.bridges &= bridges.keys()
            gone_ch = sorted((old.channels if old else set()) - state.channels)
            gone_br = sorted((old.bridges if old else set()) - state.bridges)
            for gone in gone_ch:
                self._object_handlers.pop(("Channel", gone), None)
            for gone in gone_br:
                self._object_handlers.pop(("Bridge", gone), None)
            event = Resynced(
                application=app.name,
                timestamp=_now(),
                channels=[channels[i] for i in app.channel_ids if i in channels],
                bridges=[bridges[i] for i in app.bridge_ids if i in bridges],
                gone_channel_ids=gone_ch,
                gone_bridge_ids=gone_br,
                reconnects=self.connections,  # this connection is not counted yet
            )
            event._bind(self)
            out.append(event)
        return out

    async def _run(self) -> None:
        try:
            while not self._closing:
                conn = self._conn
                if conn is not None and conn.task is not None:
                    with contextlib.suppress(Exception):
                        await conn.task
                    if self._conn is conn:
                        self._conn = None
                    self._ws = None
                    if self._up is not None:
                        self._up.clear()
                if self._closing:
                    break
                if not self.reconnect:
                    break
                log.warning("events socket for %s closed; reconnecting", ",".join(self.apps))
                await self._reopen()
        finally:
            if not self._closing:
                # No reconnecting: the client is done.
                for stream in list(self._streams):
                    stream._end()
            if self._closed is not None and not self.reconnect:
                self._closed.set()

    async def _reopen(self) -> None:
        attempt = 0
        while not self._closing:
            await self._sleep(self.backoff.delay(attempt))
            attempt += 1
            if self._closing:
                return
            try:
                await self._open(resync=True)
                log.info("events socket for %s reconnected", ",".join(self.apps))
                return
            except Unauthorized as exc:
                log.error("reconnect refused: %s", exc)
            except AriError as exc:
                log.info("reconnect attempt %d failed: %s", attempt, exc)

    async def _read(self, conn: _Conn) -> None:
        """Read one socket until it closes: answers to requests, events to the handlers."""
        _CONN.set(conn)  # this task's context: handlers spawned from here inherit it
        decode = self._decode
        dispatch = self.dispatch
        answer = conn.rest.answer
        ws = conn.ws
        try:
            while True:
                msg = await ws.receive()
                if msg.type is aiohttp.WSMsgType.TEXT:
                    data = msg.data
                    raw = data.encode() if isinstance(data, str) else data
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    raw = msg.data
                elif msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    return
                else:
                    continue
                if answer(raw):
                    continue
                event = decode(raw)
                if event is None:
                    continue
                if conn.held is not None:
                    conn.held.append(event)
                    continue
                try:
                    dispatch(event)
                except Exception:
                    log.exception("dispatching %s failed", event.type)
        finally:
            conn.rest.fail("the events socket closed")


class _Connect:
    """``await connect(...)`` or ``async with connect(...) as client``."""

    def __init__(self, client: AriClient) -> None:
        self.client = client

    def __await__(self) -> Generator[Any, None, AriClient]:
        return self.client.connect().__await__()

    async def __aenter__(self) -> AriClient:
        return await self.client.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


def connect(
    base_url: str,
    username: str,
    password: str,
    apps: str | Sequence[str],
    **options: Any,
) -> _Connect:
    """Connect an :class:`AriClient` for ``apps``.

    ``client = await connect(url, user, password, apps=["hello"])`` or
    ``async with connect(url, user, password, apps="hello") as client: ...``.
    ``options`` are :class:`AriClient`'s keyword arguments.
    """
    return _Connect(AriClient(base_url, username, password, apps, **options))


class _Serve:
    """``await serve(...)`` or ``async with serve(...) as client``."""

    def __init__(self, client: AriClient, host: str, port: int, path: str, ssl: Any) -> None:
        self.client = client
        self._args = (host, port, path, ssl)

    async def _start(self) -> AriClient:
        host, port, path, ssl = self._args
        await self.client.serve(host, port, path=path, ssl=ssl)
        return self.client

    def __await__(self) -> Generator[Any, None, AriClient]:
        return self._start().__await__()

    async def __aenter__(self) -> AriClient:
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()


def serve(
    host: str,
    port: int,
    username: str = "",
    password: str = "",
    *,
    path: str = "/",
    ssl: Any = None,
    **options: Any,
) -> _Serve:
    """An :class:`AriClient` accepting outbound ARI WebSockets on ``host:port``.

    ``async with serve("127.0.0.1", 8765, "asterisk", "secret") as client:``
    then ``client.on(...)`` and ``await client.run_forever()``; ``client.port``
    is the port listened on (useful with ``port=0``).  ``username`` and
    ``password`` are what the server's websocket_client.conf sends (empty:
    anyone).  ``options`` are :class:`AriClient`'s keyword arguments.
    """
    return _Serve(AriClient("", username, password, **options), host, port, path, ssl)


def _now() -> str:
    """A timestamp as ARI writes them (``2024-05-01T10:00:00.000+0000``)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
