"""REST across the cluster (cluster/forward.py): two in-process servers on one real
nats-server, each with its own :class:`Forwarder` and a dict-backed directory.

The directory here is the test's (:class:`Records`): what the owners' records say
is set by each test, so both ways of finding a resource are exercised -- a record
naming its node, and no record (every other node is asked).
"""

from __future__ import annotations

import asyncio
import json
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nats import errors as nats_errors

from cluster.conftest import WAIT, NodeFactory, new_cluster_name
from conftest import auth_headers, make_server, wait_for
from pyari.cluster.directory import LostHandler
from pyari.cluster.forward import Forwarder
from pyari.cluster.link import Link
from pyari.cluster.service import Cluster
from pyari.config.cluster import ClusterSettings
from pyari.server import Server

pytestmark = pytest.mark.slow


@dataclass
class Records:
    """A dict-backed directory shared by the test's nodes."""

    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    live: list[str] = field(default_factory=list)
    servers: dict[str, Server] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)
    """Channels of a node by its last heartbeat, when a test sets one (else: live)."""

    def view(self, node: str) -> View:
        return View(self, node)


class View:
    """One node's :class:`~pyari.cluster.directory.Directory` over :class:`Records`."""

    def __init__(self, records: Records, node: str) -> None:
        self.records = records
        self._node = node

    @property
    def node(self) -> str:
        return self._node

    def alive(self) -> list[str]:
        return sorted(self.records.live)

    def load(self, node: str) -> int:
        if node != self._node and node in self.records.loads:
            return self.records.loads[node]
        server = self.records.servers.get(node)
        return len(server.core.channels) if server is not None else 0

    def owner(self, kind: str, ident: str) -> str | None:
        return self.records.owners.get((kind, ident))

    def on_lost(self, handler: LostHandler) -> None:
        pass


@dataclass
class Node:
    name: str
    server: Server
    link: Link
    forwarder: Forwarder
    http: aiohttp.ClientSession
    ws: aiohttp.ClientWebSocketResponse
    app: str


@dataclass
class Pair:
    records: Records
    one: Node
    two: Node


async def _node(name: str, cluster: str, nats_url: str, records: Records, **opts: Any) -> Node:
    server = make_server()
    server.core.id_prefix = f"{name}-"  # unique ids across nodes, as the cluster sets it
    await server.start()
    settings = ClusterSettings(enabled=True, node=name, cluster=cluster, nats_url=nats_url, **opts)
    link = Link(settings)
    await link.connect()
    forwarder = Forwarder(link, records.view(name), server.ari)
    await forwarder.start()
    records.servers[name] = server
    records.live.append(name)
    http = aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{server.http_port}", headers=auth_headers()
    )
    app = f"app-{name}"
    ws = await http.ws_connect(f"/ari/events?app={app}")
    return Node(name, server, link, forwarder, http, ws, app)


async def _close(node: Node) -> None:
    await node.ws.close()
    await node.http.close()
    await node.forwarder.stop()
    await node.link.close()
    await node.server.stop()


async def _pair(nats_url: str, **opts: Any) -> Pair:
    records = Records()
    cluster = new_cluster_name()
    one = await _node("n1", cluster, nats_url, records, **opts)
    try:
        two = await _node("n2", cluster, nats_url, records, **opts)
    except BaseException:
        await _close(one)
        raise
    return Pair(records, one, two)


@pytest.fixture
async def pair(nats_url: str) -> AsyncIterator[Pair]:
    p = await _pair(nats_url)
    try:
        yield p
    finally:
        await _close(p.two)
        await _close(p.one)


