"""SIP over WebSocket (RFC 7118): a ``protocol=ws`` transport is served on the HTTP
server's ``/ws`` (subprotocol ``sip``). A phone on a WebSocket (the ``websockets``
library), with ``.invalid`` Via and Contact hosts as a browser has, registers with digest
auth, calls into Stasis, gets an originated call on the same socket; closing the socket
removes its contact; bad frames are answered 400 or dropped and never stop other calls."""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets

from channels.test_channels_pjsip import offer
from conftest import make_server, wait_for
from pyari.cli.commands import run_command
from pyari.server import Server
from pyari.sip.dialog import new_tag
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    make_response,
    parse_message,
    parse_name_addr,
    parse_uri,
)
from sip.sip_phone_helpers import PASSWORD, USER, Events, Phone, send_answer
from sip.test_sip_tcp_out import config_dir

WS_TRANSPORT = """
[transport-ws]
type = transport
protocol = ws
"""
"""The embedded pjsip.conf has it (and transport-wss)."""


def without_websockets(folder: Path) -> Path:
    """``folder``'s pjsip.conf without its ws/wss transports."""
    pjsip = folder / "pjsip.conf"
    text = pjsip.read_text()
    for name in ("transport-ws", "transport-wss"):
        start = text.index(f"[{name}]\n")
        end = text.index("\n\n", start) + 2
        text = text[:start] + text[end:]
    pjsip.write_text(text)
    return folder


class WsPhone(Phone):
    """The test phone on one ``/ws`` socket, addressed as a browser is (``.invalid``)."""

    def __init__(self, kind: str = "WS") -> None:
        super().__init__()
        self.kind = kind
        self.host = f"{new_tag()[:8]}.invalid"
        self.user = f"c{new_tag()[:6]}"
        self.ws: Any = None
        self._outbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.raw: list[str | bytes] = []
        """Every message received, as it came."""

    async def open(self, url: str, port: int, **kwargs: Any) -> None:
        self.server = ("127.0.0.1", port)
        self.ws = await websockets.connect(url, subprotocols=["sip"], **kwargs)  # type: ignore[list-item]
        self._tasks = [
            asyncio.ensure_future(self._read()),
            asyncio.ensure_future(self._write()),
        ]

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for data in self.ws:
                self.raw.append(data)
                raw = data.encode() if isinstance(data, str) else data
                with contextlib.suppress(SipParseError):  # a 400 echoing our garbage
                    self.inbox.append(parse_message(raw))

    async def _write(self) -> None:
        while True:
            await self.ws.send(await self._outbox.get())

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.ws is not None:
            await self.ws.close()

    def send(self, message: Request | Response) -> None:
        self.send_raw(message.to_bytes().decode())

    def send_raw(self, data: str | bytes) -> None:
        self._outbox.put_nowait(data)

    @property
    def sent_by(self) -> str:
        return self.host

    def contact(self) -> NameAddr:
        return NameAddr(parse_uri(f"sip:{self.user}@{self.host};transport=ws"))

    def via(self) -> str:
        return f"SIP/2.0/{self.kind} {self.host};branch=z9hG4bK{new_tag()}"

    def request(self, method: str, to_user: str, **kwargs: Any) -> Request:
        req = super().request(method, to_user, **kwargs)
        req.headers.set("Via", self.via())
        return req


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, ""))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def phone(server: Server) -> AsyncIterator[WsPhone]:
    phone = WsPhone()
    await phone.open(f"ws://127.0.0.1:{server.http_port}/ws", server.http_port)
    yield phone
    await phone.close()


async def register(phone: WsPhone, password: str = PASSWORD, expires: int = 600) -> Response:
    req = phone.request("REGISTER", USER, headers=[("Expires", str(expires))])
    return await phone.authorized(req, password)


async def test_register_over_websocket(server: Server, phone: WsPhone) -> None:
    ok = await register(phone)
    assert ok.status == 200
    assert ok.top_via.host.endswith(".invalid")  # our Via answer went back on the socket
    [binding] = server.pjsip.ua.location.all()
    assert binding.transport == "WS"
    assert binding.uri == str(phone.contact().uri)
    assert binding.source == phone.ws.local_address[:2]
    out = await _cli(server, "pjsip show contacts")
    assert f"2222/{phone.contact().uri}" in out
    await wait_for(lambda: server.core.endpoints.find("PJSIP/2222").state == "online")  # type: ignore[union-attr]


