"""Messages published on the bus, one type per ARI event.

Each is a msgspec Struct tagged with its ARI ``type``; the ARI layer adds
``asterisk_id`` and ``application`` when it sends one to an app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from pyari.core import causes
from pyari.core.snapshots import BridgeSnapshot, ChannelSnapshot, EndpointSnapshot
from pyari.wallclock import ari_timestamp

if TYPE_CHECKING:
    from pyari.core.channel import Channel

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
    # Always sent, even empty (no defaults, so omit_defaults keeps them).
    forward: str
    dialstring: str
    dialstatus: str


def dial(peer: ChannelSnapshot, dialstring: str, dialstatus: str) -> Dial:
    """A Dial event for an outgoing channel (no caller, nothing forwarded)."""
    return Dial(peer=peer, forward="", dialstring=dialstring, dialstatus=dialstatus)


def dial_status(chan: Channel, answered: bool) -> str:
    """The final ``dialstatus`` of a called channel: ``ANSWER``, ``BUSY`` (the far end
    was busy), ``CANCEL`` (hung up otherwise) or ``NOANSWER`` (still ringing)."""
    if answered:
        return "ANSWER"
    if chan.hangupcause == causes.USER_BUSY:
        return "BUSY"
    if chan.hungup:
        return "CANCEL"
    return "NOANSWER"


class StasisStart(Event, tag="StasisStart", kw_only=True, frozen=True):
    args: list[str]
    channel: ChannelSnapshot
    replace_channel: ChannelSnapshot | msgspec.UnsetType = UNSET


class StasisEnd(Event, tag="StasisEnd", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelUserevent(
    Event, tag="ChannelUserevent", kw_only=True, frozen=True, omit_defaults=False
):
    eventname: str
    channel: ChannelSnapshot | msgspec.UnsetType = UNSET
    bridge: BridgeSnapshot | msgspec.UnsetType = UNSET
    endpoint: EndpointSnapshot | msgspec.UnsetType = UNSET
    userevent: dict[str, Any] = msgspec.field(default_factory=dict)
    """Always sent, even empty (the model requires it)."""


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


# -- the rest of ARI's events (payload models not yet in core are plain values) --


class DeviceStateChanged(Event, tag="DeviceStateChanged", kw_only=True, frozen=True):
    device_state: Any


class PlaybackStarted(Event, tag="PlaybackStarted", kw_only=True, frozen=True):
    playback: Any


class PlaybackContinuing(Event, tag="PlaybackContinuing", kw_only=True, frozen=True):
    playback: Any


class PlaybackFinished(Event, tag="PlaybackFinished", kw_only=True, frozen=True):
    playback: Any


class RecordingStarted(Event, tag="RecordingStarted", kw_only=True, frozen=True):
    recording: Any


class RecordingFinished(Event, tag="RecordingFinished", kw_only=True, frozen=True):
    recording: Any


class RecordingFailed(Event, tag="RecordingFailed", kw_only=True, frozen=True):
    recording: Any


class ApplicationRegistered(Event, tag="ApplicationRegistered", kw_only=True, frozen=True):
    pass


class ApplicationUnregistered(Event, tag="ApplicationUnregistered", kw_only=True, frozen=True):
    pass


class BridgeMerged(Event, tag="BridgeMerged", kw_only=True, frozen=True):
    bridge: BridgeSnapshot
    bridge_from: BridgeSnapshot


class BridgeBlindTransfer(Event, tag="BridgeBlindTransfer", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    exten: str
    context: str
    result: str
    is_external: bool
    replace_channel: ChannelSnapshot | msgspec.UnsetType = UNSET
    transferee: ChannelSnapshot | msgspec.UnsetType = UNSET
    bridge: BridgeSnapshot | msgspec.UnsetType = UNSET


class BridgeAttendedTransfer(Event, tag="BridgeAttendedTransfer", kw_only=True, frozen=True):
    transferer_first_leg: ChannelSnapshot
    transferer_second_leg: ChannelSnapshot
    result: str
    is_external: bool
    destination_type: str
    replace_channel: ChannelSnapshot | msgspec.UnsetType = UNSET
    transferee: ChannelSnapshot | msgspec.UnsetType = UNSET
    transfer_target: ChannelSnapshot | msgspec.UnsetType = UNSET
    transferer_first_leg_bridge: BridgeSnapshot | msgspec.UnsetType = UNSET
    transferer_second_leg_bridge: BridgeSnapshot | msgspec.UnsetType = UNSET
    destination_bridge: str | msgspec.UnsetType = UNSET
    destination_application: str | msgspec.UnsetType = UNSET
    destination_link_first_leg: ChannelSnapshot | msgspec.UnsetType = UNSET
    destination_link_second_leg: ChannelSnapshot | msgspec.UnsetType = UNSET
    destination_threeway_channel: ChannelSnapshot | msgspec.UnsetType = UNSET
    destination_threeway_bridge: BridgeSnapshot | msgspec.UnsetType = UNSET


class BridgeVideoSourceChanged(Event, tag="BridgeVideoSourceChanged", kw_only=True, frozen=True):
    bridge: BridgeSnapshot
    old_video_source_id: str | msgspec.UnsetType = UNSET


class ChannelDtmfReceived(Event, tag="ChannelDtmfReceived", kw_only=True, frozen=True):
    digit: str
    duration_ms: int
    channel: ChannelSnapshot


class ChannelToneDetected(Event, tag="ChannelToneDetected", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelTalkingStarted(Event, tag="ChannelTalkingStarted", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ChannelTalkingFinished(Event, tag="ChannelTalkingFinished", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    duration: int


class ChannelHold(Event, tag="ChannelHold", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    musicclass: str | msgspec.UnsetType = UNSET


class ChannelUnhold(Event, tag="ChannelUnhold", kw_only=True, frozen=True):
    channel: ChannelSnapshot


class ContactStatusChange(Event, tag="ContactStatusChange", kw_only=True, frozen=True):
    endpoint: EndpointSnapshot
    contact_info: Any


class TextMessageReceived(Event, tag="TextMessageReceived", kw_only=True, frozen=True):
    message: Any
    endpoint: EndpointSnapshot | msgspec.UnsetType = UNSET


class PeerStatusChange(Event, tag="PeerStatusChange", kw_only=True, frozen=True):
    endpoint: EndpointSnapshot
    peer: Any


class ChannelTransfer(Event, tag="ChannelTransfer", kw_only=True, frozen=True):
    refer_to: Any
    referred_by: Any
    state: str | msgspec.UnsetType = UNSET


class RESTResponse(Event, tag="RESTResponse", kw_only=True, frozen=True):
    transaction_id: str
    request_id: str
    status_code: int
    reason_phrase: str
    uri: str
    content_type: str | msgspec.UnsetType = UNSET
    message_body: str | msgspec.UnsetType = UNSET


class CallBroadcast(Event, tag="CallBroadcast", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    caller: str | msgspec.UnsetType = UNSET
    called: str | msgspec.UnsetType = UNSET


class CallClaimed(Event, tag="CallClaimed", kw_only=True, frozen=True):
    channel: ChannelSnapshot
    winner_app: str