async def call(node: Node, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with node.http.request(method, "/ari" + path, **kw) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


async def raw(node: Node, method: str, path: str, **kw: Any) -> tuple[int, bytes]:
    async with node.http.request(method, "/ari" + path, **kw) as r:
        return r.status, await r.read()


async def until(ws: aiohttp.ClientWebSocketResponse, etype: str, chan: str) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        if event["type"] == etype and event.get("channel", {}).get("id") == chan:
            assert isinstance(event, dict)
            return event


async def in_stasis(node: Node, endpoint: str = "Sim/alice", *, record: Pair | None = None) -> str:
    """A channel of ``node`` in its app, Up; recorded as ``node``'s when ``record``."""
    status, chan = await call(
        node, "POST", "/channels", params={"endpoint": endpoint, "app": node.app}
    )
    assert status == 200, chan
    await until(node.ws, "StasisStart", chan["id"])
    if record is not None:
        record.records.owners[("channel", chan["id"])] = node.name
    return str(chan["id"])


# -- one resource, forwarded --------------------------------------------------------------------


@pytest.mark.parametrize("recorded", [True, False], ids=["record", "probe"])
async def test_a_channel_of_the_other_node_answers_as_there(pair: Pair, recorded: bool) -> None:
    one, two = pair.one, pair.two
    chan = await in_stasis(two, record=pair if recorded else None)
    there = await raw(two, "GET", f"/channels/{chan}")
    here = await raw(one, "GET", f"/channels/{chan}")
    assert here == there and here[0] == 200
    assert one.forwarder.rest.forwarded == 1 and two.forwarder.rest.served == 1


async def test_call_control_through_the_other_node(pair: Pair) -> None:
    one, two = pair.one, pair.two
    chan = await in_stasis(two, record=pair)
    assert (await call(one, "POST", f"/channels/{chan}/answer"))[0] == 204
    params = {"variable": "CITY", "value": "Oslo"}
    assert (await call(one, "POST", f"/channels/{chan}/variable", params=params))[0] == 204
    assert await call(two, "GET", f"/channels/{chan}/variable", params={"variable": "CITY"}) == (
        200,
        {"value": "Oslo"},
    )
    assert await call(one, "GET", f"/channels/{chan}/variable", params={"variable": "CITY"}) == (
        200,
        {"value": "Oslo"},
    )
    status, playback = await call(
        one, "POST", f"/channels/{chan}/play", params={"media": "tone:ring;tonezone=us"}
    )
    assert status == 201, playback
    assert playback["target_uri"] == f"channel:{chan}"
    # The playback has no record: the other node is asked, and answers.
    status, again = await call(one, "GET", f"/playbacks/{playback['id']}")
    assert status == 200 and again["id"] == playback["id"]
    assert (await call(one, "DELETE", f"/playbacks/{playback['id']}"))[0] == 204
    assert (await call(one, "DELETE", f"/channels/{chan}"))[0] == 204
    await until(two.ws, "StasisEnd", chan)
    await wait_for(lambda: chan not in two.server.core.channels)
    status, body = await call(one, "GET", f"/channels/{chan}")
    assert (status, body) == (404, {"message": "Channel not found"})


async def test_errors_of_a_forwarded_request_are_the_owners(pair: Pair) -> None:
    one, two = pair.one, pair.two
    chan = await in_stasis(two, record=pair)
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/channels/{chan}/variable", {"data": b"{not json", "headers": _json()}),
        ("POST", f"/channels/{chan}/variable", {}),  # the handler's "Variable name is required"
        ("POST", f"/channels/{chan}/dtmf", {"params": {"dtmf": "1", "before": "x"}}),
        ("POST", f"/channels/{chan}/mute", {"params": {"direction": "sideways"}}),
        ("GET", f"/channels/{chan}/variable", {"params": {"variable": "NOPE"}}),
    ]
    for method, path, kw in cases:
        there = await raw(two, method, path, **kw)
        here = await raw(one, method, path, **kw)
        assert here == there, (path, kw)
        assert 400 <= here[0] < 500


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}


async def test_a_record_naming_a_lost_node_is_not_found(pair: Pair) -> None:
    pair.records.owners[("channel", "gone")] = "n9"
    assert await call(pair.one, "GET", "/channels/gone") == (404, {"message": "Channel not found"})
    assert pair.one.forwarder.rest.forwarded == 0


