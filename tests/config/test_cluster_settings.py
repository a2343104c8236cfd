"""cluster.conf (config/cluster.py): values, defaults, and file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import ConfigError, load_config
from pyari.config.cluster import ClusterSettings, default_node_name
from pyari.config.parser import parse_text


def _settings(text: str) -> ClusterSettings:
    return ClusterSettings.from_sections(parse_text(text, "cluster.conf"))


def test_defaults_are_one_node_without_nats() -> None:
    s = _settings("")
    assert not s.enabled
    assert (s.cluster, s.heartbeat, s.node_timeout, s.placement) == ("pyari", 1.0, 3.0, "local")
    assert (s.forward_timeout, s.resource_ttl) == (5.0, 86400.0)
    assert s.urls == ["nats://127.0.0.1:4222"]
    assert s.node_name == default_node_name() and s.node_name


def test_good_values() -> None:
    s = _settings(
        """
[general]
enabled = yes
node = pbx-1_a
cluster = prod
nats_url = nats://10.0.0.1:4222, tls://10.0.0.2:4443
nats_user = pyari
nats_password = secret
nats_token = tok
nats_creds = /etc/pyari/nats.creds
nats_tls_ca = /etc/ca.pem
heartbeat = 0.5
node_timeout = 2.5
placement = LEAST_LOADED
forward_timeout = 1.5
resource_ttl = 3600
"""
    )
    assert s.enabled and s.node_name == "pbx-1_a" and s.cluster == "prod"
    assert s.urls == ["nats://10.0.0.1:4222", "tls://10.0.0.2:4443"]
    assert (s.nats_user, s.nats_password, s.nats_token) == ("pyari", "secret", "tok")
    assert (s.nats_creds, s.nats_tls_ca) == ("/etc/pyari/nats.creds", "/etc/ca.pem")
    assert (s.heartbeat, s.node_timeout, s.placement) == (0.5, 2.5, "least_loaded")
    assert (s.forward_timeout, s.resource_ttl) == (1.5, 3600.0)


def test_other_sections_are_not_read() -> None:
    assert not _settings("[other]\nenabled = yes\nbogus = 1\n").enabled


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("enabled = perhaps", "enabled"),
        ("node = has space", "not a name"),
        ("node = a.b", "not a name"),
        ("node = " + "x" * 65, "not a name"),
        ("cluster = ", "not a name"),
        ("nats_url = http://h:4222", "not nats:// or tls:// URLs"),
        ("nats_url = nats://a:1,", "not nats:// or tls:// URLs"),
        ("heartbeat = 0", "not a number of seconds"),
        ("heartbeat = fast", "not a number of seconds"),
        ("node_timeout = nan", "not a number of seconds"),
        ("node_timeout = 601", "not a number of seconds"),
        ("forward_timeout = -1", "not a number of seconds"),
        ("resource_ttl = 5", "not a number of seconds"),
        ("placement = random", "not one of local, least_loaded"),
        ("colour = blue", "unknown option 'colour'"),
    ],
)
def test_bad_values_name_the_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _settings(f"[general]\n; a comment\n{line}\n")
    text = str(info.value)
    assert text.startswith("cluster.conf:3: "), text
    assert message in text


def test_node_timeout_must_be_longer_than_heartbeat() -> None:
    with pytest.raises(ConfigError, match="node_timeout must be longer than heartbeat") as info:
        _settings("[general]\nheartbeat = 2\nnode_timeout = 2\n")
    assert str(info.value).startswith("cluster.conf:3: ")
    with pytest.raises(ConfigError, match="node_timeout must be longer") as info:
        _settings("[general]\nheartbeat = 5\n")  # the default node_timeout, 3
    assert str(info.value).startswith("cluster.conf:2: ")


def test_the_last_value_wins() -> None:
    assert _settings("[general]\nnode = a\nnode = b\n").node == "b"


def test_load_config_reads_cluster_conf(tmp_path: Path) -> None:
    (tmp_path / "cluster.conf").write_text("[general]\nenabled = yes\nnode = n7\n")
    cfg = load_config(tmp_path, state=tmp_path / "state")
    assert cfg.cluster.enabled and cfg.cluster.node == "n7"
    (tmp_path / "cluster.conf").write_text("[general]\nplacement = nowhere\n")
    with pytest.raises(ConfigError, match=r"cluster\.conf:2"):
        load_config(tmp_path, state=tmp_path / "state")
    (tmp_path / "cluster.conf").unlink()
    assert not load_config(tmp_path, state=tmp_path / "state").cluster.enabled
