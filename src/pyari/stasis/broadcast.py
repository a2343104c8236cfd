"""Offering a call to several Stasis applications (Asterisk's res_stasis_broadcast).

``StasisBroadcast()`` in the dialplan sends CallBroadcast to every
application (or those whose name matches a regular expression), in random
order so none is always first.  Applications answer with ``POST
/events/claim``: the first claim wins, later ones get 409; the channel then
enters Stasis with the winner.  With no claim before the timeout the
dialplan goes on with ``STASISSTATUS=TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import re
from typing import TYPE_CHECKING

from pyari.config.values import TRUE_WORDS
from pyari.core import events as ev
from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import Pbx, Result, application

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.stasis.registry import Registry

log = logging.getLogger("pyari.stasis")
verbose = logging.getLogger("pyari.verbose")

DEFAULT_TIMEOUT_MS = 500
MAX_TIMEOUT_MS = 60_000
MAX_STASIS_ARGS = 128

MAX_REGEX_LENGTH = 256
MAX_GROUP_DEPTH = 10
MAX_QUANTIFIED_GROUPS = 3


class Claim(enum.Enum):
    WON = "won"
    NOT_FOUND = "not found"
    """No broadcast of that channel, or it already ended unclaimed."""
    TAKEN = "taken"
    """Another application claimed it first."""


def safe_filter(pattern: str) -> re.Pattern[str] | None:
    """Compile an application filter, or None if it is too risky or invalid.

    Patterns longer than 256 characters, nested deeper than 10 groups or with
    more than 3 quantified groups are refused (the broadcast then goes to
    every application), as Asterisk refuses them.
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        return None
    depth = quantified = 0
    in_class = escaped = False
    prev = ""
    for ch in pattern:
        if escaped:
            escaped = False
            prev = ""
            continue
        if ch == "\\":
            escaped = True
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
            if depth > MAX_GROUP_DEPTH:
                return None
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch in "+*?{" and prev == ")":
            quantified += 1
        prev = ch
    if quantified > MAX_QUANTIFIED_GROUPS:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        return None


class Broadcast:
    """The offer of one channel."""

    __slots__ = ("channel", "claimed", "finished", "matcher", "notify_claimed", "winner")

    def __init__(self, channel: Channel, matcher: re.Pattern[str] | None, notify: bool) -> None:
        self.channel = channel
        self.matcher = matcher
        self.notify_claimed = notify
        self.winner: str | None = None
        self.finished = False
        self.claimed = asyncio.Event()

    def matches(self, app_name: str) -> bool:
        return self.matcher is None or self.matcher.search(app_name) is not None


class Broadcasts:
    """The offers in progress, by channel id."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.offers: dict[str, Broadcast] = {}

    def start(
        self, chan: Channel, app_filter: str | None = None, *, notify_claimed: bool = False
    ) -> Broadcast:
        """Offer ``chan`` (CallBroadcast to every matching application)."""
        matcher = None
        if app_filter:
            matcher = safe_filter(app_filter)
            if matcher is None:
                log.warning(
                    "Channel %s: proceeding without application filtering due to invalid regex",
                    chan.id,
                )
        offer = self.offers[chan.id] = Broadcast(chan, matcher, notify_claimed)
        snapshot = chan.snapshot()
        names = [name for name in self.registry.names() if offer.matches(name)]
        random.shuffle(names)
        for name in names:
            app = self.registry.get(name)
            if app is not None:
                app.send(
                    ev.CallBroadcast(channel=snapshot, caller=chan.caller.number, called=chan.exten)
                )
        return offer

    def claim(self, channel_id: str, app_name: str) -> Claim:
        offer = self.offers.get(channel_id)
        if offer is None:
            return Claim.NOT_FOUND
        if offer.winner is not None:
            return Claim.TAKEN
        if offer.finished:
            return Claim.NOT_FOUND
        offer.winner = app_name
        offer.claimed.set()
        verbose.info("Channel %s claimed by application %s", channel_id, app_name)
        if offer.notify_claimed:
            event = ev.CallClaimed(channel=offer.channel.snapshot(), winner_app=app_name)
            for name in self.registry.names():
                app = self.registry.get(name)
                if app is not None and offer.matches(name):
                    app.send(event)
        return Claim.WON

    async def wait(self, chan: Channel, timeout: float) -> str | None:
        """Wait for a claim (or hangup, or the timeout); the winner, if any.

        The offer is finished on return: no claim can win after this.
        """
        offer = self.offers.get(chan.id)
        if offer is None:
            return None
        if offer.winner is None and timeout > 0:
            claimed = asyncio.ensure_future(offer.claimed.wait())
            hungup = asyncio.ensure_future(chan.wait_hangup())
            try:
                await asyncio.wait(
                    (claimed, hungup), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                claimed.cancel()
                hungup.cancel()
        offer.finished = True
        return offer.winner

    def cleanup(self, channel_id: str) -> None:
        self.offers.pop(channel_id, None)


@application("StasisBroadcast")
async def stasis_broadcast(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    """``StasisBroadcast([timeout_ms[,app_filter[,arg1:arg2...[,notify_claimed]]]])``.

    Sets STASISSTATUS to SUCCESS or FAILED after the winner's Stasis session,
    or TIMEOUT when nobody claimed the channel in time.
    """
    from pyari.stasis.registry import Registry  # the registry imports this module

    registry = pbx.service(Registry)
    chan.set_var("STASISSTATUS", "")
    parts = split_app_args(data) if data.strip() else []
    parts += [""] * (4 - len(parts))
    timeout_text, app_filter, raw_args, notify = (p.strip() for p in parts[:4])
    timeout_ms = DEFAULT_TIMEOUT_MS
    if timeout_text:
        match = re.match(r"\s*([+-]?\d+)", timeout_text)
        value = int(match.group(1)) if match else -1
        if 0 <= value <= MAX_TIMEOUT_MS:
            timeout_ms = value
        else:
            log.warning(
                "Channel %s: invalid timeout value '%s' (must be 0-%dms), using default %dms",
                chan.name,
                timeout_text,
                MAX_TIMEOUT_MS,
                DEFAULT_TIMEOUT_MS,
            )
    args = raw_args.split(":")[:MAX_STASIS_ARGS] if raw_args else []
    broadcasts = registry.broadcasts
    broadcasts.start(chan, app_filter or None, notify_claimed=notify.lower() in TRUE_WORDS)
    winner = await broadcasts.wait(chan, timeout_ms / 1000)
    if winner is None:
        broadcasts.cleanup(chan.id)
        log.warning("Channel %s: not claimed within %dms timeout", chan.name, timeout_ms)
        chan.set_var("STASISSTATUS", "TIMEOUT")
        return Result.HANGUP if chan.hungup else None
    try:
        status = await registry.run(chan, winner, args, dialplan=True)
    finally:
        # Late claimers keep getting 409 until the Stasis session is over.
        broadcasts.cleanup(chan.id)
    if chan.hungup:
        return Result.HANGUP
    return Result.JUMP if status == "GOTO" else None
