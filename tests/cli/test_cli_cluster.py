"""``cluster show nodes|resources|streams`` against in-process nodes and a real nats-server."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cluster.conftest import WAIT, NodeFactory, nats_server, nats_url  # noqa: F401 (fixtures)
from conftest import make_server, wait_for
from pyari.cli.commands import run_command
from pyari.core.causes import NORMAL_CLEARING


@pytest.fixture
async def nodes3(nats_url: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:  # noqa: F811
    """The cluster tests' ``nodes`` factory (tests/cluster/conftest.py), here."""
    factory = NodeFactory(nats_url, tmp_path)
    try:
        yield factory
    finally:
        await factory.stop_all()


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


async def test_cluster_commands_say_when_the_cluster_is_off() -> None:
    server = make_server()
    await server.start()
    try:
        assert server.cluster is None
        for cmd in ("cluster show nodes", "cluster show resources", "cluster show streams"):
            assert await run_command(server, cmd) == (
                "Cluster is not enabled (cluster.conf: [general] enabled = yes).\n"
            )
        assert "cluster show nodes" in await run_command(server, "core show help cluster")
    finally:
        await server.stop()


async def test_cluster_show_nodes(nodes3: NodeFactory) -> None:
    n1, n2, n3 = await nodes3(3)
    assert n1.cluster is not None
    table = n1.cluster.nodes.table
    await wait_for(lambda: all(n in table and table[n].sip for n in ("n2", "n3")), WAIT)
    n1.core.request("Sim/alice")
    await wait_for(lambda: n1.cluster is not None and n1.cluster.load("n1") == 1, WAIT)
    text = await run_command(n1, "cluster show nodes")
    lines = _lines(text)
    assert lines[0] == f"Cluster: {n1.config.cluster.cluster}"
    assert lines[2].split() == ["Node", "State", "Channels", "SIP", "HTTP", "Heartbeat"]
    rows = {line.split()[0]: line.split() for line in lines[4:7]}
    assert rows["n1"][1:3] == ["this", "1"]
    assert rows["n2"][1:3] == ["alive", "0"] and rows["n3"][1] == "alive"
    assert rows["n2"][4] == f"127.0.0.1:{n2.http_port}"
    sip_host, sip_port = n3.pjsip.address()
    assert rows["n3"][3] == f"{sip_host}:{sip_port}"
    assert re.fullmatch(r"\d+\.\ds", rows["n2"][5]) and rows["n2"][6] == "ago"
    assert lines[-1] == "3 nodes (3 alive, 0 lost)"
    n3.cluster.nodes.pause()  # type: ignore[union-attr]
    await wait_for(lambda: n1.cluster is not None and len(n1.cluster.alive()) == 2, WAIT)
    text = await run_command(n1, "cluster show nodes")
    assert re.search(r"^n3 +lost ", text, re.M)
    assert _lines(text)[-1] == "3 nodes (2 alive, 1 lost)"


async def test_cluster_show_resources(nodes3: NodeFactory) -> None:
    n1, n2 = await nodes3(2)
    chan = n2.core.request("Sim/bob")
    bridge = n1.core.new_bridge("show-br")
    await wait_for(
        lambda: n1.cluster is not None and n1.cluster.owner("channel", chan.id) == "n2", WAIT
    )
    text = await run_command(n1, "cluster show resources")
    lines = _lines(text)
    assert lines[0].split() == ["Kind", "Id", "Owner"]
    body = [line.split() for line in lines[2:-3]]
    assert ["channel", chan.id, "n2"] in body and ["bridge", bridge.id, "n1"] in body
    assert lines[-2] == "2 resources (1 bridge, 1 channel)"
    assert lines[-1] == "By node: n1: 1, n2: 1"
    only = await run_command(n1, "cluster show resources bridges")
    assert chan.id not in only and bridge.id in only
    assert (await run_command(n1, "cluster show resources planets")).startswith("Unknown kind")
    chan.request_hangup(NORMAL_CLEARING)
    await wait_for(
        lambda: n1.cluster is not None and n1.cluster.owner("channel", chan.id) is None, WAIT
    )
    assert _lines(await run_command(n1, "cluster show resources"))[-2] == ("1 resource (1 bridge)")


async def test_cluster_show_streams(nodes3: NodeFactory) -> None:
    ari = "[general]\nevent_retention = 60\n"  # the logs keep events: JetStream streams
    (n1,) = await nodes3(1, files={"ari.conf": _ari_conf(ari)})
    assert n1.event_logs is not None  # the cluster's NATS, ari.conf names no event_log
    app = f"cli-{n1.config.cluster.cluster}"
    lg = n1.event_logs.make(app, 60, 1 << 20, 0, time.monotonic)  # as an app's log
    for i in range(3):
        lg.append(json.dumps({"n": i}).encode())
    await n1.event_logs.flush()
    assert n1.cluster is not None
    kv = await n1.cluster.link.bucket("APPS")
    await kv.put(app.encode().hex(), b'{"node":"n1","active":true}')
    text = await run_command(n1, "cluster show streams")
    rows = [line.split() for line in _lines(text) if line.startswith(app)]
    assert rows == [[app, "n1", "3", rows[0][3], "1", "3"]] and int(rows[0][3]) > 0
    assert _lines(text)[0].split() == ["App", "Home", "Messages", "Bytes", "First", "Last"]


def _ari_conf(general: str) -> str:
    from pyari.config.embedded import embedded_text

    text = embedded_text("ari.conf") or ""
    return text.replace("[general]\n", general, 1)
