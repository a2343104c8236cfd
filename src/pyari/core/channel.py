"""Channels: one call leg each, owned by a channel technology.

A channel's state changes only through its methods, and every change
publishes a message on the channel's topic.  Long-running work on a channel
(the dialplan, a Stasis application) runs on the channel's own task; other
parties ask it to do things (hang up, run an ARI command) and it does them
there, in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypedDict

import msgspec

from pyari.core import causes
from pyari.core import events as ev
from pyari.core.snapshots import EMPTY_CALLER, CallerId, ChannelSnapshot, DialplanCEP
from pyari.wallclock import ari_timestamp

if TYPE_CHECKING:
    from pyari.bus import Topic
    from pyari.core.bridge import Bridge
    from pyari.core.engine import Core
    from pyari.core.tech import ChannelTech

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()

DTMF_DIGITS = frozenset("0123456789*#ABCD")

STATES = (
    "Down",
    "Rsrvd",
    "OffHook",
    "Dialing",
    "Ring",
    "Ringing",
    "Up",
    "Busy",
    "Dialing Offhook",
    "Pre-ring",
)
"""The names of a channel's states (``Channel.state``, the CLI, ARI's model), in the
order of Asterisk's ``enum ast_channel_state``: a state's index is its number."""


class ChannelFields(TypedDict, total=False):
    """What a technology may set when it makes a channel (:meth:`Core.new_channel`)."""

    state: str
    context: str
    exten: str
    priority: int
    caller: CallerId
    language: str
    linkedid: str | None
    protocol_id: str
    accountcode: str


class Channel:
    """A live channel."""

    __slots__ = (
        "_answered",
        "_hungup",
        "_json",
        "_json_of",
        "_json_pretty",
        "_snapshot",
        "_was_answered",
        "accountcode",
        "app_data",
        "app_name",
        "bridge",
        "caller",
        "cdr_id",
        "connected",
        "context",
        "control",
        "core",
        "created",
        "creationtime",
        "destroyed",
        "dialstring",
        "exten",
        "formats",
        "hangupcause",
        "hungup",
        "id",
        "language",
        "linkedid",
        "media",
        "muted",
        "name",
        "peer",
        "priority",
        "protocol_id",
        "soft_hangup",
        "stasis_app",
        "state",
        "task",
        "tech",
        "tech_pvt",
        "topic",
        "variables",
    )

    def __init__(
        self,
        core: Core,
        tech: ChannelTech,
        name: str,
        *,
        uniqueid: str,
        state: str = "Down",
        context: str = "default",
        exten: str = "s",
        priority: int = 1,
        caller: CallerId = EMPTY_CALLER,
        language: str = "en",
        linkedid: str | None = None,
        protocol_id: str = "",
        accountcode: str = "",
    ) -> None:
        self.core = core
        self.tech = tech
        self.tech_pvt: object = None
        """What the technology keeps for this channel; read with :func:`~pyari.core.tech.pvt_of`."""
        self.id = uniqueid
        self.name = name
        self.state = state
        self.context = context
        self.exten = exten
        self.priority = priority
        self.app_name = ""
        self.app_data = ""
        self.caller = caller
        self.connected = EMPTY_CALLER
        self.language = language
        self.linkedid = linkedid or uniqueid
        self.protocol_id = protocol_id
        self.accountcode = accountcode
        self.created = time.time()
        self.creationtime = ari_timestamp(self.created)
        self.variables: dict[str, str] = {}
        self.hangupcause = 0
        self.soft_hangup = 0
        """Soft hangup flags; non-zero once a hangup was requested."""
        self.destroyed = False
        self.hungup = False
        """A hangup was requested (``soft_hangup`` not 0) or the channel is destroyed (an
        attribute, not worked out per read: the dialplan and Stasis read it all the time)."""
        self.stasis_app: str | None = None
        self.control: Any = None
        """The Stasis control of this channel while it is in an application."""
        self.peer: Channel | None = None
        self.bridge: Bridge | None = None
        self.muted: frozenset[str] = frozenset()
        """Suppressed audio directions: ``in`` (from the far end), ``out`` (to it)."""
        self.media: Any = None
        """The channel's media (:class:`~pyari.media.service.ChannelMedia`), made on need."""
        self.dialstring: str | None = None
        """For a channel made by ARI ``create``: what ``dial`` calls."""
        self.formats: tuple[str, ...] = ()
        """The media formats the channel was requested with (ARI's ``formats``); a
        technology that negotiates offers only these of its own (none: all of them)."""
        self.task: asyncio.Task[None] | None = None
        self.cdr_id = 0
        self._snapshot: ChannelSnapshot | None = None
        self._json_of: ChannelSnapshot | None = None
        """The snapshot ``_json`` encodes (the bytes follow the snapshot cache)."""
        self._json = b""
        self._json_pretty: bytes | None = None
        self._hungup: asyncio.Event | None = None
        """Set once hung up; made when something first waits for it (most calls never do)."""
        self._answered: asyncio.Event | None = None
        """Set once answered; made when something first waits for it."""
        self._was_answered = state == "Up"
        self.topic: Topic = core.bus.topic(f"channel:{uniqueid}", name)
        self.topic.forward_to(core.all_channels)

    def __repr__(self) -> str:
        return f"<Channel {self.name} {self.state}>"

    # -- snapshots and events -------------------------------------------------

    def snapshot(self) -> ChannelSnapshot:
        snap = self._snapshot
        if snap is None:
            names = self.core.snapshot_channelvars
            snap = self._snapshot = ChannelSnapshot(
                id=self.id,
                name=self.name,
                state=self.state,
                protocol_id=self.protocol_id,
                caller=self.caller,
                connected=self.connected,
                accountcode=self.accountcode,
                dialplan=DialplanCEP(
                    self.context, self.exten, self.priority, self.app_name, self.app_data
                ),
                creationtime=self.creationtime,
                language=self.language,
                channelvars=self._channelvars(names) if names else ev.UNSET,
            )
        return snap

    def snapshot_json(self, pretty: bool = False) -> bytes:
        """The snapshot as ARI JSON, encoded once per change (lists join these bytes).

        ``pretty``: formatted as an item of a pretty-printed array (indented two
        spaces, as ``msgspec.json.format(..., indent=2)`` lays out a list).
        """
        snap = self.snapshot()
        if self._json_of is not snap:
            self._json = _encoder.encode(snap)
            self._json_pretty = None
            self._json_of = snap
        if not pretty:
            return self._json
        formatted = self._json_pretty
        if formatted is None:
            # JSON strings hold no raw newline: every line of the item gets the indent.
            text = msgspec.json.format(self._json, indent=2)
            formatted = self._json_pretty = b"  " + text.replace(b"\n", b"\n  ")
        return formatted

    def _channelvars(self, names: tuple[str, ...]) -> dict[str, str]:
        return {n: self.get_var(n) or "" for n in names}

    def changed(self) -> None:
        """Forget the cached snapshot after a change (made from outside: the channel's
        own methods clear ``_snapshot`` themselves, a call less on each change)."""
        self._snapshot = None

    def _vars_changed(self) -> None:
        """Forget the cached snapshot after a change that only its ``channelvars`` can
        show (a variable, the hangup cause): none without ari.conf ``channelvars``."""
        if self.core.snapshot_channelvars:
            self._snapshot = None

    def publish(self, event: ev.Event) -> None:
        self.topic.publish(event)

    # -- state ---------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self.state == "Up"

    def set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        self._snapshot = None
        if state == "Up":
            self._was_answered = True
            if self._answered is not None:
                self._answered.set()
        self.topic.publish(ev.ChannelStateChange(channel=self.snapshot()))

    def set_location(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority
        self._snapshot = None

    def set_app(self, app: str, data: str, *, publish: bool = True) -> None:
        """Record the dialplan application being run (ChannelDialplan)."""
        self.app_name, self.app_data = app, data
        self._snapshot = None
        if publish:
            self.topic.publish(
                ev.ChannelDialplan(
                    dialplan_app=app, dialplan_app_data=data, channel=self.snapshot()
                )
            )

    def set_caller(self, name: str | None = None, number: str | None = None) -> None:
        caller = CallerId(
            self.caller.name if name is None else name,
            self.caller.number if number is None else number,
        )
        if caller == self.caller:
            return
        self.caller = caller
        self._snapshot = None
        self.topic.publish(
            ev.ChannelCallerId(
                caller_presentation=0,
                caller_presentation_txt="Presentation Allowed, Not Screened",
                channel=self.snapshot(),
            )
        )

    def take_caller_details(self, caller: Channel) -> None:
        """Dialed on behalf of ``caller``: its caller id becomes this channel's
        connected line and its language this channel's, without an event (as
        Asterisk's dial copies them)."""
        self.connected = CallerId(caller.caller.name, caller.caller.number)
        self.language = caller.language
        self._snapshot = None

    def set_connected(self, name: str | None = None, number: str | None = None) -> None:
        self.connected = CallerId(
            self.connected.name if name is None else name,
            self.connected.number if number is None else number,
        )
        self._snapshot = None
        self.topic.publish(ev.ChannelConnectedLine(channel=self.snapshot()))

    # -- variables -----------------------------------------------------------

    def get_var(self, name: str) -> str | None:
        value = self.variables.get(name)
        if value is not None:
            return value
        return self.builtin_var(name)

    def builtin_var(self, name: str) -> str | None:
        match name:
            case "CHANNEL" | "CHANNEL(name)":
                return self.name
            case "UNIQUEID" | "CHANNEL(uniqueid)":
                return self.id
            case "EXTEN":
                return self.exten
            case "CONTEXT":
                return self.context
            case "PRIORITY":
                return str(self.priority)
            case "LINKEDID" | "CHANNEL(linkedid)":
                return self.linkedid
            case "CALLERID(num)" | "CALLERIDNUM":
                return self.caller.number
            case "CALLERID(name)" | "CALLERIDNAME":
                return self.caller.name
            case "CHANNEL(state)":
                return self.state
            case "CHANNEL(language)" | "LANGUAGE()":
                return self.language
            case "HANGUPCAUSE":
                return str(self.hangupcause)
        return None

    def set_var(self, name: str, value: str) -> None:
        if name.startswith("__"):
            name = name[2:]
        elif name.startswith("_"):
            name = name[1:]
        self.variables[name] = value
        self._vars_changed()
        self.topic.publish(ev.ChannelVarset(variable=name, value=value, channel=self.snapshot()))

    def set_muted(self, directions: set[str], muted: bool) -> None:
        """Mute or unmute audio directions (``in``: from the far end, ``out``: to it)."""
        # Replaced, not changed: a channel never muted shares the empty frozenset.
        self.muted = self.muted | directions if muted else self.muted - directions
        media = self.core.media
        if media is not None:
            media.set_muted(self)

    # -- signalling to the far end ------------------------------------------------

    def indicate(self, condition: str, data: str | None = None) -> None:
        """Signal ``condition`` (ringing, progress, hold, unhold ...) to the far end.

        A technology with an ``indicate`` method handles it (a simulated phone
        records it); a Local half passes it to its other half as a control frame.
        """
        handler = getattr(self.tech, "indicate", None)
        if handler is not None:
            handler(self, condition, data)
            return
        peer = self.peer
        if peer is not None and not peer.destroyed:
            peer.control_received(condition, data)

    def control_received(self, condition: str, data: str | None = None) -> None:
        """The far end signalled ``condition``.

        In a bridge, a hold or unhold from the far end is announced
        (ChannelHold / ChannelUnhold), as a bridge does when it reads one.
        """
        if self.bridge is None:
            return
        if condition == "hold":
            self.topic.publish(
                ev.ChannelHold(channel=self.snapshot(), musicclass=data if data else ev.UNSET)
            )
        elif condition == "unhold":
            self.topic.publish(ev.ChannelUnhold(channel=self.snapshot()))

    def send_digit(self, digit: str, duration_ms: int) -> None:
        """Send one DTMF digit out to the far end."""
        handler = getattr(self.tech, "send_digit", None)
        if handler is not None:
            handler(self, digit, duration_ms)
            return
        peer = self.peer
        if peer is not None and not peer.destroyed:
            peer.dtmf_received(digit, duration_ms)

    def dtmf_received(self, digit: str, duration_ms: int) -> None:
        """A digit arrived from the far end (ChannelDtmfReceived); a bridge passes it on."""
        self.topic.publish(
            ev.ChannelDtmfReceived(digit=digit, duration_ms=duration_ms, channel=self.snapshot())
        )
        media = self.core.media
        if media is not None:
            media.on_dtmf(self, digit)
        if self.bridge is not None:
            self.bridge.dtmf_from(self, digit, duration_ms)

    async def send_dtmf(self, digits: str, *, between_ms: int, duration_ms: int) -> None:
        """Play ``digits`` to the far end: each lasts ``duration_ms``, then a pause.

        ``w`` waits half a second and ``W`` a second; other characters that are
        not DTMF digits are skipped.
        """
        for char in digits:
            if self.hungup:
                return
            if char in "wW":
                if not await self.sleep(0.5 if char == "w" else 1.0):
                    return
                continue
            digit = char.upper()
            if digit not in DTMF_DIGITS:
                log.warning("Illegal DTMF character '%s' in string. (0-9*#aAbBcCdD allowed)", char)
                continue
            if not await self.sleep(duration_ms / 1000):
                return
            self.send_digit(digit, duration_ms)
            if between_ms > 0 and not await self.sleep(between_ms / 1000):
                return

    # -- answer and hangup ---------------------------------------------------

    def answer(self) -> None:
        if self.state != "Up" and not self.hungup:
            self.set_state("Up")
            self.tech.answered(self)

    async def wait_answered(self, timeout: float | None) -> bool:
        """Wait until the channel is answered; False on hangup or timeout first."""
        if self.up:
            return True
        answered = self._answered
        if answered is None:
            answered = self._answered = asyncio.Event()
            if self._was_answered:  # (up before, not now)
                answered.set()
        waiters = [
            asyncio.ensure_future(answered.wait()),
            asyncio.ensure_future(self._hungup_event().wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
        # Answered and hung up at once still counts as answered (the answer came first).
        return self._was_answered

    def request_hangup(
        self, cause: int = causes.NORMAL_CLEARING, *, replace_cause: bool = False
    ) -> None:
        """Hang up on behalf of someone else (ARI, the CLI): a soft hangup.

        ``cause`` becomes the hangup cause if the channel has none yet, or in
        any case with ``replace_cause`` (ARI's hangup with a reason).
        """
        if self.destroyed:
            return
        if replace_cause or not self.hangupcause:
            self.hangupcause = cause
        self._soft(causes.SOFTHANGUP_EXPLICIT)

    def queue_hangup(self, cause: int = causes.NORMAL_CLEARING) -> None:
        """A hangup signalled by the channel's far end (e.g. a Local peer)."""
        if self.destroyed or self.soft_hangup:
            return
        if not self.hangupcause:
            self.hangupcause = cause
        self.soft_hangup |= causes.SOFTHANGUP_DEV
        self._wake()
        self.topic.publish(ev.ChannelHangupRequest(cause=cause, channel=self.snapshot()))

    def soft_hangup_quiet(self, flag: int) -> None:
        """Set a soft hangup flag without announcing it (``ast_softhangup_nolock``)."""
        if self.destroyed:
            return
        self.soft_hangup |= flag
        self._wake()

    def _soft(self, flag: int) -> None:
        if self.soft_hangup & flag:
            return
        self.soft_hangup |= flag
        self._wake()
        self.topic.publish(ev.ChannelHangupRequest(cause=flag, soft=True, channel=self.snapshot()))

    def _wake(self) -> None:
        # Called before the hangup is announced: the channel's task (which says
        # StasisEnd ...) then runs first in the next loop round, ahead of what the
        # announcement scheduled (an events socket's write), so both leave together.
        if self.soft_hangup:
            self.hungup = True
        if self._hungup is not None:
            self._hungup.set()
        if self.control is not None:
            self.control.wake()
        if self.task is None:
            # Nobody runs this channel: hang it up now.
            self.core.loop_call_soon(self.destroy)

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless hung up first; True if the full time passed."""
        if self.hungup:
            return False
        try:
            await asyncio.wait_for(self._hungup_event().wait(), timeout=max(seconds, 0))
        except TimeoutError:
            return not self.hungup
        return False

    async def wait_hangup(self) -> None:
        await self._hungup_event().wait()

    def _hungup_event(self) -> asyncio.Event:
        event = self._hungup
        if event is None:
            event = self._hungup = asyncio.Event()
            if self.hungup:
                event.set()
        return event

    def end_pbx(self) -> None:
        """The channel's dialplan ended: a soft hangup (APPUNLOAD), as Asterisk."""
        if not self.destroyed:
            self._soft(causes.SOFTHANGUP_APPUNLOAD)

    # -- running work on the channel -----------------------------------------

    def start(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work`` as this channel's task; the channel dies with it."""
        self.task = self.core.spawn(self._run(work), name=self.name)

    async def _run(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("channel %s: task failed", self.name)
        finally:
            self.destroy()

    def destroy(self) -> None:
        """Hang the channel up for good: ChannelDestroyed, then it is gone."""
        if self.destroyed:
            return
        if not self.hangupcause:
            self.hangupcause = causes.NORMAL_CLEARING
        self.destroyed = self.hungup = True
        if self._hungup is not None:
            self._hungup.set()
        if self.bridge is not None:
            self.bridge.remove(self)
        media = self.core.media
        if media is not None:
            media.channel_gone(self)
        self._vars_changed()
        self.core.channel_gone(self)
        self.topic.publish(
            ev.ChannelDestroyed(
                cause=self.hangupcause,
                cause_txt=causes.cause_text(self.hangupcause),
                channel=self.snapshot(),
            )
        )
        try:
            self.tech.hangup(self)
        finally:
            self.core.drop_topic(self)
