"""Topics of the Stasis message bus.

A :class:`Topic` delivers every published message to its subscribers and to
the topics it forwards to, synchronously and in subscription order, so the
order of delivery on a topic is the order of publication.  Subscribers must
not block: they queue work, they never wait for it.

Publishing from inside a delivery (a subscriber reacting by publishing) is
queued and delivered after the current message, so every subscriber of a
topic sees its messages in one global order.

A topic's lists of subscribers and forwards are replaced, never changed in place:
a delivery goes through the lists as they were when it reached them (a subscriber
that subscribes or unsubscribes meanwhile changes the next delivery), without a
copy per message.

Many topics have nobody listening at their end (a channel's messages go on to its
endpoint's topic, which forwards to its technology's and to ``endpoint:all``, with
no subscriber on any of them unless an application follows endpoints). A topic
knows whether anything below it listens (:attr:`Topic.live`); a message forwarded
into a topic that is not live is only counted, in every topic it would have passed
(:attr:`Topic.tally`), not delivered through them one by one. Both are kept up to
date when subscriptions and forwards change (upstream, along the topics' sources).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from pyari.wallclock import monotonic

log = logging.getLogger(__name__)

Callback = Callable[["Topic", Any], None]


class Subscription:
    """A subscriber's handle on a topic; ``unsubscribe()`` ends it."""

    __slots__ = ("active", "callback", "number", "only", "topic")

    def __init__(
        self,
        topic: Topic,
        callback: Callback,
        number: int = 0,
        only: tuple[type[Any], ...] | None = None,
    ) -> None:
        self.topic = topic
        self.callback = callback
        self.active = True
        self.number = number
        """The topic's count of subscriptions when this one was made."""
        self.only = only
        """The message types the subscriber takes (None: every message)."""

    @property
    def uniqueid(self) -> str:
        """``<topic name>-<number>``, as ``stasis show topic`` lists a subscriber."""
        return f"{self.topic.name}-{self.number}"

    def unsubscribe(self) -> None:
        if self.active:
            self.active = False
            self.topic._remove(self)


class Forward:
    """A forwarding of every message of one topic into another."""

    __slots__ = ("active", "source", "target")

    def __init__(self, source: Topic, target: Topic) -> None:
        self.source = source
        self.target = target
        self.active = True

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.source._remove_forward(self)
            self.target.sources.pop(self, None)


_pending: deque[tuple[Topic, Any]] = deque()
_delivering = False


class Topic:
    """A named stream of messages."""

    __slots__ = (
        "__weakref__",
        "_tally",
        "created",
        "detail",
        "forwards",
        "live",
        "messages",
        "name",
        "sources",
        "subscribed",
        "subscribers",
    )

    def __init__(self, name: str, detail: str = "") -> None:
        self.name = name
        self.detail = detail
        self.subscribers: list[Subscription] = []
        self.forwards: list[Forward] = []
        self.sources: dict[Forward, None] = {}
        """The forwardings of other topics into this one, in the order made (a dict: one
        goes in O(1) when its channel ends, however many forward into ``channel:all``)."""
        self.subscribed = 0
        """Subscriptions made so far (numbers their unique ids)."""
        self.messages = 0
        self.created = monotonic()
        self.live = False
        """A subscriber listens here or in a topic this one forwards to (at any depth)."""
        self._tally: tuple[Topic, ...] | None = None
        """Cache of :attr:`tally` (None: to be made); only made while not live."""

    def __repr__(self) -> str:
        return f"<Topic {self.name} subs={len(self.subscribers)}>"

    @property
    def upstream(self) -> int:
        """How many topics forward into this one."""
        return len(self.sources)

    @property
    def tally(self) -> tuple[Topic, ...]:
        """This topic and every topic it forwards to, at any depth (once per path):
        what counts a message that reaches this topic while it is not live."""
        tally = self._tally
        if tally is None:
            tally = (self,)
            for fwd in self.forwards:
                tally += fwd.target.tally
            self._tally = tally
        return tally

    def _changed(self) -> None:
        """This topic's subscribers or forwards changed: update :attr:`live` and
        forget :attr:`tally` here and in every topic that forwards here."""
        was_live, had_tally = self.live, self._tally is not None
        live = bool(self.subscribers)
        if not live:
            for fwd in self.forwards:
                if fwd.target.live:
                    live = True
                    break
        self.live = live
        self._tally = None
        # A tally above includes this one's, and liveness goes up: only a change
        # there can change anything upstream.
        if self.live != was_live or had_tally:
            for fwd in self.sources:
                fwd.source._changed()

    def subscribe(
        self, callback: Callback, *, only: tuple[type[Any], ...] | None = None
    ) -> Subscription:
        """Call ``callback`` with every message (of the types ``only``, if given)."""
        sub = Subscription(self, callback, self.subscribed, only)
        self.subscribed += 1
        self.subscribers = [*self.subscribers, sub]
        if not self.live:  # (a live topic has no tally and stays live)
            self._changed()
        return sub

    def forward_to(self, target: Topic) -> Forward:
        fwd = Forward(self, target)
        self.forwards = [*self.forwards, fwd]
        target.sources[fwd] = None
        if not self.live:
            self._changed()
        return fwd

    def publish(self, message: Any) -> None:
        """Deliver ``message`` to every subscriber and forwarded topic."""
        global _delivering
        if _delivering:
            _pending.append((self, message))
            return
        _delivering = True
        try:
            self._deliver(message)
            while _pending:
                topic, msg = _pending.popleft()
                topic._deliver(msg)
        finally:
            _delivering = False
            if _pending:  # a delivery failed: what it queued is dropped
                _pending.clear()

    def counted_unheard(self) -> bool:
        """Count a message that nobody would hear, without making it: True when nothing
        listens here at any depth (the message is counted in every topic of
        :attr:`tally`, as :meth:`publish` would count it); False when it has to be
        published (something listens, or a delivery is under way: the message would wait
        for its turn, and a listener may come meanwhile)."""
        if self.live or _delivering:
            return False
        for topic in self._tally or self.tally:
            topic.messages += 1
        return True

    def _deliver(self, message: Any) -> None:
        self.messages += 1
        for sub in self.subscribers:
            if sub.active:
                only = sub.only
                if only is not None and not isinstance(message, only):
                    continue
                try:
                    sub.callback(self, message)
                except Exception:
                    log.exception("subscriber of topic %s failed", self.name)
        for fwd in self.forwards:
            if fwd.active:
                target = fwd.target
                if target.live:
                    target._deliver(message)
                else:  # nobody listens there: only counted
                    for topic in target._tally or target.tally:
                        topic.messages += 1

    def _remove(self, sub: Subscription) -> None:
        subscribers = self.subscribers
        if sub in subscribers:
            i = subscribers.index(sub)
            self.subscribers = subscribers[:i] + subscribers[i + 1 :]
            self._changed()

    def _remove_forward(self, fwd: Forward) -> None:
        forwards = self.forwards
        if fwd in forwards:
            i = forwards.index(fwd)
            self.forwards = forwards[:i] + forwards[i + 1 :]
            self._changed()
