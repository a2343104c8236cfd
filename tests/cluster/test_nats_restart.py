"""NATS restarting under running nodes: nothing crashes, membership and ownership recover."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cluster.conftest import NatsServer, NodeFactory
from conftest import wait_for


async def test_nodes_survive_a_nats_restart(tmp_path: Path) -> None:
    nats = NatsServer(tmp_path / "js")
    nats.start()
    factory = NodeFactory(nats.url, tmp_path)
    try:
        n1, n2 = await factory(2)
        c1, c2 = n1.cluster, n2.cluster
        assert c1 is not None and c2 is not None
        await wait_for(lambda: c1.alive() == ["n1", "n2"], 5)
        lost: list[str] = []
        c1.on_lost(lost.append)
        c2.on_lost(lost.append)
        nats.stop()
        await wait_for(lambda: not c1.link.connected and not c2.link.connected, 5)
        await asyncio.sleep(1.5)  # longer than node_timeout: nobody could be heard
        assert lost == [] and c1.alive() == ["n1", "n2"]  # cut off: no judgement
        chan = n2.core.request("Sim/bob")  # made while NATS is away: queued
        nats.start()
        await wait_for(lambda: c1.link.connected and c2.link.connected, 10)
        await wait_for(lambda: c1.owner("channel", chan.id) == "n2", 5)
        bridge = n1.core.new_bridge("after-restart")
        await wait_for(lambda: c2.owner("bridge", bridge.id) == "n1", 5)
        await wait_for(lambda: c1.nodes.beats > 0 and c2.nodes.table["n1"].seen > 0, 5)
        beats = c2.nodes.beats
        await wait_for(lambda: c2.nodes.beats > beats + 7, 5)  # > node_timeout later
        assert lost == [] and c1.alive() == c2.alive() == ["n1", "n2"]
    finally:
        await factory.stop_all()
        nats.stop()
