"""A Stasis application: a named receiver of events, fed by its topic.

The application's topic ``ari:application/<name>`` has one subscriber, the
application.  Following an event source (a channel, a bridge, an endpoint, a
device) is a forward from that source's topic into the application's topic,
counted: each ``subscribe`` needs an ``unsubscribe`` (Asterisk's
``interested`` count).  Following *every* object of a kind is recorded under
Asterisk's marker ids (``__AST_CHANNEL_ALL_TOPIC`` ...), which is how such
subscriptions appear in the Application model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pyari.core import events as ev
from pyari.core.endpoint import MessageReceived
from pyari.core.engine import shrink
from pyari.stasis.eventlog import EventLog, MemoryEventLog
from pyari.stasis.textmessages import text_message_received

if TYPE_CHECKING:
    from pyari.bus import Bus, Subscription, Topic

Handler = Callable[[ev.Event], None]
Encode = Callable[[ev.Event], bytes]
"""An event's JSON for the application (compact; set by the socket that holds it)."""

ALL_IDS = {
    "channel": "__AST_CHANNEL_ALL_TOPIC",
    "bridge": "__AST_BRIDGE_ALL_TOPIC",
    "endpoint": "__AST_ENDPOINT_ALL_TOPIC",
    "deviceState": "__AST_DEVICE_STATE_ALL_TOPIC",
}
"""The id under which a subscription to every object of a kind is listed."""


class Link(Protocol):
    """What brings a source's messages to the app: a bus forward or a filter."""

    @property
    def active(self) -> bool: ...

    def cancel(self) -> None: ...


class FilteredLink:
    """Re-publishes only some message types of a topic into the app's topic.

    Used for "every endpoint": endpoint topics also carry their channels'
    messages, which an app following all endpoints must not get twice.
    """

    __slots__ = ("_sub",)

    def __init__(self, source: Topic, target: Topic, types: tuple[type[Any], ...]) -> None:
        def relay(_topic: Topic, message: object) -> None:
            target.publish(message)

        # The topic picks the types: the channels' messages cost no call here.
        self._sub: Subscription = source.subscribe(relay, only=types)

    @property
    def active(self) -> bool:
        return self._sub.active

    def cancel(self) -> None:
        self._sub.unsubscribe()


class Injected(ev.Event, tag="Injected", kw_only=True, frozen=True):
    """Stands for an event :meth:`StasisApp.inject` hands to the handler: the event
    itself is :attr:`StasisApp.current` (JSON made elsewhere), never this object."""

    etype: str
    """The type of the event it stands for."""


def source_key(kind: str, ident: str | None) -> str:
    """The key of a subscription: ``channel:<id>``, ``channel:__AST_CHANNEL_ALL_TOPIC`` ..."""
    return f"{kind}:{ALL_IDS[kind] if ident is None else ident}"


