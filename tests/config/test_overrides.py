"""--bind, --tls, --sip and their PYARI_* variables over http.conf and pjsip.conf."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import ConfigError, HttpSettings
from pyari.config.overrides import Overrides, parse_address
from pyari.config.pjsip import PjsipSettings, Transport


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8090", "command line", "--bind") == ("127.0.0.1", 8090)
    assert parse_address("[::1]:0", "command line", "--bind") == ("::1", 0)
    assert parse_address("localhost", "command line", "--bind") == ("localhost", None)
    with pytest.raises(ConfigError) as err:
        parse_address("127.0.0.1:99999", "command line", "--bind")
    assert str(err.value) == (
        "command line: --bind = '127.0.0.1:99999': bad port '99999' (0..65535)"
    )


def test_environment() -> None:
    o = Overrides.from_environ(
        {
            "PYARI_BIND": "0.0.0.0:9000",
            "PYARI_TLS": "off",
            "PYARI_SIP": "127.0.0.1:5070",
            "PYARI_TLS_CERT": "/x.pem",
        }
    )
    assert o == Overrides(
        http_bind=("0.0.0.0", 9000),
        tls_enabled=False,
        tls_cert=Path("/x.pem"),
        sip_bind=("127.0.0.1", 5070),
        sip_enabled=True,
    )
    assert Overrides.from_environ({"PYARI_SIP": "off", "PYARI_BIND": ""}) == Overrides(
        sip_enabled=False
    )
    assert Overrides.from_environ({}).empty
    with pytest.raises(ConfigError, match="environment: PYARI_BIND = "):
        Overrides.from_environ({"PYARI_BIND": "host:port"})


def test_command_line_wins_over_environment() -> None:
    env = Overrides(http_bind=("0.0.0.0", 1), sip_enabled=False)
    cli = Overrides(http_bind=("127.0.0.1", 2))
    assert cli.over(env) == Overrides(http_bind=("127.0.0.1", 2), sip_enabled=False)


def test_http() -> None:
    base = HttpSettings(enabled=False, bindaddr="0.0.0.0", bindport=8088)
    moved = Overrides(http_bind=("127.0.0.1", 0)).http(base)
    assert (moved.enabled, moved.bindaddr, moved.bindport) == (True, "127.0.0.1", 0)
    assert Overrides(http_bind=("::1", None)).http(base).bindport == 8088
    assert Overrides().http(base) is base
    tls = Overrides(tls_bind=("127.0.0.1", 8443), tls_enabled=True, tls_cert=Path("c.pem"))
    s = tls.http(base)
    assert (s.tlsenable, s.tlsbindaddr, s.tlsbindport) == (True, "127.0.0.1", 8443)
    assert (s.tlscertfile, s.tlsprivatekey) == (Path("c.pem"), Path("c.pem"))
    with pytest.raises(ConfigError, match="HTTPS needs a certificate"):
        Overrides(tls_enabled=True).http(base)
    on = HttpSettings(tlsenable=True, tlscertfile=Path("c.pem"))
    assert Overrides(tls_enabled=False).http(on).tlsenable is False


def test_pjsip() -> None:
    transports = {
        "udp": Transport("udp", "udp", ("0.0.0.0", 5060)),
        "tcp": Transport("tcp", "tcp", ("0.0.0.0", 5060)),
        "tls": Transport("tls", "tls", ("0.0.0.0", 5061)),
    }
    s = PjsipSettings(transports=transports)
    moved = Overrides(sip_bind=("127.0.0.1", 5070)).pjsip(s).transports
    assert {n: t.bind for n, t in moved.items()} == {
        "udp": ("127.0.0.1", 5070),
        "tcp": ("127.0.0.1", 5070),
        "tls": ("127.0.0.1", 5061),
    }
    assert Overrides(sip_enabled=False).pjsip(s).transports == {}
    added = Overrides(sip_bind=("127.0.0.1", 0)).pjsip(PjsipSettings()).transports
    assert [(t.name, t.protocol, t.bind) for t in added.values()] == [
        ("transport-udp", "udp", ("127.0.0.1", 0))
    ]
    assert Overrides().pjsip(s) is s
