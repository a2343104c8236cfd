"""Ownership records (cluster/owners.py) between in-process nodes on a real nats-server."""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
import pytest

from cluster.conftest import WAIT, NodeFactory
from conftest import auth_headers, wait_for
from pyari.cluster.owners import Owners, key, parse_key
from pyari.cluster.service import Cluster
from pyari.core.causes import NORMAL_CLEARING
from pyari.server import Server


def _cluster(server: Server) -> Cluster:
    assert server.cluster is not None
    return server.cluster


def test_keys_hold_any_id() -> None:
    for ident in ("1733.42", "a.b*>c d/é", "x" * 200):
        assert parse_key(key("channel", ident)) == ("channel", ident)
    assert key("bridge", "ab") == "bridge.6162"
    for junk in ("nope", "planet.6162", "channel.zz", "channel.ff"):
        assert parse_key(junk) is None


async def test_a_channel_is_owned_by_its_node_as_seen_from_another(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    ca, cb = _cluster(a), _cluster(b)
    chan = a.core.request("Sim/alice")
    assert ca.owner("channel", chan.id) == "n1"  # local: at once
    await wait_for(lambda: cb.owner("channel", chan.id) == "n1", WAIT)
    assert cb.owner("channel", "no-such-id") is None
    assert ("channel", chan.id, "n1") in cb.owners.records()
    chan.request_hangup(NORMAL_CLEARING)
    await wait_for(lambda: chan.id not in a.core.channels, WAIT)
    await wait_for(lambda: ("channel", chan.id) not in cb.owners.mirror, WAIT)
    assert cb.owner("channel", chan.id) is None and ca.owner("channel", chan.id) is None


async def test_bridges_playbacks_and_recordings_are_claimed(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    cb = _cluster(b)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{a.http_port}", headers=auth_headers()
    ) as http:
        async with http.post("/ari/bridges", params={"bridgeId": "br-1"}) as r:
            assert r.status == 200, await r.text()
        await wait_for(lambda: cb.owner("bridge", "br-1") == "n1", WAIT)
        async with http.delete("/ari/bridges/br-1") as r:
            assert r.status == 204
        await wait_for(lambda: cb.owner("bridge", "br-1") is None, WAIT)
    # playbacks and recordings: their tables tell the watchers
    pb = a.playbacks.new(
        "pb-1", ["sound:hello-world"], target_uri="channel:x", language="en", publish=None
    )
    rec = SimpleNamespace(name="rec/one")  # the table keys a live recording by its name
    a.recordings.add(rec)  # type: ignore[arg-type]
    await wait_for(
        lambda: cb.owner("playback", "pb-1") == "n1" and cb.owner("recording", "rec/one") == "n1",
        WAIT,
    )
    a.playbacks.forget(pb)
    a.recordings.forget(rec)  # type: ignore[arg-type]
    await wait_for(
        lambda: (
            ("playback", "pb-1") not in cb.owners.mirror
            and ("recording", "rec/one") not in cb.owners.mirror
        ),
        WAIT,
    )


async def test_forget_node_deletes_every_record_of_a_node(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    ca, cb = _cluster(a), _cluster(b)
    mine = b.core.request("Sim/bob")
    for i in range(4):  # records of a node that is gone
        await ca.owners.kv.put(key("channel", f"ghost-{i}"), b"ghost")
    await ca.owners.kv.put(key("bridge", "ghost-br"), b"ghost")
    await wait_for(
        lambda: (
            sum(n == "ghost" for n in cb.owners.mirror.values()) == 5
            and cb.owners.mirror.get(("channel", mine.id)) == "n2"
        ),
        WAIT,
    )
    assert cb.owners.forget_node("ghost") == 5
    await wait_for(lambda: "ghost" not in ca.owners.mirror.values(), WAIT)
    assert ca.owners.mirror.get(("channel", mine.id)) == "n2"
    assert cb.owners.forget_node("ghost") == 0


async def test_a_live_node_claims_its_forgotten_records_again(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    ca, cb = _cluster(a), _cluster(b)
    chans = [a.core.request(f"Sim/p{i}") for i in range(5)]
    bridge = a.core.new_bridge("fb-1")
    await wait_for(
        lambda: (
            all(cb.owners.mirror.get(("channel", ch.id)) == "n1" for ch in chans)
            and cb.owners.mirror.get(("bridge", bridge.id)) == "n1"
        ),
        WAIT,
    )
    written = ca.owners.written
    assert cb.owners.forget_node("n1") == 6  # as if n1 had been taken for lost
    await wait_for(lambda: ca.owners.written >= written + 6, WAIT)  # its puts again
    await wait_for(
        lambda: (
            all(cb.owners.mirror.get(("channel", ch.id)) == "n1" for ch in chans)
            and cb.owners.mirror.get(("bridge", bridge.id)) == "n1"
        ),
        WAIT,
    )


async def test_a_lost_nodes_records_go_and_read_as_no_owner(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    ca, cb = _cluster(a), _cluster(b)
    chan = b.core.request("Sim/bob")
    await wait_for(lambda: ca.owner("channel", chan.id) == "n2", WAIT)
    forgotten: list[str] = []
    forget = ca.owners.forget_node
    ca.nodes.forget = lambda node: (forgotten.append(node), forget(node))
    cb.nodes.pause()  # n2 stops heartbeating: lost after node_timeout
    await wait_for(lambda: ca.alive() == ["n1"], WAIT)
    assert forgotten == ["n2"]  # by n1, the leader
    assert ca.owner("channel", chan.id) is None  # its owner is not alive
    # (n2, still connected here, sees its records go and puts them again: when it
    # heartbeats again, its channel is found on it)
    cb.nodes.resume()
    await wait_for(lambda: ca.owner("channel", chan.id) == "n2", WAIT)


async def test_a_node_stopping_deletes_its_records(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    cb = _cluster(b)
    bridge = a.core.new_bridge("stop-1")  # bridges outlive the hangups of stop()
    await wait_for(lambda: cb.owner("bridge", bridge.id) == "n1", WAIT)
    await a.stop()
    await wait_for(lambda: ("bridge", bridge.id) not in cb.owners.mirror, WAIT)


async def test_writes_are_queued_not_awaited_and_a_full_queue_drops(
    nodes: NodeFactory,
) -> None:
    (a,) = await nodes(1)
    ca = _cluster(a)
    small = Owners(ca.link, a.core, queue_size=2)  # not started: nothing drains it
    for i in range(5):
        small.claim("channel", f"c{i}")
    assert small.dropped == 3


@pytest.mark.parametrize("kind", ["channel", "bridge", "playback", "recording"])
async def test_local_objects_win_over_the_mirror(nodes: NodeFactory, kind: str) -> None:
    (a,) = await nodes(1)
    ca = _cluster(a)
    ca.owners.mirror[(kind, "x")] = "elsewhere"  # a record of a node that is not alive
    assert ca.owner(kind, "x") is None
    assert ca.owner("planet", "x") is None


async def test_a_new_watcher_drops_what_the_bucket_no_longer_holds(nodes: NodeFactory) -> None:
    a, b = await nodes(2)
    ca, cb = _cluster(a), _cluster(b)
    chan = a.core.request("Sim/alice")
    await wait_for(lambda: cb.owner("channel", chan.id) == "n1", WAIT)
    cb.owners.mirror[("channel", "deleted-while-away")] = "n1"  # its purge was missed
    assert cb.owners.watch is not None
    await cb.owners.watch.restart()  # what a reconnection does
    await wait_for(lambda: ("channel", "deleted-while-away") not in cb.owners.mirror, WAIT)
    assert cb.owner("channel", chan.id) == "n1"
    assert ca.owners.watch is not None and ca.owners.watch.restarts == 0
