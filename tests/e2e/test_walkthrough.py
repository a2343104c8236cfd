"""The seed walkthrough, step by step, against a real ``pyari serve`` process.

Everything a user types in the walkthrough is run here as they would run it:
``pyari samples``, ``pyari -C DIR serve``, ``pyari -C DIR -rx "..."``, the
seed's aioari script as its own Python process, TLS with ``openssl req``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
PYARI = str(BIN / "pyari")

SEED_SCRIPT = """
import aioari
import asyncio
import sys

async def main():
    client = await aioari.connect(sys.argv[1], 'testARI', 'Sup3rM3ga$tr0ng')
    def stasis_start(obj, event):
        print('start', flush=True)
    def stasis_end(obj, event):
        print('stop', flush=True)
    client.on_channel_event('StasisStart', stasis_start)
    client.on_channel_event('StasisEnd', stasis_end)
    await client.run(apps="hello")

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
try:
    loop.run_until_complete(main())
except KeyboardInterrupt:
    pass
loop.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_option(conf: Path, key: str, value: str) -> None:
    text = conf.read_text()
    text, n = re.subn(rf"(?m)^;?{key}\s*=.*$", f"{key}={value}", text, count=1)
    assert n == 1, key
    conf.write_text(text)


class Pyari:
    def __init__(self, confdir: Path, env: dict[str, str]) -> None:
        self.confdir = confdir
        self.env = env
        self.log = confdir / "console.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, port: int) -> None:
        self.proc = subprocess.Popen(
            [PYARI, "-C", str(self.confdir), "serve"],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("pyari did not start: " + self.log.read_text())

    def rx(self, command: str) -> str:
        out = subprocess.run(
            [PYARI, "-C", str(self.confdir), "-rx", command],
            capture_output=True,
            env=self.env,
            timeout=30,
            check=True,
        )
        return out.stdout.decode()

    def console(self) -> str:
        return self.log.read_text()

    def wait_console(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.console():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in console:\n{self.console()}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "etc"
    out = subprocess.run([PYARI, "samples", str(d)], capture_output=True, check=True)
    assert b"http.conf" in out.stdout
    return d


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # SIP on a free port: the samples' 5060 may be another server's on this machine.
    return {**os.environ, "PYARI_STATE_DIR": str(tmp_path / "state"), "PYARI_SIP": "127.0.0.1:0"}


@pytest.fixture
def pyari_proc(confdir: Path, env: dict[str, str]) -> Iterator[Pyari]:
    p = Pyari(confdir, env)
    yield p
    p.stop()


def default_sigint() -> None:
    """In the child before exec: SIGINT back to its default action.

    A shell script's ``cmd &`` starts its children with SIGINT ignored, and Python
    then installs no KeyboardInterrupt handler: the script would never stop. The
    test must not depend on how it was started."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_line(proc: subprocess.Popen[str], timeout: float = 10) -> str:
    assert proc.stdout is not None
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError("no output from the aioari script")
    return proc.stdout.readline().strip()


def test_seed_walkthrough(confdir: Path, env: dict[str, str], pyari_proc: Pyari) -> None:
    port = free_port()
    set_option(confdir / "http.conf", "bindport", str(port))
    pyari_proc.start(port)
    url = f"http://127.0.0.1:{port}"

    status = pyari_proc.rx("http show status")
    assert f"Server Enabled and Bound to 127.0.0.1:{port}" in status
    assert "/ari/... => Asterisk RESTful API" in status
    ari = pyari_proc.rx("ari show status")
    assert ari.startswith("ARI Status:\nEnabled: Yes\nOutput format: pretty\n")
    assert "Auth realm: Asterisk REST Interface" in ari
    assert "No    No    testARI" in pyari_proc.rx("ari show users")

    import urllib.request

    req = urllib.request.Request(f"{url}/ari/api-docs/resources.json")
    req.add_header("Authorization", "Basic dGVzdEFSSTpTdXAzck0zZ2EkdHIwbmc=")
    with urllib.request.urlopen(req, timeout=5) as r:
        assert b'"basePath": "http://127.0.0.1:' in r.read()

    script = confdir / "seed_script.py"
    script.write_text(SEED_SCRIPT)
    client = subprocess.Popen(
        [sys.executable, str(script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )
    try:
        pyari_proc.wait_console("Creating Stasis app 'hello'")
        pyari_proc.wait_console("for protocol '' accepted using version '13'")
        assert "hello" in pyari_proc.rx("ari show apps")
        assert pyari_proc.rx("channel originate Local/1000@ARI-test application Wait 2") == ""
        assert wait_line(client) == "start"
        assert "Local/1000@ARI-test-" in pyari_proc.rx("core show channels")
        assert wait_line(client) == "stop"
        topic = pyari_proc.rx("stasis show topic ari:application/hello")
        assert "Name: ari:application/hello\n" in topic
        assert "Subscribers count: 1\n" in topic
        assert "\nSubscribers:\n  UniqueID: ari:application/hello-" in topic
        assert "Forwarding topic count: 0\n" in topic
        assert re.search(r"Duration time: \d\d:\d\d:\d\d", topic)
    finally:
        client.send_signal(signal.SIGINT)
        client.wait(10)
    pyari_proc.wait_console("Destroying Stasis app hello")
    console = pyari_proc.console()
    for line in (
        '-- Executing [1000@ARI-test:1] NoOp("Local/1000@ARI-test-00000001;2", "") in new stack',
        '-- Executing [1000@ARI-test:2] Answer("Local/1000@ARI-test-00000001;2", "") in new stack',
        '-- Executing [1000@ARI-test:3] Stasis("Local/1000@ARI-test-00000001;2", "hello") in new',
        "Deactivating Stasis app 'hello'",
        "Shutting down application 'hello'",
    ):
        assert line in console
    assert console.index("Deactivating") < console.index("Destroying Stasis app hello")

    # Without the WebSocket, Stasis(hello) fails and the dialplan goes on.
    pyari_proc.rx("channel originate Local/1000@ARI-test application Wait 1")
    pyari_proc.wait_console("Stasis app 'hello' not registered")
    pyari_proc.wait_console('Hangup("Local/1000@ARI-test-00000002;2", "")')

    assert pyari_proc.rx("core stop now") == ""
    assert pyari_proc.proc is not None
    assert pyari_proc.proc.wait(10) == 0


def test_reloads_keep_calls(confdir: Path, pyari_proc: Pyari) -> None:
    port = free_port()
    set_option(confdir / "http.conf", "bindport", str(port))
    pyari_proc.start(port)
    pyari_proc.rx("channel originate Local/s@default extension s@default")
    assert "2 active channels" in pyari_proc.rx("core show channels count")
    # New user and new port, applied without dropping the call.
    with (confdir / "ari.conf").open("a") as f:
        f.write("\n[newuser]\ntype=user\npassword=secret\n")
    assert "reloaded successfully" in pyari_proc.rx("module reload res_ari.so")
    assert "newuser" in pyari_proc.rx("ari show users")
    port2 = free_port()
    set_option(confdir / "http.conf", "bindport", str(port2))
    pyari_proc.rx("reload http")
    assert f"Bound to 127.0.0.1:{port2}" in pyari_proc.rx("http show status")
    socket.create_connection(("127.0.0.1", port2), 2).close()
    assert "2 active channels" in pyari_proc.rx("core show channels count")
    # A broken dialplan is refused; the old one stays.
    ext = confdir / "extensions.conf"
    good = ext.read_text()
    ext.write_text(good + "\n[broken]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp()\n")
    out = pyari_proc.rx("dialplan reload")
    assert "extensions.conf:" in out
    assert "[ Context 'ARI-test' created by 'pbx_config' ]" in pyari_proc.rx("dialplan show")
    ext.write_text(good + "\n[added]\nexten => 7,1,NoOp()\n")
    assert pyari_proc.rx("dialplan reload") == "Dialplan reloaded.\n"
    assert "'7' =>" in pyari_proc.rx("dialplan show added")
    pyari_proc.rx("channel request hangup all")
    assert "0 active channels" in pyari_proc.rx("core show channels count")


def test_bad_config_is_refused(confdir: Path, env: dict[str, str]) -> None:
    set_option(confdir / "ari.conf", "password_format", "rot13")
    out = subprocess.run(
        [PYARI, "-C", str(confdir), "serve"], capture_output=True, env=env, timeout=30
    )
    assert out.returncode == 2
    assert re.search(rb"ari\.conf:\d+:", out.stderr), out.stderr


def test_unknown_command(confdir: Path, pyari_proc: Pyari) -> None:
    port = free_port()
    set_option(confdir / "http.conf", "bindport", str(port))
    pyari_proc.start(port)
    out = pyari_proc.rx("frobnicate now")
    assert out == (
        "No such command 'frobnicate now' (type 'core show help frobnicate now' "
        "for other possible commands)\n"
    )


def test_tls_https_and_wss(confdir: Path, pyari_proc: Pyari, tmp_path: Path) -> None:
    pem = tmp_path / "foo.pem"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "365", "-nodes",
         "-out", str(pem), "-keyout", str(pem),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    port, tls_port = free_port(), free_port()
    conf = confdir / "http.conf"
    set_option(conf, "bindport", str(port))
    set_option(conf, "tlsenable", "yes")
    set_option(conf, "tlsbindaddr", f"127.0.0.1:{tls_port}")
    set_option(conf, "tlscertfile", str(pem))
    set_option(conf, "tlsprivatekey", str(pem))
    pyari_proc.start(tls_port)
    status = pyari_proc.rx("http show status")
    assert f"HTTPS Server Enabled and Bound to 127.0.0.1:{tls_port}" in status

    import asyncio
    import ssl

    import aiohttp

    async def check() -> None:
        ctx = ssl.create_default_context(cafile=str(pem))
        headers = {"Authorization": aiohttp.encode_basic_auth("testARI", "Sup3rM3ga$tr0ng")}
        async with aiohttp.ClientSession(headers=headers) as s:
            async with s.get(f"https://127.0.0.1:{tls_port}/ari/asterisk/ping", ssl=ctx) as r:
                assert r.status == 200
                assert (await r.json())["ping"] == "pong"
            ws = await s.ws_connect(f"wss://127.0.0.1:{tls_port}/ari/events?app=hello", ssl=ctx)
            pyari_proc.rx("channel originate Local/1000@ARI-test application Wait 0.2")
            msg = await asyncio.wait_for(ws.receive_json(), 10)
            while msg["type"] != "StasisStart":
                msg = await asyncio.wait_for(ws.receive_json(), 10)
            assert msg["application"] == "hello"
            await ws.close()

    asyncio.run(check())
    # Plain TLS clients that do not trust the certificate are refused.
    import ssl as _ssl

    with pytest.raises(_ssl.SSLError):
        ctx = _ssl.create_default_context()
        with socket.create_connection(("127.0.0.1", tls_port), 5) as raw:
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
