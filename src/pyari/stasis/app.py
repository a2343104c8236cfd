"""A Stasis application: a named receiver of events, fed by its topic."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyari.core import events as ev

if TYPE_CHECKING:
    from pyari.bus import Bus, Forward, Subscription, Topic

Handler = Callable[[ev.Event], None]


class StasisApp:
    """One application (``Stasis(hello)`` ⇒ app ``hello``)."""

    def __init__(self, bus: Bus, name: str) -> None:
        self.name = name
        self.bus = bus
        self.topic: Topic = bus.topic(f"ari:application/{name}", f"Stasis app {name}")
        self.handler: Handler | None = None
        self._sub: Subscription = self.topic.subscribe(self._on_message)
        self.sources: dict[str, tuple[Forward, int]] = {}
        """Event source (``channel:<id>``, ``bridge:<id>`` ...) → (forward, refcount)."""
        self.subscribe_all = False
        self.events_allowed: list[dict[str, str]] = []
        self.events_disallowed: list[dict[str, str]] = []
        self.channels_in_app: set[str] = set()

    @property
    def active(self) -> bool:
        return self.handler is not None

    def _on_message(self, _topic: Topic, message: object) -> None:
        handler = self.handler
        if handler is None or not isinstance(message, ev.Event):
            return
        if (self.events_allowed or self.events_disallowed) and not self._allowed(message):
            return
        handler(message)

    def _allowed(self, message: ev.Event) -> bool:
        etype = type(message).__struct_config__.tag
        if any(f.get("type") == etype for f in self.events_disallowed):
            return False
        if self.events_allowed:
            return any(f.get("type") == etype for f in self.events_allowed)
        return True

    def send(self, event: ev.Event) -> None:
        """An event for this application alone (StasisStart, StasisEnd ...)."""
        self.topic.publish(event)

    # -- subscriptions to event sources --------------------------------------

    def subscribe(self, source: str) -> None:
        entry = self.sources.get(source)
        if entry is not None:
            self.sources[source] = (entry[0], entry[1] + 1)
            return
        topic = self.bus.get(source)
        if topic is None:
            return
        self.sources[source] = (topic.forward_to(self.topic), 1)

    def unsubscribe(self, source: str, *, all_refs: bool = False) -> bool:
        entry = self.sources.get(source)
        if entry is None:
            return False
        fwd, count = entry
        if count > 1 and not all_refs:
            self.sources[source] = (fwd, count - 1)
            return True
        del self.sources[source]
        fwd.cancel()
        return True

    def forget_dead_sources(self) -> None:
        for source, (fwd, _) in list(self.sources.items()):
            if self.bus.get(source) is None:
                fwd.cancel()
                del self.sources[source]

    def ids(self, kind: str) -> list[str]:
        prefix = f"{kind}:"
        return [
            s[len(prefix) :]
            for s, (fwd, _) in self.sources.items()
            if s.startswith(prefix) and fwd.active
        ]

    @property
    def idle(self) -> bool:
        """Nothing keeps the application alive."""
        self.forget_dead_sources()
        return not self.active and not self.channels_in_app and not self.sources
