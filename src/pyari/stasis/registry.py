"""The registry of Stasis applications and the Stasis() entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from pyari import wallclock
from pyari.config.event_streams import EventStreamSettings
from pyari.core import events as ev
from pyari.core.endpoint import MessageReceived
from pyari.stasis.app import Handler, StasisApp, source_key
from pyari.stasis.broadcast import Broadcasts
from pyari.stasis.control import Control
from pyari.stasis.eventlog import Clock, EventLog, MemoryEventLog

if TYPE_CHECKING:
    from pyari.bus import Topic
    from pyari.core.channel import Channel
    from pyari.core.engine import Core

log = logging.getLogger("pyari.stasis")
verbose = logging.getLogger("pyari.verbose")

SCHEMES = ("channel", "bridge", "endpoint", "deviceState")
"""Event source URI schemes an application can subscribe to."""

ENDPOINT_EVENTS: tuple[type[object], ...] = (
    ev.EndpointStateChange,
    ev.ContactStatusChange,
    ev.PeerStatusChange,
    MessageReceived,
)
"""What an app following every endpoint takes from them (not their channels' events);
a message received becomes TextMessageReceived in the app (``stasis/textmessages.py``)."""


class BadScheme(Exception):
    """An event source URI whose scheme is not one of :data:`SCHEMES`."""


class SourceNotFound(Exception):
    """An event source URI naming no live object."""


def device_topic_name(name: str | None) -> str:
    """The bus topic of a device's states (``devicestate:all`` for every device)."""
    return f"devicestate:{'all' if name is None else name}"


class Source:
    """A resolved event source: its subscription key and what to follow."""

    __slots__ = ("key", "only", "topic")

    def __init__(
        self, key: str, topic: Topic, only: tuple[type[object], ...] | None = None
    ) -> None:
        self.key = key
        self.topic = topic
        self.only = only


class LogFactory(Protocol):
    """Makes an application's event log (:class:`~.eventlog_nats.JetStreamLogs`)."""

    def make(
        self, name: str, retention: float, max_bytes: int, start: int, clock: Clock
    ) -> EventLog: ...


AppWatcher = Callable[[str, StasisApp], None]
"""Told ``(what, app)``: ``held`` (a handler registered it), ``away`` (its handler
left), ``gone`` (the registry forgot it) — :attr:`Registry.watchers`."""

BeforeOpen = Callable[[list[str], Callable[[], bool]], Awaitable[Callable[[], None] | None] | None]
"""Asked before an events socket registers ``apps`` (and told how to know whether the
socket still wants them: it may close meanwhile): None, or something to await first
(then an optional callable to run once the socket has opened)."""


class Registry:
    """All Stasis applications of one core."""

    def __init__(self, core: Core, *, clock: Clock = wallclock.monotonic) -> None:
        self.core = core
        self.apps: dict[str, StasisApp] = {}
        self.clock = clock
        """The clock of the event logs' retention."""
        self.streams = EventStreamSettings()
        """Retention of the apps' event logs and Stasis()'s grace (:meth:`configure`)."""
        self.sequences: dict[str, int] = {}
        """The last sequence of applications that were destroyed (their next log goes on)."""
        self.log_factory: LogFactory | None = None
        """Makes the apps' logs instead of :class:`MemoryEventLog` (``event_log = nats``)."""
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        """Channels in Stasis() waiting for an application to come (``stasis_grace``)."""
        self._expiry: dict[str, asyncio.TimerHandle] = {}
        self.broadcasts = Broadcasts(self)
        """Channels offered to every application (StasisBroadcast)."""
        self.watchers: list[AppWatcher] = []
        """Told when an app is held, left or forgotten (a cluster follows them)."""
        self.before_open: BeforeOpen | None = None
        """Asked by an events socket before it registers its apps (a cluster moves
        an application's log here first); None: sockets open at once."""
        core.release_hooks.append(self.release)

    def get(self, name: str) -> StasisApp | None:
        return self.apps.get(name)

    def configure(self, streams: EventStreamSettings) -> None:
        """New retention and grace (ari.conf ``[general]``, at start and on a reload)."""
        if streams == self.streams:
            return
        self.streams = streams
        for app in self.apps.values():
            app.log.configure(streams.retention, streams.retention_bytes)

    def _new_app(self, name: str) -> StasisApp:
        return StasisApp(self.core.bus, name, self._make_log(name, self.sequences.pop(name, 0)))

    def _make_log(self, name: str, start: int) -> EventLog:
        streams = self.streams
        if self.log_factory is not None:
            return self.log_factory.make(
                name, streams.retention, streams.retention_bytes, start, self.clock
            )
        return MemoryEventLog(
            streams.retention, streams.retention_bytes, start=start, clock=self.clock
        )

    def renew_log(self, name: str, start: int = 0) -> StasisApp:
        """Give ``name`` (made if missing, with no handler) a new log, its sequence
        going on from ``start`` at least: what the log factory holds now (a cluster
        moved the application here and reloaded its stream)."""
        app = self.apps.get(name)
        if app is None:
            self.sequences[name] = max(start, self.sequences.get(name, 0))
            app = self.apps[name] = self._new_app(name)
        else:
            app.log = self._make_log(name, start)
        return app

    def _notify(self, what: str, app: StasisApp) -> None:
        for watcher in list(self.watchers):
            try:
                watcher(what, app)
            except Exception:
                log.exception("Stasis app watcher failed on %s of '%s'", what, app.name)

    def names(self) -> list[str]:
        return sorted(self.apps)

    # -- registration by event sockets ------------------------------------------

    def held_by_writer(self, names: list[str]) -> str | None:
        """The first of ``names`` whose events socket is a read-write user's (else None).

        A read-only user may not replace such a socket (docs/decisions/0012).
        """
        for name in names:
            app = self.apps.get(name)
            if app is not None and app.active and not app.held_read_only:
                return name
        return None

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        subscribe_all: bool = False,
        read_only: bool = False,
        remote_away: bool = False,
    ) -> StasisApp:
        """Give ``name`` a new event handler, replacing any live one.

        ``read_only``: the socket speaks for a read-only user (see :meth:`held_by_writer`).
        ``remote_away``: the handler forwards to another node whose socket is away
        (:attr:`StasisApp.remote_away`; channels waiting for the app go on waiting).
        """
        app = self.apps.get(name)
        if app is None:
            verbose.info("Creating Stasis app '%s'", name)
            app = self.apps[name] = self._new_app(name)
        elif app.handler is not None:
            old = app.handler
            app.handler = None
            old(ev.ApplicationReplaced())
            verbose.info("Replacing Stasis app '%s'", name)
        else:
            verbose.info("Activating Stasis app '%s'", name)
        app.handler = handler
        app.held_read_only = read_only
        app.kept = False
        app.remote_away = remote_away
        timer = self._expiry.pop(name, None)
        if timer is not None:
            timer.cancel()
        if not remote_away:
            self.wake(name)
        if subscribe_all and not app.subscribe_all:
            app.subscribe_all = True
            for kind in SCHEMES:
                source = self.all_source(kind)
                if not app.is_subscribed(source.key):
                    app.subscribe(source.key, source.topic, only=source.only)
        if self.watchers:
            self._notify("held", app)
        return app

    def wake(self, name: str) -> None:
        """Channels waiting in Stasis() for ``name`` look again (it is back)."""
        for waiter in self._waiting.pop(name, ()):
            if not waiter.done():
                waiter.set_result(None)

    def unregister(self, name: str, handler: Handler) -> None:
        """The socket behind ``handler`` went away."""
        app = self.apps.get(name)
        if app is None or app.handler is not handler:
            return
        verbose.info("Deactivating Stasis app '%s'", name)
        app.handler = None
        app.held_read_only = False
        app.remote_away = False
        if self.streams.retention > 0 and app.encode is not None:
            self.keep(app)
            if self.watchers:
                self._notify("away", app)
            return
        self._drop_subscribe_all(app)
        if self.watchers:
            self._notify("away", app)
        self.cleanup(app)

    def keep(self, app: StasisApp) -> None:
        """Keep ``app``, with no socket, its subscriptions and log, for the retention
        time (docs/event-streams.md): its socket left, or (a cluster) its home died."""
        app.kept = True
        with contextlib.suppress(RuntimeError):  # no loop: expired at the next sweep
            loop = asyncio.get_running_loop()
            timer = self._expiry.pop(app.name, None)
            if timer is not None:
                timer.cancel()
            self._expiry[app.name] = loop.call_later(self.streams.retention, self._expire, app)
        app.away_since = self.clock()

    def _expire(self, app: StasisApp) -> None:
        """An away application's retention time is over: it goes as Asterisk's would."""
        self._expiry.pop(app.name, None)
        if app.handler is not None or not app.kept:
            return
        app.kept = False
        self._drop_subscribe_all(app)
        self.cleanup(app)

    def _drop_subscribe_all(self, app: StasisApp) -> None:
        if app.subscribe_all:
            app.subscribe_all = False
            for kind in SCHEMES:
                app.unsubscribe(source_key(kind, None), all_refs=True)

    def cleanup(self, app: StasisApp) -> None:
        if app.idle and self.apps.get(app.name) is app:
            verbose.info("Shutting down application '%s'", app.name)
            del self.apps[app.name]
            if app.log.last:
                self.sequences[app.name] = app.log.last
            self.core.bus.remove(app.topic.name)
            verbose.info("Destroying Stasis app %s", app.name)
            if self.watchers:
                self._notify("gone", app)

    def release(self) -> None:
        """Memory is being given back after a peak of channels (a core release hook)."""
        for app in self.apps.values():
            app.release()

    def sweep(self) -> None:
        """Forget every application with nothing left (no socket, channels or subscriptions)."""
        now = self.clock()
        for app in list(self.apps.values()):
            if app.kept and now - app.away_since >= self.streams.retention:
                self._expire(app)
            self.cleanup(app)

    # -- event sources -------------------------------------------------------------

    def all_source(self, kind: str) -> Source:
        """Every object of a kind."""
        key = source_key(kind, None)
        core = self.core
        if kind == "channel":
            return Source(key, core.all_channels)
        if kind == "bridge":
            return Source(key, core.all_bridges)
        if kind == "endpoint":
            return Source(key, core.endpoints.all, ENDPOINT_EVENTS)
        return Source(key, self.device_topic(None))

    def resolve_source(self, uri: str) -> Source:
        """The source an event source URI names, for subscribing.

        ``channel:<id or name>``, ``bridge:<id>``, ``endpoint:<tech>/<resource>``,
        ``endpoint:<tech>`` (every endpoint of a technology), ``deviceState:<name>``;
        an empty id means every object of the kind.  Raises :class:`BadScheme`
        or :class:`SourceNotFound`.
        """
        kind, sep, ident = uri.partition(":")
        if not sep or kind not in SCHEMES:
            raise BadScheme(uri)
        if not ident:
            return self.all_source(kind)
        core = self.core
        if kind == "channel":
            chan = core.find_channel(ident)
            if chan is None or chan.destroyed:
                raise SourceNotFound(uri)
            return Source(source_key(kind, chan.id), chan.topic)
        if kind == "bridge":
            bridge = core.bridges.get(ident)
            if bridge is None or bridge.destroyed:
                raise SourceNotFound(uri)
            return Source(source_key(kind, bridge.id), bridge.topic)
        if kind == "endpoint":
            endpoint = core.endpoints.find(ident)
            if endpoint is not None:
                return Source(source_key(kind, endpoint.id), endpoint.topic)
            tech = core.endpoints.techs.get(ident)
            if tech is None:
                raise SourceNotFound(uri)
            return Source(source_key(kind, ident), tech)
        # A device need not exist yet to be followed (as in Asterisk).
        return Source(source_key(kind, ident), self.device_topic(ident))

    def device_topic(self, device: str | None) -> Topic:
        """The topic of a device's states (made as the device-state core makes it)."""
        bus = self.core.bus
        every = bus.topic(device_topic_name(None), "All device states")
        if device is None:
            return every
        topic = bus.get(device_topic_name(device))
        if topic is None:
            topic = bus.topic(device_topic_name(device), device)
            topic.forward_to(every)
        return topic

    def unsubscribe_key(self, app: StasisApp, uri: str) -> str:
        """The key of a subscription to end; raises BadScheme or SourceNotFound."""
        kind, sep, ident = uri.partition(":")
        if not sep or kind not in SCHEMES:
            raise BadScheme(uri)
        key = source_key(kind, ident or None)
        if not app.is_subscribed(key):
            if kind == "deviceState" and app.is_subscribed(source_key(kind, None)):
                return key  # covered by "every device": nothing to end
            raise SourceNotFound(uri)
        return key

    def subscribe_sources(self, app: StasisApp, uris: list[str]) -> None:
        """Subscribe ``app`` to every URI, or to none if one is bad."""
        sources = [self.resolve_source(uri) for uri in uris]
        for source in sources:
            app.subscribe(source.key, source.topic, only=source.only)

    def unsubscribe_sources(self, app: StasisApp, uris: list[str]) -> None:
        """Drop one reference to each URI's subscription, or none if one is bad."""
        keys = [self.unsubscribe_key(app, uri) for uri in uris]
        for key in keys:
            app.unsubscribe(key)
        self.cleanup(app)

    # -- channels ----------------------------------------------------------------

    async def run(self, chan: Channel, name: str, args: list[str], *, dialplan: bool) -> str:
        """Run ``chan`` in application ``name`` until it leaves.

        Returns ``FAILED`` (STASISSTATUS=FAILED) if the application is not
        registered, ``GOTO`` if the application sent the channel to a new
        place in the dialplan, else ``SUCCESS``.  ``dialplan`` is True when the channel entered from
        ``Stasis()`` in the dialplan: its subscription ends with StasisEnd.
        """
        while True:
            app = self.apps.get(name)
            active = app is not None and app.active
            if not active and self.streams.grace > 0:
                app = await self._wait_for(name, chan, self.streams.grace)
                active = app is not None and app.active
            if not active or app is None:
                log.error("Stasis app '%s' not registered", name)
                chan.set_var("STASISSTATUS", "FAILED")
                return "FAILED"
            source = chan.topic.name
            # As Asterisk: STASISSTATUS is reset before the app is subscribed,
            # so an app first sees a dialplan channel at its StasisStart.
            chan.set_var("STASISSTATUS", "")
            app.subscribe(source)
            control = Control(chan, name)
            chan.control = control
            chan.stasis_app = name
            app.channels_in_app.add(chan.id)
            app.send(ev.StasisStart(args=args, channel=chan.snapshot()))
            try:
                await control.run()
            finally:
                if chan.bridge is not None:
                    chan.bridge.remove(chan)
                chan.control = None
                chan.stasis_app = None
                app.channels_in_app.discard(chan.id)
                app.send(ev.StasisEnd(channel=chan.snapshot()))
                if dialplan:
                    app.unsubscribe(source)
                self.cleanup(app)
            move = control.move_to
            if move is None or chan.hungup:
                break
            name, args = move[0], move[1]
            dialplan = True
        chan.set_var("STASISSTATUS", "SUCCESS")
        return "GOTO" if control.goto else "SUCCESS"

    def waiting(self, name: str) -> int:
        """Channels in Stasis() waiting for ``name`` to come back (``stasis_grace``)."""
        return len(self._waiting.get(name, ()))

    async def _wait_for(self, name: str, chan: Channel, grace: float) -> StasisApp | None:
        """Wait up to ``grace`` seconds for a socket to register ``name`` (not if hung up)."""
        if chan.hungup:
            return None
        verbose.info("Stasis app '%s' is away; %s waits up to %gs for it", name, chan.name, grace)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiting.setdefault(name, [])
        waiters.append(waiter)
        hangup = asyncio.ensure_future(chan.wait_hangup())
        try:
            await asyncio.wait((waiter, hangup), timeout=grace, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hangup.cancel()
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    waiters.remove(waiter)
                if not waiters and self._waiting.get(name) is waiters:
                    del self._waiting[name]
        if chan.hungup:
            return None
        return self.apps.get(name)

    def subscribe_channel(self, name: str, chan: Channel) -> None:
        """Subscribe ``name`` to a channel's events (originate with ``app``)."""
        app = self.apps.get(name)
        if app is not None:
            app.subscribe(chan.topic.name)
