"""Membership (cluster/nodes.py): heartbeats in the NODES bucket, lost and returning nodes.

Against a real nats-server (tests/cluster/conftest.py); the loss checks of the unit
tests run on an injected clock, the end-to-end ones on real time with the fast
test settings (heartbeat 0.2 s, node_timeout 1 s).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from cluster.conftest import WAIT, NodeFactory, new_cluster_name
from conftest import wait_for
from pyari.cluster.link import Link
from pyari.cluster.nodes import NodeInfo, Nodes
from pyari.config.cluster import ClusterSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _settings(url: str, node: str, cluster: str, **kw: Any) -> ClusterSettings:
    return ClusterSettings(
        enabled=True,
        node=node,
        cluster=cluster,
        nats_url=url,
        heartbeat=0.2,
        node_timeout=1.0,
        **kw,
    )


def _facts(channels: int = 0) -> Callable[[], dict[str, Any]]:
    return lambda: {"sip": "127.0.0.1:5060", "http": "127.0.0.1:8088", "channels": channels}


@pytest.fixture
async def links(nats_url: str) -> AsyncIterator[Callable[[str], Any]]:
    """``await make(node)``: a connected Link of one fresh cluster (closed after the test)."""
    cluster = new_cluster_name()
    made: list[Link] = []

    async def make(node: str) -> Link:
        link = Link(_settings(nats_url, node, cluster))
        await link.connect()
        made.append(link)
        return link

    try:
        yield make
    finally:
        for link in made:
            await link.close()


def test_heartbeat_json_is_parsed_defensively() -> None:
    info = NodeInfo.parse(
        "n2", b'{"sip":"h:1","http":"h:2","channels":3,"started":5,"time":6.5}', 1.0
    )
    assert (info.sip, info.http, info.channels, info.started, info.time) == (
        "h:1",
        "h:2",
        3,
        5,
        6.5,
    )
    for junk in (b"", b"[1]", b"{", b'{"channels":"many","sip":7,"time":true}'):
        bad = NodeInfo.parse("n2", junk, 1.0)
        assert (bad.channels, bad.sip, bad.time) == (0, "", 0.0)


async def test_nodes_see_each_other_and_their_load(links: Any) -> None:
    a = Nodes(await links("a"), _facts(2))
    b = Nodes(await links("b"), _facts(5))
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: a.alive() == ["a", "b"] and b.alive() == ["a", "b"], WAIT)
        assert a.load("b") == 5 and b.load("a") == 2 and a.load("a") == 2
        assert a.leader == b.leader == "a"
        assert a.table["b"].http == "127.0.0.1:8088"
    finally:
        await b.stop()
        await a.stop()


async def test_a_silent_node_is_lost_then_back(links: Any) -> None:
    clock = Clock()
    a = Nodes(await links("a"), _facts(), clock=clock)
    lost: list[str] = []
    forgotten: list[str] = []
    a.on_lost(lost.append)
    a.forget = forgotten.append
    await a.start()
    try:
        a.check()  # the timer's work, on the injected clock
        ghost = await links("ghost")  # a node that heartbeats once, then goes silent
        kv = await ghost.bucket("NODES")
        await kv.put("ghost", json.dumps({"node": "ghost", "channels": 1}).encode())
        await wait_for(lambda: "ghost" in a.alive(), WAIT)
        clock.now += 0.9
        assert a.check() == [] and lost == []
        clock.now += 0.2  # 1.1 s > node_timeout without a heartbeat
        assert a.check() == ["ghost"]
        assert lost == ["ghost"] and forgotten == ["ghost"]  # a is the leader
        assert a.alive() == ["a"] and a.table["ghost"].lost
        assert a.check() == [] and lost == ["ghost"]  # once
        await kv.put("ghost", b'{"node":"ghost"}')  # comes back
        await wait_for(lambda: "ghost" in a.alive(), WAIT)
        assert a.check() == []
    finally:
        await a.stop()


async def test_while_its_own_heartbeats_fail_a_node_declares_no_one_lost(
    links: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JetStream recovering after a restart refuses every node's heartbeats for a while:
    a node whose own puts fail cannot tell who is silent, and once its heartbeats are
    stored again every node gets a fresh node_timeout."""
    clock = Clock()
    a = Nodes(await links("a"), _facts(), clock=clock)
    await a.start()
    try:
        ghost = await links("ghost")
        kv = await ghost.bucket("NODES")
        await kv.put("ghost", json.dumps({"node": "ghost"}).encode())
        await wait_for(lambda: "ghost" in a.alive(), WAIT)
        stored = a.beat

        async def refused() -> None:
            raise RuntimeError("no JetStream yet")

        monkeypatch.setattr(a, "beat", refused)
        await wait_for(lambda: not a.storing, WAIT)
        clock.now += 5.0
        assert a.check() == [] and "ghost" in a.alive()
        monkeypatch.setattr(a, "beat", stored)
        await wait_for(lambda: a.storing, WAIT)
        clock.now += 0.9
        assert a.check() == []  # a fresh node_timeout from the first heartbeat stored
        clock.now += 0.2
        assert a.check() == ["ghost"]
    finally:
        await a.stop()