async def test_an_owner_that_does_not_answer_is_a_504(pair: Pair) -> None:
    one, two = pair.one, pair.two
    chan = await in_stasis(two, record=pair)
    await two.forwarder.stop()  # nobody listens on n2's subject any more
    assert await call(one, "GET", f"/channels/{chan}") == (
        504,
        {"message": "Node n2 did not answer"},
    )
    # Listening but never answering: forward_timeout.
    sub = await two.link.nc.subscribe(two.forwarder.rest.subject, cb=_silent)
    one.forwarder.timeout = 0.2
    assert await call(one, "POST", f"/channels/{chan}/answer") == (
        504,
        {"message": "Node n2 did not answer"},
    )
    await sub.unsubscribe()
    one.forwarder.timeout = 5.0
    await two.forwarder.start()
    served = two.forwarder.rest.served
    status, body = await call(one, "GET", f"/channels/{chan}")
    assert status == 200, (body, served, two.forwarder.rest.served, one.forwarder.rest.unanswered)
    # No NATS: 504 at once, lists of this node only.
    await one.link.close()
    assert await call(one, "GET", f"/channels/{chan}") == (
        504,
        {"message": "Node n2 did not answer"},
    )
    assert await call(one, "GET", "/channels") == (200, [])


async def _silent(msg: Any) -> None:
    pass


async def test_rest_over_the_events_socket_is_forwarded_too(pair: Pair) -> None:
    one, two = pair.one, pair.two
    chan = await in_stasis(two, record=pair)
    request = {
        "type": "RESTRequest",
        "transaction_id": "t1",
        "request_id": "r1",
        "method": "GET",
        "uri": f"channels/{chan}",
    }
    await one.ws.send_str(json.dumps(request))
    while True:
        msg = json.loads((await one.ws.receive(timeout=5)).data)
        if msg["type"] == "RESTResponse":
            break
    assert msg["status_code"] == 200
    assert json.loads(msg["message_body"])["id"] == chan


# -- lists -----------------------------------------------------------------------------------------


async def test_lists_hold_every_nodes_resources(pair: Pair) -> None:
    one, two = pair.one, pair.two
    a = await in_stasis(one, "Sim/alice")
    b = await in_stasis(two, "Sim/bob")
    for node in (one, two):
        status, chans = await call(node, "GET", "/channels")
        assert status == 200
        assert sorted(c["id"] for c in chans) == sorted([a, b])
    status, apps = await call(one, "GET", "/applications")
    assert status == 200
    by_name = {app["name"]: app for app in apps}
    assert by_name[one.app]["channel_ids"] == [a] and by_name[two.app]["channel_ids"] == [b]
    status, app = await call(one, "GET", f"/applications/{two.app}")
    assert status == 200 and app["channel_ids"] == [b]
    assert (await call(one, "GET", "/applications/nope"))[0] == 404
    status, endpoints = await call(one, "GET", "/endpoints")
    assert status == 200
    keys = [(e["technology"], e["resource"]) for e in endpoints]
    assert len(keys) == len(set(keys))
    bob = [e for e in endpoints if (e["technology"], e["resource"]) == ("Sim", "bob")]
    assert bob and b in bob[0]["channel_ids"]
    assert (await call(one, "POST", "/bridges", params={"bridgeId": "b-one"}))[0] == 200
    assert (await call(two, "POST", "/bridges", params={"bridgeId": "b-two"}))[0] == 200
    status, bridges = await call(one, "GET", "/bridges")
    assert sorted(b["id"] for b in bridges) == ["b-one", "b-two"]


# -- placement and joins -------------------------------------------------------------------------


