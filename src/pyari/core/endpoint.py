"""Endpoints: the things channels are made to or come from (``Sim/alice``).

An endpoint has a state (online, offline, unknown) and the ids of its live
channels.  Every change publishes an EndpointStateChange on the endpoint's
topic ``endpoint:<tech>/<resource>``, which forwards into the technology's
topic ``endpoint:<tech>`` and from there into ``endpoint:all``.  The topics
of an endpoint's channels forward into the endpoint's topic, so whoever
follows an endpoint sees its calls too (as in Asterisk).

Out-of-call messaging and REFER are routed by the scheme of the destination
URI (``sim:alice``) to the technology that registered it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyari.core import events as ev
from pyari.core.snapshots import EndpointSnapshot
from pyari.wallclock import ari_timestamp

if TYPE_CHECKING:
    from pyari.bus import Bus, Forward, Topic
    from pyari.core.channel import Channel

STATES = ("unknown", "offline", "online")

ALL_TOPIC = "endpoint:all"


@dataclass(frozen=True, slots=True)
class TextMessage:
    """An out-of-call message (its ARI shape is ``stasis/textmessages.py``'s)."""

    to: str
    sender: str
    body: str = ""
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """Published on an endpoint's topic: a message from the endpoint arrived.

    Stasis hands it to the applications following the endpoint as
    TextMessageReceived (``stasis/textmessages.py``).
    """

    message: TextMessage
    endpoint: EndpointSnapshot
    timestamp: str = field(default_factory=ari_timestamp)


@dataclass(frozen=True, slots=True)
class Refer:
    """An out-of-call REFER: ask ``to`` to contact ``refer_to``."""

    to: str
    sender: str
    refer_to: str
    to_self: bool = False
    variables: dict[str, str] = field(default_factory=dict)


MessageSender = Callable[[TextMessage], bool]
"""A technology's message sender: False when the destination is unknown."""
ReferSender = Callable[[Refer], bool]


class Endpoint:
    """One endpoint of a technology."""

    __slots__ = (
        "_forwards",
        "_snapshot",
        "channel_ids",
        "registry",
        "resource",
        "state",
        "technology",
        "topic",
    )

    def __init__(self, registry: Endpoints, technology: str, resource: str, state: str) -> None:
        self.registry = registry
        self.technology = technology
        self.resource = resource
        self.state = state
        self.channel_ids: list[str] = []
        self._forwards: dict[str, Forward] = {}
        self._snapshot: EndpointSnapshot | None = None
        self.topic: Topic = registry.bus.topic(f"endpoint:{self.id}", self.id)
        self.topic.forward_to(registry.tech_topic(technology))

    @property
    def id(self) -> str:
        return f"{self.technology}/{self.resource}"

    def __repr__(self) -> str:
        return f"<Endpoint {self.id} {self.state}>"

    def snapshot(self) -> EndpointSnapshot:
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = EndpointSnapshot(
                technology=self.technology,
                resource=self.resource,
                state=self.state,
                channel_ids=list(self.channel_ids),
            )
        return snap

    def _changed(self) -> None:
        self._snapshot = None
        topic = self.topic
        if not topic.counted_unheard():  # (nobody follows the endpoint: no event made)
            topic.publish(ev.EndpointStateChange(endpoint=self.snapshot()))

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"bad endpoint state {state!r}")
        if state != self.state:
            self.state = state
            self._changed()

    def add_channel(self, chan: Channel) -> None:
        """``chan`` belongs to this endpoint: its events flow to the endpoint's topic."""
        if chan.id in self.channel_ids:
            return
        self._forwards[chan.id] = chan.topic.forward_to(self.topic)
        self.channel_ids.append(chan.id)
        self._changed()

    def remove_channel(self, chan: Channel) -> None:
        if chan.id not in self.channel_ids:
            return
        self.channel_ids.remove(chan.id)
        fwd = self._forwards.pop(chan.id, None)
        if fwd is not None:
            fwd.cancel()
        self._changed()

    def text_message_received(self, message: TextMessage) -> None:
        """A message from this endpoint, for the applications that follow it."""
        self.topic.publish(MessageReceived(message, self.snapshot()))


class Endpoints:
    """Every endpoint of one core, and the per-technology topics."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.all: Topic = bus.topic(ALL_TOPIC, "All endpoints")
        self.techs: dict[str, Topic] = {}
        """Technology endpoints (``endpoint:Sim``), made with their first endpoint."""
        self.by_id: dict[str, Endpoint] = {}
        self.message_techs: dict[str, MessageSender] = {}
        self.refer_techs: dict[str, ReferSender] = {}

    def tech_topic(self, technology: str) -> Topic:
        topic = self.techs.get(technology)
        if topic is None:
            topic = self.techs[technology] = self.bus.topic(
                f"endpoint:{technology}", f"{technology} endpoints"
            )
            topic.forward_to(self.all)
        return topic

    def create(self, technology: str, resource: str, state: str = "unknown") -> Endpoint:
        """The endpoint ``technology/resource``, created (and announced) if new."""
        key = f"{technology}/{resource}"
        endpoint = self.by_id.get(key)
        if endpoint is None:
            endpoint = self.by_id[key] = Endpoint(self, technology, resource, state)
            endpoint._changed()
        return endpoint

    def remove(self, endpoint: Endpoint) -> None:
        if self.by_id.get(endpoint.id) is endpoint:
            del self.by_id[endpoint.id]
            self.bus.remove(endpoint.topic.name)

    def find(self, endpoint_id: str) -> Endpoint | None:
        """By exact id ``Tech/resource``."""
        return self.by_id.get(endpoint_id)

    def latest(self, technology: str, resource: str) -> Endpoint | None:
        """By technology (any case) and resource, as ARI's lookups do."""
        found = self.by_id.get(f"{technology}/{resource}")
        if found is not None:
            return found
        wanted = technology.upper()
        for endpoint in self.by_id.values():
            if endpoint.technology.upper() == wanted and endpoint.resource == resource:
                return endpoint
        return None

    def of_tech(self, technology: str) -> list[Endpoint]:
        wanted = technology.lower()
        return [e for e in self.by_id.values() if e.technology.lower() == wanted]

    # -- out-of-call messaging ------------------------------------------------------

    def register_message_tech(self, scheme: str, sender: MessageSender) -> None:
        self.message_techs[scheme.lower()] = sender

    def register_refer_tech(self, scheme: str, sender: ReferSender) -> None:
        self.refer_techs[scheme.lower()] = sender

    def send_message(self, message: TextMessage) -> bool:
        """Route by the scheme of ``to``; False if nobody can deliver it."""
        sender = self.message_techs.get(message.to.partition(":")[0].lower())
        return sender is not None and sender(message)

    def send_refer(self, refer: Refer) -> bool:
        sender = self.refer_techs.get(refer.to.partition(":")[0].lower())
        return sender is not None and sender(refer)
