"""baresip, a real softphone, over SIP/TLS against a ``protocol=tls`` transport.

A test CA and a server certificate it signs (for 127.0.0.1) are made with openssl; the
transport has ``cert_file``/``priv_key_file``, and baresip (whose libre is built with
OpenSSL) is given the CA as ``sip_cafile``. baresip registers as endpoint 2222 with its
account URI ``;transport=tls`` and digest authentication (401, then credentials: all on
the TLS connection), calls 1000 in [ARI-test] (Stasis hello); the app answers, plays a
sound while the phone sends its WAV file, hears it (RTP counters both ways) and hangs up:
the BYE goes on the phone's TLS connection and baresip reports the call closed.

The rest of the harness (headless baresip driven through ``ctrl_tcp``) is the one of
``test_e2e_baresip``.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from e2e.test_e2e_baresip import MODULES, Baresip, Events, configure, free_port
from pyari.server import Server
from sip.test_sip_tcp_out import config_dir
from sip.test_sip_tls import tls_transport

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
    pytest.mark.skipif(not (MODULES / "ctrl_tcp.so").exists(), reason="baresip modules missing"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl"),
]


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA certificate and its key."""
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    return cert, key


def make_server_certificate(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by ``ca``, and its key."""
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    ext = folder / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", str(key), "-out", str(csr))  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-CAcreateserial", "-days", "1", "-out", str(cert), "-extfile", str(ext))  # fmt: skip
    return cert, key


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = make_ca(folder, "pyari-test-ca")
    cert, key = make_server_certificate(folder, ca)
    return {"ca": ca[0], "cert": cert, "key": key}


@pytest.fixture
async def tls_server(tmp_path: Path, pki: dict[str, Path]) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, tls_transport(pki["cert"], pki["key"])))
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
def password() -> str:
    return "pyari-2222"


@pytest.fixture
async def tls_phone(
    tls_server: Server, tmp_path: Path, pki: dict[str, Path], password: str
) -> AsyncIterator[Baresip]:
    home = tmp_path / "baresip"
    ctrl = free_port(socket.SOCK_STREAM)
    address = tls_server.pjsip.address("transport-tls")
    configure(home, address, ctrl, transport="tls", password=password, cafile=pki["ca"])
    phone = Baresip(home, ctrl)
    try:
        yield phone
    finally:
        await phone.close()


async def test_the_transport_presents_the_ca_signed_certificate(
    tls_server: Server, pki: dict[str, Path]
) -> None:
    """baresip 1.0 (libre 1.1) loads ``sip_cafile`` but accepts any server certificate,
    so the chain is checked here: a verifying client (CA, host name 127.0.0.1) connects."""
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    host, port = tls_server.pjsip.address("transport-tls")
    _reader, writer = await asyncio.open_connection(host, port, ssl=context,
                                                    server_hostname="127.0.0.1")  # fmt: skip
    try:
        peer = writer.get_extra_info("peercert")
        assert ("commonName", "127.0.0.1") in [item for rdn in peer["subject"] for item in rdn]
        assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]
    finally:
        writer.close()
    strict = ssl.create_default_context()  # the system's CAs only: not trusted
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(host, port, ssl=strict, server_hostname="127.0.0.1")


@pytest.mark.parametrize("password", ["wrong"])
async def test_baresip_over_tls_with_a_wrong_password_never_registers(
    tls_server: Server, tls_phone: Baresip
) -> None:
    service = tls_server.pjsip.service
    assert service is not None
    await tls_phone.start()
    # its REGISTER, challenged, then the REGISTER with the wrong credentials
    await wait_for(lambda: service.received >= 2, timeout=10)
    assert tls_server.pjsip.ua.location.all() == []
    assert [b for b in tls_server.pjsip.bindings()] == []


async def test_baresip_over_tls_registers_calls_into_stasis_hears_and_hangs_up(
    tls_server: Server, tls_phone: Baresip
) -> None:
    server, baresip = tls_server, tls_phone
    base = f"http://127.0.0.1:{server.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
        http.ws_connect("/ari/events?app=hello") as ws,
    ):
        events = Events(ws)
        r = await http.post(
            "/ari/applications/hello/subscription",
            params={"eventSource": "endpoint:PJSIP/2222"},
        )
        assert r.status == 200
        await baresip.start()
        contact = await events.wait("ContactStatusChange")
        assert contact["contact_info"]["aor"] == "2222"
        assert contact["contact_info"]["uri"].startswith("sip:2222")
        assert "transport=tls" in contact["contact_info"]["uri"]
        assert (await events.wait("EndpointStateChange"))["endpoint"]["state"] == "online"
        [binding] = server.pjsip.ua.location.all()
        assert binding.transport == "TLS"
        # the phone's connection is TLS (the server side of pyari's TLS transport)
        tls = server.pjsip.service.transports["transport-tls"] if server.pjsip.service else None
        assert tls is not None and tls.streams
        writer = next(iter(tls.streams.values()))
        assert writer.get_extra_info("ssl_object").version() == "TLSv1.2"
        host, port = server.pjsip.address("transport-tls")
        baresip.command("dial", f"sip:1000@{host}:{port}")  # the account adds transport=tls
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        assert chan["dialplan"]["exten"] == "1000"
        assert chan["caller"]["number"] == "2222"
        r = await http.post(f"/ari/channels/{chan['id']}/answer")
        assert r.status == 204
        await baresip.event("CALL_ESTABLISHED")
        r = await http.post(
            f"/ari/channels/{chan['id']}/play", params={"media": "sound:hello-world"}
        )
        assert r.status == 201
        await events.wait("PlaybackFinished", timeout=15)
        async with http.get(f"/ari/channels/{chan['id']}/rtp_statistics") as s:
            stats = await s.json()
        assert stats["txcount"] > 50  # the phone got the playback
        assert stats["rxcount"] > 50  # and we heard the phone (its WAV file)
        r = await http.delete(f"/ari/channels/{chan['id']}")
        assert r.status == 204
        closed = await baresip.event("CALL_CLOSED")
        assert closed["class"] == "call"
        await events.wait("StasisEnd")
        events.task.cancel()
        with contextlib.suppress(Exception):
            baresip.command("quit")
