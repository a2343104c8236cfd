"""Immutable snapshots of core objects, shaped as ARI models.

Core objects publish these on the bus; they encode straight to ARI JSON
with msgspec, field order as Asterisk sends them.
"""

from __future__ import annotations

import msgspec


class CallerId(msgspec.Struct, frozen=True):
    name: str = ""
    number: str = ""


EMPTY_CALLER = CallerId()


class DialplanCEP(msgspec.Struct, frozen=True):
    context: str
    exten: str
    priority: int
    app_name: str = ""
    app_data: str = ""


class ChannelSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    name: str
    state: str
    protocol_id: str
    caller: CallerId
    connected: CallerId
    accountcode: str
    dialplan: DialplanCEP
    creationtime: str
    language: str
    channelvars: dict[str, str] | msgspec.UnsetType = msgspec.UNSET
    caller_rdnis: str | msgspec.UnsetType = msgspec.UNSET
    tenantid: str | msgspec.UnsetType = msgspec.UNSET


class BridgeSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    id: str
    technology: str
    bridge_type: str
    bridge_class: str
    creator: str
    name: str
    channels: list[str]
    creationtime: str
    video_mode: str | msgspec.UnsetType = msgspec.UNSET
    video_source_id: str | msgspec.UnsetType = msgspec.UNSET


class EndpointSnapshot(msgspec.Struct, frozen=True, omit_defaults=True):
    technology: str
    resource: str
    state: str
    channel_ids: list[str]
