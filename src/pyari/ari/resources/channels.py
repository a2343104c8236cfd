"""/channels: list, originate, create, answer, hang up, variables, continue."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from pyari.ari.args import (
    ChannelsAnswerArgs,
    ChannelsContinueInDialplanArgs,
    ChannelsCreateArgs,
    ChannelsDialArgs,
    ChannelsExternalMediaArgs,
    ChannelsGetArgs,
    ChannelsGetChannelVarArgs,
    ChannelsGetChannelVarsArgs,
    ChannelsHangupArgs,
    ChannelsHoldArgs,
    ChannelsListArgs,
    ChannelsMoveArgs,
    ChannelsMuteArgs,
    ChannelsOriginateArgs,
    ChannelsOriginateWithIdArgs,
    ChannelsPlayArgs,
    ChannelsPlayWithIdArgs,
    ChannelsProgressArgs,
    ChannelsRecordArgs,
    ChannelsRedirectArgs,
    ChannelsRingArgs,
    ChannelsRingStopArgs,
    ChannelsRtpstatisticsArgs,
    ChannelsSendDTMFArgs,
    ChannelsSetChannelVarArgs,
    ChannelsSetChannelVarsArgs,
    ChannelsSnoopChannelArgs,
    ChannelsSnoopChannelWithIdArgs,
    ChannelsStartMohArgs,
    ChannelsStartSilenceArgs,
    ChannelsStopMohArgs,
    ChannelsStopSilenceArgs,
    ChannelsTransferProgressArgs,
    ChannelsUnholdArgs,
    ChannelsUnmuteArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError, request_refused
from pyari.ari.resources import Reply, handles
from pyari.ari.resources.media_ops import (
    FORMAT_NAMES,
    RECORD_LENIENT,
    check_playback_id,
    live_recordings,
    media_service,
    new_recording,
    play_params,
    playback_reply,
    playbacks,
    record_checks,
    recording_reply,
    send_media_command,
)
from pyari.ari.variables import VARIABLES_NOT_OBJECT, json_variables
from pyari.channels.snoop import SNOOP_TECH
from pyari.core import causes
from pyari.core import events as ev
from pyari.core.callerid import parse_callerid
from pyari.core.channel import Channel
from pyari.core.snapshots import ChannelSnapshot
from pyari.core.tech import DuplicateId, TechError
from pyari.dialplan.apps import assign_variable
from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import ChannelVars
from pyari.media.service import MediaService
from pyari.stasis.control import ChannelGone, Control
from pyari.stasis.originate import (
    DEFAULT_TIMEOUT,
    IllegalPriority,
    InDialplan,
    InStasis,
    LabelNotFound,
    OriginateRequest,
    create,
    dialplan_target,
    originate,
    start_in_app,
)

log = logging.getLogger("pyari.ari")

CHANNEL_NOT_FOUND = "Channel not found"
PROVIDED_CHANNEL_NOT_FOUND = "Provided channel was not found"
NOT_IMPLEMENTED = "Not implemented"
MAX_PUBLIC_UNIQUEID = 128
_LEADING_INT = re.compile(r"\s*[+-]?\d+")
INVALID_STATES = frozenset({"Down", "Rsrvd", "Ringing"})
"""Outbound channels not yet answered: no state, media or dialplan control."""

FORMATS = FORMAT_NAMES
"""Media format names the core knows (Asterisk's format cache)."""


def find_channel(ctx: AriContext, channel_id: str, missing: str = CHANNEL_NOT_FOUND) -> Channel:
    """A live channel; 404 with the message ``missing`` when there is none."""
    chan = ctx.core.channels.get(channel_id)
    if chan is None or chan.destroyed:
        raise AriError(404, missing)
    return chan


def find_control(ctx: AriContext, channel_id: str) -> Control:
    """The control of a channel that is in a Stasis application."""
    chan = find_channel(ctx, channel_id)
    control: Control | None = chan.control
    if control is None:
        raise AriError(409, "Channel not in Stasis application")
    return control


def find_control_up(ctx: AriContext, channel_id: str) -> Control:
    """The control of a channel in Stasis whose state allows call control (else 412)."""
    control = find_control(ctx, channel_id)
    if control.channel.state in INVALID_STATES:
        raise AriError(412, "Channel in invalid state")
    return control


def run_async(ctx: AriContext, control: Control, command: Any) -> None:
    """Queue ``command`` on the channel's task without waiting for it (Asterisk's
    ``stasis_app_send_command_async``)."""

    async def send() -> None:
        with contextlib.suppress(ChannelGone):
            await control.execute(command)

    ctx.core.spawn(send(), name=f"ari-command {control.channel.name}")


async def run_on(control: Control, command: Any, *, sync: bool = False) -> Any:
    """Run ``command`` on the channel's task and wait for it (``sync``: a plain function,
    run at once while the task is idle: :meth:`Control.execute`)."""
    try:
        return await control.execute(command, sync=sync)
    except ChannelGone:
        raise AriError(404, CHANNEL_NOT_FOUND) from None


@handles("channels", "list")
async def list_channels(ctx: AriContext, args: ChannelsListArgs) -> Reply:
    # Each channel keeps its snapshot encoded until it changes: the list joins bytes.
    chans = ctx.core.channels.values()
    if not chans:
        body = b"[]"
    elif ctx.settings().pretty:
        body = b"[\n" + b",\n".join([c.snapshot_json(True) for c in chans]) + b"\n]"
    else:
        body = b"[" + b",".join([c.snapshot_json() for c in chans]) + b"]"
    return Reply(200, body, {"Content-Type": "application/json"})


@handles("channels", "get")
async def get_channel(ctx: AriContext, args: ChannelsGetArgs) -> ChannelSnapshot:
    return find_channel(ctx, args.channelId).snapshot()


# -- originate and create ----------------------------------------------------------


OriginateArgs = ChannelsOriginateArgs | ChannelsOriginateWithIdArgs
NewChannelArgs = OriginateArgs | ChannelsCreateArgs


def _formats(args: NewChannelArgs) -> None:
    """Check ``originator``/``formats`` as Asterisk does (400s)."""
    formats = args.formats or ""
    if args.originator and formats:
        raise AriError(400, "Originator and formats can't both be specified")
    if not formats:
        return
    for name in formats.split(","):
        name = name.strip()
        if name not in FORMATS:
            raise AriError(400, f"Provided format ({name}) was not found")


def _format_names(formats: str | None) -> tuple[str, ...]:
    """The names of a checked ``formats`` parameter, in order."""
    return tuple(name.strip() for name in (formats or "").split(",") if name.strip())


def _check_ids(ctx: AriContext, args: NewChannelArgs) -> tuple[str | None, str | None]:
    chan_id = args.channelId or None
    other_id = args.otherChannelId or None
    try:
        ctx.core.check_ids(chan_id, other_id)
    except DuplicateId as exc:
        raise request_refused(exc) from None
    return chan_id, other_id


def _endpoint(endpoint: str) -> str:
    tech, _, resource = endpoint.partition("/")
    if not tech or not resource:
        raise AriError(400, "Invalid endpoint specified")
    return endpoint


ORIGINATE_MISSING = {"endpoint": "Endpoint must be specified"}


@handles("channels", "originate", missing=ORIGINATE_MISSING)
async def originate_channel(ctx: AriContext, args: ChannelsOriginateArgs) -> ChannelSnapshot:
    return _originate(ctx, args)


@handles("channels", "originateWithId", missing=ORIGINATE_MISSING)
async def originate_with_id(ctx: AriContext, args: ChannelsOriginateWithIdArgs) -> ChannelSnapshot:
    return _originate(ctx, args)


def _check_length(*ids: str | None) -> None:
    for cid in ids:
        if cid and len(cid) > MAX_PUBLIC_UNIQUEID:
            raise AriError(400, f"Uniqueid length exceeds maximum of {MAX_PUBLIC_UNIQUEID}")


def _originator(ctx: AriContext, args: OriginateArgs) -> Channel | None:
    name = args.originator
    if not name:
        return None
    found = ctx.core.find_channel(name)
    if found is None or found.destroyed:
        raise AriError(400, "Provided originator channel was not found")
    return found


def _originate(ctx: AriContext, args: OriginateArgs) -> ChannelSnapshot:
    _check_length(args.channelId, args.otherChannelId)
    variables = json_variables(args.variables)
    endpoint = args.endpoint  # not given: 400 "Endpoint must be specified"
    if args.originator and args.formats:
        raise AriError(400, "Originator and formats can't both be specified")
    _endpoint(endpoint)
    app = args.app or None
    extension = args.extension or None
    target: InStasis | InDialplan
    if app is not None:
        app_args = split_app_args(args.appArgs) if args.appArgs else []
        target = InStasis(app, app_args)
    elif extension is not None:
        context = args.context or "default"
        priority = args.priority or 1
        try:
            target = dialplan_target(ctx.pbx, context, extension, priority, args.label)
        except LabelNotFound:
            raise AriError(404, "Requested label can not be found") from None
        except IllegalPriority:
            raise AriError(400, "Requested priority is illegal") from None
    else:
        raise AriError(400, "Application or extension must be specified")
    timeout = args.timeout
    wait: float | None = DEFAULT_TIMEOUT
    if timeout > 0:
        wait = float(timeout)
    elif timeout == -1:
        wait = None
    name = number = None
    if args.callerId:
        name, number = parse_callerid(args.callerId)
    originator = _originator(ctx, args)
    _formats(args)
    chan_id, other_id = _check_ids(ctx, args)
    request = OriginateRequest(
        endpoint,
        target,
        timeout=wait,
        caller_name=name,
        caller_number=number,
        variables=[(var, value) for var, value, _report in variables],
        channel_id=chan_id,
        other_channel_id=other_id,
        originator=originator,
        formats=_format_names(args.formats),
    )
    try:
        chan = originate(ctx.pbx, ctx.stasis, request)
    except TechError as exc:
        raise request_refused(exc) from None
    return chan.snapshot()


@handles(
    "channels",
    "create",
    missing={"endpoint": "Endpoint must be specified", "app": "Application must be specified"},
)
async def create_channel(ctx: AriContext, args: ChannelsCreateArgs) -> ChannelSnapshot:
    variables = json_variables(args.variables)
    if args.originator and args.formats:
        raise AriError(400, "Originator and formats can't both be specified")
    endpoint = _endpoint(args.endpoint)
    app = args.app
    _check_length(args.channelId, args.otherChannelId)
    originator = ctx.core.find_channel(args.originator) if args.originator else None
    if originator is not None and originator.destroyed:
        originator = None
    if originator is not None:
        ctx.stasis.subscribe_channel(app, originator)
    elif args.formats:
        _formats(args)
    chan_id, other_id = _check_ids(ctx, args)
    app_args = split_app_args(args.appArgs) if args.appArgs else []
    request = OriginateRequest(
        endpoint,
        InStasis(app, app_args),
        variables=[(var, value) for var, value, _report in variables],
        channel_id=chan_id,
        other_channel_id=other_id,
        originator=originator,
        formats=_format_names(args.formats) if originator is None else (),
    )
    try:
        chan = create(ctx.pbx, ctx.stasis, request)
    except TechError as exc:
        raise request_refused(exc) from None
    return chan.snapshot()


# -- call control ------------------------------------------------------------------


@handles("channels", "answer")
async def answer(ctx: AriContext, args: ChannelsAnswerArgs) -> None:
    control = find_control_up(ctx, args.channelId)
    await run_on(control, control.channel.answer, sync=True)


IndicationArgs = (
    ChannelsRingArgs
    | ChannelsRingStopArgs
    | ChannelsProgressArgs
    | ChannelsHoldArgs
    | ChannelsUnholdArgs
)


def _indication(nickname: str, condition: str) -> None:
    async def indicate(ctx: AriContext, args: IndicationArgs) -> None:
        control = find_control_up(ctx, args.channelId)
        chan = control.channel
        run_async(ctx, control, lambda: chan.indicate(condition))

    indicate.__name__ = nickname
    handles("channels", nickname)(indicate)


_indication("ring", "ringing")
_indication("ringStop", "stop")
_indication("progress", "progress")
_indication("hold", "hold")
_indication("unhold", "unhold")

_DIRECTIONS = {"in": {"in"}, "out": {"out"}, "both": {"in", "out"}}


def _direction(direction: str) -> set[str]:
    if not direction:
        raise AriError(400, "Direction is required")
    found = _DIRECTIONS.get(direction)
    if found is None:
        raise AriError(400, "Invalid direction specified")
    return found


def _set_muted(ctx: AriContext, args: ChannelsMuteArgs | ChannelsUnmuteArgs, muted: bool) -> None:
    control = find_control_up(ctx, args.channelId)
    directions = _direction(args.direction)
    chan = control.channel
    run_async(ctx, control, lambda: chan.set_muted(directions, muted))


@handles("channels", "mute", lenient=frozenset({"direction"}))
async def mute(ctx: AriContext, args: ChannelsMuteArgs) -> None:
    _set_muted(ctx, args, True)


@handles("channels", "unmute", lenient=frozenset({"direction"}))
async def unmute(ctx: AriContext, args: ChannelsUnmuteArgs) -> None:
    _set_muted(ctx, args, False)


@handles("channels", "sendDTMF")
async def send_dtmf(ctx: AriContext, args: ChannelsSendDTMFArgs) -> None:
    control = find_control_up(ctx, args.channelId)
    digits = args.dtmf
    if not digits:
        raise AriError(400, "DTMF is required")
    timing = {
        "before": args.before,
        "between": args.between,
        "duration": args.duration,
        "after": args.after,
    }
    for name, value in timing.items():
        if value < 0:
            raise AriError(400, f"Invalid value for parameter {name}")
    chan = control.channel

    async def play() -> None:
        if not chan.up:
            chan.indicate("progress")
        if timing["before"] and not await chan.sleep(timing["before"] / 1000):
            return
        await chan.send_dtmf(digits, between_ms=timing["between"], duration_ms=timing["duration"])
        if timing["after"]:
            await chan.sleep(timing["after"] / 1000)

    run_async(ctx, control, play)


@handles(
    "channels", "redirect", missing={"endpoint": "Required parameter 'endpoint' not provided."}
)
async def redirect(ctx: AriContext, args: ChannelsRedirectArgs) -> None:
    control = find_control_up(ctx, args.channelId)
    endpoint = args.endpoint
    tech, sep, resource = endpoint.partition("/")
    if not sep or not tech:
        raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
    if not resource:
        raise AriError(422, f"No resource provided in endpoint parameter '{endpoint}'")
    chan = control.channel
    chan_tech = chan.tech.name
    if chan_tech.lower() != tech.lower():
        raise AriError(
            422, f"Endpoint technology '{tech}' does not match channel technology '{chan_tech}'"
        )

    def transfer() -> None:
        handler = getattr(chan.tech, "transfer", None)
        if handler is None:
            log.info("Unsupported transfer requested on channel '%s'", chan.name)
            return
        handler(chan, resource)

    run_async(ctx, control, transfer)


@handles("channels", "move", missing={"app": "Missing parameter app"})
async def move(ctx: AriContext, args: ChannelsMoveArgs) -> None:
    control = find_control(ctx, args.channelId)
    app = args.app
    app_args = [a for a in (args.appArgs or "").split(",") if a]
    chan = control.channel
    stasis = ctx.stasis

    def switch() -> None:
        target = stasis.get(app)
        if target is None or not target.active:
            log.error(
                "Could not move to Stasis app '%s' - %s",
                app,
                "not registered" if target is None else "not active",
            )
            current = stasis.get(control.app_name)
            if current is not None:
                current.send(
                    ev.ApplicationMoveFailed(
                        channel=chan.snapshot(), destination=app, args=list(app_args)
                    )
                )
            return
        control.move_to = (app, list(app_args))
        control.leave()

    run_async(ctx, control, switch)


@handles("channels", "dial")
async def dial(ctx: AriContext, args: ChannelsDialArgs) -> None:
    control = find_control(ctx, args.channelId)
    chan = control.channel
    caller = ctx.core.find_channel(args.caller) if args.caller else None
    if chan.state not in ("Down", "Rsrvd"):
        raise AriError(409, "Channel is not in the 'Down' state")
    dialstring = chan.dialstring
    if dialstring is None:
        raise AriError(409, "Dialing a channel not created by ARI")
    if chan.stasis_app is None:
        raise AriError(409, "Channel not in Stasis application")
    if caller is not None and caller.destroyed:
        caller = None
    timeout = args.timeout
    try:
        await control.dial(dialstring, timeout if timeout > 0 else None, caller)
    except ChannelGone:
        raise AriError(404, CHANNEL_NOT_FOUND) from None


@handles("channels", "hangup", lenient=frozenset({"reason"}))
async def hangup(ctx: AriContext, args: ChannelsHangupArgs) -> None:
    chan = find_channel(ctx, args.channelId)
    reason_code = args.reason_code
    reason = args.reason
    if reason_code is not None and reason is not None:
        raise AriError(400, "The reason and reason_code can't both be specified")
    cause = causes.NORMAL_CLEARING
    if reason_code is not None:
        number = _LEADING_INT.match(reason_code)  # as sscanf("%d"): "17x" is 17
        if number is None:
            raise AriError(400, "Invalid reason for hangup reason code provided")
        cause = int(number.group())
    elif reason is not None:
        found = causes.HANGUP_REASONS.get(reason)
        if found is None:
            raise AriError(400, "Invalid reason for hangup reason provided")
        cause = found
    chan.request_hangup(cause, replace_cause=True)


@handles("channels", "continueInDialplan")
async def continue_in_dialplan(ctx: AriContext, args: ChannelsContinueInDialplanArgs) -> None:
    control = find_control_up(ctx, args.channelId)
    chan = control.channel
    context = args.context or None
    exten = args.extension or None
    priority = args.priority
    label = args.label or None
    if context is None and exten is None and priority is None and label is None:
        target = (chan.context, chan.exten, chan.priority + 1)
    else:
        ctx_name = context or chan.context
        ext_name = exten or chan.exten
        prio = priority if priority is not None else 1
        if label is not None:
            found = ctx.pbx.dialplan.find_label(ctx_name, ext_name, label)
            if found is None:
                raise AriError(404, "Requested label can not be found")
            prio = found
        target = (ctx_name, ext_name, prio)

    def go() -> None:
        chan.set_location(*target)
        control.goto = True
        control.leave()

    await run_on(control, go, sync=True)


# -- variables ----------------------------------------------------------------------


@handles("channels", "getChannelVar", missing={"variable": "Variable name is required"})
async def get_channel_var(ctx: AriContext, args: ChannelsGetChannelVarArgs) -> dict[str, str]:
    name = args.variable
    chan = find_channel(ctx, args.channelId, PROVIDED_CHANNEL_NOT_FOUND)
    vars_ = ChannelVars(ctx.pbx, chan)
    if name.endswith(")"):  # a function, as Asterisk tells them
        fname, sep, fargs = name[:-1].partition("(")
        value = vars_.call_function(fname, fargs) if sep else None
        if value is None:
            # Asterisk's text; 400, not its 500, for a function that cannot be read
            raise AriError(400, "Unable to read provided function")
        return {"value": value}
    value = vars_.get_var(name)
    if value is None:
        raise AriError(404, "Provided variable was not found")
    return {"value": value}


@handles("channels", "setChannelVar", missing={"variable": "Variable name is required"})
async def set_channel_var(ctx: AriContext, args: ChannelsSetChannelVarArgs) -> None:
    control = find_control(ctx, args.channelId)
    name = args.variable
    value = args.value or ""
    await run_on(control, lambda: assign_variable(ctx.pbx, control.channel, name, value), sync=True)


@handles(
    "channels", "getChannelVars", missing={"variables": "At least one variable name is required"}
)
async def get_channel_vars(
    ctx: AriContext, args: ChannelsGetChannelVarsArgs
) -> dict[str, dict[str, str]]:
    names = args.variables
    chan = find_channel(ctx, args.channelId, PROVIDED_CHANNEL_NOT_FOUND)
    vars_ = ChannelVars(ctx.pbx, chan)
    found: dict[str, str] = {}
    for raw in names:
        name = raw.strip()
        if not name:
            raise AriError(400, "Variable names are required")
        if name.endswith(")") and "(" in name:
            fname, _, fargs = name[:-1].partition("(")
            value = vars_.call_function(fname, fargs)
        else:
            value = vars_.get_var(name)
            if value is None:
                raise AriError(404, "Provided variable was not found")
        found[name] = value or ""
    return {"variables": found}


@handles(
    "channels",
    "setChannelVars",
    missing={"variables": "The 'variables' field is required"},
    lenient=frozenset({"variables"}),
)
async def set_channel_vars(ctx: AriContext, args: ChannelsSetChannelVarsArgs) -> None:
    given = args.variables  # not given: 400
    chan = find_channel(ctx, args.channelId, PROVIDED_CHANNEL_NOT_FOUND)
    control = find_control(ctx, args.channelId)
    variables = json_variables(given, not_object=VARIABLES_NOT_OBJECT)

    def assign() -> None:
        for name, value, _report in variables:
            assign_variable(ctx.pbx, chan, name, value)

    await run_on(control, assign, sync=True)


# -- RTP statistics, transfer progress ---------------------------------------------------


@handles("channels", "rtpstatistics")
async def rtp_statistics(ctx: AriContext, args: ChannelsRtpstatisticsArgs) -> Any:
    chan = find_channel(ctx, args.channelId)
    stats = getattr(chan.tech, "rtp_statistics", None)
    if stats is None:
        raise AriError(403, "Unsupported channel type")
    found = stats(chan)
    if found is None:
        raise AriError(404, "RTP info not found")
    return found


TRANSFER_STATES = {
    "channel_progress": "progress",
    "channel_answered": "success",
    "channel_unavailable": "unavailable",
    "channel_declined": "failed",
}


@handles("channels", "transfer_progress", missing={"states": "states must not be empty"})
async def transfer_progress(ctx: AriContext, args: ChannelsTransferProgressArgs) -> None:
    control = find_control(ctx, args.channelId)
    states = args.states
    state = TRANSFER_STATES.get(states.lower())
    if state is None:
        raise AriError(400, "Invalid states value")
    try:
        await control.indicate("transfer", state)
    except ChannelGone:
        raise AriError(404, CHANNEL_NOT_FOUND) from None


# -- media operations ---------------------------------------------------------------------


def _not_implemented() -> AriError:
    return AriError(501, NOT_IMPLEMENTED)


async def _play(
    ctx: AriContext, args: ChannelsPlayArgs | ChannelsPlayWithIdArgs, playback_id: str | None
) -> Reply:
    control = find_control_up(ctx, args.channelId)
    media, offsetms, skipms = play_params(args)
    live = playbacks(ctx)
    check_playback_id(live, playback_id)
    chan = control.channel
    playback = live.new(
        playback_id,
        media,
        target_uri=f"channel:{chan.id}",
        language=args.lang or chan.language,
        publish=chan.publish,
        offsetms=offsetms,
        skipms=skipms,
    )

    def gone() -> None:
        playback.player.stop()
        live.forget(playback)

    send_media_command(ctx, control, lambda: live.play_on_channel(chan, playback), gone)
    return playback_reply(playback)


@handles("channels", "play", missing={"media": "Missing parameter media"})
async def play(ctx: AriContext, args: ChannelsPlayArgs) -> Reply:
    return await _play(ctx, args, args.playbackId or None)


@handles("channels", "playWithId", missing={"media": "Missing parameter media"})
async def play_with_id(ctx: AriContext, args: ChannelsPlayWithIdArgs) -> Reply:
    return await _play(ctx, args, args.playbackId)


@handles(
    "channels",
    "record",
    missing={"name": "Missing parameter name", "format": "Missing parameter format"},
    lenient=RECORD_LENIENT | {"maxDurationSeconds", "maxSilenceSeconds"},
)
async def record(ctx: AriContext, args: ChannelsRecordArgs) -> Reply:
    # Asterisk checks these first, with its texts (a bridge's go through decision 0003)
    if args.maxDurationSeconds < 0:
        raise AriError(400, "max_duration_seconds cannot be negative")
    if args.maxSilenceSeconds < 0:
        raise AriError(400, "max_silence_seconds cannot be negative")
    control = find_control(ctx, args.channelId)
    record_checks(args)
    chan = control.channel
    recordings = live_recordings(ctx)
    rec = await new_recording(ctx, args, f"channel:{chan.id}", chan.publish)

    def gone() -> None:
        recordings.forget(rec)

    send_media_command(ctx, control, lambda: recordings.record_channel(chan, rec), gone)
    return recording_reply(rec)


@handles("channels", "startMoh")
async def start_moh(ctx: AriContext, args: ChannelsStartMohArgs) -> None:
    control = find_control_up(ctx, args.channelId)
    service = media_service(ctx)
    name = args.mohClass or None
    await service.prepare_moh(name)
    chan = control.channel
    run_async(ctx, control, lambda: service.start_moh(chan, name))


def _queue_media(
    ctx: AriContext, channel_id: str, action: Callable[[MediaService, Channel], None]
) -> None:
    """Queue ``action`` on the answered channel's own task, without waiting for it."""
    control = find_control_up(ctx, channel_id)
    service = media_service(ctx)
    chan = control.channel
    run_async(ctx, control, lambda: action(service, chan))


@handles("channels", "stopMoh")
async def stop_moh(ctx: AriContext, args: ChannelsStopMohArgs) -> None:
    _queue_media(ctx, args.channelId, MediaService.stop_moh)


@handles("channels", "startSilence")
async def start_silence(ctx: AriContext, args: ChannelsStartSilenceArgs) -> None:
    _queue_media(ctx, args.channelId, MediaService.start_silence)


@handles("channels", "stopSilence")
async def stop_silence(ctx: AriContext, args: ChannelsStopSilenceArgs) -> None:
    _queue_media(ctx, args.channelId, MediaService.stop_silence)


_SNOOP = ("none", "both", "out", "in")


SnoopArgs = ChannelsSnoopChannelArgs | ChannelsSnoopChannelWithIdArgs


def _snoop_checks(ctx: AriContext, args: SnoopArgs) -> Channel:
    spy = args.spy or "none"
    if spy not in _SNOOP:
        raise AriError(400, "Invalid direction specified for spy")
    whisper = args.whisper or "none"
    if whisper not in _SNOOP:
        raise AriError(400, "Invalid direction specified for whisper")
    if spy == "none" and whisper == "none":
        raise AriError(400, "Direction must be specified for at least spy or whisper")
    if not args.given("app"):
        raise AriError(400, "Application name is required")
    return find_channel(ctx, args.channelId, PROVIDED_CHANNEL_NOT_FOUND)


async def _snoop(ctx: AriContext, args: SnoopArgs, snoop_id: str | None) -> ChannelSnapshot:
    target = _snoop_checks(ctx, args)
    service = media_service(ctx)
    try:
        ctx.core.check_ids(snoop_id)
    except DuplicateId as exc:
        raise request_refused(exc) from None
    app = args.app
    app_args = split_app_args(args.appArgs) if args.appArgs else []
    snoop = SNOOP_TECH.snoop(
        ctx.core,
        service,
        target,
        spy=args.spy or "none",
        whisper=args.whisper or "none",
        uniqueid=snoop_id,
    )
    ctx.stasis.subscribe_channel(app, snoop)
    start_in_app(ctx.pbx, ctx.stasis, snoop, InStasis(app, app_args))
    return snoop.snapshot()


@handles("channels", "snoopChannel", lenient=frozenset({"spy", "whisper"}))
async def snoop_channel(ctx: AriContext, args: ChannelsSnoopChannelArgs) -> ChannelSnapshot:
    return await _snoop(ctx, args, args.snoopId or None)


@handles("channels", "snoopChannelWithId", lenient=frozenset({"spy", "whisper"}))
async def snoop_channel_with_id(
    ctx: AriContext, args: ChannelsSnoopChannelWithIdArgs
) -> ChannelSnapshot:
    return await _snoop(ctx, args, args.snoopId)


_HOSTPORT = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):\d{1,5}$")


