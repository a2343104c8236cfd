"""The basic dialplan applications."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyari.core import causes
from pyari.core import events as ev
from pyari.core.callerid import parse_callerid
from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import Pbx, Result, application, goto_target
from pyari.media.service import media_of

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


def _set_party_item(
    set_party: Callable[[str | None, str | None], None], item: str, value: str
) -> None:
    """Set a party's (caller id's or connected line's) ``num``/``number`` or ``name``;
    ``set_party(name, number)`` leaves the part given as None unchanged."""
    if item in ("num", "number"):
        set_party(None, value)
    elif item == "name":
        set_party(value, None)


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
        if what == "all":
            cid_name, cid_number = parse_callerid(value)
            chan.set_caller(cid_name, cid_number)
        else:
            _set_party_item(chan.set_caller, what, value)
        return
    if upper.startswith("CONNECTEDLINE(") and name.endswith(")"):
        _set_party_item(chan.set_connected, name[14:-1].strip().lower(), value)
        return
    if upper.startswith("TALK_DETECT(") and name.endswith(")"):
        action = name[12:-1].strip().lower()
        media = media_of(chan.core)
        if media is not None:
            try:
                media.talk_detect(
                    chan,
                    action,
                    value,
                    on_start=lambda: chan.publish(
                        ev.ChannelTalkingStarted(channel=chan.snapshot())
                    ),
                    on_stop=lambda duration: chan.publish(
                        ev.ChannelTalkingFinished(channel=chan.snapshot(), duration=duration)
                    ),
                )
            except ValueError as exc:
                log.warning("%s", exc)
        return
    if upper.startswith("TIMEOUT(") and name.endswith(")"):
        which = name[8:-1].strip().lower()
        if which not in ("digit", "response"):
            chan.set_var(name, value)
            return
        try:
            seconds = max(float(value.strip() or 0), 0.0)
        except ValueError:
            seconds = 0.0
        # Read back as func_timeout formats it (seconds with milliseconds).
        chan.variables[f"TIMEOUT({which})"] = f"{seconds:.3f}"
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


# -- media ---------------------------------------------------------------------------


def _sound_uris(files: str) -> list[str]:
    return [f"sound:{name.strip()}" for name in files.split("&") if name.strip()]


def _answer_to_play(chan: Channel, *, skip: bool, noanswer: bool) -> bool:
    """Playback's and Background's start: a channel not answered yet is answered, unless
    ``noanswer``; with ``skip`` it is left alone and nothing is played (False)."""
    if chan.up:
        return True
    if skip:
        return False
    if not noanswer:
        chan.answer()
    return True


@application("Playback")
async def playback(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    """``Playback(file1[&file2...][,options])``: options ``skip``, ``noanswer``.

    PLAYBACKSTATUS is SUCCESS, or FAILED when a file could not be played (the
    others still play).
    """
    args = split_app_args(data)
    files = _sound_uris(args[0] if args else "")
    options = {o.strip().lower() for o in (args[1] if len(args) > 1 else "").split("&")}
    media = media_of(chan.core)
    if not files:
        log.warning("Playback requires an argument (filename)")
        return None
    if not _answer_to_play(chan, skip="skip" in options, noanswer="noanswer" in options):
        return None
    ok = await media.play_files(chan, files, chan.language) if media is not None else False
    if chan.hungup:
        return Result.HANGUP
    chan.set_var("PLAYBACKSTATUS", "SUCCESS" if ok else "FAILED")
    return None


@application("Background")
async def background(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    """``Background(file1[&file2...][,options[,langoverride[,context]]])``.

    Plays the files while listening for a key; a key stops the playback. As
    Asterisk: a key that is a whole extension of the context (the channel's, or
    the one given) that no longer one could match goes there at once; otherwise
    the PBX collects more keys in the channel's context while a longer extension
    could still match, each within ``TIMEOUT(digit)`` (5 s), then goes to the
    extension dialled, else to ``i`` (``INVALID_EXTEN``), else hangs up. Options
    ``s`` (skip when not answered), ``n`` (do not answer).
    """
    args = split_app_args(data)
    files = _sound_uris(args[0] if args else "")
    options = args[1].strip() if len(args) > 1 else ""
    language = (args[2].strip() if len(args) > 2 else "") or chan.language
    context = (args[3].strip() if len(args) > 3 else "") or chan.context
    media = media_of(chan.core)
    if not files or media is None:
        log.warning("Background requires an argument (filename)")
        return None
    if not _answer_to_play(chan, skip="s" in options, noanswer="n" in options):
        return None
    dialplan = pbx.dialplan
    keys: asyncio.Queue[str] = asyncio.Queue()
    media.add_dtmf_hook(chan, keys.put_nowait)
    try:
        playing = asyncio.ensure_future(media.play_files(chan, files, language))
        key = asyncio.ensure_future(keys.get())
        try:
            await asyncio.wait([playing, key], return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not key.done():
                key.cancel()
        if not playing.done():
            cm = chan.media
            if cm is not None and cm.player is not None:
                cm.player.stop()
            await playing
        if chan.hungup:
            return Result.HANGUP
        if key.cancelled() or not key.done():
            return None
        exten = key.result()
        caller = chan.caller.number or None
        if dialplan.exists(context, exten, 1, caller) and not _match_more(
            pbx, context, exten, caller
        ):
            chan.set_location(context, exten, 1)
            return Result.JUMP
        # The PBX takes the key as the start of an extension of the channel's context.
        context = chan.context
        timeout = digit_timeout(chan)
        while _match_more(pbx, context, exten, caller):
            try:
                exten += await _next_key(keys, chan, timeout)
            except TimeoutError:
                break
            if chan.hungup:
                return Result.HANGUP
    finally:
        media.remove_dtmf_hook(chan, keys.put_nowait)
    if dialplan.exists(context, exten, 1, caller):
        chan.set_location(context, exten, 1)
        return Result.JUMP
    if dialplan.exists(context, "i", 1, caller):
        verbose.info(
            "    -- Invalid extension '%s' in context '%s' on %s", exten, context, chan.name
        )
        chan.set_var("INVALID_EXTEN", exten)
        chan.set_location(context, "i", 1)
        return Result.JUMP
    log.warning("Invalid extension '%s', but no rule 'i' or 'e' in context '%s'", exten, context)
    return Result.HANGUP


DEFAULT_DIGIT_TIMEOUT = 5.0
"""``TIMEOUT(digit)`` when not set: seconds to wait for the next key of an extension."""


def digit_timeout(chan: Channel) -> float:
    text = chan.variables.get("TIMEOUT(digit)")
    if text is None:
        return DEFAULT_DIGIT_TIMEOUT
    try:
        return max(float(text), 0.0)
    except ValueError:
        return DEFAULT_DIGIT_TIMEOUT


async def _next_key(keys: asyncio.Queue[str], chan: Channel, timeout: float) -> str:
    """The next key pressed within ``timeout`` (TimeoutError), or ``""`` on a hang-up."""
    key = asyncio.ensure_future(keys.get())
    gone = asyncio.ensure_future(chan.wait_hangup())
    try:
        await asyncio.wait([key, gone], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not key.done():
            key.cancel()
    if key.done() and not key.cancelled():
        return key.result()
    if chan.hungup:
        return ""
    raise TimeoutError


def _match_more(pbx: Pbx, context: str, exten: str, caller: str | None) -> bool:
    """``ast_matchmore_extension``: could more keys make ``exten`` an extension of
    ``context`` (or of a context it includes)?"""
    from pyari.dialplan.patterns import match, match_more

    dialplan = pbx.dialplan
    seen: set[str] = set()
    pending = [context]
    while pending:
        name = pending.pop(0)
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        ctx = dialplan.contexts.get(name)
        if ctx is None:
            continue
        for ext in ctx.sorted_extensions:
            if not match_more(ext.match_name, exten):
                continue
            if ext.cid is None or (match(ext.cid, caller) if caller else not ext.cid):
                return True
        pending.extend(ctx.includes)
    return False
