"""REFER blind transfer from a SIP phone (the in-process phone of test_channels_pjsip):
the phone's call is bridged by an ARI app with a second channel; the phone sends REFER;
pyari publishes BridgeBlindTransfer, sends the transferee to the target extension in the
dialplan (it leaves Stasis) and reports the result with a NOTIFY message/sipfrag."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from channels.test_channels_pjsip import Events, Phone, offer
from conftest import wait_for
from pyari.server import Server
from pyari.sip.message import Request, make_response


async def open_phone(server: Server) -> tuple[asyncio.DatagramTransport, Phone]:
    """A test phone on a UDP socket of its own, talking to ``server``'s SIP transport."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    proto.server = server.pjsip.address()
    return transport, proto


@pytest.fixture
async def refer_phone(server: Server) -> AsyncIterator[Phone]:
    transport, phone = await open_phone(server)
    yield phone
    transport.close()


async def _bridged_call(
    http: aiohttp.ClientSession, phone: Phone, events: Events
) -> tuple[str, str, str, Any]:
    """The phone calls 1000 (Stasis hello); the app bridges it with a Local channel.
    Returns (phone channel, transferee channel, bridge id, in-dialog request maker)."""
    invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
    ok = await phone.authorized(invite)
    assert ok.status == 200
    call_id, from_tag, to = invite.call_id, invite.from_.tag, ok.headers.get("to") or ""

    def in_dialog(method: str, **kw: Any) -> Request:
        req = phone.request(method, "1000", call_id=call_id, from_tag=from_tag, **kw)
        req.headers.set("To", to)
        return req

    ack = in_dialog("ACK")
    ack.headers.set("CSeq", f"{ok.cseq.number} ACK")
    phone.send(ack)
    start = await events.wait("StasisStart")
    phone_chan = start["channel"]["id"]
    r = await http.post(
        "/ari/channels",
        params={"endpoint": "Local/s@default", "app": "hello", "channelId": "transferee"},
    )
    assert r.status == 200
    await events.wait("StasisStart", 2)
    r = await http.post("/ari/bridges", params={"type": "mixing", "bridgeId": "refer-bridge"})
    assert r.status == 200
    r = await http.post(
        "/ari/bridges/refer-bridge/addChannel", params={"channel": f"{phone_chan},transferee"}
    )
    assert r.status == 204
    await events.wait("ChannelEnteredBridge", 2)
    return phone_chan, "transferee", "refer-bridge", in_dialog


async def test_refer_blind_transfer_publishes_and_notifies(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone
) -> None:
    phone = refer_phone
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        phone_chan, transferee, bridge, in_dialog = await _bridged_call(http, phone, events)
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = in_dialog(
            "REFER",
            headers=[("Refer-To", f"<sip:1000@{host}>"), ("Referred-By", f"<sip:2222@{host}>")],
        )
        phone.send(refer)
        assert (await phone.response(refer)).status == 202
        blind = await events.wait("BridgeBlindTransfer")
        assert blind["channel"]["id"] == phone_chan
        assert blind["transferee"]["id"] == transferee
        assert blind["bridge"]["id"] == bridge
        assert (blind["exten"], blind["context"]) == ("1000", "ARI-test")
        assert blind["result"] == "Success"
        assert blind["is_external"] is True
        # the transferee leaves the app's bridge and Stasis, for [ARI-test] 1000
        left = await events.wait("ChannelLeftBridge")
        assert left["channel"]["id"] == transferee
        end = await events.wait("StasisEnd")
        assert end["channel"]["id"] == transferee
        await wait_for(
            lambda: (
                (c := server.core.channels.get(transferee)) is not None
                and c.exten == "1000"
                and c.context == "ARI-test"
            )
        )
        # the result of the transfer, as a NOTIFY in the REFER's dialog
        notify = await phone.incoming("NOTIFY")
        assert notify.call_id == refer.call_id
        assert (notify.headers.get("event") or "").startswith("refer")
        assert (notify.content_type or "").startswith("message/sipfrag")
        assert notify.body.startswith(b"SIP/2.0 200")
        assert (notify.headers.get("subscription-state") or "").startswith("terminated")
        phone.send(make_response(notify, 200))
        bye = in_dialog("BYE")
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        await wait_for(lambda: phone_chan not in server.core.channels)
        events.task.cancel()


async def test_refer_without_a_bridge_is_declined(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone
) -> None:
    phone = refer_phone
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        ok = await phone.authorized(invite)
        assert ok.status == 200
        call_id, from_tag, to = invite.call_id, invite.from_.tag, ok.headers.get("to") or ""
        await events.wait("StasisStart")
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = phone.request("REFER", "1000", call_id=call_id, from_tag=from_tag,
                              headers=[("Refer-To", f"<sip:1000@{host}>")])  # fmt: skip
        refer.headers.set("To", to)
        phone.send(refer)
        assert (await phone.response(refer)).status == 202
        notify = await phone.incoming("NOTIFY")
        assert notify.body.startswith(b"SIP/2.0 603")
        phone.send(make_response(notify, 200))
        assert not events.of("BridgeBlindTransfer")
        # a REFER without Refer-To is a bad request
        bad = phone.request("REFER", "1000", call_id=call_id, from_tag=from_tag)
        bad.headers.set("To", to)
        phone.send(bad)
        assert (await phone.response(bad)).status == 400
        events.task.cancel()