@handles(
    "channels",
    "externalMedia",
    lenient=frozenset({"encapsulation", "transport", "connection_type", "direction"}),
)
async def external_media(ctx: AriContext, args: ChannelsExternalMediaArgs) -> ChannelSnapshot:
    json_variables(args.variables)
    if not args.given("app"):
        raise AriError(400, "app cannot be empty")
    transport = args.transport or "udp"
    encapsulation = args.encapsulation or "rtp"
    if transport == "websocket" and encapsulation != "none":
        raise AriError(400, "encapsulation must be 'none' for websocket transport")
    if encapsulation == "rtp" and transport != "udp":
        raise AriError(400, "transport must be 'udp' for rtp encapsulation")
    if encapsulation == "audiosocket" and transport != "tcp":
        raise AriError(400, "transport must be 'tcp' for audiosocket encapsulation")
    connection = args.connection_type or "client"
    if transport != "websocket" and connection == "server":
        raise AriError(
            400, "'server' connection_type can only be used with the websocket transport"
        )
    host = args.external_host
    if not host and connection == "client":
        raise AriError(400, "external_host is required for all but websocket server connections")
    if transport == "websocket":
        if connection == "client" and not _websocket_client_exists(ctx, host or ""):
            raise AriError(400, "external_host must be a valid websocket_client connection id.")
    elif not _HOSTPORT.match(host or ""):
        raise AriError(
            400, "external_host must be <host>:<port> for all transports other than websocket"
        )
    if not args.given("format"):
        raise AriError(400, "format cannot be empty")
    direction = args.direction
    if direction and direction not in ("both", "in", "out"):
        raise AriError(400, "Invalid direction specified")
    known = {("rtp", "udp"), ("audiosocket", "tcp"), ("none", "websocket")}
    if (encapsulation, transport) not in known:
        raise AriError(501, "The encapsulation and/or transport is not supported")
    if encapsulation == "audiosocket" and not args.data:
        raise AriError(400, "data can not be empty")
    return await _external_media_channel(ctx, args, encapsulation, transport, connection)


