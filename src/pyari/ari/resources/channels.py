"""/channels: list, originate, create, answer, hang up, variables, continue."""

from __future__ import annotations

import re
from typing import Any

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles
from pyari.core import causes
from pyari.core.channel import Channel
from pyari.core.snapshots import ChannelSnapshot
from pyari.core.tech import TechError
from pyari.dialplan.apps import assign_variable
from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import ChannelVars
from pyari.dialplan.originate import DEFAULT_TIMEOUT, originate
from pyari.stasis.control import ChannelGone, Control

CHANNEL_NOT_FOUND = "Channel not found"


def find_channel(ctx: AriContext, channel_id: str) -> Channel:
    chan = ctx.core.channels.get(channel_id)
    if chan is None or chan.destroyed:
        raise AriError(404, CHANNEL_NOT_FOUND)
    return chan


def find_control(ctx: AriContext, channel_id: str) -> Control:
    """The control of a channel that is in a Stasis application."""
    chan = find_channel(ctx, channel_id)
    control: Control | None = chan.control
    if control is None:
        raise AriError(409, "Channel not in Stasis application")
    return control


async def run_on(control: Control, command: Any) -> Any:
    try:
        return await control.execute(command)
    except ChannelGone:
        raise AriError(404, CHANNEL_NOT_FOUND) from None


@handles("channels", "list")
async def list_channels(ctx: AriContext, p: Params) -> list[ChannelSnapshot]:
    return [c.snapshot() for c in ctx.core.channels.values()]


@handles("channels", "get")
async def get_channel(ctx: AriContext, p: Params) -> ChannelSnapshot:
    return find_channel(ctx, p["channelId"]).snapshot()


# -- originate and create ----------------------------------------------------------

_CALLERID = re.compile(r'^\s*(?:"(?P<qname>[^"]*)"|(?P<name>[^<]*?))\s*<(?P<num>[^>]*)>\s*$')


def parse_callerid(text: str) -> tuple[str, str]:
    """``"Name" <number>`` / ``Name <number>`` / ``number`` → (name, number)."""
    m = _CALLERID.match(text)
    if m:
        return (m.group("qname") or m.group("name") or "").strip(), m.group("num").strip()
    return "", text.strip()


def _variables(p: Params) -> dict[str, str]:
    raw = p.get("variables")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AriError(400, "Invalid value for parameter variables")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in raw.items()}


def _check_ids(ctx: AriContext, p: Params) -> tuple[str | None, str | None]:
    chan_id = p.get("channelId") or None
    other_id = p.get("otherChannelId") or None
    for cid in (chan_id, other_id):
        if cid is not None and ctx.core.id_in_use(cid):
            raise AriError(409, "Channel with given unique ID already exists")
    if chan_id is not None and chan_id == other_id:
        raise AriError(409, "Channel with given unique ID already exists")
    return chan_id, other_id


def _endpoint(p: Params) -> str:
    endpoint: str = p["endpoint"]
    if "/" not in endpoint:
        raise AriError(400, "Invalid endpoint specified")
    return endpoint


ORIGINATE_MISSING = {"endpoint": "Endpoint must be specified"}


@handles("channels", "originate", missing=ORIGINATE_MISSING)
async def originate_channel(ctx: AriContext, p: Params) -> ChannelSnapshot:
    return _originate(ctx, p)


@handles("channels", "originateWithId", missing=ORIGINATE_MISSING)
async def originate_with_id(ctx: AriContext, p: Params) -> ChannelSnapshot:
    return _originate(ctx, p)


def _originate(ctx: AriContext, p: Params) -> ChannelSnapshot:
    endpoint = _endpoint(p)
    app: str | None = p.get("app") or None
    extension: str | None = p.get("extension") or None
    if app is None and extension is None:
        raise AriError(400, "Application or extension must be specified")
    chan_id, other_id = _check_ids(ctx, p)
    variables = _variables(p)
    timeout = p.get("timeout", DEFAULT_TIMEOUT)
    name = number = None
    if p.get("callerId"):
        name, number = parse_callerid(p.get("callerId"))
    stasis, pbx = ctx.stasis, ctx.pbx

    if app is not None:
        args = split_app_args(p.get("appArgs") or "") if p.get("appArgs") else []

        def subscribe(chan: Channel) -> None:
            stasis.subscribe_channel(app, chan)
            if chan.peer is not None:
                stasis.subscribe_channel(app, chan.peer)

        async def after_answer(chan: Channel) -> None:
            chan.set_app("Stasis", ",".join([app, *args]), publish=False)
            if await stasis.run(chan, app, args, dialplan=False) == "GOTO":
                await pbx.run(chan)

        on_created = subscribe
    else:
        context = p.get("context") or "default"
        assert extension is not None
        exten = extension
        priority = p.get("priority") or 1
        label = p.get("label")

        async def after_answer(chan: Channel) -> None:
            target = priority
            if label:
                found = pbx.dialplan.find_label(context, exten, label)
                if found is None:
                    return
                target = found
            chan.set_location(context, exten, int(target))
            await pbx.run(chan)

        on_created = None

    try:
        chan = originate(
            ctx.core,
            endpoint,
            after_answer,
            timeout=float(timeout),
            caller_name=name,
            caller_number=number,
            uniqueid=chan_id,
            other_id=other_id,
            on_created=on_created,
        )
    except TechError as exc:
        status = 409 if "already exists" in str(exc) else 400
        raise AriError(
            status, str(exc) if status == 409 else "Invalid endpoint specified"
        ) from None
    for var, value in variables.items():
        assign_variable(pbx, chan, var, value)
    return chan.snapshot()