class StasisApp:
    """One application (``Stasis(hello)`` ⇒ app ``hello``)."""

    def __init__(self, bus: Bus, name: str, log: EventLog | None = None) -> None:
        self.name = name
        self.bus = bus
        self.topic: Topic = bus.topic(f"ari:application/{name}", f"Stasis app {name}")
        self.handler: Handler | None = None
        self.held_read_only = False
        """The socket behind ``handler`` speaks for a read-only ARI user."""
        self._sub: Subscription = self.topic.subscribe(self._on_message)
        self._last: object = None
        self.sources: dict[str, tuple[Link, int]] = {}
        """Event source (``channel:<id>``, ``bridge:<id>`` ...) → (link, refcount)."""
        self.subscribe_all = False
        self.events_allowed: list[dict[str, Any]] = []
        self.events_disallowed: list[dict[str, Any]] = []
        self.channels_in_app: set[str] = set()
        self.log: EventLog = log if log is not None else MemoryEventLog(0, 0)
        """The application's events with their sequences (docs/event-streams.md)."""
        self.encode: Encode | None = None
        """How events are logged; set by the first socket, kept while the app is away."""
        self.current: tuple[object, int, bytes] = (None, 0, b"")
        """The event being handed to ``handler``, its sequence and its logged JSON."""
        self.held = False
        """A socket has held the application (a new one may resume after the last)."""
        self.written = 0
        """The last sequence written to the socket that held the application last."""
        self.acked = 0
        """The last sequence that socket acknowledged (``EventAck``), if ``ack_used``."""
        self.ack_used = False
        self.kept = False
        """Away (no socket) and kept for the retention time instead of being destroyed."""
        self.away_since = 0.0
        """When its last socket left (the registry's clock)."""
        self.remote_away = False
        """``handler`` forwards to the node that holds the app (a cluster), whose
        socket is away: events still go there, but it is not active (channels
        entering Stasis() wait as for an away app)."""

    @property
    def active(self) -> bool:
        return self.handler is not None and not self.remote_away

    def _on_message(self, _topic: Topic, message: object) -> None:
        # One message can reach the app by two paths (a channel it follows
        # and the endpoint of that channel); the bus delivers both copies
        # back to back, so the second is the same object as the last one.
        if message is self._last:
            return
        self._last = message
        if not isinstance(message, ev.Event):
            if not isinstance(message, MessageReceived):
                return
            message = text_message_received(message)
        handler = self.handler
        encode = self.encode
        if handler is None and encode is None:
            return
        if (self.events_allowed or self.events_disallowed) and not self.allowed(message):
            return
        if encode is not None:
            if handler is None and not self.kept:
                # Not kept (retention off): only counted, so a gap is still seen.
                self.log.append(b"")
                return
            data = encode(message)
            self.current = (message, self.log.append(data), data)
        if handler is not None:
            handler(message)

    def inject(self, data: bytes, etype: str) -> None:
        """An event already encoded elsewhere (another node of a cluster): logged and
        handed to the socket as :meth:`_on_message` does once it has the JSON.

        ``handler`` is called with a marker object: the socket takes the event from
        :attr:`current` (its JSON and sequence)."""
        if (self.events_allowed or self.events_disallowed) and not self.allowed_type(etype):
            return
        handler = self.handler
        if handler is None and not self.kept:
            self.log.append(b"")  # only counted, as _on_message does
            return
        marker = Injected(etype=etype, timestamp="")
        self._last = marker
        self.current = (marker, self.log.append(data), data)
        if handler is not None:
            handler(marker)

    @property
    def resume_point(self) -> int:
        """Where a new socket resumes by default: after the last acked, else written."""
        return self.acked if self.ack_used else self.written

    def allowed(self, message: ev.Event) -> bool:
        """The event filter: disallowed beats allowed; no allowed list lets all in."""
        tag = type(message).__struct_config__.tag
        return self.allowed_type(tag if isinstance(tag, str) else "")

    def allowed_type(self, etype: str) -> bool:
        """:meth:`allowed` for an event type's name."""
        if any(f.get("type") == etype for f in self.events_disallowed):
            return False
        if self.events_allowed:
            return any(f.get("type") == etype for f in self.events_allowed)
        return True

    def send(self, event: ev.Event) -> None:
        """An event for this application alone (StasisStart, StasisEnd ...)."""
        self.topic.publish(event)

    # -- subscriptions to event sources --------------------------------------

    def follows_all(self, kind: str) -> bool:
        return source_key(kind, None) in self.sources

    def subscribe(
        self,
        source: str,
        topic: Topic | None = None,
        *,
        only: tuple[type[Any], ...] | None = None,
    ) -> None:
        """Follow ``source`` (one more reference if already followed).

        ``topic`` is the topic to follow (default: the bus topic named
        ``source``; nothing happens if there is none).  ``only`` restricts the
        message types taken from it.  A single object of a kind the app
        already follows entirely is not followed twice (as in Asterisk).
        """
        kind, _, ident = source.partition(":")
        if kind in ALL_IDS and ident != ALL_IDS[kind] and self.follows_all(kind):
            return
        entry = self.sources.get(source)
        if entry is not None and entry[0].active:
            self.sources[source] = (entry[0], entry[1] + 1)
            return
        if topic is None:
            topic = self.bus.get(source)
            if topic is None:
                return
        link: Link = (
            FilteredLink(topic, self.topic, only)
            if only is not None
            else topic.forward_to(self.topic)
        )
        self.sources[source] = (link, 1)

    def unsubscribe(self, source: str, *, all_refs: bool = False) -> bool:
        entry = self.sources.get(source)
        if entry is None:
            return False
        link, count = entry
        if count > 1 and not all_refs and link.active:
            self.sources[source] = (link, count - 1)
            return True
        del self.sources[source]
        link.cancel()
        return True

    def is_subscribed(self, source: str) -> bool:
        entry = self.sources.get(source)
        return entry is not None and entry[0].active

    def forget_dead_sources(self) -> None:
        """Drop subscriptions whose object went away (its topic was removed)."""
        for source, (link, _) in list(self.sources.items()):
            if not link.active:
                del self.sources[source]

    def release(self) -> None:
        """Once a peak of channels is gone: keep nothing of them.

        The subscription of the last channel to leave outlives it until the next
        cleanup, the last message is kept to spot its second copy, and emptied
        dicts and sets keep the tables the peak grew.
        """
        self.forget_dead_sources()
        self._last = None
        self.current = (None, 0, b"")
        shrink(self.sources)
        shrink(self.channels_in_app)

    def subscription_ids(self, kind: str) -> list[str]:
        """Ids followed, as the Application model lists them (markers included)."""
        prefix = f"{kind}:"
        return [
            s[len(prefix) :]
            for s, (link, _) in self.sources.items()
            if s.startswith(prefix) and link.active
        ]

    def ids(self, kind: str) -> list[str]:
        """Ids of the single objects followed (no every-object markers)."""
        marker = ALL_IDS.get(kind)
        return [i for i in self.subscription_ids(kind) if i != marker]

    @property
    def idle(self) -> bool:
        """Nothing keeps the application alive."""
        self.forget_dead_sources()
        return (
            self.handler is None and not self.kept and not self.channels_in_app and not self.sources
        )
