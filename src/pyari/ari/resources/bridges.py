"""/bridges: create, list, destroy, members, variables, video source, media."""

from __future__ import annotations

from pyari.ari.args import (
    BridgesAddChannelArgs,
    BridgesClearVideoSourceArgs,
    BridgesCreateArgs,
    BridgesCreateWithIdArgs,
    BridgesDestroyArgs,
    BridgesGetArgs,
    BridgesGetBridgeVarArgs,
    BridgesGetBridgeVarsArgs,
    BridgesListArgs,
    BridgesPlayArgs,
    BridgesPlayWithIdArgs,
    BridgesRecordArgs,
    BridgesRemoveChannelArgs,
    BridgesSetBridgeVarArgs,
    BridgesSetBridgeVarsArgs,
    BridgesSetVideoSourceArgs,
    BridgesStartMohArgs,
    BridgesStopMohArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import Reply, handles
from pyari.ari.resources.media_ops import (
    RECORD_LENIENT,
    check_channel_format,
    check_playback_id,
    live_recordings,
    media_service,
    new_recording,
    play_params,
    playback_reply,
    playbacks,
    record_checks,
    recording_reply,
)
from pyari.ari.variables import VARIABLES_NOT_OBJECT, json_variables
from pyari.core.bridge import Bridge, Membership
from pyari.core.channel import Channel
from pyari.core.snapshots import BridgeSnapshot
from pyari.media.service import media_of
from pyari.stasis.control import Control

BRIDGE_FEATURES = frozenset(
    {"mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"}
)


def find_bridge(ctx: AriContext, bridge_id: str, *, stasis: bool = True) -> Bridge:
    """The bridge ``bridge_id``; with ``stasis``, one a Stasis application controls.

    As Asterisk: 404 when there is no such bridge, 409 when it exists but
    Stasis does not own it.
    """
    bridge = ctx.core.bridges.get(bridge_id)
    if bridge is None or bridge.destroyed:
        raise AriError(404, "Bridge not found")
    if stasis and bridge.bridge_class != "stasis":
        raise AriError(409, "Bridge not in Stasis application")
    return bridge


def _features(bridge_type: str | None, bridge_id: str | None) -> tuple[str, tuple[str, ...]]:
    words = tuple(w.strip() for w in (bridge_type or "mixing").split(",") if w.strip())
    for word in words:
        if word not in BRIDGE_FEATURES:
            raise AriError(400, f"Invalid bridge type '{word}'")
    holding = "holding" in words
    mixing = "mixing" in words or "video_sfu" in words
    # Asterisk cannot make a bridge that both holds and mixes, or does neither.
    if holding == mixing:
        # Asterisk's text (its C library prints an absent id as "(null)"); 400, not its
        # 500 (decision 0003)
        shown = "(null)" if bridge_id is None else bridge_id
        raise AriError(400, f"Unable to create bridge. Possible duplicate bridge id '{shown}'")
    return ("holding" if holding else "mixing"), words


def _create(
    ctx: AriContext, args: BridgesCreateArgs | BridgesCreateWithIdArgs, bridge_id: str | None
) -> BridgeSnapshot:
    if bridge_id is not None:
        if not bridge_id.strip():
            raise AriError(400, "Bridge id must not be empty")
        existing = ctx.core.bridges.get(bridge_id)
        if existing is not None:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
    bridge_type, words = _features(args.type, bridge_id)
    variables = json_variables(args.variables)
    bridge = ctx.core.new_bridge(
        bridge_id, bridge_type=bridge_type, features=words, name=args.name or ""
    )
    for name, value, _report in variables:
        bridge.set_var(name, value)
    return bridge.snapshot()


@handles("bridges", "list")
async def list_bridges(ctx: AriContext, args: BridgesListArgs) -> list[BridgeSnapshot]:
    return [b.snapshot() for b in ctx.core.bridges.values()]


@handles("bridges", "create")
async def create(ctx: AriContext, args: BridgesCreateArgs) -> BridgeSnapshot:
    return _create(ctx, args, args.bridgeId or None)


@handles("bridges", "createWithId")
async def create_with_id(ctx: AriContext, args: BridgesCreateWithIdArgs) -> BridgeSnapshot:
    return _create(ctx, args, args.bridgeId)


@handles("bridges", "get")
async def get(ctx: AriContext, args: BridgesGetArgs) -> BridgeSnapshot:
    return find_bridge(ctx, args.bridgeId, stasis=False).snapshot()


@handles("bridges", "destroy")
async def destroy(ctx: AriContext, args: BridgesDestroyArgs) -> None:
    bridge = ctx.core.bridges.get(args.bridgeId)
    if bridge is None or bridge.destroyed or bridge.bridge_class != "stasis":
        # Asterisk only destroys bridges of Stasis; others are "not found".
        raise AriError(404, "Bridge not found")
    bridge.destroy()


def _channels(
    ctx: AriContext, args: BridgesAddChannelArgs | BridgesRemoveChannelArgs
) -> list[Control]:
    ids: list[str] = [i.strip() for i in args.channel if i.strip()]
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
async def add_channel(ctx: AriContext, args: BridgesAddChannelArgs) -> None:
    bridge = find_bridge(ctx, args.bridgeId)
    controls = _channels(ctx, args)
    role = args.role or ""
    media = media_of(ctx.core)
    if media is not None:
        for control in controls:
            if media.is_recording(control.channel):
                raise AriError(409, f"Channel {control.channel.id} currently recording")
    for control in controls:
        chan = control.channel
        app = ctx.stasis.get(control.app_name)
        if app is not None:
            app.subscribe(bridge.topic.name)
        membership = Membership(
            role=role,
            absorb_dtmf=args.absorbDTMF,
            mute=args.mute,
            inhibit_connected_line_updates=args.inhibitConnectedLineUpdates,
        )

        def join(chan: Channel = chan, membership: Membership = membership) -> None:
            if not bridge.destroyed and not chan.hungup:
                bridge.add(chan, membership)

        await control.execute(join)


@handles("bridges", "removeChannel", missing={"channel": "Missing parameter channel"})
async def remove_channel(ctx: AriContext, args: BridgesRemoveChannelArgs) -> None:
    bridge = find_bridge(ctx, args.bridgeId)
    controls = _channels(ctx, args)
    for control in controls:
        if control.channel.bridge is not bridge:
            raise AriError(422, "Channel not in this bridge")
    for control in controls:

        def leave(chan: Channel = control.channel) -> None:
            bridge.remove(chan)

        await control.execute(leave)


# -- variables ------------------------------------------------------------------------


@handles("bridges", "getBridgeVar", missing={"variable": "Variable name is required"})
async def get_bridge_var(ctx: AriContext, args: BridgesGetBridgeVarArgs) -> dict[str, str]:
    name = args.variable
    bridge = find_bridge(ctx, args.bridgeId)
    value = bridge.variables.get(name)
    if value is None:
        raise AriError(404, "Provided variable was not found")
    return {"value": value}


@handles("bridges", "setBridgeVar", missing={"variable": "Variable name is required"})
async def set_bridge_var(ctx: AriContext, args: BridgesSetBridgeVarArgs) -> None:
    name = args.variable
    bridge = find_bridge(ctx, args.bridgeId)
    bridge.set_var(name.strip(), args.value or "")


def _stasis_bridge(ctx: AriContext, bridge_id: str) -> Bridge:
    bridge = ctx.core.bridges.get(bridge_id)
    if bridge is None or bridge.destroyed:
        raise AriError(404, "Provided bridge was not found")
    return bridge


@handles(
    "bridges", "getBridgeVars", missing={"variables": "At least one variable name is required"}
)
async def get_bridge_vars(
    ctx: AriContext, args: BridgesGetBridgeVarsArgs
) -> dict[str, dict[str, str]]:
    names = args.variables
    bridge = _stasis_bridge(ctx, args.bridgeId)
    found: dict[str, str] = {}
    for raw in names:
        name = raw.strip()
        if not name:
            raise AriError(400, "Variable names are required")
        value = bridge.variables.get(name)
        if value is None:
            raise AriError(404, "Provided variable was not found")
        found[name] = value
    return {"variables": found}


@handles(
    "bridges",
    "setBridgeVars",
    missing={"variables": "The 'variables' field is required"},
    lenient=frozenset({"variables"}),
)
async def set_bridge_vars(ctx: AriContext, args: BridgesSetBridgeVarsArgs) -> None:
    variables = args.variables  # not given: 400
    bridge = _stasis_bridge(ctx, args.bridgeId)
    for name, value, _report in json_variables(variables, not_object=VARIABLES_NOT_OBJECT):
        bridge.set_var(name, value)


# -- video source -------------------------------------------------------------------------


@handles("bridges", "setVideoSource")
async def set_video_source(ctx: AriContext, args: BridgesSetVideoSourceArgs) -> None:
    bridge = find_bridge(ctx, args.bridgeId)
    chan = ctx.core.channels.get(args.channelId)
    if chan is None or chan.destroyed:
        raise AriError(400, "Channel not found")
    control = chan.control
    if control is None:
        raise AriError(422, "Channel not in Stasis application")
    if chan.bridge is not bridge:
        raise AriError(422, "Channel not in this bridge")

    def choose() -> None:
        if chan.bridge is bridge:
            bridge.set_video_source(chan)

    await control.execute(choose)


@handles("bridges", "clearVideoSource")
async def clear_video_source(ctx: AriContext, args: BridgesClearVideoSourceArgs) -> None:
    find_bridge(ctx, args.bridgeId).clear_video_source()


# -- media operations ---------------------------------------------------------------------


@handles("bridges", "startMoh")
async def start_moh(ctx: AriContext, args: BridgesStartMohArgs) -> None:
    bridge = find_bridge(ctx, args.bridgeId)
    service = media_service(ctx)
    name = args.mohClass or None
    await service.prepare_moh(name)
    if not bridge.destroyed:
        service.bridge_start_moh(bridge, name)


@handles("bridges", "stopMoh")
async def stop_moh(ctx: AriContext, args: BridgesStopMohArgs) -> None:
    bridge = find_bridge(ctx, args.bridgeId)
    service = media_service(ctx)
    if not service.bridge_stop_moh(bridge):
        raise AriError(409, "Bridge isn't playing music")


async def _play(
    ctx: AriContext, args: BridgesPlayArgs | BridgesPlayWithIdArgs, playback_id: str | None
) -> Reply:
    bridge = find_bridge(ctx, args.bridgeId)
    media, offsetms, skipms = play_params(args)
    check_channel_format(args.announcer_format, "announcer_format")
    live = playbacks(ctx)
    check_playback_id(live, playback_id)
    playback = live.new(
        playback_id,
        media,
        target_uri=f"bridge:{bridge.id}",
        language=args.lang or "en",
        publish=bridge.topic.publish,
        offsetms=offsetms,
        skipms=skipms,
    )
    ctx.core.spawn(live.play_on_bridge(bridge, playback), name=f"bridge-play {bridge.id}")
    return playback_reply(playback)


@handles("bridges", "play", missing={"media": "Missing parameter media"})
async def play(ctx: AriContext, args: BridgesPlayArgs) -> Reply:
    return await _play(ctx, args, args.playbackId or None)


@handles("bridges", "playWithId", missing={"media": "Missing parameter media"})
async def play_with_id(ctx: AriContext, args: BridgesPlayWithIdArgs) -> Reply:
    return await _play(ctx, args, args.playbackId)


@handles(
    "bridges",
    "record",
    missing={"name": "Missing parameter name", "format": "Missing parameter format"},
    lenient=RECORD_LENIENT,
)
async def record(ctx: AriContext, args: BridgesRecordArgs) -> Reply:
    bridge = find_bridge(ctx, args.bridgeId)
    record_checks(args, format_first=True)
    recordings = live_recordings(ctx)
    rec = await new_recording(ctx, args, f"bridge:{bridge.id}", bridge.topic.publish)
    ctx.core.spawn(recordings.record_bridge(bridge, rec), name=f"bridge-record {bridge.id}")
    return recording_reply(rec)
