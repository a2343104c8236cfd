"""Bridges: channels joined so they share media.

The media itself belongs to the media engine; a bridge here is the set of
channels, its type and the events of channels entering and leaving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyari.clock import ari_timestamp
from pyari.core import events as ev
from pyari.core.snapshots import BridgeSnapshot

if TYPE_CHECKING:
    from pyari.bus import Topic
    from pyari.core.channel import Channel
    from pyari.core.engine import Core


class Bridge:
    __slots__ = (
        "_snapshot",
        "bridge_class",
        "bridge_type",
        "channels",
        "core",
        "creationtime",
        "creator",
        "destroyed",
        "features",
        "id",
        "name",
        "topic",
        "video_mode",
        "video_source_id",
    )

    def __init__(
        self,
        core: Core,
        bridge_id: str,
        *,
        bridge_type: str = "mixing",
        features: tuple[str, ...] = (),
        name: str = "",
        bridge_class: str = "stasis",
        creator: str = "Stasis",
    ) -> None:
        self.core = core
        self.id = bridge_id
        self.bridge_type = bridge_type
        self.features = features
        self.name = name
        self.bridge_class = bridge_class
        self.creator = creator
        self.creationtime = ari_timestamp()
        self.video_mode = "talker"
        self.video_source_id: str | None = None
        self.channels: list[Channel] = []
        self.destroyed = False
        self._snapshot: BridgeSnapshot | None = None
        self.topic: Topic = core.bus.topic(f"bridge:{bridge_id}", name or bridge_type)
        self.topic.forward_to(core.all_bridges)

    @property
    def technology(self) -> str:
        if self.bridge_type == "holding":
            return "holding_bridge"
        return "simple_bridge" if len(self.channels) <= 2 else "softmix"

    def snapshot(self) -> BridgeSnapshot:
        snap = self._snapshot
        if snap is None:
            snap = self._snapshot = BridgeSnapshot(
                id=self.id,
                technology=self.technology,
                bridge_type=self.bridge_type,
                bridge_class=self.bridge_class,
                creator=self.creator,
                name=self.name,
                channels=[c.id for c in self.channels],
                creationtime=self.creationtime,
                video_mode=self.video_mode,
                video_source_id=self.video_source_id
                if self.video_source_id is not None
                else ev.UNSET,
            )
        return snap

    def changed(self) -> None:
        self._snapshot = None

    def add(self, chan: Channel) -> None:
        """Put ``chan`` in this bridge, taking it out of any other first."""
        if chan.bridge is self:
            return
        if chan.bridge is not None:
            chan.bridge.remove(chan)
        self.channels.append(chan)
        chan.bridge = self
        self.changed()
        chan.changed()
        event = ev.ChannelEnteredBridge(bridge=self.snapshot(), channel=chan.snapshot())
        self.topic.publish(event)

    def remove(self, chan: Channel) -> bool:
        if chan.bridge is not self:
            return False
        self.channels.remove(chan)
        chan.bridge = None
        self.changed()
        chan.changed()
        self.topic.publish(ev.ChannelLeftBridge(bridge=self.snapshot(), channel=chan.snapshot()))
        return True

    def destroy(self) -> None:
        if self.destroyed:
            return
        for chan in list(self.channels):
            self.remove(chan)
        self.destroyed = True
        self.core.bridges.pop(self.id, None)
        self.topic.publish(ev.BridgeDestroyed(bridge=self.snapshot()))
        self.core.bus.remove(self.topic.name)
