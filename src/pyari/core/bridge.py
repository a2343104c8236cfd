"""Bridges: channels joined so they share media.

The media itself belongs to the media engine (``core.media``, told of every
member that enters or leaves); a bridge here is the set of channels, its type
and the events of channels entering and leaving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyari.core import events as ev
from pyari.core.snapshots import BridgeSnapshot
from pyari.wallclock import ari_timestamp

if TYPE_CHECKING:
    from pyari.bus import Topic
    from pyari.core.channel import Channel
    from pyari.core.engine import Core


@dataclass(slots=True)
class Membership:
    """How one channel takes part in a bridge (ARI addChannel options)."""

    role: str = ""
    absorb_dtmf: bool = False
    """The channel's DTMF does not reach the other members."""
    mute: bool = False
    """The channel's audio does not reach the other members."""
    inhibit_connected_line_updates: bool = False


VIDEO_MODES = {"video_sfu": "sfu", "video_single": "single"}


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
        "members",
        "name",
        "topic",
        "variables",
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
        for feature in features:
            self.video_mode = VIDEO_MODES.get(feature, self.video_mode)
        self.video_source_id: str | None = None
        self.channels: list[Channel] = []
        self.members: dict[str, Membership] = {}
        """Options of each member, by channel id."""
        self.variables: dict[str, str] = {}
        self.destroyed = False
        self._snapshot: BridgeSnapshot | None = None
        self.topic: Topic = core.bus.topic(f"bridge:{bridge_id}", name or bridge_type)
        self.topic.forward_to(core.all_bridges)

    @property
    def technology(self) -> str:
        if self.bridge_type == "holding":
            return "holding_bridge"
        if self.video_mode == "sfu":
            return "softmix"
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

    def add(self, chan: Channel, membership: Membership | None = None) -> None:
        """Put ``chan`` in this bridge, taking it out of any other first."""
        media = self.core.media
        if chan.bridge is self:
            if membership is not None:
                self.members[chan.id] = membership
                if media is not None:
                    media.bridge_joined(self, chan)
            return
        if chan.bridge is not None:
            chan.bridge.remove(chan)
        self.members[chan.id] = membership or Membership()
        self.channels.append(chan)
        chan.bridge = self
        self.changed()
        chan.changed()
        if media is not None:
            media.bridge_joined(self, chan)
        event = ev.ChannelEnteredBridge(bridge=self.snapshot(), channel=chan.snapshot())
        self.topic.publish(event)

    def remove(self, chan: Channel) -> bool:
        if chan.bridge is not self:
            return False
        self.channels.remove(chan)
        self.members.pop(chan.id, None)
        if self.video_source_id == chan.id:
            self.video_source_id = None
        chan.bridge = None
        self.changed()
        chan.changed()
        media = self.core.media
        if media is not None:
            media.bridge_left(self, chan)
        self.topic.publish(ev.ChannelLeftBridge(bridge=self.snapshot(), channel=chan.snapshot()))
        return True

    # -- video source and variables ---------------------------------------------

    def set_video_source(self, chan: Channel) -> None:
        """Single-source video from ``chan`` (BridgeVideoSourceChanged if it changed)."""
        old = self.video_source_id
        self.video_mode = "single"
        self.video_source_id = chan.id
        self.changed()
        if old != chan.id:
            self.topic.publish(
                ev.BridgeVideoSourceChanged(
                    bridge=self.snapshot(),
                    old_video_source_id=old if old is not None else ev.UNSET,
                )
            )

    def clear_video_source(self) -> None:
        """Back to talker-chosen video; no event, as Asterisk."""
        self.video_mode = "talker"
        self.video_source_id = None
        self.changed()

    def set_var(self, name: str, value: str) -> None:
        """Set (or, with an empty value, remove) a bridge variable."""
        if value:
            self.variables[name] = value
        else:
            self.variables.pop(name, None)

    def dtmf_from(self, chan: Channel, digit: str, duration_ms: int) -> None:
        """``chan`` sent a digit into the bridge: the other members get it."""
        media = self.core.media
        if media is not None:
            media.on_bridge_dtmf(self, digit)
        membership = self.members.get(chan.id)
        if membership is not None and membership.absorb_dtmf:
            return
        for other in list(self.channels):
            if other is not chan and not other.destroyed:
                other.send_digit(digit, duration_ms)

    def destroy(self) -> None:
        if self.destroyed:
            return
        for chan in list(self.channels):
            self.remove(chan)
        self.destroyed = True
        media = self.core.media
        if media is not None:
            media.bridge_destroyed(self)
        self.core.bridges.pop(self.id, None)
        self.topic.publish(ev.BridgeDestroyed(bridge=self.snapshot()))
        self.core.bus.remove(self.topic.name)
