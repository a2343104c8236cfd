"""SIP over TLS (``protocol=tls`` transports): a phone on a TLS connection (Python's ssl,
a self-signed certificate made with openssl) registers with digest auth, places a call
into Stasis and gets an originated call on the same connection; ``method`` limits the
protocol version; a transport whose certificate cannot be loaded is left out."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from channels.test_channels_pjsip import Events, offer
from conftest import make_server, wait_for
from pyari.server import Server
from pyari.sip.message import Request, make_response, parse_name_addr
from sip.test_sip_tcp_out import StreamPhone, answer_invite, config_dir, register

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def tls_transport(cert: Path, key: Path, method: str = "tlsv1_2") -> str:
    return f"""
[transport-tls]
type = transport
protocol = tls
bind = 127.0.0.1:5061
cert_file = {cert}
priv_key_file = {key}
method = {method}
"""


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def server(tmp_path: Path, certificate: tuple[Path, Path]) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, tls_transport(*certificate)))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def client_context(version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


@pytest.fixture
async def tls_phone(server: Server) -> AsyncIterator[StreamPhone]:
    phone = StreamPhone("TLS")
    await phone.open(server.pjsip.address("transport-tls"), client_context())
    yield phone
    await phone.close()


async def test_register_and_call_over_tls(
    server: Server, http: aiohttp.ClientSession, tls_phone: StreamPhone
) -> None:
    phone = tls_phone
    assert phone.writer is not None
    assert phone.writer.get_extra_info("ssl_object").version() == "TLSv1.2"
    ok = await register(phone)
    assert ok.status == 200
    assert ok.top_via.transport == "TLS"
    [binding] = server.pjsip.ua.location.all()
    assert binding.transport == "TLS"
    assert binding.uri.endswith(";transport=tls")
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        answered = await phone.authorized(invite)
        assert answered.status == 200
        contact = parse_name_addr(answered.headers.get("contact") or "")
        assert contact.uri.transport == "tls"
        assert contact.uri.port == server.pjsip.address("transport-tls")[1]
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        call_id, from_tag, to = invite.call_id, invite.from_.tag, answered.headers.get("to") or ""

        def in_dialog(method: str, **kw: Any) -> Request:
            req = phone.request(method, "1000", call_id=call_id, from_tag=from_tag, **kw)
            req.headers.set("To", to)
            return req

        ack = in_dialog("ACK")
        ack.headers.set("CSeq", f"{answered.cseq.number} ACK")
        phone.send(ack)
        bye = in_dialog("BYE")
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        await events.wait("StasisEnd")
        await wait_for(lambda: chan["id"] not in server.core.channels)
        events.task.cancel()


async def test_originate_to_a_tls_phone(
    server: Server, http: aiohttp.ClientSession, tls_phone: StreamPhone
) -> None:
    phone = tls_phone
    assert (await register(phone)).status == 200
    async with http.ws_connect("/ari/events?app=out") as ws:
        events = Events(ws)
        r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "out"})
        assert r.status == 200
        chan_id = (await r.json())["id"]
        invite = await phone.incoming("INVITE")
        assert invite.top_via.transport == "TLS"
        assert parse_name_addr(invite.headers.get("contact") or "").uri.transport == "tls"
        await answer_invite(phone, invite)
        assert (await events.wait("StasisStart"))["channel"]["id"] == chan_id
        r = await http.delete(f"/ari/channels/{chan_id}")
        assert r.status == 204
        bye = await phone.incoming("BYE")
        assert bye.top_via.transport == "TLS"
        phone.send(make_response(bye, 200))
        await events.wait("StasisEnd")
        events.task.cancel()


async def test_method_limits_the_tls_version(server: Server) -> None:
    phone = StreamPhone("TLS")
    with pytest.raises(OSError):  # a handshake alert or a reset
        await phone.open(server.pjsip.address("transport-tls"),
                         client_context(ssl.TLSVersion.TLSv1_3))  # fmt: skip
    await phone.close()


async def test_transport_with_a_missing_certificate_is_left_out(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.pem"
    srv = make_server(config_dir(tmp_path, tls_transport(missing, missing)))
    await srv.start()
    try:
        assert srv.pjsip.service is not None
        assert list(srv.pjsip.service.transports) == ["transport-udp"]
        assert "TLS" not in srv.pjsip.ua.addresses
    finally:
        await srv.stop()