@handles(
    "channels",
    "create",
    missing={"endpoint": "Endpoint must be specified", "app": "Application must be specified"},
)
async def create_channel(ctx: AriContext, p: Params) -> ChannelSnapshot:
    endpoint = _endpoint(p)
    app: str = p["app"]
    chan_id, other_id = _check_ids(ctx, p)
    variables = _variables(p)
    args = split_app_args(p.get("appArgs") or "") if p.get("appArgs") else []
    try:
        chan = ctx.core.request(endpoint, uniqueid=chan_id, other_id=other_id)
    except TechError as exc:
        status = 409 if "already exists" in str(exc) else 400
        raise AriError(
            status, str(exc) if status == 409 else "Invalid endpoint specified"
        ) from None
    for var, value in variables.items():
        assign_variable(ctx.pbx, chan, var, value)
    stasis, pbx = ctx.stasis, ctx.pbx
    stasis.subscribe_channel(app, chan)

    async def in_app() -> None:
        if await stasis.run(chan, app, args, dialplan=False) == "GOTO":
            await pbx.run(chan)

    chan.start(in_app)
    return chan.snapshot()


# -- call control ------------------------------------------------------------------


@handles("channels", "answer")
async def answer(ctx: AriContext, p: Params) -> None:
    control = find_control(ctx, p["channelId"])
    await run_on(control, control.channel.answer)


@handles("channels", "hangup")
async def hangup(ctx: AriContext, p: Params) -> None:
    chan = find_channel(ctx, p["channelId"])
    reason_code = p.get("reason_code")
    reason = p.get("reason")
    if reason_code is not None and reason is not None:
        raise AriError(400, "The reason and reason_code can't both be specified")
    cause = causes.NORMAL_CLEARING
    if reason_code is not None:
        try:
            cause = int(reason_code)
        except ValueError:
            raise AriError(400, "Invalid reason for hangup reason provided") from None
    elif reason is not None:
        found = causes.HANGUP_REASONS.get(reason)
        if found is None:
            raise AriError(400, "Invalid reason for hangup reason provided")
        cause = found
    chan.hangupcause = cause
    chan.request_hangup(cause)


@handles("channels", "continueInDialplan")
async def continue_in_dialplan(ctx: AriContext, p: Params) -> None:
    control = find_control(ctx, p["channelId"])
    chan = control.channel
    context = p.get("context") or None
    exten = p.get("extension") or None
    priority = p.get("priority")
    label = p.get("label") or None
    if context is None and exten is None and priority is None and label is None:
        target = (chan.context, chan.exten, chan.priority + 1)
    else:
        ctx_name = context or chan.context
        ext_name = exten or chan.exten
        prio = int(priority) if priority is not None else 1
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

    await run_on(control, go)


# -- variables ----------------------------------------------------------------------


@handles("channels", "getChannelVar", missing={"variable": "Variable name is required"})
async def get_channel_var(ctx: AriContext, p: Params) -> dict[str, str]:
    name: str = p["variable"]
    chan = ctx.core.channels.get(p["channelId"])
    if chan is None or chan.destroyed:
        raise AriError(404, "Provided channel was not found")
    vars_ = ChannelVars(ctx.pbx, chan)
    if name.endswith(")") and "(" in name:
        fname, _, args = name[:-1].partition("(")
        value = vars_.call_function(fname, args)
    else:
        value = vars_.get_var(name)
    if value is None:
        raise AriError(404, "Provided variable was not found")
    return {"value": value}


@handles("channels", "setChannelVar", missing={"variable": "Variable name is required"})
async def set_channel_var(ctx: AriContext, p: Params) -> None:
    control = find_control(ctx, p["channelId"])
    name: str = p["variable"]
    value = p.get("value") or ""
    await run_on(control, lambda: assign_variable(ctx.pbx, control.channel, name, value))
