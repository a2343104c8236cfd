"""The basic dialplan applications."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyari.core import causes
from pyari.core import events as ev
from pyari.core.callerid import parse_callerid
from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import Pbx, Result, application, goto_target

if TYPE_CHECKING:
    from pyari.core.channel import Channel

log = logging.getLogger("pyari.pbx")
verbose = logging.getLogger("pyari.verbose")


def _seconds(text: str) -> float:
    try:
        return max(float(text.strip() or 0), 0.0)
    except ValueError:
        return 0.0


@application("NoOp")
async def noop(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    return None


@application("Answer")
async def answer(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    chan.answer()
    return None


@application("Hangup")
async def hangup(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    # As Asterisk's Hangup(): an explicit cause (number or name) replaces the
    # channel's; without one an earlier cause stays.  The soft hangup it sets
    # publishes nothing: the end of the dialplan announces it.
    text = data.strip()
    cause = causes.cause_from_text(text) if text else None
    if cause is not None:
        chan.hangupcause = cause
    elif not chan.hangupcause:
        chan.hangupcause = causes.NORMAL_CLEARING
    chan.soft_hangup_quiet(causes.SOFTHANGUP_EXPLICIT)
    return Result.HANGUP


@application("Wait")
async def wait(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    if not await chan.sleep(_seconds(data)):
        return Result.HANGUP
    return None


@application("Ringing")
async def ringing(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    if chan.state != "Up":
        chan.set_state("Ringing")
    return None


@application("Progress")
async def progress(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    return None


@application("Echo")
async def echo(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    # Media is echoed by the media engine; here the channel stays until hangup.
    await chan.wait_hangup()
    return Result.HANGUP


@application("Verbose")
async def verbose_app(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    level, sep, message = data.partition(",")
    if not sep or not level.strip().isdigit():
        message, level = data, "0"
    prefixes = {"0": "", "1": " ", "2": "  == ", "3": "    -- ", "4": "       > "}
    verbose.info("%s%s", prefixes.get(level.strip(), "       > "), message)
    return None


@application("Set")
async def set_app(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    name, sep, value = data.partition("=")
    name = name.strip()
    if not sep or not name:
        log.warning("Set requires an argument (var=value)")
        return None
    assign_variable(pbx, chan, name, value)
    return None


def assign_variable(pbx: Pbx, chan: Channel, name: str, value: str) -> None:
    """``Set(name=value)``, where ``name`` may be a function like GLOBAL(x)."""
    upper = name.upper()
    if upper.startswith("GLOBAL(") and name.endswith(")"):
        var = name[7:-1].strip()
        pbx.core.globals[var] = value
        chan.core.all_channels.publish(ev.ChannelVarset(variable=var, value=value))
        return
    if upper.startswith("CALLERID(") and name.endswith(")"):
        what = name[9:-1].strip().lower()
        if what in ("num", "number"):
            chan.set_caller(number=value)
        elif what == "name":
            chan.set_caller(name=value)
        elif what == "all":
            cid_name, cid_number = parse_callerid(value)
            chan.set_caller(cid_name, cid_number)
        return
    if upper.startswith("CONNECTEDLINE(") and name.endswith(")"):
        what = name[14:-1].strip().lower()
        if what in ("num", "number"):
            chan.set_connected(number=value)
        elif what == "name":
            chan.set_connected(name=value)
        return
    if upper.startswith("CHANNEL(language)".upper()):
        chan.language = value
        chan.changed()
        return
    chan.set_var(name, value)


@application("Goto")
async def goto(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    target = goto_target(pbx, chan, data)
    if target is None:
        log.warning("Goto (%s) is not a valid destination", data)
        return Result.HANGUP
    chan.set_location(*target)
    return Result.JUMP


def is_true(text: str) -> bool:
    text = text.strip()
    if not text:
        return False
    try:
        return float(text) != 0
    except ValueError:
        return True


@application("GotoIf")
async def goto_if(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    cond, sep, branches = data.partition("?")
    if not sep:
        log.warning("GotoIf requires an argument (condition?label1:label2)")
        return None
    on_true, _, on_false = branches.partition(":")
    dest = on_true if is_true(cond) else on_false
    if not dest.strip():
        return None
    return await goto(pbx, chan, dest)


@application("UserEvent")
async def user_event(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    parts = split_app_args(data)
    if not parts or not parts[0].strip():
        log.warning("UserEvent requires an argument (eventname,optional event body)")
        return None
    body: dict[str, object] = {}
    for item in parts[1:]:
        key, sep, value = item.partition(":")
        if sep:
            body[key.strip()] = value.strip()
    body["eventname"] = parts[0].strip()
    chan.publish(
        ev.ChannelUserevent(eventname=parts[0].strip(), channel=chan.snapshot(), userevent=body)
    )
    return None