async def test_closing_the_socket_removes_the_contact(server: Server, phone: WsPhone) -> None:
    assert (await register(phone)).status == 200
    endpoint = server.core.endpoints.find("PJSIP/2222")
    assert endpoint is not None
    await wait_for(lambda: endpoint.state == "online")
    await phone.close()
    await wait_for(lambda: not server.pjsip.ua.location.all())
    await wait_for(lambda: endpoint.state == "offline")
    assert not server.pjsip.service.flows  # type: ignore[union-attr]


async def test_wrong_password_never_registers(server: Server, phone: WsPhone) -> None:
    refused = await register(phone, password="not-the-password")
    assert refused.status == 401
    assert server.pjsip.ua.location.all() == []


async def test_call_into_stasis_and_originate_on_the_socket(
    server: Server, http: aiohttp.ClientSession, phone: WsPhone
) -> None:
    assert (await register(phone)).status == 200
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        ok = await phone.authorized(invite)
        assert ok.status == 200
        contact = ok.headers.get("contact") or ""
        assert "transport=ws" in contact
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        ack = phone.request("ACK", "1000", call_id=invite.call_id, from_tag=invite.from_.tag)
        ack.headers.set("To", ok.headers.get("to") or "")
        ack.headers.set("CSeq", f"{ok.cseq.number} ACK")
        phone.send(ack)
        # the app hangs up: the BYE comes on the phone's socket (its Contact is .invalid)
        r = await http.delete(f"/ari/channels/{chan['id']}")
        assert r.status == 204
        bye = await phone.incoming("BYE")
        assert bye.top_via.transport == "WS"
        phone.send(make_response(bye, 200))
        await events.wait("StasisEnd")
        events.task.cancel()

    async with http.ws_connect("/ari/events?app=out") as ws:
        events = Events(ws)
        r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "out"})
        assert r.status == 200
        chan_id = (await r.json())["id"]
        invite = await phone.incoming("INVITE")
        assert invite.uri == phone.contact().uri
        assert invite.top_via.transport == "WS"
        assert "transport=ws" in (invite.headers.get("contact") or "")
        tag = new_tag()
        phone.send(make_response(invite, 180, to_tag=tag))
        send_answer(phone, invite, tag, 40020, "9")
        await phone.incoming("ACK")
        assert (await events.wait("StasisStart"))["channel"]["id"] == chan_id
        # the browser hangs up
        bye = phone.request("BYE", USER, call_id=invite.call_id, from_tag=tag)
        bye.headers.set("From", f"{invite.headers.get('to')};tag={tag}")
        bye.headers.set("To", invite.headers.get("from") or "")
        bye.uri = parse_name_addr(invite.headers.get("contact") or "").uri
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        await events.wait("StasisEnd")
        events.task.cancel()


async def test_messages_and_qualify_reach_the_phone_on_its_socket(
    server: Server, http: aiohttp.ClientSession, phone: WsPhone
) -> None:
    assert (await register(phone)).status == 200
    r = await http.put(
        "/ari/endpoints/sendMessage",
        params={"to": "pjsip:2222", "from": "sip:bot@pyari", "body": "hi browser"},
    )
    assert r.status == 202
    incoming = await phone.incoming("MESSAGE")
    assert incoming.body == b"hi browser"
    assert incoming.top_via.transport == "WS"
    phone.send(make_response(incoming, 202))
    service = server.pjsip.service
    assert service is not None
    service.execute(server.pjsip.ua.qualify("2222", server.pjsip.now()))
    options = await phone.incoming("OPTIONS")
    assert options.top_via.transport == "WS"
    phone.send(make_response(options, 200))
    uri = str(phone.contact().uri)
    await wait_for(lambda: server.pjsip.contacts[("2222", uri)].status == "Reachable")