async def test_a_call_with_an_originator_goes_to_its_node(pair: Pair) -> None:
    one, two = pair.one, pair.two
    origin = await in_stasis(two, record=pair)
    params = {"endpoint": "Sim/carol", "app": two.app, "originator": origin}
    status, chan = await call(one, "POST", "/channels", params=params)
    assert status == 200, chan
    assert chan["id"] in two.server.core.channels
    assert chan["id"] not in one.server.core.channels
    # An id another node's channel holds is that node's refusal.
    params = {"endpoint": "Sim/dave", "app": one.app, "channelId": origin}
    here = await raw(one, "POST", "/channels", params=params)
    there = await raw(two, "POST", "/channels", params=params)
    assert here == there and here[0] == 409


async def test_least_loaded_placement(nats_url: str) -> None:
    p = await _pair(nats_url, placement="least_loaded")
    try:
        await in_stasis(p.one)  # n1 has one channel, n2 none
        status, chan = await call(
            p.one, "POST", "/channels", params={"endpoint": "Sim/bob", "app": p.two.app}
        )
        assert status == 200, chan
        assert chan["id"] in p.two.server.core.channels
    finally:
        await _close(p.two)
        await _close(p.one)


async def test_a_channel_of_another_node_joins_no_busy_bridge(pair: Pair) -> None:
    one, two = pair.one, pair.two
    mine = await in_stasis(one, "Sim/alice", record=pair)
    theirs = await in_stasis(two, "Sim/bob", record=pair)
    assert (await call(one, "POST", "/bridges/busy"))[0] == 200
    pair.records.owners[("bridge", "busy")] = "n1"
    params = {"channel": mine}
    assert (await call(one, "POST", "/bridges/busy/addChannel", params=params))[0] == 204
    await wait_for(lambda: one.server.core.bridges["busy"].channels)
    for node in (one, two):
        status, body = await call(
            node, "POST", "/bridges/busy/addChannel", params={"channel": theirs}
        )
        assert (status, body) == (
            409,
            {"message": "Channel and bridge are on different nodes (n2, n1)"},
        )
    status, body = await call(two, "POST", f"/channels/{theirs}/dial", params={"caller": mine})
    assert (status, body) == (
        409,
        {"message": "Channel and caller are on different nodes (n2, n1)"},
    )
    status, body = await call(
        two, "POST", "/bridges/busy/removeChannel", params={"channel": theirs}
    )
    assert (status, body) == (422, {"message": "Channel not in this bridge"})


@pytest.mark.parametrize("asked", ["n1", "n2"])
async def test_an_empty_bridge_moves_to_its_first_channels_node(pair: Pair, asked: str) -> None:
    one, two = pair.one, pair.two
    theirs = await in_stasis(two, "Sim/bob", record=pair)
    params = {"type": "mixing,dtmf_events", "name": "room"}
    assert (await call(one, "POST", "/bridges/room", params=params))[0] == 200
    assert (
        await call(one, "POST", "/bridges/room/variable", params={"variable": "V", "value": "1"})
    )[0] == 204
    pair.records.owners[("bridge", "room")] = "n1"
    node = one if asked == "n1" else two
    status, body = await call(node, "POST", "/bridges/room/addChannel", params={"channel": theirs})
    assert status == 204, body
    assert "room" not in one.server.core.bridges or one.server.core.bridges["room"].destroyed
    moved = two.server.core.bridges["room"]
    assert (moved.name, moved.features, moved.variables) == (
        "room",
        ("mixing", "dtmf_events"),
        {"V": "1"},
    )
    await wait_for(lambda: [c.id for c in moved.channels] == [theirs])
    pair.records.owners[("bridge", "room")] = "n2"
    status, bridge = await call(one, "GET", "/bridges/room")
    assert status == 200 and bridge["channels"] == [theirs]


# -- a request forwarded to be routed again --------------------------------------------------------


async def test_bad_messages_on_the_subject_change_nothing(pair: Pair) -> None:
    nc = pair.one.link.nc
    await nc.publish(pair.two.forwarder.rest.subject, b"\xc1 not msgpack")
    with pytest.raises(nats_errors.TimeoutError):  # no answer: not a request
        await nc.request(pair.two.forwarder.rest.subject, b"\x92\xa4nope\x01", timeout=0.3)
    assert (await call(pair.one, "GET", "/asterisk/ping"))[0] == 200


