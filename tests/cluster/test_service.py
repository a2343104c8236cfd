"""The Cluster object in a Server (cluster/service.py, server.py): start, stop, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.conftest import WAIT, NodeFactory, free_port, make_node, node_config_dir
from conftest import wait_for
from pyari.config.embedded import embedded_text
from pyari.server import Server, StartError


async def test_no_nats_is_one_clear_start_error(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    server = make_node(node_config_dir(tmp_path, "n1", url))
    try:
        with pytest.raises(StartError) as info:
            await server.start()
    finally:
        await server.stop()
    text = str(info.value)
    assert text.startswith(f"cluster: cannot reach NATS at {url}: "), text
    assert "\n" not in text
    assert server.cluster is None


async def test_a_node_is_a_directory(nodes: NodeFactory) -> None:
    n1, n2 = await nodes(2)
    c1 = n1.cluster
    assert c1 is not None and c1.running and c1.node == "n1"
    await wait_for(lambda: c1.alive() == ["n1", "n2"], WAIT)
    assert c1.leader == "n1"
    chan = n1.core.request("Sim/alice")
    assert chan.id.startswith("n1-")  # unique ids carry the node's name
    assert c1.load("n1") == 1 and c1.owner("channel", chan.id) == "n1"
    await wait_for(lambda: n2.cluster is not None and n2.cluster.load("n1") == 1, WAIT)
    await n1.stop()
    assert n1.cluster is None and c1.link.nc is None and not c1.running


async def test_event_logs_go_to_the_clusters_nats_unless_ari_conf_says(
    nodes: NodeFactory,
) -> None:
    (n1,) = await nodes(1)
    assert n1.event_logs is not None and n1.event_logs.url == n1.config.cluster.nats_url
    ari = (embedded_text("ari.conf") or "").replace(
        "[general]\n", "[general]\nevent_log = memory\n"
    )
    (n2,) = await nodes(1, files={"ari.conf": ari})
    assert n2.cluster is not None and n2.event_logs is None


async def test_a_server_without_cluster_conf_has_no_cluster(server: Server) -> None:
    assert server.cluster is None and not server.config.cluster.enabled
    assert "-" not in server.core.new_uniqueid()
