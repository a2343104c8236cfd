"""PJSIP channels over loopback against a small phone written with pyari's own sans-IO SIP
pieces: registration with digest auth (endpoint states, ContactStatusChange,
PeerStatusChange), an inbound call into Stasis with hold/unhold, INFO DTMF and BYE, an
outbound originate to the registered contact, MESSAGE both ways, 404 for an unknown
extension, wrong passwords."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from conftest import wait_for
from pyari.server import Server
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Request, Response, make_response, parse_message, parse_uri
from pyari.sip.sdp import create_answer, create_offer, parse_sdp

USER, PASSWORD = "2222", "pyari-2222"


class Phone(asyncio.DatagramProtocol):
    """Sends requests and collects what arrives (requests and responses)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.inbox: list[Request | Response] = []
        self.address = ("127.0.0.1", 0)
        self.server = ("127.0.0.1", 0)
        self.cseq = 1

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.address = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.inbox.append(parse_message(data))

    def send(self, message: Request | Response) -> None:
        assert self.transport is not None
        self.transport.sendto(message.to_bytes(), self.server)

    @property
    def sent_by(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def contact(self) -> NameAddr:
        return NameAddr(parse_uri(f"sip:{USER}@{self.sent_by}"))

    def request(
        self,
        method: str,
        to_user: str,
        *,
        call_id: str | None = None,
        from_tag: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> Request:
        host = f"{self.server[0]}:{self.server[1]}"
        self.cseq += 1
        return build_request(
            method,
            parse_uri(f"sip:{to_user}@{host}"),
            from_=NameAddr(parse_uri(f"sip:{USER}@{host}"), params={"tag": from_tag or new_tag()}),
            to=NameAddr(parse_uri(f"sip:{to_user}@{host}")),
            call_id=call_id or new_call_id(),
            cseq=self.cseq,
            sent_by=self.sent_by,
            contact=self.contact(),
            headers=headers or [],
            body=body,
            content_type=content_type,
        )

    async def response(self, request: Request, final: bool = True) -> Response:
        def match() -> Response | None:
            for m in self.inbox:
                if (
                    isinstance(m, Response)
                    and m.call_id == request.call_id
                    and m.cseq.number == request.cseq.number
                    and m.cseq.method == request.cseq.method
                    and (m.status >= 200 or not final)
                    and m.status != 100
                ):
                    return m
            return None

        await wait_for(lambda: match() is not None)
        found = match()
        assert found is not None
        self.inbox.remove(found)
        return found

    async def incoming(self, method: str) -> Request:
        def match() -> Request | None:
            return next((m for m in self.inbox if isinstance(m, Request) and m.method == method),
                        None)  # fmt: skip

        await wait_for(lambda: match() is not None)
        found = match()
        assert found is not None
        self.inbox.remove(found)
        return found

    async def authorized(self, request: Request, password: str = PASSWORD) -> Response:
        """Send ``request``; answer a 401 once with the credentials."""
        self.send(request)
        first = await self.response(request)
        if first.status != 401:
            return first
        value = DigestClient(USER, password).authorize(
            first.headers.getall("www-authenticate"), method=request.method, uri=str(request.uri)
        )
        assert value is not None
        if request.method == "INVITE":
            ack = Request(method="ACK", uri=request.uri, headers=request.headers.copy())
            ack.headers.set("CSeq", f"{request.cseq.number} ACK")
            ack.headers.set("To", first.headers.get("to") or "")
            ack.headers.remove("content-type")
            self.send(ack)
        self.cseq += 1
        again = Request(
            method=request.method, uri=request.uri, headers=request.headers.copy(),
            body=request.body,
        )  # fmt: skip
        again.headers.set("Via", f"SIP/2.0/UDP {self.sent_by};rport;branch=z9hG4bK{new_tag()}")
        again.headers.set("CSeq", f"{self.cseq} {request.method}")
        again.headers.add("Authorization", value)
        self.send(again)
        return await self.response(again)


@pytest.fixture
async def phone(server: Server) -> Any:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    proto.server = server.pjsip.address()
    yield proto
    transport.close()


class Events:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.items: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.items.append(json.loads(msg.data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.items if e["type"] == kind]

    async def wait(self, kind: str, count: int = 1) -> dict[str, Any]:
        await wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)[count - 1]


async def register(phone: Phone, expires: int = 600, password: str = PASSWORD) -> Response:
    req = phone.request("REGISTER", USER, headers=[("Expires", str(expires))])
    return await phone.authorized(req, password)


async def test_register_makes_the_endpoint_online(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    async with http.ws_connect("/ari/events?app=watch&subscribeAll=false") as ws:
        events = Events(ws)
        r = await http.post(
            "/ari/applications/watch/subscription", params={"eventSource": "endpoint:PJSIP/2222"}
        )
        assert r.status == 200
        # a wrong password never registers
        bad = await register(phone, password="wrong")
        assert bad.status == 401
        assert server.pjsip.ua.location.all() == []
        ok = await register(phone)
        assert ok.status == 200
        assert "expires=600" in (ok.headers.get("contact") or "")
        contact = await events.wait("ContactStatusChange")
        assert contact["contact_info"] == {
            "uri": f"sip:{USER}@{phone.sent_by}",
            "contact_status": "NonQualified",
            "aor": "2222",
            "roundtrip_usec": "0",
        }
        state = await events.wait("EndpointStateChange")
        assert state["endpoint"]["state"] == "online"
        peer = await events.wait("PeerStatusChange")
        assert peer["peer"] == {"peer_status": "Reachable"}
        async with http.get("/ari/endpoints/PJSIP/2222") as resp:
            assert (await resp.json())["state"] == "online"
        gone = await register(phone, expires=0)
        assert gone.status == 200
        removed = await events.wait("ContactStatusChange", 2)
        assert removed["contact_info"]["contact_status"] == "Removed"
        assert (await events.wait("PeerStatusChange", 2))["peer"]["peer_status"] == "Unreachable"
        events.task.cancel()


def offer(phone: Phone, port: int = 40000, direction: str = "sendrecv") -> bytes:
    sdp = create_offer(["ulaw"], phone.address[0], port, session_id="1", direction=direction)
    return sdp.to_bytes()


async def test_inbound_call_hold_dtmf_and_bye(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        ok = await phone.authorized(invite)
        assert ok.status == 200
        answer = parse_sdp(ok.body)
        assert answer.audio is not None and answer.audio.formats[0] == "0"
        call_id, from_tag, to = invite.call_id, invite.from_.tag, ok.headers.get("to") or ""
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        assert chan["state"] == "Up"
        assert chan["caller"] == {"name": "Phone 2222", "number": "2222"}

        def in_dialog(method: str, **kw: Any) -> Request:
            req = phone.request(method, "1000", call_id=call_id, from_tag=from_tag, **kw)
            req.headers.set("To", to)
            return req

        ack = in_dialog("ACK")
        ack.headers.set("CSeq", f"{ok.cseq.number} ACK")
        phone.send(ack)
        hold = in_dialog("INVITE", body=offer(phone, direction="sendonly"),
                         content_type="application/sdp")  # fmt: skip
        phone.send(hold)
        assert (await phone.response(hold)).status == 200
        assert (await events.wait("ChannelHold"))["channel"]["id"] == chan["id"]
        unhold = in_dialog("INVITE", body=offer(phone), content_type="application/sdp")
        phone.send(unhold)
        reply = await phone.response(unhold)
        assert reply.status == 200 and b"sendrecv" in reply.body
        await events.wait("ChannelUnhold")
        info = in_dialog("INFO", body=b"Signal=7\r\nDuration=250\r\n",
                         content_type="application/dtmf-relay")  # fmt: skip
        phone.send(info)
        assert (await phone.response(info)).status == 200
        dtmf = await events.wait("ChannelDtmfReceived")
        assert (dtmf["digit"], dtmf["duration_ms"]) == ("7", 250)
        stats = await http.get(f"/ari/channels/{chan['id']}/rtp_statistics")
        assert stats.status == 200
        bye = in_dialog("BYE")
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        end = await events.wait("StasisEnd")
        assert end["channel"]["id"] == chan["id"]
        await wait_for(lambda: chan["id"] not in server.core.channels)
        events.task.cancel()


async def test_unknown_extension_gets_404(phone: Phone) -> None:
    invite = phone.request("INVITE", "4040", body=offer(phone), content_type="application/sdp")
    assert (await phone.authorized(invite)).status == 404


async def test_outbound_originate_reaches_the_registered_contact(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    assert (await register(phone)).status == 200
    async with http.ws_connect("/ari/events?app=out") as ws:
        events = Events(ws)
        r = await http.post(
            "/ari/channels",
            params={"endpoint": "PJSIP/2222", "app": "out", "callerId": "Bot <999>"},
        )
        assert r.status == 200
        chan_id = (await r.json())["id"]
        invite = await phone.incoming("INVITE")
        assert invite.uri.user == USER
        assert invite.from_.uri.user == "999"
        tag = new_tag()
        phone.send(make_response(invite, 180, to_tag=tag))
        await wait_for(lambda: server.core.channels[chan_id].state == "Ringing")
        answer, media = create_answer(parse_sdp(invite.body), ["ulaw"], "127.0.0.1", 40002,
                                      session_id="2")  # fmt: skip
        assert media is not None
        phone.send(
            make_response(
                invite, 200, to_tag=tag,
                headers=[("Contact", str(phone.contact())), ("Content-Type", "application/sdp")],
                body=answer.to_bytes(),
            )
        )  # fmt: skip
        await phone.incoming("ACK")
        start = await events.wait("StasisStart")
        assert start["channel"]["id"] == chan_id
        r = await http.delete(f"/ari/channels/{chan_id}")
        assert r.status == 204
        bye = await phone.incoming("BYE")
        phone.send(make_response(bye, 200))
        await events.wait("StasisEnd")
        events.task.cancel()


async def test_messages_both_ways(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    assert (await register(phone)).status == 200
    async with http.ws_connect("/ari/events?app=msg") as ws:
        events = Events(ws)
        r = await http.post(
            "/ari/applications/msg/subscription", params={"eventSource": "endpoint:PJSIP/2222"}
        )
        assert r.status == 200
        msg = phone.request("MESSAGE", "pyari", body=b"hello there", content_type="text/plain")
        assert (await phone.authorized(msg)).status == 202
        got = await events.wait("TextMessageReceived")
        assert got["message"]["body"] == "hello there"
        assert got["endpoint"]["resource"] == "2222"
        r = await http.put(
            "/ari/endpoints/sendMessage",
            params={"to": "pjsip:2222", "from": "sip:bot@pyari", "body": "hi phone"},
        )
        assert r.status == 202
        incoming = await phone.incoming("MESSAGE")
        assert incoming.body == b"hi phone"
        phone.send(make_response(incoming, 202))
        r = await http.put("/ari/endpoints/sendMessage", params={"to": "pjsip:nobody", "body": "x"})
        assert r.status == 404
        events.task.cancel()


async def test_pjsip_cli_commands(server: Server, phone: Phone) -> None:
    from pyari.cli.commands import run_command

    text = await run_command(server, "pjsip show endpoints")
    lines = text.split("\n")
    assert lines[1].startswith(" Endpoint:  <Endpoint/CID....")
    row = next(line for line in lines[3:] if line.startswith(" Endpoint:"))
    assert row == f" Endpoint:  {'2222/2222':<51}  {'Unavailable':<12}  0 of inf"
    assert "     InAuth:  2222/2222" in lines
    assert text.endswith("\nObjects found: 1\n")
    assert (await run_command(server, "pjsip show contacts")) == "\nNo objects found.\n\n"
    assert (await register(phone)).status == 200
    contacts = (await run_command(server, "pjsip show contacts")).split("\n")
    uri = f"sip:{USER}@{phone.sent_by}"
    row = next(line for line in contacts if line.startswith("  Contact:  2222/"))
    assert row.startswith(f"  Contact:  2222/{uri}")
    assert row.split()[-2:] == ["NonQual", "nan"]
    text = await run_command(server, "pjsip show endpoints")
    assert f" Endpoint:  {'2222/2222':<51}  {'Not in use':<12}  0 of inf" in text
    aors = await run_command(server, "pjsip show aors")
    assert f"      Aor:  {'2222':<41} {1:12d}" in aors.split("\n")
    transports = (await run_command(server, "pjsip show transports")).split("\n")
    host, port = server.pjsip.address()
    assert f"Transport:  {'transport-udp':<21}     udp      0      0  {host}:{port}" in transports
    assert await run_command(server, "pjsip reload") == (
        "Module 'res_pjsip.so' reloaded successfully."
    )
    # a reload keeps registrations
    assert server.pjsip.ua.location.all()
