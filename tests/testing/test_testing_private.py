"""Test and embedded servers are private (issue #12 item 1): while the plugin's servers
and an embedded ``Server()`` run in the same HOME, the user's own ``pyari serve`` keeps its
control socket, and ``pyari -rx`` keeps reaching it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyari.config.overrides import Overrides
from pyari.server import Server
from pyari.testing import PyariInstance
from pyari.testing.server import running_pyari

PYARI = str(Path(sys.executable).parent / "pyari")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_plugin_server_has_no_control_socket(
    pyari_server: PyariInstance, tmp_path: Path
) -> None:
    assert pyari_server.server.control is None
    assert not list(tmp_path.rglob("pyari.ctl"))


@pytest.fixture
def home() -> Iterator[Path]:
    # Short: the control socket's path must fit in a Unix socket address.
    with tempfile.TemporaryDirectory(prefix="pyari-home-") as folder:
        yield Path(folder)


def rx(env: dict[str, str], command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYARI, "-rx", command], capture_output=True, text=True, env=env, timeout=30
    )


async def test_users_server_keeps_its_socket_while_tests_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYARI_")}
    env["HOME"] = str(home)
    port = free_port()
    log = home / "serve.log"
    users = subprocess.Popen(
        [PYARI, "serve", "--no-sip", "--bind", f"127.0.0.1:{port}"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while " ready." not in log.read_text():
            assert users.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        ctl = home / ".local/state/pyari/run/pyari.ctl"
        assert ctl.is_socket()

        # Tests in the same HOME, as a user's test suite would run them.
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("PYARI_STATE_DIR", raising=False)
        async with running_pyari() as instance:
            embedded = Server(overrides=Overrides(http_bind=("127.0.0.1", 0), sip_enabled=False))
            await embedded.start()
            try:
                assert instance.server.control is None and embedded.control is None
                status = rx(env, "http show status")
                assert f"Server Enabled and Bound to 127.0.0.1:{port}\n" in status.stdout
            finally:
                await embedded.stop()
        status = rx(env, "http show status")
        assert f"Server Enabled and Bound to 127.0.0.1:{port}\n" in status.stdout
        assert sorted(p.relative_to(home) for p in home.rglob("pyari.ctl")) == [
            Path(".local/state/pyari/run/pyari.ctl")
        ]
    finally:
        users.terminate()
        assert users.wait(10) == 0
