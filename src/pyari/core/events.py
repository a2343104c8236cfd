"""Messages published on the bus, one type per ARI event.

Each is a msgspec Struct tagged with its ARI ``type``; the ARI layer adds
``asterisk_id`` and ``application`` when it sends one to an app.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pyari.clock import ari_timestamp
from pyari.core.snapshots import BridgeSnapshot, ChannelSnapshot, EndpointSnapshot

UNSET: Any = msgspec.UNSET


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    timestamp: str = msgspec.field(default_factory=ari_timestamp)


class ChannelCreated(Event, tag="ChannelCreated", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelDestroyed(Event, tag="ChannelDestroyed", kw_only=True, frozen=True):
    cause: int
    cause_txt: str
    channel: ChannelSnapshot


class ChannelStateChange(Event, tag="ChannelStateChange", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelDialplan(Event, tag="ChannelDialplan", kw_only=True, frozen=True):
    dialplan_app: str
    dialplan_app_data: str
    channel: ChannelSnapshot


class ChannelVarset(Event, tag="ChannelVarset", kw_only=True, frozen=True):
    variable: str
    value: str
    channel: ChannelSnapshot | msgspec.UnsetType = UNSET


class ChannelHangupRequest(Event, tag="ChannelHangupRequest", kw_only=True, frozen=True):
    cause: int | msgspec.UnsetType = UNSET
    soft: bool | msgspec.UnsetType = UNSET
    channel: ChannelSnapshot


class ChannelCallerId(Event, tag="ChannelCallerId", kw_only=True, frozen=True):
    caller_presentation: int
    caller_presentation_txt: str
    channel: ChannelSnapshot


class ChannelConnectedLine(Event, tag="ChannelConnectedLine", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class Dial(Event, tag="Dial", kw_only=True, frozen=True):
    caller: ChannelSnapshot | msgspec.UnsetType = UNSET
    peer: ChannelSnapshot
    forwarded: ChannelSnapshot | msgspec.UnsetType = UNSET
    forward: str = ""
    dialstring: str = ""
    dialstatus: str = ""


class StasisStart(Event, tag="StasisStart", kw_only=True, frozen=True):
    args: list[str]
    channel: ChannelSnapshot
    replace_channel: ChannelSnapshot | msgspec.UnsetType = UNSET


class StasisEnd(Event, tag="StasisEnd", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelUserevent(Event, tag="ChannelUserevent", kw_only=True, frozen=True):
    eventname: str
    channel: ChannelSnapshot | msgspec.UnsetType = UNSET
    bridge: BridgeSnapshot | msgspec.UnsetType = UNSET
    endpoint: EndpointSnapshot | msgspec.UnsetType = UNSET
    userevent: dict[str, Any] = msgspec.field(default_factory=dict)


class ApplicationReplaced(Event, tag="ApplicationReplaced", kw_only=True, frozen=True):
    pass


class ApplicationMoveFailed(Event, tag="ApplicationMoveFailed", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    destination: str
    args: list[str]


class BridgeCreated(Event, tag="BridgeCreated", kw_only=True, frozen=True):
    bridge: BridgeSnapshot


class BridgeDestroyed(Event, tag="BridgeDestroyed", kw_only=True, frozen=True):
    bridge: BridgeSnapshot


class ChannelEnteredBridge(Event, tag="ChannelEnteredBridge", kw_only=True, frozen=True):
    bridge: BridgeSnapshot
    channel: ChannelSnapshot | msgspec.UnsetType = UNSET


class ChannelLeftBridge(Event, tag="ChannelLeftBridge", kw_only=True, frozen=True):
    bridge: BridgeSnapshot
    channel: ChannelSnapshot


class EndpointStateChange(Event, tag="EndpointStateChange", kw_only=True, frozen=True):
    endpoint: EndpointSnapshot
