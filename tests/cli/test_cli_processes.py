"""``pyari serve`` and ``pyari -rx`` as real processes: one control socket per server,
``--bind``/``--sip``, one-line start errors, ``-rx`` with a broken configuration."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PYARI = str(Path(sys.executable).parent / "pyari")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_option(conf: Path, key: str, value: str) -> None:
    text, n = re.subn(rf"(?m)^;?{key}\s*=.*$", f"{key}={value}", conf.read_text(), count=1)
    assert n == 1, key
    conf.write_text(text)


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """A user's environment: their own HOME, no PYARI_STATE_DIR, no PYARI_* overrides.

    HOME is short (``/tmp/pyari-home-XXXX``): the control socket's path must fit in
    the 107 bytes of a Unix socket address, which pytest's tmp_path may not leave."""
    with tempfile.TemporaryDirectory(prefix="pyari-home-") as home:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("PYARI_")}
        yield {**clean, "HOME": home}


def samples(where: Path) -> Path:
    subprocess.run([PYARI, "samples", str(where)], check=True, capture_output=True)
    return where


class Serve:
    """One ``pyari [-C DIR] serve ...`` process, its console in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [PYARI, *args], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env
        )

    def console(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.console():
            assert self.proc.poll() is None, self.console()
            assert time.monotonic() < deadline, self.console()
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


@pytest.fixture
def serving(env: dict[str, str], tmp_path: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for s in started:
        s.stop(signal.SIGKILL)


def serve(
    started: list[Serve], args: list[str], env: dict[str, str], log: Path, *, ready: bool = True
) -> Serve:
    s = Serve(args, env, log)
    started.append(s)
    if ready:
        s.wait_ready()
    return s


def rx(confdir: Path | None, command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = [PYARI] + (["-C", str(confdir)] if confdir is not None else []) + ["-rx", command]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=30)


def test_each_folder_has_its_own_server(
    tmp_path: Path, env: dict[str, str], serving: list[Serve]
) -> None:
    a, b = samples(tmp_path / "a"), samples(tmp_path / "b")
    port_a, port_b = free_port(), free_port()
    set_option(a / "http.conf", "bindport", str(port_a))
    set_option(b / "http.conf", "bindport", str(port_b))
    first = serve(serving, ["-C", str(a), "serve", "--no-sip"], env, tmp_path / "a.log")
    serve(serving, ["-C", str(b), "serve", "--no-sip"], env, tmp_path / "b.log")

    status_a = rx(a, "http show status", env)
    status_b = rx(b, "http show status", env)
    assert f"Server Enabled and Bound to 127.0.0.1:{port_a}\n" in status_a.stdout
    assert f"Server Enabled and Bound to 127.0.0.1:{port_b}\n" in status_b.stdout
    sockets = sorted((Path(env["HOME"]) / ".local/state/pyari/by-config").glob("*/run/pyari.ctl"))
    assert [p.parent.parent.name[:2] for p in sockets] == ["a-", "b-"]
    # The same folder by another path is the same server.
    relative = os.path.relpath(a, Path.cwd())
    assert f"127.0.0.1:{port_a}\n" in rx(Path(relative), "http show status", env).stdout

    # A second server on a's folder is refused before it binds anything.
    third = serve(
        serving,
        ["-C", str(a), "serve", "--no-sip", "--bind", f"127.0.0.1:{free_port()}"],
        env,
        tmp_path / "third.log",
        ready=False,
    )
    assert third.proc.wait(20) == 1
    out = third.console().strip()
    assert re.fullmatch(r"pyari: already running on \S+/run/pyari\.ctl \(.*\)", out), out
    assert f"127.0.0.1:{port_a}\n" in rx(a, "http show status", env).stdout

    # A killed server leaves its socket file behind: it does not block a new one.
    ctl = next(p for p in sockets if p.parent.parent.name.startswith("a-"))
    first.stop(signal.SIGKILL)
    assert ctl.is_socket()
    gone = rx(a, "core show version", env)
    assert gone.returncode == 1
    assert gone.stderr == f"Unable to connect to remote pyari (does {ctl} exist?)\n"
    serve(serving, ["-C", str(a), "serve", "--no-sip"], env, tmp_path / "a2.log")
    assert f"127.0.0.1:{port_a}\n" in rx(a, "http show status", env).stdout
    assert f"127.0.0.1:{port_b}\n" in rx(b, "http show status", env).stdout


def test_bind_option_over_environment_and_file(
    tmp_path: Path, env: dict[str, str], serving: list[Serve]
) -> None:
    port, env_port, sip_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    env = {**env, "PYARI_BIND": f"127.0.0.1:{env_port}"}
    s = serve(
        serving,
        ["serve", "--bind", f"127.0.0.1:{port}", "--sip", f"127.0.0.1:{sip_port}"],
        env,
        tmp_path / "log",
    )
    assert f"HTTP Server Enabled and Bound to 127.0.0.1:{port}\n" in s.console()
    assert f"transport-udp bound to 127.0.0.1:{sip_port}\n" in s.console()
    assert f"127.0.0.1:{port}\n" in rx(None, "http show status", env).stdout
    socket.create_connection(("127.0.0.1", port), 2).close()
    assert s.stop() == 0
    lines = s.console().splitlines()
    tail = lines[lines.index("Beginning pyari shutdown (SIGTERM)...") :]
    assert tail == [
        "Beginning pyari shutdown (SIGTERM)...",
        "pyari ending cleanly: no channels were up.",
        "Executing last minute cleanups",
        "pyari stopped.",
    ]
    # The environment alone moves it too.
    s = serve(serving, ["serve", "--no-sip"], env, tmp_path / "log2")
    assert f"HTTP Server Enabled and Bound to 127.0.0.1:{env_port}\n" in s.console()


def test_taken_ports_are_one_line(
    tmp_path: Path, env: dict[str, str], serving: list[Serve]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = serve(
            serving, ["serve", "--no-sip", "--bind", f"127.0.0.1:{port}"], env,
            tmp_path / "http.log", ready=False,
        )  # fmt: skip
        assert s.proc.wait(20) == 1
        out = s.console()
        assert out.count("\n") == 1, out
        assert out.startswith("pyari: HTTP server cannot start: "), out
        assert f"127.0.0.1:{port}: " in out and out.lower().endswith("in use\n"), out
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        s = serve(
            serving, ["serve", "--sip", f"127.0.0.1:{port}", "--bind", "127.0.0.1:0"], env,
            tmp_path / "sip.log", ready=False,
        )  # fmt: skip
        assert s.proc.wait(20) == 1
        out = s.console()
        assert out.count("\n") == 1, out
        assert out.startswith("pyari: pjsip transport transport-udp"), out
        assert f"127.0.0.1:{port}: " in out and out.lower().endswith("in use\n"), out
        # Its control socket went with it: a server can start there now.
        assert rx(None, "core show version", env).returncode == 1


def test_rx_while_a_config_file_is_broken(
    tmp_path: Path, env: dict[str, str], serving: list[Serve]
) -> None:
    conf = samples(tmp_path / "etc")
    port = free_port()
    set_option(conf / "http.conf", "bindport", str(port))
    serve(serving, ["-C", str(conf), "serve", "--no-sip"], env, tmp_path / "log")
    ext = conf / "extensions.conf"
    ext.write_text(ext.read_text() + "\n[broken]\nexten => 1,1,NoOp()\nexten => 1,1,NoOp()\n")
    set_option(conf / "ari.conf", "password_format", "rot13")

    version = rx(conf, "core show version", env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("pyari ")
    reload = rx(conf, "dialplan reload", env)
    assert reload.returncode == 0, reload.stderr
    assert reload.stdout.startswith("Dialplan reload failed: "), reload.stdout
    assert "ari.conf:" in reload.stdout or "extensions.conf:" in reload.stdout
    assert "[ Context 'ARI-test' created by 'pbx_config' ]" in rx(conf, "dialplan show", env).stdout
    # A broken asterisk.conf (the one file -rx reads) is reported as such.
    (conf / "asterisk.conf").write_text("[directories\n")
    broken = rx(conf, "core show version", env)
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"pyari: configuration error: {conf}/asterisk.conf:1: ")


def test_missing_config_folder(tmp_path: Path, env: dict[str, str]) -> None:
    missing = tmp_path / "nonexistent"
    for args in (["-rx", "core show version"], ["serve"]):
        out = subprocess.run(
            [PYARI, "-C", str(missing), *args], capture_output=True, text=True, env=env, timeout=30
        )
        assert out.returncode == 2
        assert out.stderr == (
            f"pyari: configuration error: {missing}: no such configuration folder "
            f"(`pyari samples {missing}` writes one)\n"
        )


def test_tls_switches(tmp_path: Path, env: dict[str, str], serving: list[Serve]) -> None:
    """``--tls HOST:PORT --tls-cert FILE`` serves HTTPS without a config folder;
    ``--no-tls`` (and ``PYARI_TLS=off``) switch off the HTTPS of an http.conf."""
    import ssl
    import urllib.request

    pem = tmp_path / "foo.pem"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-out", str(pem), "-keyout", str(pem)],
        check=True, capture_output=True,
    )  # fmt: skip
    port, tls_port = free_port(), free_port()
    s = serve(
        serving,
        ["serve", "--no-sip", "--bind", f"127.0.0.1:{port}", "--tls", f"127.0.0.1:{tls_port}",
         "--tls-cert", str(pem)],
        env, tmp_path / "tls.log",
    )  # fmt: skip
    assert f"HTTPS Server Enabled and Bound to 127.0.0.1:{tls_port}\n" in s.console()
    request = urllib.request.Request(f"https://127.0.0.1:{tls_port}/ari/asterisk/ping")
    request.add_header("Authorization", "Basic dGVzdEFSSTpTdXAzck0zZ2EkdHIwbmc=")
    context = ssl.create_default_context(cafile=str(pem))
    with urllib.request.urlopen(request, timeout=5, context=context) as answer:
        assert b'"ping": "pong"' in answer.read()
    assert s.stop() == 0

    conf = samples(tmp_path / "etc")
    http_conf = conf / "http.conf"
    http_conf.write_text(
        http_conf.read_text()
        + f"tlsenable=yes\ntlsbindaddr=127.0.0.1:{tls_port}\n"
        + f"tlscertfile={pem}\ntlsprivatekey={pem}\n"
    )
    for args, extra in ((["--no-tls"], {}), ([], {"PYARI_TLS": "off"})):
        s = serve(
            serving,
            ["-C", str(conf), "serve", "--no-sip", "--bind", f"127.0.0.1:{port}", *args],
            {**env, **extra},
            tmp_path / f"no-tls-{len(serving)}.log",
        )
        status = rx(conf, "http show status", env).stdout
        assert f"\nServer Enabled and Bound to 127.0.0.1:{port}\n" in status
        assert "HTTPS" not in status and "HTTPS" not in s.console()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", tls_port), 2).close()
        assert s.stop() == 0
