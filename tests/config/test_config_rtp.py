"""rtp.conf [general]: port range, ICE host candidates and the ICE ACL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config.acl import load_named_acls
from pyari.config.errors import ConfigError
from pyari.config.parser import parse_text
from pyari.config.rtp import RtpSettings


def _load(text: str, acl: str = "") -> RtpSettings:
    named = load_named_acls(parse_text(acl, "acl.conf")) if acl else {}
    return RtpSettings.from_sections(parse_text(text, "rtp.conf"), named)


def test_defaults() -> None:
    settings = RtpSettings.from_sections([])
    assert settings.port_range == (10000, 20000)
    assert settings.ice_support
    assert settings.host_candidates("192.0.2.1") == ["192.0.2.1"]


def test_loopback_only() -> None:
    settings = _load("[general]\nrtpstart=12000\nrtpend=12100\n"
                     "ice_deny=0.0.0.0/0\nice_permit=127.0.0.1\n")  # fmt: skip
    assert settings.port_range == (12000, 12100)
    assert settings.ice_permits("127.0.0.1")
    assert not settings.ice_permits("192.0.2.1")
    assert settings.host_candidates("192.0.2.1") == []
    assert settings.host_candidates("127.0.0.1") == ["127.0.0.1"]


def test_named_acl_and_host_candidate_mapping() -> None:
    settings = _load(
        "[general]\nice_acl=lo\n"
        "ice_host_candidate = 10.0.0.5 => 203.0.113.9\n"
        "ice_host_candidate = 127.0.0.1 => 127.0.0.2,include_local_address\n",
        "[lo]\ndeny=0.0.0.0/0\npermit=127.0.0.0/8\n",
    )
    assert settings.host_candidates("10.0.0.5") == ["203.0.113.9"]
    assert settings.host_candidates("127.0.0.1") == ["127.0.0.2", "127.0.0.1"]
    assert not settings.ice_permits("10.0.0.5")


@pytest.mark.parametrize(
    "line",
    ["rtpstart=80", "rtpstart=x", "ice_host_candidate = 10.0.0.1", "ice_deny=300.1.1.1",
     "icesupport=maybe", "rtpstart=30000\nrtpend=20000"],
)  # fmt: skip
def test_bad_values(line: str) -> None:
    with pytest.raises(ConfigError):
        _load(f"[general]\n{line}\n")


async def test_module_reload_res_rtp_asterisk(tmp_path: Path) -> None:
    """``module reload res_rtp_asterisk.so`` applies a changed rtp.conf (new streams)."""
    from channels.webrtc_peers import config_dir
    from conftest import make_server
    from pyari.cli.commands import run_command

    folder = config_dir(tmp_path, "[2222]\ntype = endpoint\ncontext = ARI-test\naors = 2222")
    srv = make_server(folder)
    await srv.start(control_socket=False)
    try:
        assert srv.rtp.settings.host_candidates("10.1.2.3") == []
        (folder / "rtp.conf").write_text("[general]\nrtpstart = 12000\nrtpend = 12100\n")
        out = await run_command(srv, "module reload res_rtp_asterisk.so")
        assert "res_rtp_asterisk.so" in out
        assert srv.rtp.port_range == (12000, 12100)
        assert srv.rtp.settings.host_candidates("10.1.2.3") == ["10.1.2.3"]
        assert 12000 <= srv.rtp.open("127.0.0.1").port < 12100
    finally:
        await srv.stop()
