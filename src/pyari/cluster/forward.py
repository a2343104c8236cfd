"""REST for the whole cluster from any node: forwarding, merged lists, placement.

The :class:`Forwarder` is this node's :class:`~pyari.ari.cluster_hook.ClusterHook`
(decision 0025, docs/cluster.md). Every ARI request, once authenticated,
checked against the ACL, routed and its parameters checked, passes here:

* **owned resources** -- a request whose path names a channel, bridge,
  playback or live recording (``/channels/{channelId}...``,
  ``/bridges/{bridgeId}...``, ``/playbacks/{playbackId}...``,
  ``/recordings/live/{recordingName}...``; ``POST /events/claim`` by its
  ``channelId``) that this node does not have goes to the node that owns it:
  the directory's record, or on a miss the first node that says it has it
  (every other live node is asked, :data:`PROBE_TIMEOUT`). Nobody has it, or
  its node is lost: this node answers (its 404);
* **lists** -- ``GET /channels``, ``/bridges``, ``/endpoints[/{tech}[/{resource}]]``,
  ``/applications[/{name}]``, ``/recordings/stored`` are asked of every live node and merged
  (:mod:`pyari.cluster.merge`); a node that does not answer in
  ``forward_timeout`` is left out;
* **new calls** -- ``POST /channels``, ``/channels/{channelId}``,
  ``/channels/create`` run on the node of ``originator`` when it names another
  node's channel, else where cluster.conf ``placement`` says (``local``, or
  ``least_loaded``: the live node with the fewest channels by its last
  heartbeat, counting the calls this node placed there since). An id given for
  the new channel (``channelId``, ``otherChannelId``) that another node's
  channel holds goes to that node, which refuses it as a duplicate;
* **joins** -- ``POST /bridges/{bridgeId}/addChannel`` with channels of
  another node than the bridge's: an empty bridge of this node (no channels,
  media, video source or subscriptions) moves to the channels' node (created
  there with the same id, type, name and variables, then destroyed here) when
  they all live on one node; otherwise **409** ``Channel and bridge are on
  different nodes (<channel's node>, <bridge's node>)``. ``POST
  /channels/{channelId}/dial`` with a ``caller`` on another node: **409**
  ``Channel and caller are on different nodes (<channel's>, <caller's>)``.
  ``removeChannel`` and ``videoSource`` of a channel of another node than the
  bridge: **422** ``Channel not in this bridge`` (it cannot be in it). ``POST
  /events/user/{eventName}`` and ``POST``/``DELETE
  /applications/{name}/subscription`` run on the node of their channel and
  bridge sources (a subscription answers with the application merged from
  every node); sources on several nodes: **409** ``Event sources are on
  different nodes (<a>, <b>)``. A subscription to what every node has
  (endpoints, device states, all channels...) and an application's event
  filter are set on every node where the application is registered.

A forwarded request travels as a NATS request on ``pyari.<cluster>.rest.<node>``
(:mod:`pyari.cluster.rest_link`: method, path, query, body, the user's name and
read-only flag, whether it may be routed again) and runs through the owner's
pipeline with no second authentication
(:meth:`~pyari.ari.service.AriService.handle_as`); its answer comes back byte
for byte. An owner that does not answer in
``forward_timeout`` (or has no forwarder listening): **504** ``Node <x> did
not answer``.

A stored recording this node does not have (``/recordings/stored/{name}``,
``/file``, ``/copy``, ``DELETE``) is asked of the other nodes (each records to
its own folder): the first that has it answers. An answer larger than NATS
carries in one message (``max_payload``, 1 MB by default: a long recording's
file) is **502** ``Answer too large to send between nodes (<n> bytes)``.

Everything else (``/asterisk``, ``/sounds``, device states,
mailboxes, ``POST /bridges``, ``externalMedia``...) runs on the node the
request came to.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from pyari.ari.encoding import JSON, encode
from pyari.ari.errors import AriError
from pyari.ari.service import AriRequest, AriResponse, AriService, User
from pyari.ari.spec import operation, operations
from pyari.cluster import merge
from pyari.cluster.directory import Directory
from pyari.cluster.link import Link
from pyari.cluster.rest_link import RestLink
from pyari.media.service import media_of

if TYPE_CHECKING:
    from pyari.ari.cluster_hook import Local, RoutedRequest
    from pyari.ari.params import Args

log = logging.getLogger("pyari.cluster")

PROBE_TIMEOUT = 0.5
"""Seconds to wait for the other nodes to say whether they have a resource the
directory has no record of yet."""
MOVED_FOR = 30.0
"""Seconds this node remembers where a bridge it moved went (until the directory knows)."""

Route = Callable[["Forwarder", "RoutedRequest", bool], Awaitable[AriResponse | None]]

OWNED_PATHS = (
    ("/channels/{channelId}", "channel", "channelId"),
    ("/bridges/{bridgeId}", "bridge", "bridgeId"),
    ("/playbacks/{playbackId}", "playback", "playbackId"),
    ("/recordings/live/{recordingName}", "recording", "recordingName"),
)
"""Paths (and the paths below them) that name one resource: (prefix, kind, path value)."""


def _owned() -> dict[str, tuple[str, str]]:
    found = {}
    for op in operations():
        for prefix, kind, name in OWNED_PATHS:
            if op.path == prefix or op.path.startswith(prefix + "/"):
                found[op.key] = (kind, name)
    return found


OWNED: dict[str, tuple[str, str]] = _owned()
"""Operations on one resource, by key: (kind, the path value naming it); those of
:data:`_ROUTES` are routed by their own rule first."""

MERGED: dict[str, merge.Merge] = {
    "channels.list": merge.joined,
    "bridges.list": merge.joined,
    "endpoints.list": merge.endpoints,
    "endpoints.listByTech": merge.endpoints,
    "endpoints.get": merge.one(merge.endpoints),
    "applications.list": merge.applications,
    "applications.get": merge.one(merge.applications),
    "recordings.listStored": merge.stored,
    "applications.subscribe": merge.one(merge.applications),
    "applications.unsubscribe": merge.one(merge.applications),
    "applications.filter": merge.one(merge.applications),
}
"""Operations answered by every node, merged (:mod:`pyari.cluster.merge`); the
changes of an application (subscriptions to what is on every node, its event filter)
are made on every node where it is registered."""


def _given(args: Args, name: str) -> str:
    """A string parameter of the request, or "" (never the 400 of a required one)."""
    value = args.__dict__.get(name)
    return value if isinstance(value, str) else ""


def _names_one(sources: Any) -> bool:
    """Whether event source URIs name a channel or bridge (of one node)."""
    for uri in sources if isinstance(sources, list) else []:
        kind, sep, ident = str(uri).partition(":")
        if sep and kind in ("channel", "bridge") and ident:
            return True
    return False


def _channel_ids(args: Args) -> list[str]:
    value = args.__dict__.get("channel")
    items = value if isinstance(value, list) else []
    return [i.strip() for i in items if isinstance(i, str) and i.strip()]


class Forwarder:
    """This node's REST across the cluster (see the module's text)."""

    def __init__(
        self,
        link: Link,
        directory: Directory,
        ari: AriService,
        *,
        probe_timeout: float = PROBE_TIMEOUT,
    ) -> None:
        self.link = link
        self.directory = directory
        self.ari = ari
        settings = link.settings
        self.timeout = settings.forward_timeout
        """Seconds a forwarded request may take (cluster.conf ``forward_timeout``)."""
        self.placement = settings.placement
        self.probe_timeout = min(probe_timeout, self.timeout)
        self.rest = RestLink(link, directory.node, ari, self.has)
        self.rest.hopped = _Hopped(self)
        self._moved: dict[tuple[str, str], tuple[str, float]] = {}
        self._moving: dict[str, asyncio.Future[None]] = {}
        """Bridges being moved to another node: done when the move is over."""
        self._placed: dict[str, collections.deque[float]] = {}
        """When this node placed calls on each other node (``least_loaded``), recent ones."""

    # -- start and stop ------------------------------------------------------------------

    async def start(self) -> None:
        """Serve other nodes' requests and route this node's through the cluster."""
        await self.rest.start(self.timeout)
        self.ari.cluster = self

    async def stop(self) -> None:
        """Route nothing any more; stop serving (requests being run finish first, briefly)."""
        if self.ari.cluster is self:
            self.ari.cluster = None
        await self.rest.stop(self.timeout)

    # -- what this node has -------------------------------------------------------------------

    def has(self, kind: str, ident: str) -> bool:
        """Whether ``ident`` of ``kind`` lives on this node."""
        ctx = self.ari.ctx
        if kind == "channel":
            chan = ctx.core.find_channel(ident)
            return chan is not None and not chan.destroyed
        if kind == "bridge":
            bridge = ctx.core.bridges.get(ident)
            return bridge is not None and not bridge.destroyed
        if kind == "playback":
            return ctx.playbacks is not None and ident in ctx.playbacks
        if kind == "recording":
            return ctx.recordings is not None and ident in ctx.recordings
        return False

    async def where(self, kind: str, ident: str) -> str | None:
        """The other node ``ident`` of ``kind`` lives on; None when it is here, or nowhere
        (its record names a lost node, or no node says it has it)."""
        if self.has(kind, ident):
            return None
        directory = self.directory
        me = directory.node
        moved = self._moved.get((kind, ident))
        if moved is not None:
            if time.monotonic() < moved[1]:
                return moved[0]
            del self._moved[(kind, ident)]
        node = directory.owner(kind, ident)
        if node is not None:
            return node if node != me and node in directory.alive() else None
        return await self._probe(kind, ident)

    async def _probe(self, kind: str, ident: str) -> str | None:
        """The first other live node that says it has ``ident`` (None: none in time)."""
        me = self.directory.node
        others = [n for n in self.directory.alive() if n != me]
        return await self.rest.probe(others, kind, ident, self.probe_timeout)

    # -- asking other nodes -----------------------------------------------------------------------

    async def forward(
        self, node: str, user: User, req: AriRequest, *, local: bool = True
    ) -> AriResponse:
        """``req`` answered by ``node`` (504 when it does not answer in ``forward_timeout``)."""
        return await self.rest.forward(node, user, req, self.timeout, local=local)

    async def _ask_all(
        self, user: User, req: AriRequest, local: Local
    ) -> tuple[AriResponse, list[AriResponse]]:
        """This node's answer and the other live nodes' (those that answered in time)."""
        me = self.directory.node
        others = [n for n in self.directory.alive() if n != me]
        tasks = [asyncio.ensure_future(self.forward(n, user, req)) for n in others]
        try:
            mine = await self._local(local)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
        theirs = [r for r in await asyncio.gather(*tasks) if r.status != 504]
        return mine, theirs

    async def _local(self, local: Local) -> AriResponse:
        try:
            return await local()
        except AriError as exc:
            return self.ari.error(exc.status, exc.message)

    # -- routing (the ClusterHook) ---------------------------------------------------------------

    async def route(self, routed: RoutedRequest) -> AriResponse | None:
        """Where the request runs (None: here); see the module's text."""
        return await self._route(routed, False)

    async def _route(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        key = routed.op.key
        special = _ROUTES.get(key)
        if special is not None:
            return await special(self, routed, hopped)
        owned = OWNED.get(key)
        if owned is not None:
            node = await self.where(owned[0], routed.path_values[owned[1]])
            return None if node is None else await self.forward(node, routed.user, routed.req)
        return None

    async def _merged(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        if hopped or len(self.directory.alive()) < 2:
            return None
        mine, theirs = await self._ask_all(routed.user, routed.req, routed.local)
        found = [r.body for r in (mine, *theirs) if r.status == 200]
        if not found:
            return mine  # not found anywhere: this node's 404
        value = MERGED[routed.op.key](found)
        return AriResponse(
            200, encode(value, self.ari.ctx.settings().pretty), {"Content-Type": JSON}
        )

    async def _place(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        user, req, args = routed.user, routed.req, routed.args
        directory = self.directory
        me = directory.node
        alive = directory.alive()
        # An id another node's channel holds: that node refuses it as Asterisk would.
        for ident in (
            routed.path_values.get("channelId") or _given(args, "channelId"),
            _given(args, "otherChannelId"),
        ):
            if ident and not self.has("channel", ident):
                owner = directory.owner("channel", ident)
                if owner is not None and owner != me and owner in alive:
                    return await self.forward(owner, user, req)
        originator = _given(args, "originator")
        if originator:
            node = await self.where("channel", originator)
            return None if node is None else await self.forward(node, user, req)
        if self.placement != "least_loaded" or hopped or len(alive) < 2:
            return None
        target = min(alive, key=lambda n: (self._load(n), n != me, n))
        if target == me:
            return None
        resp = await self.forward(target, user, req)
        if resp.status == 200:
            self._placed.setdefault(target, collections.deque()).append(time.monotonic())
        return resp

    def _load(self, node: str) -> int:
        """``node``'s channels by its last heartbeat, plus the calls this node placed
        there since (one heartbeat and a half): a burst is spread, not sent to one node."""
        load = self.directory.load(node)
        placed = self._placed.get(node)
        if node == self.directory.node or not placed:
            return load  # this node's own count is live
        since = time.monotonic() - self.link.settings.heartbeat * 1.5
        while placed and placed[0] < since:
            placed.popleft()
        return load + len(placed)

    async def _bridge_and_channels(
        self, path_values: Mapping[str, str], args: Args
    ) -> tuple[str | None, bool, dict[str, str | None]]:
        """The bridge's node (None: here or nowhere), whether it is here, and each named
        channel's node (this node's name when here, None when nowhere)."""
        bridge_node = await self.where("bridge", path_values["bridgeId"])
        here = bridge_node is None and self.has("bridge", path_values["bridgeId"])
        me = self.directory.node
        chans: dict[str, str | None] = {}
        ids = _channel_ids(args) if "channelId" not in path_values else [path_values["channelId"]]
        for cid in ids:
            chans[cid] = me if self.has("channel", cid) else await self.where("channel", cid)
        return bridge_node, here, chans

    async def _add_channel(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        user, req, path_values = routed.user, routed.req, routed.path_values
        moving = self._moving.get(path_values["bridgeId"])
        if moving is not None:  # being moved: go where it went
            await asyncio.wait({moving})
        bridge_node, here, chans = await self._bridge_and_channels(path_values, routed.args)
        if bridge_node is None and not here:
            return None  # no such bridge: this node's 404
        me = self.directory.node
        bnode = bridge_node or me
        if any(n is None for n in chans.values()):  # a channel nowhere: the bridge's 400
            return None if here else await self.forward(bnode, user, req)
        away = {n for n in chans.values() if n is not None and n != bnode}
        if not away:
            return None if here else await self.forward(bnode, user, req)
        target = min(away)
        if len(away) == 1 and all(n == target for n in chans.values()):
            if here:
                moved = await self._move_bridge(user, path_values["bridgeId"], target)
                if moved:
                    return await self.forward(target, user, req)
            elif not hopped:  # the bridge's node may move it
                return await self.forward(bnode, user, req, local=False)
        raise AriError(409, f"Channel and bridge are on different nodes ({target}, {bnode})")

    async def _in_bridge(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        """removeChannel, videoSource: the bridge's node, unless a channel is elsewhere."""
        bridge_node, here, chans = await self._bridge_and_channels(routed.path_values, routed.args)
        if bridge_node is None and not here:
            return None
        bnode = bridge_node or self.directory.node
        if any(n is not None and n != bnode for n in chans.values()):
            raise AriError(422, "Channel not in this bridge")
        return None if here else await self.forward(bnode, routed.user, routed.req)

    async def _dial(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        me = self.directory.node
        channel_id = routed.path_values["channelId"]
        node = await self.where("channel", channel_id)
        caller = _given(routed.args, "caller")
        if caller and (node is not None or self.has("channel", channel_id)):
            caller_node = me if self.has("channel", caller) else await self.where("channel", caller)
            chan_node = node or me
            if caller_node is not None and caller_node != chan_node:
                raise AriError(
                    409, f"Channel and caller are on different nodes ({chan_node}, {caller_node})"
                )
        return None if node is None else await self.forward(node, routed.user, routed.req)

    async def _claim(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        ident = _given(routed.args, "channelId")
        node = await self.where("channel", ident) if ident else None
        return None if node is None else await self.forward(node, routed.user, routed.req)

    async def _stored(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        """A stored recording this node does not have: the first other node that does
        answers (each node records to its own folder)."""
        mine = await self._local(routed.local)
        if mine.status != 404 or hopped:
            return mine
        me = self.directory.node
        others = [n for n in self.directory.alive() if n != me]
        tasks = [asyncio.ensure_future(self.forward(n, routed.user, routed.req)) for n in others]
        try:
            for next_done in asyncio.as_completed(tasks):
                resp = await next_done
                if resp.status not in (404, 504):
                    return resp
        finally:
            for task in tasks:
                task.cancel()
        return mine

    async def _sources_node(self, sources: Any) -> str | None:
        """The other node that holds the channel and bridge event sources named (URIs
        ``channel:<id>``, ``bridge:<id>``); None: this one, or none holds them (409 when
        they are on several nodes)."""
        nodes: set[str] = set()
        me = self.directory.node
        for uri in sources if isinstance(sources, list) else []:
            kind, sep, ident = str(uri).partition(":")
            if sep and kind in ("channel", "bridge") and ident:
                node = me if self.has(kind, ident) else await self.where(kind, ident)
                if node is not None:
                    nodes.add(node)
        if len(nodes) > 1:
            shown = ", ".join(sorted(nodes))
            raise AriError(409, f"Event sources are on different nodes ({shown})")
        node = nodes.pop() if nodes else me
        return None if node == me else node

    async def _user_event(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        """A user event runs where its channel and bridge sources are (the application's
        events reach its socket from any node)."""
        node = await self._sources_node(routed.args.__dict__.get("source"))
        return None if node is None else await self.forward(node, routed.user, routed.req)

    async def _subscription(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        """(Un)subscribing an application to a channel or bridge runs on its node (the
        node's application sends the events on to the app's socket); to endpoints,
        device states, all channels...: on every node. The answer is the application
        as every node has it."""
        sources = routed.args.__dict__.get("eventSource")
        if not _names_one(sources):
            return await self._merged(routed, hopped)
        node = await self._sources_node(sources)
        if node is None:
            return None
        resp = await self.forward(node, routed.user, routed.req)
        if resp.status != 200 or hopped:
            return resp
        name = routed.path_values["applicationName"]
        get = AriRequest("GET", f"/applications/{quote(name, safe='')}", [], {})

        async def local_get() -> AriResponse:
            return await self.ari.handle_as(routed.user, get, None)

        app = dataclasses.replace(routed, op=_APP_GET, req=get, local=local_get)
        merged = await self._merged(app, False)
        return merged if merged is not None and merged.status == 200 else resp

    async def _new_bridge(self, routed: RoutedRequest, hopped: bool) -> AriResponse | None:
        """A bridge id another node's bridge holds: that node refuses it (409)."""
        ident = routed.path_values.get("bridgeId") or _given(routed.args, "bridgeId")
        if not ident or self.has("bridge", ident):
            return None
        owner = self.directory.owner("bridge", ident)
        if owner is None or owner == self.directory.node or owner not in self.directory.alive():
            return None
        return await self.forward(owner, routed.user, routed.req)

    # -- moving an empty bridge -----------------------------------------------------------------

    def movable(self, bridge_id: str) -> bool:
        """Whether this node's bridge is empty: no channels, media, video source or
        application subscribed to it, a bridge of Stasis."""
        ctx = self.ari.ctx
        bridge = ctx.core.bridges.get(bridge_id)
        if bridge is None or bridge.destroyed or bridge.bridge_class != "stasis":
            return False
        if bridge.channels or bridge.video_source_id is not None:
            return False
        uri = f"bridge:{bridge_id}"
        if ctx.playbacks is not None and any(
            p.target_uri == uri for p in ctx.playbacks.by_id.values()
        ):
            return False
        if ctx.recordings is not None and any(
            r.target_uri == uri for r in ctx.recordings.by_name.values()
        ):
            return False
        media = media_of(ctx.core)
        if media is not None and bridge_id in media.bridges:
            return False  # music on hold, a player or a recorder was there
        return not any(uri in app.sources for app in ctx.stasis.apps.values())

    async def _move_bridge(self, user: User, bridge_id: str, node: str) -> bool:
        """Recreate this node's empty bridge on ``node`` (same id, type, name, variables)
        and destroy it here; False (nothing changed) when it cannot be done."""
        if not self.movable(bridge_id) or bridge_id in self._moving:
            return False
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._moving[bridge_id] = done
        try:
            return await self._recreate(user, bridge_id, node)
        finally:
            del self._moving[bridge_id]
            done.set_result(None)

    async def _recreate(self, user: User, bridge_id: str, node: str) -> bool:
        bridge = self.ari.ctx.core.bridges[bridge_id]
        query = [("type", ",".join(bridge.features) or bridge.bridge_type)]
        if bridge.name:
            query.append(("name", bridge.name))
        body = _encode_json({"variables": bridge.variables}) if bridge.variables else b""
        path = f"/bridges/{quote(bridge_id, safe='')}"
        resp = await self.forward(node, user, AriRequest("POST", path, query, {}, body))
        if resp.status != 200:
            log.info("cluster: bridge %s not moved to %s (%s)", bridge_id, node, resp.status)
            return False
        if not self.movable(bridge_id):  # something joined it meanwhile: undo the copy
            await self.forward(node, user, AriRequest("DELETE", path, [], {}))
            return False
        bridge.destroy()
        self._moved[("bridge", bridge_id)] = (node, time.monotonic() + MOVED_FOR)
        if len(self._moved) > 4096:
            now = time.monotonic()
            self._moved = {k: v for k, v in self._moved.items() if v[1] > now}
        return True


class _Hopped:
    """The hook of a request another node forwarded with ``local`` False: routed once
    more, never merged, never sent on with ``local`` False."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.forwarder = forwarder

    async def route(self, routed: RoutedRequest) -> AriResponse | None:
        return await self.forwarder._route(routed, True)


_encode_json = msgspec.json.Encoder().encode
_APP_GET = operation("applications", "get")


_ROUTES: dict[str, Route] = {
    **{key: Forwarder._merged for key in MERGED},
    "channels.originate": Forwarder._place,
    "channels.originateWithId": Forwarder._place,
    "channels.create": Forwarder._place,
    "channels.dial": Forwarder._dial,
    "bridges.addChannel": Forwarder._add_channel,
    "bridges.removeChannel": Forwarder._in_bridge,
    "bridges.setVideoSource": Forwarder._in_bridge,
    "bridges.create": Forwarder._new_bridge,
    "bridges.createWithId": Forwarder._new_bridge,
    "events.claimChannel": Forwarder._claim,
    "events.userEvent": Forwarder._user_event,
    "recordings.getStored": Forwarder._stored,
    "recordings.getStoredFile": Forwarder._stored,
    "recordings.deleteStored": Forwarder._stored,
    "recordings.copyStored": Forwarder._stored,
    "applications.subscribe": Forwarder._subscription,
    "applications.unsubscribe": Forwarder._subscription,
}
