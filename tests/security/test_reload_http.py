"""``reload http`` is all or nothing (issue #11, item 8).

A reload that fails (a certificate file that is not there, an address that
cannot be bound) leaves both listeners serving with the old settings, and
its error names the setting and the file (in the log and the local CLI
answer, never to HTTP clients).  A good reload rereads the certificate.
Both HTTP cores.
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from conftest import auth_headers
from pyari.cli.commands import run_command
from pyari.config import write_samples
from pyari.server import Server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def make_cert(path: Path, name: str) -> Path:
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "1", "-nodes",
         "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-out", str(path), "-keyout", str(path),
         "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_option(conf: Path, key: str, value: str) -> None:
    http = conf / "http.conf"
    text, n = re.subn(rf"(?m)^;?{key}\s*=.*$", f"{key}={value}", http.read_text(), count=1)
    assert n == 1, key
    http.write_text(text)


@pytest.fixture(params=["httptools", "aiohttp"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    yield request.param


@pytest.fixture
async def tls_server(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Server, Path, Path]]:
    """A server of a config folder with HTTP and HTTPS on fixed loopback ports."""
    conf = tmp_path / "conf"
    write_samples(conf)
    cert = make_cert(tmp_path / "first.pem", "first")
    set_option(conf, "bindaddr", "127.0.0.1")
    set_option(conf, "bindport", str(free_port()))
    set_option(conf, "tlsenable", "yes")
    set_option(conf, "tlsbindaddr", f"127.0.0.1:{free_port()}")
    set_option(conf, "tlscertfile", str(cert))
    set_option(conf, "tlsprivatekey", str(cert))
    srv = Server(config_dir=conf, sip_port=0)
    await srv.start()
    try:
        yield srv, conf, cert
    finally:
        await srv.stop()


async def serves(srv: Server, cert: Path, *, http_port: int, https_port: int) -> bool:
    """Both listeners answer ARI; the HTTPS one with the certificate ``cert``."""
    ctx = ssl.create_default_context(cafile=str(cert))
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        async with http.get(f"http://127.0.0.1:{http_port}/ari/asterisk/ping") as r:
            plain = r.status == 200
        async with http.get(f"https://127.0.0.1:{https_port}/ari/asterisk/ping", ssl=ctx) as r:
            return plain and r.status == 200


async def test_a_missing_certificate_keeps_both_listeners(
    tls_server: tuple[Server, Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    srv, conf, cert = tls_server
    http_port, https_port = srv.http_port, srv.https_port
    missing = tmp_path / "nowhere" / "missing.pem"
    set_option(conf, "tlscertfile", str(missing))
    set_option(conf, "tlsprivatekey", str(missing))
    set_option(conf, "servername", "Changed")
    with caplog.at_level(logging.ERROR, logger="pyari"):
        out = await run_command(srv, "module reload http")
    error = f"tlscertfile: {missing}: No such file or directory"
    assert out == (
        f"http.conf reload failed: {error}\nThe module 'http' reported a reload failure\n"
    )
    assert error in caplog.text
    assert (srv.http_port, srv.https_port) == (http_port, https_port)
    assert await serves(srv, cert, http_port=http_port, https_port=https_port)
    # the old settings stay, all of them
    assert srv.config.http.tlscertfile == cert and srv.http.settings.servername == "Asterisk"
    info = f"http://127.0.0.1:{http_port}/ari/asterisk/info"
    async with aiohttp.ClientSession(headers=auth_headers()) as http, http.get(info) as r:
        assert r.headers["Server"] == "Asterisk"
        assert str(missing) not in await r.text()


async def test_an_unusable_key_and_a_taken_port_keep_everything(
    tls_server: tuple[Server, Path, Path], tmp_path: Path
) -> None:
    srv, conf, cert = tls_server
    http_port, https_port = srv.http_port, srv.https_port
    other = make_cert(tmp_path / "other.pem", "other")
    set_option(conf, "tlsprivatekey", str(other))  # not the key of tlscertfile
    out = await run_command(srv, "module reload http")
    assert f"tlscertfile: {cert}, tlsprivatekey: {other}: not a matching" in out
    assert await serves(srv, cert, http_port=http_port, https_port=https_port)
    # A new HTTPS port that is taken: the plain listener must not have moved either.
    set_option(conf, "tlsprivatekey", str(cert))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        set_option(conf, "bindport", str(free_port()))
        set_option(conf, "tlsbindaddr", f"127.0.0.1:{busy}")
        out = await run_command(srv, "module reload http")
        assert f"tlsbindaddr: 127.0.0.1:{busy}: Address already in use" in out
        assert (srv.http_port, srv.https_port) == (http_port, https_port)
        assert await serves(srv, cert, http_port=http_port, https_port=https_port)


async def test_a_good_reload_rereads_the_certificate(
    tls_server: tuple[Server, Path, Path], tmp_path: Path
) -> None:
    srv, conf, cert = tls_server
    http_port, https_port = srv.http_port, srv.https_port
    renewed = make_cert(tmp_path / "renewed.pem", "renewed")
    shutil.copyfile(renewed, cert)  # renewed in place, same path
    assert await run_command(srv, "module reload http") == (
        "Module 'http' reloaded successfully.\n"
    )
    assert (srv.http_port, srv.https_port) == (http_port, https_port)
    assert await serves(srv, renewed, http_port=http_port, https_port=https_port)
    # and a move of the HTTPS port binds the new one before the old one closes
    new_https = free_port()
    set_option(conf, "tlsbindaddr", f"127.0.0.1:{new_https}")
    assert "successfully" in await run_command(srv, "module reload http")
    assert await serves(srv, renewed, http_port=http_port, https_port=new_https)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", https_port), 1).close()


async def test_switching_https_on_announces_only_what_was_bound(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As Asterisk, ``reload http`` prints the "Enabled and Bound to" line of what it
    bound anew (here HTTPS), not again that of the HTTP listener that stayed."""
    conf = tmp_path / "conf"
    write_samples(conf)
    cert = make_cert(tmp_path / "cert.pem", "cert")
    set_option(conf, "bindaddr", "127.0.0.1")
    set_option(conf, "bindport", str(free_port()))
    srv = Server(config_dir=conf, sip_port=0)
    await srv.start()
    try:
        https_port = free_port()
        set_option(conf, "tlsenable", "yes")
        set_option(conf, "tlsbindaddr", f"127.0.0.1:{https_port}")
        set_option(conf, "tlscertfile", str(cert))
        set_option(conf, "tlsprivatekey", str(cert))
        with caplog.at_level(logging.INFO, logger="pyari.verbose"):
            assert await srv.reload_http() == ""
        lines = [r.getMessage() for r in caplog.records if r.name == "pyari.verbose"]
        assert lines == [f"  == HTTPS Server Enabled and Bound to 127.0.0.1:{https_port}"]
        assert await serves(srv, cert, http_port=srv.http_port, https_port=https_port)
    finally:
        await srv.stop()