# -- end to end: the real Cluster (membership, ownership) started by each Server ------------------


def _cluster(server: Server) -> Cluster:
    cluster = server.cluster
    assert cluster is not None and cluster.forwarder is not None
    return cluster


async def _two(nodes: NodeFactory) -> tuple[Server, Server, str, str]:
    """n1 and n2 of a real cluster, each seeing both alive, and their ARI base URLs."""
    a, b = await nodes(2)
    await wait_for(lambda: _cluster(a).alive() == ["n1", "n2"], WAIT)
    await wait_for(lambda: _cluster(b).alive() == ["n1", "n2"], WAIT)
    return a, b, f"http://127.0.0.1:{a.http_port}/ari", f"http://127.0.0.1:{b.http_port}/ari"


async def test_nodes_of_a_real_cluster_answer_for_each_other(nodes: NodeFactory) -> None:
    a, b, base_a, base_b = await _two(nodes)
    app = "fwd-e2e"
    async with (
        aiohttp.ClientSession(headers=auth_headers()) as http,
        http.ws_connect(f"{base_b}/events?app={app}") as ws,
    ):
        # (a cluster node registers the socket's apps just after the upgrade)
        await wait_for(lambda: (s := b.stasis.get(app)) is not None and s.active, WAIT)
        params = {"endpoint": "Sim/alice", "app": app}
        async with http.post(f"{base_b}/channels", params=params) as r:
            assert r.status == 200
            chan = (await r.json())["id"]
        await until(ws, "StasisStart", chan)
        assert chan.startswith("n2-")  # the node's unique-id prefix
        async with http.get(f"{base_b}/channels/{chan}") as r:
            there = (r.status, await r.read())
        async with http.get(f"{base_a}/channels/{chan}") as r:  # record or probe: either
            assert (r.status, await r.read()) == there
        await wait_for(lambda: _cluster(a).owner("channel", chan) == "n2", WAIT)
        async with http.post(f"{base_a}/channels/{chan}/answer") as r:
            assert r.status == 204
        # A call placed from n1 next to n2's channel goes to n2.
        params = {"endpoint": "Sim/bob", "app": app, "originator": chan}
        async with http.post(f"{base_a}/channels", params=params) as r:
            assert r.status == 200, await r.text()
            placed = (await r.json())["id"]
        assert placed.startswith("n2-")
        async with http.get(f"{base_a}/channels") as r:
            listed = sorted(c["id"] for c in await r.json())
        assert listed == sorted([chan, placed])
        async with http.delete(f"{base_a}/channels/{chan}") as r:
            assert r.status == 204
        await until(ws, "StasisEnd", chan)
    assert _cluster(a).forwarder.rest.forwarded >= 4


async def test_a_third_node_has_the_empty_bridge_moved_to_the_channels_node(
    nats_url: str,
) -> None:
    p = await _pair(nats_url)
    three = await _node("n3", p.one.link.settings.cluster, nats_url, p.records)
    try:
        one, two = p.one, p.two
        theirs = await in_stasis(two, "Sim/bob", record=p)
        assert (await call(one, "POST", "/bridges/far"))[0] == 200
        p.records.owners[("bridge", "far")] = "n1"
        status, body = await call(
            three, "POST", "/bridges/far/addChannel", params={"channel": theirs}
        )
        assert status == 204, body
        moved = two.server.core.bridges["far"]
        await wait_for(lambda: [c.id for c in moved.channels] == [theirs])
        assert (
            one.server.core.bridges.get("far") is None or one.server.core.bridges["far"].destroyed
        )
        # n1 remembers where it went until the records say so: asked there, it forwards.
        status, bridge = await call(one, "GET", "/bridges/far")
        assert status == 200 and bridge["channels"] == [theirs]
    finally:
        await _close(three)
        await _close(p.two)
        await _close(p.one)


