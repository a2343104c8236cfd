"""The ``/ari/events`` WebSocket: Stasis events, serialised once, sent in order.

:class:`EventSession` is independent of the WebSocket library: it is given
an async ``send`` callable for text frames.  Events are queued by the bus
delivery (which never waits) and written by the session's writer task; while
that task is idle and nothing is queued, an event goes straight into the
socket's write of this loop round (``send_now``, decision 0031).
Sessions are opened by :meth:`pyari.ari.service.AriService.open_events`;
the HTTP cores only carry their frames.

A session ends when its socket goes away or when it cannot keep up (its
queue overflows).  Either way :meth:`EventSession.close` unregisters its
applications and :meth:`EventSession.write_loop` returns; the transport
then closes the socket (``close_code`` says why).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping

import msgspec

from pyari.core import events as ev
from pyari.stasis.app import StasisApp
from pyari.stasis.eventlog import Lost
from pyari.stasis.registry import Registry
from pyari.wallclock import ari_timestamp

log = logging.getLogger("pyari.ari")

_encoder = msgspec.json.Encoder()

SendText = Callable[[bytes], Awaitable[None]]
Requests = Callable[[str | bytes], Awaitable[None]]
"""Answers a text message the application sent (its ``RESTResponse`` goes on the queue)."""


class EventEncoder:
    """Encodes an event for an application; the body once per event."""

    __slots__ = ("_last", "_last_body", "_tails", "asterisk_id", "pretty")

    def __init__(self, asterisk_id: str, pretty: bool) -> None:
        self.asterisk_id = asterisk_id
        self.pretty = pretty
        self._last: object = None
        self._last_body = b""
        self._tails: dict[str, bytes] = {}
        """Application → the JSON that ends its events (``asterisk_id``, ``application``)."""

    def encode(self, event: ev.Event, app: str) -> bytes:
        data = self.compact(event, app)
        if self.pretty:
            data = msgspec.json.format(data, indent=2)
        return data

    def compact(self, event: ev.Event, app: str) -> bytes:
        """The event's JSON without ``pretty`` (as it is logged)."""
        if event is self._last:
            body = self._last_body
        else:
            body = _encoder.encode(event)[:-1]
            self._last, self._last_body = event, body
        tail = self._tails.get(app)
        if tail is None:
            tail = b',"asterisk_id":"%s","application":%s}' % (
                self.asterisk_id.encode(),
                _encoder.encode(app),
            )
            if len(self._tails) < 1024:
                self._tails[app] = tail
        return body + tail if len(body) > 1 else b"{" + tail[1:]

    def frame(self, data: bytes, seq: int, sequenced: bool) -> bytes:
        """A logged event as a socket gets it: with its ``pyari_sequence`` if it asked."""
        if sequenced and seq:
            data = b'%s,"pyari_sequence":%d}' % (data[:-1], seq)
        if self.pretty:
            data = msgspec.json.format(data, indent=2)
        return data

    def lost(self, app: str, lost: Lost) -> bytes:
        """pyari's ``EventsLost`` event (docs/event-streams.md), compact."""
        return (
            b'{"type":"EventsLost","application":%s,"first_sequence":%d,"last_sequence":%d,"count":%d,"timestamp":%s,"asterisk_id":%s}'
            % (
                _encoder.encode(app),
                lost.first,
                lost.last,
                lost.size,
                _encoder.encode(ari_timestamp()),
                _encoder.encode(self.asterisk_id),
            )
        )


