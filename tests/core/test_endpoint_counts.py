"""An endpoint's state messages: made and delivered when someone follows the endpoint
(at any depth: its topic, its technology's, ``endpoint:all``), only counted otherwise;
every topic's count is the same either way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pytest

from pyari.bus import Bus, Topic
from pyari.core import events as ev
from pyari.core.endpoint import Endpoints

if TYPE_CHECKING:
    from pyari.core.channel import Channel


@dataclass
class Chan:
    """What an endpoint reads of a channel."""

    id: str
    topic: Topic


def counts(bus: Bus, *names: str) -> tuple[int, ...]:
    return tuple(bus.topic(name).messages for name in names)


def life_of_an_endpoint(bus: Bus, endpoints: Endpoints) -> None:
    """Created, a call comes and goes, offline: four state changes."""
    endpoint = endpoints.create("PJSIP", "alice")
    chan = cast("Channel", Chan("c1", bus.topic("channel:c1")))
    endpoint.add_channel(chan)
    endpoint.remove_channel(chan)
    endpoint.set_state("offline")


TOPICS = ("endpoint:PJSIP/alice", "endpoint:PJSIP", "endpoint:all")


def test_nobody_following_counts_as_delivering() -> None:
    bus = Bus()
    life_of_an_endpoint(bus, Endpoints(bus))
    assert counts(bus, *TOPICS) == (4, 4, 4)


@pytest.mark.parametrize("name", TOPICS)
def test_a_follower_at_any_depth_gets_every_change_and_the_counts_are_the_same(
    name: str,
) -> None:
    bus = Bus()
    endpoints = Endpoints(bus)
    seen: list[Any] = []
    bus.topic(name).subscribe(lambda _topic, message: seen.append(message))
    life_of_an_endpoint(bus, endpoints)
    assert counts(bus, *TOPICS) == (4, 4, 4)
    assert [type(m) for m in seen] == [ev.EndpointStateChange] * 4
    assert [(m.endpoint.state, m.endpoint.channel_ids) for m in seen] == [
        ("unknown", []),
        ("unknown", ["c1"]),
        ("unknown", []),
        ("offline", []),
    ]