async def test_a_stopped_forwarder_routes_nothing(pair: Pair) -> None:
    one = pair.one
    assert one.server.ari.cluster is one.forwarder
    await one.forwarder.stop()
    assert one.server.ari.cluster is None
    chan = await in_stasis(pair.two, record=pair)
    assert (await call(one, "GET", f"/channels/{chan}"))[0] == 404  # alone again
    await one.forwarder.start()
    assert (await call(one, "GET", f"/channels/{chan}"))[0] == 200


async def test_least_loaded_spreads_a_burst_between_heartbeats(nats_url: str) -> None:
    p = await _pair(nats_url, placement="least_loaded")
    try:
        p.records.loads["n2"] = 0  # n2's last heartbeat, not renewed during the burst
        app = "burst"
        async with (
            p.one.http.ws_connect(f"/ari/events?app={app}") as ws1,
            p.two.http.ws_connect(f"/ari/events?app={app}"),
        ):
            placed = []
            for i in range(4):
                params = {"endpoint": f"Sim/p{i}", "app": app}
                status, chan = await call(p.one, "POST", "/channels", params=params)
                assert status == 200, chan
                placed.append(chan["id"].partition("-")[0])
                if placed[-1] == "n1":
                    await until(ws1, "StasisStart", chan["id"])
            assert placed == ["n1", "n2", "n1", "n2"]
    finally:
        await _close(p.two)
        await _close(p.one)


async def test_a_user_event_runs_where_its_sources_are(pair: Pair) -> None:
    one, two = pair.one, pair.two
    mine = await in_stasis(one, "Sim/alice", record=pair)
    theirs = await in_stasis(two, "Sim/bob", record=pair)
    params = {"application": two.app, "source": f"channel:{theirs}"}
    assert (await call(one, "POST", "/events/user/ping", params=params))[0] == 204
    event = await until(two.ws, "ChannelUserevent", theirs)
    assert event["eventname"] == "ping"
    params = {"application": two.app, "source": f"channel:{theirs},channel:{mine}"}
    assert await call(one, "POST", "/events/user/ping", params=params) == (
        409,
        {"message": "Event sources are on different nodes (n1, n2)"},
    )


async def test_an_app_subscribes_to_another_nodes_channel(nodes: NodeFactory) -> None:
    a, b, base_a, base_b = await _two(nodes)
    app = "sub-e2e"
    async with (
        aiohttp.ClientSession(headers=auth_headers()) as http,
        http.ws_connect(f"{base_a}/events?app={app}") as ws,
    ):
        await wait_for(lambda: (s := a.stasis.get(app)) is not None and s.active, WAIT)
        await wait_for(lambda: b.stasis.get(app) is not None, WAIT)  # n2 forwards for it
        params = {"endpoint": "Sim/alice", "extension": "s", "context": "default"}
        async with http.post(f"{base_b}/channels", params=params) as r:
            assert r.status == 200
            chan = (await r.json())["id"]
        source = {"eventSource": f"channel:{chan}"}
        async with http.post(f"{base_a}/applications/{app}/subscription", params=source) as r:
            assert r.status == 200, await r.text()
            assert chan in (await r.json())["channel_ids"]
        async with http.delete(f"{base_a}/channels/{chan}") as r:
            assert r.status == 204
        event = await until(ws, "ChannelDestroyed", chan)
        assert event["channel"]["id"] == chan


def _recordings(server: Server) -> Path:
    directories = server.ari_context.directories
    assert directories is not None
    folder = directories().astspooldir / "recording"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wav(path: Path, frames: int) -> bytes:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(2 * frames))
    return path.read_bytes()


