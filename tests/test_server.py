"""The Server's life: private state when embedded, one control socket per state,
one-line start errors, the shutdown lines, the lines of ``reload http``."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from conftest import make_server
from pyari.cli.commands import run_command
from pyari.cli.control import send_command
from pyari.config import write_samples
from pyari.config.overrides import Overrides
from pyari.server import Server, StartError

LOOPBACK = Overrides(http_bind=("127.0.0.1", 0), sip_enabled=False)


async def test_embedded_server_keeps_its_state_private(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYARI_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    srv = Server(overrides=LOOPBACK)
    private = srv.private_state
    assert private is not None and private.is_dir()
    assert srv.config.asterisk.astrundir == private / "run"
    await srv.start()
    try:
        assert srv.control is None
        assert not (private / "run" / "pyari.ctl").exists()
        assert srv.pjsip.settings.transports == {}
    finally:
        await srv.stop()
    assert not private.exists()
    assert not (tmp_path / ".local").exists()


async def test_one_server_per_control_socket(state_dir: Path) -> None:
    first = make_server()
    await first.start(control_socket=True)
    try:
        second = make_server()
        with pytest.raises(StartError, match=r"^already running on .*/run/pyari\.ctl \("):
            await second.start(control_socket=True)
        await second.stop()
        # The refused server did not take or remove the first one's socket.
        out = await send_command(state_dir / "run", "core show version")
        assert out.startswith("pyari ")
    finally:
        await first.stop()
    assert not (state_dir / "run" / "pyari.ctl").exists()


async def test_a_stale_socket_file_does_not_block(state_dir: Path) -> None:
    (state_dir / "run").mkdir(parents=True)
    path = state_dir / "run" / "pyari.ctl"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a killed server's
    assert path.is_socket()
    srv = make_server()
    await srv.start(control_socket=True)
    try:
        assert (await send_command(state_dir / "run", "core show uptime")) != ""
    finally:
        await srv.stop()


async def test_taken_http_port_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        srv = Server(overrides=Overrides(http_bind=("127.0.0.1", port), sip_enabled=False))
        with pytest.raises(StartError) as err:
            await srv.start()
        await srv.stop()
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("HTTP server cannot start: ")
    assert f"127.0.0.1:{port}: " in text and text.lower().endswith("address already in use")


async def test_shutdown_lines(caplog: pytest.LogCaptureFixture) -> None:
    srv = make_server()
    await srv.start()
    await run_command(srv, "channel originate Local/s@default extension s@default")
    with caplog.at_level(logging.INFO, logger="pyari.verbose"):
        await srv.stop(reason="core stop now")
    lines = [r.getMessage() for r in caplog.records if r.name == "pyari.verbose"]
    assert lines == [
        "Beginning pyari shutdown (core stop now)...",
        "pyari ending uncleanly: 2 channel(s) were hung up.",
        "Executing last minute cleanups",
        "pyari stopped.",
    ]


def bind_http_conf_to_a_free_port(conf: Path) -> int:
    """Point http.conf's ``bindport`` at a port free now (the samples' 8088 may be taken
    by a pyari the developer runs); returns it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    http_conf = conf / "http.conf"
    http_conf.write_text(re.sub(r"(?m)^bindport=.*$", f"bindport={port}", http_conf.read_text()))
    return port


async def test_reload_http_says_where_it_is_bound(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = tmp_path / "conf"
    write_samples(conf)
    srv = make_server(config_dir=conf)
    await srv.start()
    try:
        new_port = bind_http_conf_to_a_free_port(conf)
        with caplog.at_level(logging.INFO, logger="pyari.verbose"):
            assert await srv.reload_http() == ""
            assert await srv.reload_http() == ""  # nothing moved: nothing said
        lines = [r.getMessage() for r in caplog.records if r.name == "pyari.verbose"]
        assert lines == [f"  == HTTP Server Enabled and Bound to 127.0.0.1:{new_port}"]
    finally:
        await srv.stop()


async def test_overrides_survive_a_reload(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    write_samples(conf)
    srv = Server(config_dir=conf, overrides=LOOPBACK)
    await srv.start()
    try:
        port = srv.http_port
        assert await srv.reload_http() == ""
        assert srv.http_port == port
        assert srv.config.http.bindaddr == "127.0.0.1"
        assert srv.reload_pjsip().endswith("reloaded successfully.")
        assert srv.pjsip.settings.transports == {}
    finally:
        await srv.stop()


async def test_ari_channelvars_reach_snapshots_at_start_and_after_reload(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    write_samples(conf)
    ari_conf = conf / "ari.conf"
    sample = ari_conf.read_text()
    ari_conf.write_text(sample.replace("[general]\n", "[general]\nchannelvars = FOO\n", 1))
    srv = Server(config_dir=conf, overrides=LOOPBACK)  # given to Core when it is made
    chan = srv.core.request("Local/1000@ARI-test")
    chan.set_var("FOO", "1")
    assert chan.snapshot().channelvars == {"FOO": "1"}
    ari_conf.write_text(sample.replace("[general]\n", "[general]\nchannelvars = BAR\n", 1))
    assert srv.reload_ari() == "Module 'res_ari.so' reloaded successfully."
    chan.changed()
    assert chan.snapshot().channelvars == {"BAR": ""}
    await srv.stop()


async def test_reloads_keep_the_settings_they_do_not_reread(tmp_path: Path) -> None:
    """``module reload res_ari.so`` and ``reload http`` replace only their own files'
    settings: cluster.conf's (read at start) stay as they were."""
    conf = tmp_path / "conf"
    write_samples(conf)
    (conf / "cluster.conf").write_text("[general]\nenabled = no\nnode = kept-name\n")
    bind_http_conf_to_a_free_port(conf)  # what `reload http` binds
    srv = make_server(config_dir=conf)
    await srv.start()
    try:
        assert srv.config.cluster.node == "kept-name"
        assert srv.reload_ari() == "Module 'res_ari.so' reloaded successfully."
        assert await srv.reload_http() == ""
        assert srv.config.cluster.node == "kept-name"
    finally:
        await srv.stop()
