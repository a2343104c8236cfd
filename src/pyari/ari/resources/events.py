"""/events: user events for an application, and claiming broadcast channels.

The events WebSocket itself is :mod:`pyari.ari.events_ws`.
"""

from __future__ import annotations

from typing import Any

from pyari.ari.args import EventsClaimChannelArgs, EventsUserEventArgs
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import Reply, handles
from pyari.core import events as ev
from pyari.stasis.broadcast import Claim


def _snapshots(ctx: AriContext, sources: list[str]) -> dict[str, Any]:
    """Snapshots named by ``channel:``, ``bridge:`` and ``endpoint:`` URIs (last of a kind wins)."""
    found: dict[str, Any] = {}
    core = ctx.core
    for uri in sources:
        kind, sep, ident = uri.partition(":")
        snapshot: Any = None
        if sep and kind == "channel":
            chan = core.channels.get(ident)
            snapshot = chan.snapshot() if chan is not None and not chan.destroyed else None
        elif sep and kind == "bridge":
            bridge = core.bridges.get(ident)
            snapshot = bridge.snapshot() if bridge is not None and not bridge.destroyed else None
        elif sep and kind == "endpoint":
            tech, _, resource = ident.partition("/")
            endpoint = core.endpoints.latest(tech, resource) if resource else None
            snapshot = endpoint.snapshot() if endpoint is not None else None
        else:
            raise AriError(400, "Invalid event source URI scheme")
        if snapshot is None:
            raise AriError(422, "Event source was not found")
        found[kind] = snapshot
    return found


@handles("events", "userEvent", missing={"application": "Missing parameter application"})
async def user_event(ctx: AriContext, args: EventsUserEventArgs) -> None:
    name = args.application  # not given: 400
    app = ctx.stasis.get(name)
    if app is None:
        raise AriError(404, "Application not found")
    snapshots = _snapshots(ctx, args.source or [])
    event_name = args.eventName
    userevent: dict[str, Any] = dict(args.variables or {})
    userevent["eventname"] = event_name
    app.send(ev.ChannelUserevent(eventname=event_name, userevent=userevent, **snapshots))


@handles(
    "events",
    "claimChannel",
    missing={
        "channelId": "channelId parameter is required",
        "application": "application parameter is required",
    },
)
async def claim_channel(ctx: AriContext, args: EventsClaimChannelArgs) -> Reply:
    result = ctx.stasis.broadcasts.claim(args.channelId, args.application)
    if result is Claim.NOT_FOUND:
        raise AriError(404, "Channel not found or not in broadcast state")
    if result is Claim.TAKEN:
        raise AriError(409, "Channel has already been claimed by another application")
    return Reply(204)
