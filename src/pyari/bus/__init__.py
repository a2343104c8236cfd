"""The Stasis message bus: named topics and forwarding.

Core objects publish immutable messages on topics; interfaces (ARI, the CLI)
subscribe.  See :mod:`pyari.bus.topic` for delivery rules.
"""

from __future__ import annotations

from pyari.bus.topic import Callback, Forward, Subscription, Topic

__all__ = ["Bus", "Callback", "Forward", "Subscription", "Topic"]


class Bus:
    """The pool of named topics."""

    def __init__(self) -> None:
        self.topics: dict[str, Topic] = {}

    def topic(self, name: str, detail: str = "") -> Topic:
        """The topic called ``name``, created on first use."""
        t = self.topics.get(name)
        if t is None:
            t = self.topics[name] = Topic(name, detail)
        return t

    def get(self, name: str) -> Topic | None:
        return self.topics.get(name)

    def remove(self, name: str) -> None:
        """Forget a topic: its forwards into other topics end."""
        t = self.topics.pop(name, None)
        if t is not None:
            for fwd in list(t.forwards):
                fwd.cancel()
