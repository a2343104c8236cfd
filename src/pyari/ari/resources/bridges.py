"""/bridges: create, list, destroy, add and remove channels."""

from __future__ import annotations

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles
from pyari.core.bridge import Bridge
from pyari.core.channel import Channel
from pyari.core.snapshots import BridgeSnapshot
from pyari.stasis.control import Control

BRIDGE_FEATURES = frozenset(
    {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}
)


def find_bridge(ctx: AriContext, bridge_id: str) -> Bridge:
    bridge = ctx.core.bridges.get(bridge_id)
    if bridge is None or bridge.destroyed:
        raise AriError(404, "Bridge not found")
    return bridge


def _features(p: Params) -> tuple[str, tuple[str, ...]]:
    words = tuple(w.strip() for w in (p.get("type") or "").split(",") if w.strip())
    for word in words:
        if word not in BRIDGE_FEATURES:
            raise AriError(400, f"Invalid bridge type '{word}'")
    return ("holding" if "holding" in words else "mixing"), words


def _create(ctx: AriContext, p: Params, bridge_id: str | None) -> BridgeSnapshot:
    bridge_type, words = _features(p)
    if bridge_id is not None:
        if not bridge_id.strip():
            raise AriError(400, "Bridge id must not be empty")
        existing = ctx.core.bridges.get(bridge_id)
        if existing is not None:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
    bridge = ctx.core.new_bridge(
        bridge_id, bridge_type=bridge_type, features=words, name=p.get("name") or ""
    )
    return bridge.snapshot()


@handles("bridges", "list")
async def list_bridges(ctx: AriContext, p: Params) -> list[BridgeSnapshot]:
    return [b.snapshot() for b in ctx.core.bridges.values()]


@handles("bridges", "create")
async def create(ctx: AriContext, p: Params) -> BridgeSnapshot:
    return _create(ctx, p, p.get("bridgeId") or None)


@handles("bridges", "createWithId")
async def create_with_id(ctx: AriContext, p: Params) -> BridgeSnapshot:
    return _create(ctx, p, p["bridgeId"])


@handles("bridges", "get")
async def get(ctx: AriContext, p: Params) -> BridgeSnapshot:
    return find_bridge(ctx, p["bridgeId"]).snapshot()


@handles("bridges", "destroy")
async def destroy(ctx: AriContext, p: Params) -> None:
    find_bridge(ctx, p["bridgeId"]).destroy()


def _channels(ctx: AriContext, p: Params) -> list[Control]:
    ids: list[str] = [i.strip() for i in p["channel"] if i.strip()]
    found: list[Channel] = []
    for cid in ids:
        chan = ctx.core.channels.get(cid)
        if chan is None or chan.destroyed:
            raise AriError(400, "Channel not found")
        found.append(chan)
    controls = []
    for chan in found:
        if chan.control is None:
            raise AriError(422, "Channel not in Stasis application")
        controls.append(chan.control)
    return controls


@handles("bridges", "addChannel", missing={"channel": "Missing parameter channel"})
async def add_channel(ctx: AriContext, p: Params) -> None:
    bridge = find_bridge(ctx, p["bridgeId"])
    controls = _channels(ctx, p)
    for control in controls:
        chan = control.channel
        app = ctx.stasis.get(control.app_name)
        if app is not None:
            app.subscribe(bridge.topic.name)

        def join(chan: Channel = chan) -> None:
            if not bridge.destroyed:
                bridge.add(chan)

        await control.execute(join)


@handles("bridges", "removeChannel", missing={"channel": "Missing parameter channel"})
async def remove_channel(ctx: AriContext, p: Params) -> None:
    bridge = find_bridge(ctx, p["bridgeId"])
    controls = _channels(ctx, p)
    for control in controls:
        if control.channel.bridge is not bridge:
            raise AriError(422, "Channel not in this bridge")
    for control in controls:

        def leave(chan: Channel = control.channel) -> None:
            bridge.remove(chan)

        await control.execute(leave)
