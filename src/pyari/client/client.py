"""The ARI client: connection, event dispatch, reconnect and re-sync."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import logging
import random as _random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar, overload

import aiohttp
import msgspec
import yarl

from pyari.client._base import EventHandler, EventStream, Handle, Unsubscribe, encode_query
from pyari.client._codec import MessageDecoder
from pyari.client._models import Bridge, Channel, Event, Message
from pyari.client._operations import AriApi
from pyari.client.errors import AriConnectionError, AriError, AriHttpError, Unauthorized

__all__ = ["AriClient", "Backoff", "EventStream", "Resynced", "connect"]

log = logging.getLogger("pyari.client")

H = TypeVar("H", bound=Callable[..., Any])
Key = tuple[str, str] | None
Sleep = Callable[[float], Awaitable[None]]
ErrorHandler = Callable[[BaseException, Message], None]


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
                self.client._spawn(self._await(res, event))
            return
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
        finally:
            if self.lanes.get(key) is lane:
                del self.lanes[key]


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
    ) -> None:
        super().__init__(
            base_url, username, password, session=session, request_timeout=request_timeout
        )
        self.apps = [a for a in ([apps] if isinstance(apps, str) else list(apps)) if a]
        self.subscribe_all = subscribe_all
        self.reconnect = reconnect
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._heartbeat = heartbeat
        self._on_error = on_error
        self._handlers: dict[str, list[_Sub]] = {}
        self._object_handlers: dict[tuple[str, str], dict[str, list[_Sub]]] = {}
        self._streams: set[EventStream] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._decode = MessageDecoder(self)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._state: dict[str, _AppState] = {}
        self._closing = False
        self._closed: asyncio.Event | None = None
        self._up: asyncio.Event | None = None
        self.connections = 0
        """How many times the events socket was opened (reconnects + 1)."""

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the events socket is open."""
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
        if self._reader is not None:
            raise RuntimeError("already connected")
        self._closing = False
        self._closed = asyncio.Event()
        self._up = asyncio.Event()
        await self._open(resync=False)
        self._reader = asyncio.get_running_loop().create_task(self._run())
        return self

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
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
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
        if self._reader is None and self.apps:
            await self.connect()
        return self

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
        """Deliver one event to the handlers and streams (the reader calls this)."""
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
                headers=self._auth_headers,
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
        try:
            resynced = await self._sync(resync)
        except BaseException:
            await ws.close()
            raise
        self._ws = ws
        self.connections += 1
        if self._up is not None:
            self._up.set()
        for event in resynced:
            self.dispatch(event)

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
                ws = self._ws
                if ws is not None:
                    await self._read(ws)
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

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        decode = self._decode
        dispatch = self.dispatch
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = msg.data
                event = decode(data.encode() if isinstance(data, str) else data)
                if event is not None:
                    try:
                        dispatch(event)
                    except Exception:
                        log.exception("dispatching %s failed", event.type)
            elif msg.type is aiohttp.WSMsgType.BINARY:
                event = decode(msg.data)
                if event is not None:
                    dispatch(event)
            elif msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return


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


def _now() -> str:
    """A timestamp as ARI writes them (``2024-05-01T10:00:00.000+0000``)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
