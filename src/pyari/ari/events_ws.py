"""The ``/ari/events`` WebSocket: Stasis events, serialised once, sent in order.

:class:`EventSession` is independent of the WebSocket library: it is given
an async ``send`` callable for text frames.  Events are queued by the bus
delivery (which never waits) and written by the session's writer task.
Sessions are opened by :meth:`pyari.ari.service.AriService.open_events`;
the HTTP cores only carry their frames.

A session ends when its socket goes away or when it cannot keep up (its
queue overflows).  Either way :meth:`EventSession.close` unregisters its
applications and :meth:`EventSession.write_loop` returns; the transport
then closes the socket (``close_code`` says why).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import msgspec

from pyari.core import events as ev
from pyari.stasis.registry import Registry

log = logging.getLogger("pyari.ari")

_encoder = msgspec.json.Encoder()

SendText = Callable[[bytes], Awaitable[None]]
Requests = Callable[[str | bytes], Awaitable[None]]
"""Answers a text message the application sent (its ``RESTResponse`` goes on the queue)."""


class EventEncoder:
    """Encodes an event for an application; the body once per event."""

    __slots__ = ("_last", "_last_body", "asterisk_id", "pretty")

    def __init__(self, asterisk_id: str, pretty: bool) -> None:
        self.asterisk_id = asterisk_id
        self.pretty = pretty
        self._last: object = None
        self._last_body = b""

    def encode(self, event: ev.Event, app: str) -> bytes:
        if event is self._last:
            body = self._last_body
        else:
            body = _encoder.encode(event)[:-1]
            self._last, self._last_body = event, body
        tail = b',"asterisk_id":"%s","application":%s}' % (
            self.asterisk_id.encode(),
            _encoder.encode(app),
        )
        data = body + tail if len(body) > 1 else b"{" + tail[1:]
        if self.pretty:
            data = msgspec.json.format(data, indent=2)
        return data


class EventSession:
    """One events WebSocket: the apps it registered and its send queue."""

    def __init__(
        self,
        registry: Registry,
        apps: list[str],
        send: SendText,
        encoder: EventEncoder,
        *,
        subscribe_all: bool = False,
        read_only: bool = False,
        max_queue: int = 100_000,
        write_timeout: float | None = None,
        on_close: Callable[[EventSession], None] | None = None,
    ) -> None:
        self.registry = registry
        self.apps = apps
        self.send = send
        self.encoder = encoder
        self.subscribe_all = subscribe_all
        self.read_only = read_only
        """The socket speaks for a read-only user."""
        self.write_timeout = write_timeout
        """Seconds a batch of events may take to write (ari.conf ``websocket_write_timeout``)."""
        self.on_close = on_close
        """Called once, when the session closes (the service forgets it)."""
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(max_queue)
        self.handlers: dict[str, Callable[[ev.Event], None]] = {}
        self.requests: Requests | None = None
        """What answers the application's ``RESTRequest`` messages
        (:class:`~pyari.ari.socket_requests.SocketRequests`); None: they are ignored."""
        self.closed = False
        self.close_code = 1000
        """WebSocket close code: 1000, or 1013 (try again later) after an overflow."""

    def _handler(self, app: str) -> Callable[[ev.Event], None]:
        def deliver(event: ev.Event) -> None:
            if self.closed:
                return
            try:
                self.queue.put_nowait(self.encoder.encode(event, app))
            except asyncio.QueueFull:
                log.warning("events socket of '%s' is not keeping up; closing it", app)
                self.close(1013)
            if isinstance(event, ev.ApplicationReplaced):
                # This socket lost the app to a newer one.
                self.handlers.pop(app, None)

        return deliver

    def reply(self, data: bytes) -> None:
        """Queue a message for the application behind the events queued so far."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            log.warning("events socket of '%s' is not keeping up; closing it", self.apps[0])
            self.close(1013)

    def open(self) -> None:
        for app in self.apps:
            handler = self._handler(app)
            self.handlers[app] = handler
            self.registry.register(
                app, handler, subscribe_all=self.subscribe_all, read_only=self.read_only
            )

    def close(self, code: int = 1000) -> None:
        """End the session: its apps are deactivated, the writer stops.

        Events not yet written are dropped, so the writer stops at once even
        when the queue is full.
        """
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        for app, handler in list(self.handlers.items()):
            self.registry.unregister(app, handler)
        self.handlers.clear()
        if self.on_close is not None:
            self.on_close(self)
        queue = self.queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    async def write_loop(self, timeout: float | None = None) -> None:
        """Send queued events until the session closes, then return.

        Events are sent in batches (all that are queued), and a batch that
        cannot be written within ``timeout`` seconds raises TimeoutError.
        """
        queue = self.queue
        send = self.send
        while True:
            data = await queue.get()
            batch = [data]
            while not queue.empty():
                batch.append(queue.get_nowait())
            async with asyncio.timeout(timeout):
                for item in batch:
                    if item is None or self.closed:
                        return
                    await send(item)
