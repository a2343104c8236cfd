"""Core bridges: membership, events, snapshots and destruction."""

from __future__ import annotations

from typing import Any

import msgspec

from core.core_helpers import NullTech
from pyari.bus import Topic
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core


def setup() -> tuple[Core, list[Any], list[Channel]]:
    core = Core()
    tech = NullTech()
    events: list[Any] = []

    def on(topic: Topic, msg: Any) -> None:
        events.append(msg)

    core.all_bridges.subscribe(on)
    chans = []
    for n in ("a", "b", "c"):
        chan = Channel(core, tech, f"Null/{n}", uniqueid=core.new_uniqueid())
        core.channel_added(chan)
        chans.append(chan)
    return core, events, chans


async def test_new_bridge_defaults_and_created_event() -> None:
    core, events, _ = setup()
    bridge = core.new_bridge("b1")
    assert core.bridges["b1"] is bridge
    assert [type(e).__name__ for e in events] == ["BridgeCreated"]
    snap = events[0].bridge
    assert (snap.id, snap.bridge_type, snap.bridge_class, snap.creator) == (
        "b1",
        "mixing",
        "stasis",
        "Stasis",
    )
    assert snap.video_mode == "talker"
    assert snap.technology == "simple_bridge"
    assert snap.channels == []
    data = msgspec.json.decode(msgspec.json.encode(snap))
    assert "video_source_id" not in data
    assert core.new_bridge().id != core.new_bridge().id  # uuids when no id given


async def test_holding_bridge_technology() -> None:
    core, _, _ = setup()
    assert core.new_bridge("h", bridge_type="holding").technology == "holding_bridge"


async def test_add_and_remove_channels() -> None:
    core, events, (a, b, c) = setup()
    bridge = core.new_bridge("b1")
    bridge.add(a)
    bridge.add(a)  # already there: nothing happens
    bridge.add(b)
    assert bridge.snapshot().channels == [a.id, b.id]
    assert bridge.technology == "simple_bridge"
    bridge.add(c)
    assert bridge.technology == "softmix"
    assert a.bridge is bridge
    entered = [e for e in events if isinstance(e, ev.ChannelEnteredBridge)]
    assert [getattr(e.channel, "id", None) for e in entered] == [a.id, b.id, c.id]
    assert entered[0].bridge.channels == [a.id]
    assert bridge.remove(b) is True
    assert bridge.remove(b) is False
    assert b.bridge is None
    left = [e for e in events if isinstance(e, ev.ChannelLeftBridge)]
    assert [e.channel.id for e in left] == [b.id]
    assert left[0].bridge.channels == [a.id, c.id]


async def test_adding_to_another_bridge_moves_the_channel() -> None:
    core, events, (a, _, _) = setup()
    one, two = core.new_bridge("one"), core.new_bridge("two")
    one.add(a)
    two.add(a)
    assert a.bridge is two
    assert one.snapshot().channels == []
    assert two.snapshot().channels == [a.id]
    names = [(type(e).__name__, e.bridge.id) for e in events if not isinstance(e, ev.BridgeCreated)]
    assert names == [
        ("ChannelEnteredBridge", "one"),
        ("ChannelLeftBridge", "one"),
        ("ChannelEnteredBridge", "two"),
    ]


async def test_destroyed_channel_leaves_its_bridge() -> None:
    core, events, (a, b, _) = setup()
    bridge = core.new_bridge("b1")
    bridge.add(a)
    bridge.add(b)
    a.destroy()
    assert bridge.snapshot().channels == [b.id]
    assert isinstance(events[-1], ev.ChannelLeftBridge)
    assert events[-1].channel.id == a.id


async def test_destroy_bridge_empties_it_and_drops_the_topic() -> None:
    core, events, (a, _, _) = setup()
    bridge = core.new_bridge("b1")
    bridge.add(a)
    bridge.destroy()
    bridge.destroy()
    assert a.bridge is None
    assert "b1" not in core.bridges
    assert core.bus.get("bridge:b1") is None
    assert [type(e).__name__ for e in events][-2:] == ["ChannelLeftBridge", "BridgeDestroyed"]
    assert events[-1].bridge.channels == []
    assert sum(isinstance(e, ev.BridgeDestroyed) for e in events) == 1
