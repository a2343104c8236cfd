"""pyari.cluster.demo's node folders, read back as pyari reads them (fast; no process).

The processes themselves run in the acceptance tests (test_acceptance.py) and in
docs/cluster.md's ``--check`` run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.cluster.demo import LocalCluster, kamailio_module
from pyari.config import load_config
from pyari.config.loader import load_one
from pyari.config.pjsip import PjsipSettings


def test_every_node_gets_its_own_ports_names_state_and_cluster_conf(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, 3, cluster="t1", kamailio=False, heartbeat=0.5,
                           node_timeout=2, event_retention=30, stasis_grace=7)  # fmt: skip
    ports = set()
    for node in cluster.nodes:
        cluster.write_node_config(node)
        cfg = load_config(node.conf)
        assert cfg.cluster.enabled and cfg.cluster.node == node.name
        assert cfg.cluster.cluster == "t1" and cfg.cluster.nats_url == cluster.nats_url
        assert (cfg.cluster.heartbeat, cfg.cluster.node_timeout) == (0.5, 2.0)
        assert (cfg.http.bindaddr, cfg.http.bindport) == ("127.0.0.1", node.http_port)
        assert cfg.ari.event_streams.retention == 30 and cfg.ari.event_streams.grace == 7
        assert cfg.asterisk.entityid == node.entity_id
        assert cfg.asterisk.systemname == node.name
        assert cfg.asterisk.astrundir == node.state / "run"
        pjsip = PjsipSettings.from_sections(load_one(node.conf, "pjsip.conf"))
        udp = [t.bind for t in pjsip.transports.values() if t.protocol == "udp"]
        assert udp == [("127.0.0.1", node.sip_port)]
        assert "kamailio" not in pjsip.endpoints
        ports |= {node.http_port, node.sip_port}
    assert len(ports) == 6
    assert len({n.entity_id for n in cluster.nodes}) == 3


def test_fixed_ports_follow_the_documented_layout(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, 3, free_ports=False, kamailio=False)
    assert cluster.nats_url == "nats://127.0.0.1:4222"
    assert cluster.kamailio_address == "127.0.0.1:5060"
    assert [n.http_port for n in cluster.nodes] == [8088, 8089, 8090]
    assert [n.sip_port for n in cluster.nodes] == [5071, 5072, 5073]


def test_clustered_false_writes_enabled_no(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, 1, clustered=False, kamailio=False)
    cluster.write_node_config(cluster.nodes[0])
    assert not load_config(cluster.nodes[0].conf).cluster.enabled


@pytest.mark.skipif(kamailio_module() is None, reason="pyari.cluster.kamailio missing")
def test_behind_kamailio_a_node_takes_its_calls_into_the_dialplan(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path, 2, extra={"extensions.conf": "[more]\nexten => 1,1,NoOp()\n"})
    node = cluster.nodes[1]
    cluster.write_node_config(node)
    pjsip = PjsipSettings.from_sections(load_one(node.conf, "pjsip.conf"))
    endpoint = pjsip.identify("127.0.0.1")
    assert endpoint is not None and endpoint.name == "kamailio"
    assert endpoint.context == "ARI-test"
    assert (node.conf / "extensions.conf").read_text().endswith("[more]\nexten => 1,1,NoOp()\n")
    load_config(node.conf)  # the whole folder still loads