async def test_only_the_leader_forgets(links: Any) -> None:
    clock = Clock()
    b = Nodes(await links("b"), _facts(), clock=clock)
    forgotten: list[str] = []
    lost: list[str] = []
    b.forget = forgotten.append
    b.on_lost(lost.append)
    await b.start()
    try:
        other = await links("other")
        kv = await other.bucket("NODES")
        await kv.put("a", b"{}")
        await kv.put("c", b"{}")
        await wait_for(lambda: b.alive() == ["a", "b", "c"], WAIT)
        clock.now += 2
        await kv.put("a", b"{}")  # a lives on (seen now), c is silent
        await wait_for(lambda: b.table["a"].seen == clock.now, WAIT)
        assert b.check() == ["c"]
        assert lost == ["c"] and forgotten == []  # a, the leader, forgets
        clock.now += 2
        assert b.check() == ["a"]  # the leader lost: b leads now and forgets a
        assert forgotten == ["a"] and b.leader == "b"
    finally:
        await b.stop()


async def test_a_node_stopping_cleanly_leaves_at_once(links: Any) -> None:
    a = Nodes(await links("a"), _facts())
    b = Nodes(await links("b"), _facts())
    left: list[str] = []
    lost: list[str] = []
    forgotten: list[str] = []
    a.on_left(left.append)
    a.on_lost(lost.append)
    a.forget = forgotten.append
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: a.alive() == ["a", "b"], WAIT)
        await b.stop()
        await wait_for(lambda: a.alive() == ["a"], 0.5)  # well before node_timeout
        assert left == ["b"] and forgotten == ["b"] and lost == []
        assert "b" not in a.table
    finally:
        await a.stop()


async def test_heartbeats_keep_a_node_alive_past_the_timeout(links: Any) -> None:
    a = Nodes(await links("a"), _facts())
    b = Nodes(await links("b"), _facts())
    lost: list[str] = []
    a.on_lost(lost.append)
    await a.start()
    await b.start()
    try:
        await wait_for(lambda: a.alive() == ["a", "b"], WAIT)
        beats = b.beats
        await wait_for(lambda: b.beats >= beats + 8, WAIT)  # 1.6 s of heartbeats
        assert lost == [] and a.alive() == ["a", "b"]
    finally:
        await b.stop()
        await a.stop()


# -- nodes as servers -------------------------------------------------------------


async def test_servers_see_each_other_and_a_stopped_one_leaves(nodes: NodeFactory) -> None:
    n1, n2, n3 = await nodes(3)
    for srv in (n1, n2, n3):
        assert srv.cluster is not None
    await wait_for(lambda: all(s.cluster.alive() == ["n1", "n2", "n3"] for s in (n1, n2, n3)), WAIT)
    info = n1.cluster.nodes.table["n2"]
    assert info.http == f"127.0.0.1:{n2.http_port}"
    assert info.sip.startswith("127.0.0.1:") and not info.sip.endswith(":0")
    await n3.stop()
    await wait_for(lambda: n1.cluster.alive() == ["n1", "n2"], 0.8)
    await wait_for(lambda: n2.cluster.alive() == ["n1", "n2"], 0.8)


async def test_a_server_whose_heartbeats_stop_is_lost_and_comes_back(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    n1, n2 = await nodes(2)
    assert n1.cluster is not None and n2.cluster is not None
    lost: list[str] = []
    n1.cluster.on_lost(lost.append)
    await wait_for(lambda: n1.cluster.alive() == ["n1", "n2"], WAIT)
    n2.cluster.nodes.pause()  # as a node that hangs or loses its network
    loop = asyncio.get_running_loop()
    began = loop.time()
    await wait_for(lambda: lost == ["n2"], WAIT)
    assert loop.time() - began < 1.0 + 0.5  # node_timeout + a check interval and slack
    assert n1.cluster.alive() == ["n1"]
    n2.cluster.nodes.resume()
    await wait_for(lambda: n1.cluster.alive() == ["n1", "n2"], WAIT)
    assert lost == ["n2"]