QueueItem = bytes | tuple[StasisApp, int, bytes] | None
"""A message for the socket: raw bytes, a logged event (app, sequence, frame), or the end."""


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
        sequenced: bool = False,
        resume: Mapping[str, int] | None = None,
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
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue(max_queue)
        self._max_queue = max_queue
        self.handlers: dict[str, Callable[[ev.Event], None]] = {}
        self.sequenced = sequenced
        """Events carry ``pyari_sequence`` (the upgrade asked: docs/event-streams.md)."""
        self.resume = dict(resume or {})
        """Application → the sequence after which this socket starts (``Pyari-Resume``)."""
        self.held: dict[str, StasisApp] = {}
        """The applications registered, by name."""
        self.sent: dict[str, int] = {}
        """Application → the last sequence queued for the socket."""
        self.send_now: Callable[[bytes], bool] | None = None
        """Writes a message at once if the transport can take it (False: it cannot);
        :meth:`reply` uses it while nothing waits in the queue."""
        self._writing = False
        self._burst = 0
        """Events sent at once (``send_now``) in this loop round: as the queue's would,
        more than ``max_queue`` of them in one round close the session (1013)."""
        self.at_round_end: Callable[[Callable[[], None]], object] | None = None
        """Runs a callback at the end of this loop round: the transport's, with its write
        of the round's frames (one callback serves both); None: ``loop.call_soon``."""
        self.requests: Requests | None = None
        """What answers the application's ``RESTRequest`` messages
        (:class:`~pyari.ari.socket_requests.SocketRequests`); None: they are ignored."""
        self._opening: asyncio.Future[None] | None = None
        """Registering the apps once the cluster brought their logs (:meth:`open`)."""
        self.closed = False
        self.close_code = 1000
        """WebSocket close code: 1000, or 1013 (try again later) after an overflow."""

    def _handler(self, app: str) -> Callable[[ev.Event], None]:
        sent = self.sent
        encoder = self.encoder
        sequenced = self.sequenced

        queue = self.queue

        def deliver(event: ev.Event) -> None:
            if self.closed:
                return
            stasis_app = self.held.get(app)
            # Nothing waits in the queue and the writer is idle: the frame goes to the
            # transport now (it leaves with the others of this loop round), without
            # waking the writer; else it queues behind the others.
            send_now = self.send_now
            if self._writing or queue.qsize():
                send_now = None
            try:
                if stasis_app is not None and stasis_app.current[0] is event:
                    _, seq, data = stasis_app.current
                    if seq <= sent.get(app, 0):
                        return  # replayed already
                    sent[app] = seq
                    frame = encoder.frame(data, seq, sequenced)
                    if send_now is not None and self._sent_now(send_now, frame):
                        if stasis_app.handler is self.handlers.get(app):
                            stasis_app.written = seq
                    else:
                        queue.put_nowait((stasis_app, seq, frame))
                else:
                    frame = encoder.encode(event, app)
                    if send_now is None or not self._sent_now(send_now, frame):
                        queue.put_nowait(frame)
            except asyncio.QueueFull:
                log.warning("events socket of '%s' is not keeping up; closing it", app)
                self.close(1013)
            if isinstance(event, ev.ApplicationReplaced):
                # This socket lost the app to a newer one.
                self.handlers.pop(app, None)

        return deliver

    def _sent_now(self, send_now: Callable[[bytes], bool], frame: bytes) -> bool:
        """``frame`` handed to the transport at once (False: it has to queue)."""
        burst = self._burst
        if burst >= self._max_queue > 0:
            raise asyncio.QueueFull
        if not send_now(frame):
            return False
        if not burst:
            at_round_end = self.at_round_end
            if at_round_end is None:
                at_round_end = self.at_round_end = asyncio.get_running_loop().call_soon
            at_round_end(self._round_done)
        self._burst = burst + 1
        return True

    def _round_done(self) -> None:
        self._burst = 0

    def reply(self, data: bytes) -> None:
        """Send a message to the application behind the events queued so far: at once
        when none wait (and the transport takes it), else through the queue."""
        if self.closed:
            return
        send_now = self.send_now
        if send_now is not None and not self._writing and self.queue.empty() and send_now(data):
            return
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            log.warning("events socket of '%s' is not keeping up; closing it", self.apps[0])
            self.close(1013)

    def open(self) -> None:
        """Register the applications, each resumed where docs/event-streams.md says.

        In a cluster an application's log may first have to come to this node
        (:attr:`Registry.before_open`): then they are registered once it has; events
        meanwhile wait in the logs, not in the socket."""
        prepare = self.registry.before_open
        pending = prepare(self.apps, self._wanted) if prepare is not None else None
        if pending is None:
            self._register()
            return
        for app in self.apps:  # (messages for the socket, as ApplicationRegistered, queue)
            self.handlers[app] = self._handler(app)
        self._opening = asyncio.ensure_future(self._register_after(pending))

    def _wanted(self) -> bool:
        return not self.closed

    async def _register_after(self, pending: Awaitable[Callable[[], None] | None]) -> None:
        after: Callable[[], None] | None = None
        try:
            after = await pending
        except Exception:
            log.exception("events socket of '%s': preparing its applications failed", self.apps)
        if not self.closed:
            self._register()
        if after is not None:
            after()

    def _register(self) -> None:
        for app in self.apps:
            handler = self.handlers.get(app) or self._handler(app)
            self.handlers[app] = handler
            stasis_app = self.registry.get(app)
            held_before = stasis_app is not None and stasis_app.held
            point = stasis_app.resume_point if stasis_app is not None else 0
            stasis_app = self.registry.register(
                app, handler, subscribe_all=self.subscribe_all, read_only=self.read_only
            )
            self.held[app] = stasis_app
            stasis_app.encode = self._compact(app)
            after = self.resume.get(app)
            if after is None and held_before and self.registry.streams.retention > 0:
                after = point
            stasis_app.held = True
            stasis_app.ack_used = False
            if after is None:
                after = stasis_app.log.last
            stasis_app.written = stasis_app.acked = min(after, stasis_app.log.last)
            self.sent[app] = stasis_app.written
            self._replay(stasis_app, after)

    def _compact(self, app: str) -> Callable[[ev.Event], bytes]:
        return functools.partial(self.encoder.compact, app=app)

    def _replay(self, stasis_app: StasisApp, after: int) -> None:
        """Queue what the log holds after ``after`` (and what it lost, as ``EventsLost``)."""
        lost, entries = stasis_app.log.after(after)
        app = stasis_app.name
        encoder = self.encoder
        try:
            if lost is not None:
                log.warning(
                    "events %d..%d of '%s' are no longer kept; the socket is told",
                    lost.first,
                    lost.last,
                    app,
                )
                frame = encoder.frame(encoder.lost(app, lost), lost.last, self.sequenced)
                self.queue.put_nowait((stasis_app, lost.last, frame))
                self.sent[app] = lost.last
            for entry in entries:
                frame = encoder.frame(entry.data, entry.seq, self.sequenced)
                self.queue.put_nowait((stasis_app, entry.seq, frame))
                self.sent[app] = entry.seq
        except asyncio.QueueFull:
            log.warning("events socket of '%s' cannot take its replay; closing it", app)
            self.close(1013)

    def acknowledge(self, message: str | bytes) -> bool:
        """Handle an ``EventAck`` message; False if ``message`` is something else."""
        if isinstance(message, str):
            if "EventAck" not in message:  # most messages: no need to encode them
                return False
            text = message.encode()
        else:
            text = message
            if b"EventAck" not in text:
                return False
        try:
            body = msgspec.json.decode(text)
        except msgspec.DecodeError:
            return False
        if not isinstance(body, dict) or body.get("type") != "EventAck":
            return False
        app = body.get("application")
        seq = body.get("sequence")
        stasis_app = self.held.get(app) if isinstance(app, str) else None
        if (
            stasis_app is None
            or app not in self.handlers
            or not isinstance(seq, int)
            or isinstance(seq, bool)
            or seq > self.sent.get(app, 0)
            or (stasis_app.ack_used and seq < stasis_app.acked)
        ):
            log.debug("EventAck ignored: %r", body)
            return True
        stasis_app.acked = seq
        stasis_app.ack_used = True
        return True

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
            self._writing = True
            async with asyncio.timeout(timeout):
                for item in batch:
                    if item is None or self.closed:
                        return
                    if isinstance(item, bytes):
                        await send(item)
                        continue
                    stasis_app, seq, data = item
                    await send(data)
                    if stasis_app.handler is self.handlers.get(stasis_app.name):
                        stasis_app.written = seq
            self._writing = False
