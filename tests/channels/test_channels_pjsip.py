"""PJSIP channels over loopback against a small phone written with pyari's own sans-IO SIP
pieces: registration with digest auth (endpoint states, ContactStatusChange,
PeerStatusChange), an inbound call into Stasis with hold/unhold, INFO DTMF and BYE, an
outbound originate to the registered contact, MESSAGE both ways, 404 for an unknown
extension, wrong passwords."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from conftest import wait_for
from pyari.core.tech import BadDialString, DuplicateId, EndpointNotFound
from pyari.server import Server
from pyari.sip.dialog import new_tag
from pyari.sip.message import Request, Response, make_response
from pyari.sip.sdp import create_offer, parse_sdp
from sip.sip_phone_helpers import PASSWORD, USER, Events, Phone, send_answer


@pytest.fixture
async def phone(server: Server) -> Any:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    proto.server = server.pjsip.address()
    yield proto
    transport.close()


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
        send_answer(phone, invite, tag, 40002, "2")
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
    assert text.endswith("\nObjects found: 2\n")  # 2222 and webrtc
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


async def test_request_errors_are_typed(server: Server) -> None:
    with pytest.raises(EndpointNotFound, match="Invalid endpoint specified"):
        server.core.request("PJSIP/nobody")
    with pytest.raises(BadDialString):
        server.core.request("PJSIP/")
    chan = server.core.request("PJSIP/2222", uniqueid="out-1")
    with pytest.raises(DuplicateId):
        server.core.request("PJSIP/2222", uniqueid="out-1")
    assert [c.id for c in server.core.channels.values() if c.name.startswith("PJSIP/")] == ["out-1"]
    chan.request_hangup()
    await wait_for(lambda: chan.destroyed)