async def test_stored_recordings_of_another_node(nodes: NodeFactory) -> None:
    a, b, base_a, base_b = await _two(nodes)
    folder = _recordings(b)
    assert folder != _recordings(a)  # each node records to its own folder
    data = _wav(folder / "memo.wav", 800)
    _wav(folder / "big.wav", 800_000)  # more than NATS carries in one message (1 MB)
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        async with http.get(f"{base_a}/recordings/stored") as r:
            listed = await r.json()
        assert {"name": "memo", "format": "wav"} in listed
        async with http.get(f"{base_b}/recordings/stored/memo") as r:
            there = (r.status, await r.read())
        async with http.get(f"{base_a}/recordings/stored/memo") as r:
            assert (r.status, await r.read()) == there
        async with http.get(f"{base_a}/recordings/stored/memo/file") as r:
            assert r.status == 200 and await r.read() == data
        async with http.get(f"{base_a}/recordings/stored/big/file") as r:
            assert r.status == 502
            assert "too large" in (await r.json())["message"]
        copy = {"destinationRecordingName": "memo2"}
        async with http.post(f"{base_a}/recordings/stored/memo/copy", params=copy) as r:
            assert r.status == 200, await r.text()
        assert (folder / "memo2.wav").read_bytes() == data
        async with http.delete(f"{base_a}/recordings/stored/memo") as r:
            assert r.status == 204
        assert not (folder / "memo.wav").exists()
        async with http.get(f"{base_a}/recordings/stored/memo") as r:
            assert (r.status, await r.json()) == (404, {"message": "Recording not found"})


async def test_two_requests_moving_one_bridge_move_it_once(pair: Pair) -> None:
    one, two = pair.one, pair.two
    first = await in_stasis(two, "Sim/bob", record=pair)
    second = await in_stasis(two, "Sim/carol", record=pair)
    assert (await call(one, "POST", "/bridges/both"))[0] == 200
    pair.records.owners[("bridge", "both")] = "n1"
    answers = await asyncio.gather(
        call(one, "POST", "/bridges/both/addChannel", params={"channel": first}),
        call(one, "POST", "/bridges/both/addChannel", params={"channel": second}),
    )
    assert [status for status, _ in answers] == [204, 204], answers
    moved = two.server.core.bridges["both"]
    await wait_for(lambda: sorted(c.id for c in moved.channels) == sorted([first, second]))
    assert one.server.core.bridges.get("both") is None or one.server.core.bridges["both"].destroyed


async def test_an_apps_endpoint_subscription_and_filter_hold_on_every_node(
    nodes: NodeFactory,
) -> None:
    a, b, base_a, base_b = await _two(nodes)
    app = "everywhere"
    async with (
        aiohttp.ClientSession(headers=auth_headers()) as http,
        http.ws_connect(f"{base_a}/events?app={app}") as ws,
    ):
        await wait_for(lambda: (s := a.stasis.get(app)) is not None and s.active, WAIT)
        await wait_for(lambda: b.stasis.get(app) is not None, WAIT)
        for node in (a, b):
            node.sim.phone("carol")  # the endpoint Sim/carol on each node
        source = {"eventSource": "endpoint:Sim/carol"}
        async with http.post(f"{base_a}/applications/{app}/subscription", params=source) as r:
            assert r.status == 200, await r.text()
            assert "Sim/carol" in (await r.json())["endpoint_ids"]
        app_b = b.stasis.get(app)
        assert app_b is not None and "Sim/carol" in app_b.subscription_ids("endpoint")
        flt = {"allowed": [{"type": "ChannelDestroyed"}]}
        async with http.put(f"{base_a}/applications/{app}/eventFilter", json=flt) as r:
            assert r.status == 200, await r.text()
        assert app_b.events_allowed == [{"type": "ChannelDestroyed"}]
        # A call of the endpoint on n2 reaches the app's socket on n1, filtered.
        params = {"endpoint": "Sim/carol", "extension": "s", "context": "default"}
        async with http.post(f"{base_b}/channels", params=params) as r:
            assert r.status == 200
            chan = (await r.json())["id"]
        async with http.delete(f"{base_b}/channels/{chan}") as r:
            assert r.status == 204
        msg = json.loads((await ws.receive(timeout=WAIT)).data)
        assert (msg["type"], msg["channel"]["id"]) == ("ChannelDestroyed", chan)