def _websocket_client_exists(ctx: AriContext, name: str) -> bool:
    """Whether websocket_client.conf has a connection ``name``."""
    clients = getattr(ctx.core.techs.get("websocket"), "clients", None)
    return callable(clients) and name in clients()


async def _external_media_channel(
    ctx: AriContext,
    args: ChannelsExternalMediaArgs,
    encapsulation: str,
    transport: str,
    connection: str,
) -> ChannelSnapshot:
    """Originate the external media channel into the app (Asterisk's originate checks)."""
    import msgspec

    from pyari.channels.external import (
        EXTERNAL_MEDIA,
        ExternalMediaError,
        ExternalMediaRequest,
    )
    from pyari.media.frames import FORMATS as MEDIA_FORMATS

    builder = EXTERNAL_MEDIA.get(encapsulation)
    if builder is None:
        raise _not_implemented()
    variables = json_variables(args.variables)
    _check_length(args.channelId)
    fmt_name = args.format
    fmt = MEDIA_FORMATS.get(fmt_name.strip())
    if fmt is None:
        raise AriError(400, f"Provided format ({fmt_name.strip()}) was not found")
    chan_id = args.channelId or None
    try:
        ctx.core.check_ids(chan_id)
    except DuplicateId as exc:
        raise request_refused(exc) from None
    request = ExternalMediaRequest(
        external_host=args.external_host or "INCOMING",
        encapsulation=encapsulation,
        transport=transport,
        connection_type=connection,
        format=fmt,
        direction=args.direction or None,
        data=args.data or None,
        transport_data=args.transport_data or None,
        uniqueid=chan_id,
    )
    try:
        plan = await builder(ctx.core, request)
    except (ExternalMediaError, TechError) as exc:
        raise request_refused(exc) from None
    app = args.app
    data = args.data or ""
    app_args = split_app_args(data) if data else []
    call = OriginateRequest(
        plan.endpoint,
        InStasis(app, app_args),
        variables=[(var, value) for var, value, _report in variables],
        channel_id=chan_id,
        make_channel=plan.request,
    )
    try:
        chan = originate(ctx.pbx, ctx.stasis, call)
    except TechError as exc:
        raise request_refused(exc) from None
    snapshot = chan.snapshot()
    if chan.variables:
        # Asterisk answers with every variable of the new channel (connection ids ...).
        snapshot = msgspec.structs.replace(snapshot, channelvars=dict(chan.variables))
    return snapshot