async def test_closing_the_socket_ends_its_call(
    server: Server, http: aiohttp.ClientSession, phone: WsPhone
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        assert (await phone.authorized(invite)).status == 200
        chan = (await events.wait("StasisStart"))["channel"]
        await phone.close()
        await events.wait("StasisEnd")
        await wait_for(lambda: chan["id"] not in server.core.channels)
        assert server.pjsip.ua.calls == {}
        events.task.cancel()


async def test_bad_frames_get_400_or_nothing_and_calls_go_on(
    server: Server, http: aiohttp.ClientSession, phone: WsPhone
) -> None:
    other = WsPhone()
    await other.open(f"ws://127.0.0.1:{server.http_port}/ws", server.http_port)
    try:
        async with http.ws_connect("/ari/events?app=hello") as ws:
            events = Events(ws)
            invite = other.request(
                "INVITE", "1000", body=offer(other), content_type="application/sdp"
            )
            assert (await other.authorized(invite)).status == 200
            await events.wait("StasisStart")
            # garbage, a binary frame, a request with a bad header, one cut short, a huge one
            phone.send_raw("this is not SIP at all\r\n\r\n")
            phone.send_raw(b"\x00\xff\xfe binary junk")
            bad = phone.request("OPTIONS", "1000")
            text = bad.to_bytes().decode().replace(" OPTIONS\r\n", " INVITE\r\n")
            phone.send_raw(text)
            phone.send_raw(text[: len(text) // 2])
            phone.send_raw("\r\n\r\n")
            await wait_for(
                lambda: any(isinstance(m, Response) and m.status == 400 for m in phone.inbox)
            )
            # the socket still carries SIP, and the other call is still up
            options = phone.request("OPTIONS", "1000")
            phone.send(options)
            assert (await phone.response(options)).status in (200, 401)
            assert len(server.core.channels) == 1
            assert server.pjsip.service.flows  # type: ignore[union-attr]
            events.task.cancel()
        with contextlib.suppress(websockets.ConnectionClosed):
            await phone.ws.send("x" * 70000)  # over the cap: the socket closes (1009)
        await wait_for(lambda: phone.ws.close_code is not None)
        assert len(server.core.channels) == 1
    finally:
        await other.close()


async def test_a_via_that_is_not_ws_gets_400(server: Server, phone: WsPhone) -> None:
    """Responses to a request on a socket go back on it: a Via naming another transport
    (which would send them to a UDP port of its host) is refused."""
    req = phone.request("REGISTER", USER, headers=[("Expires", "600")])
    req.headers.set("Via", f"SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK{new_tag()}")
    phone.send(req)
    reply = await phone.response(req)
    assert reply.status == 400 and "WS" in reply.reason
    assert server.pjsip.ua.location.all() == []
    assert (await register(phone)).status == 200  # the socket goes on


async def test_mutated_messages_never_stop_the_flow(server: Server, phone: WsPhone) -> None:
    """Hundreds of REGISTERs with random bytes changed (a fixed seed): each is answered or
    dropped, the socket stays, and a good request after them is answered."""
    rng = random.Random(17)
    good = phone.request("REGISTER", USER, headers=[("Expires", "600")]).to_bytes()
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        phone.send_raw(bytes(data) if rng.random() < 0.5 else data.decode("latin-1"))
    options = phone.request("OPTIONS", "1000")
    phone.send(options)
    assert (await phone.response(options)).status in (200, 401)
    assert phone.ws.close_code is None
    assert server.pjsip.service is not None and server.pjsip.service.flows


async def test_ws_refusals(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        url = f"http://127.0.0.1:{server.http_port}/ws"
        async with s.get(url) as r:
            assert r.status == 426  # not an upgrade
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await s.ws_connect(url, protocols=("ari",))
        assert err.value.status == 400  # no "sip" subprotocol
        async with s.ws_connect(url, protocols=("sip",)) as ws:
            assert ws.protocol == "sip"


async def test_pjsip_show_endpoint_webrtc(server: Server) -> None:
    out = await run_command(server, "pjsip show endpoint webrtc")
    rows = {
        k.strip(): v.strip()
        for k, _, v in (line.partition(" : ") for line in out.splitlines())
        if v
    }
    assert rows["webrtc"] == "true"
    assert rows["media_encryption"] == "dtls"
    assert (rows["dtls_setup"], rows["dtls_verify"]) == ("actpass", "fingerprint")
    assert rows["ice_support"] == rows["use_avpf"] == rows["rtcp_mux"] == "true"
    assert "webrtc = yes" not in out


async def test_http_show_status_lists_ws_and_static(server: Server) -> None:
    out = await run_command(server, "http show status")
    assert "/ws => Asterisk HTTP WebSocket\n" in out
    assert "/static/... => Asterisk HTTP Static Delivery\n" in out  # enablestatic = yes


async def test_ws_not_found_without_a_ws_transport(tmp_path: Path) -> None:
    srv = make_server(without_websockets(config_dir(tmp_path, "")), enablestatic=False)
    await srv.start()
    try:
        out = await run_command(srv, "http show status")
        assert "/ws =>" not in out and "/static/" not in out
        async with aiohttp.ClientSession() as s:
            url = f"http://127.0.0.1:{srv.http_port}/ws"
            with pytest.raises(aiohttp.WSServerHandshakeError) as err:
                await s.ws_connect(url, protocols=("sip",))
            assert err.value.status == 404
    finally:
        await srv.stop()


async def _cli(server: Server, line: str) -> str:
    return await run_command(server, line)


async def test_module_reload_res_pjsip_starts_new_transports(tmp_path: Path) -> None:
    folder = without_websockets(config_dir(tmp_path, ""))
    srv = make_server(folder)
    await srv.start()
    try:
        url = f"http://127.0.0.1:{srv.http_port}/ws"
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await s.ws_connect(url, protocols=("sip",))
            pjsip = folder / "pjsip.conf"
            tcp = "\n[transport-tcp]\ntype = transport\nprotocol = tcp\nbind = 127.0.0.1:5060\n"
            pjsip.write_text(pjsip.read_text() + WS_TRANSPORT + tcp)
            out = await run_command(srv, "module reload res_pjsip.so")
            assert out == "Module 'res_pjsip.so' reloaded successfully.\n"
            assert "transport-tcp" in srv.pjsip.service.transports  # type: ignore[union-attr]
            async with s.ws_connect(url, protocols=("sip",)) as ws:
                assert ws.protocol == "sip"
            # a broken file keeps what runs
            pjsip.write_text(pjsip.read_text() + "\n[x]\ntype = nonsense\n")
            out = await run_command(srv, "module reload res_pjsip.so")
            assert out == "The module 'res_pjsip.so' reported a reload failure\n"
            assert "transport-tcp" in srv.pjsip.service.transports  # type: ignore[union-attr]
        assert await run_command(srv, "module reload res_nothing.so") == (
            "No such module 'res_nothing.so'\n"
        )
    finally:
        await srv.stop()


async def test_wss_on_the_tls_listener_only(tmp_path: Path) -> None:
    """``wss`` transports serve /ws on http.conf's TLS listener, ``ws`` ones on the plain
    one: with only a ws transport, /ws over TLS is not found."""
    pem = tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "1", "-nodes", "-subj", "/CN=127.0.0.1",
         "-out", str(pem), "-keyout", str(pem)],
        check=True, capture_output=True,
    )  # fmt: skip
    tls = {"tlsenable": True, "tlsbindaddr": "127.0.0.1", "tlsbindport": 0,
           "tlscertfile": pem, "tlsprivatekey": pem}  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    srv = make_server(config_dir(tmp_path, ""), **tls)
    await srv.start()
    try:
        phone = WsPhone("WSS")
        await phone.open(f"wss://127.0.0.1:{srv.https_port}/ws", srv.https_port, ssl=context)
        try:
            assert (await register(phone)).status == 200
            [binding] = srv.pjsip.ua.location.all()
            assert binding.transport == "WSS"
        finally:
            await phone.close()
    finally:
        await srv.stop()
    folder = tmp_path / "only-ws"
    folder.mkdir()
    only_ws = config_dir(folder, "")
    pjsip = only_ws / "pjsip.conf"
    text = pjsip.read_text()
    start = text.index("[transport-wss]\n")
    pjsip.write_text(text[:start] + text[text.index("\n\n", start) + 2 :])
    srv = make_server(only_ws, **tls)
    await srv.start()
    try:
        with pytest.raises(websockets.InvalidStatus) as err:
            await websockets.connect(
                f"wss://127.0.0.1:{srv.https_port}/ws", subprotocols=["sip"],  # type: ignore[list-item]
                ssl=context,
            )  # fmt: skip
        assert err.value.response.status_code == 404
        phone = WsPhone()
        await phone.open(f"ws://127.0.0.1:{srv.http_port}/ws", srv.http_port)
        await phone.close()
    finally:
        await srv.stop()
