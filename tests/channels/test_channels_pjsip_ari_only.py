"""``transfer_handling=ari-only``: a REFER from the phone is not carried out; ARI gets a
ChannelTransfer (refer_to / referred_by as Asterisk builds them) and the app reports the
progress with ``POST /channels/{id}/transfer_progress``, which pyari turns into NOTIFY
message/sipfrag (a first 100 Trying, then the final status) and ChannelTransfer events
with the state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from channels.test_channels_pjsip import Events, Phone, offer
from channels.test_channels_pjsip_refer import _bridged_call
from conftest import make_server, wait_for
from pyari.server import Server
from pyari.sip.message import Request, Response, make_response
from sip.test_sip_tcp_out import config_dir


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, "", endpoint_extra="transfer_handling = ari-only"))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def phone(server: Server) -> AsyncIterator[Phone]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    proto.server = server.pjsip.address()
    yield proto
    transport.close()


async def notify(phone: Phone) -> Request:
    found = await phone.incoming("NOTIFY")
    phone.send(make_response(found, 200))
    return found


async def test_blind_refer_goes_to_the_app(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    assert server.pjsip.settings.endpoints["2222"].transfer_handling == "ari-only"
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        phone_chan, transferee, bridge, in_dialog = await _bridged_call(http, phone, events)
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:3000@{host}>"),
                                            ("Referred-By", f"<sip:2222@{host}>")])  # fmt: skip
        phone.send(refer)
        assert (await phone.response(refer)).status == 202
        first = await events.wait("ChannelTransfer")
        assert "state" not in first
        assert first["refer_to"] == {"requested_destination": {"destination": "3000"}}
        by = first["referred_by"]
        assert by["source_channel"]["id"] == phone_chan
        assert by["connected_channel"]["id"] == transferee
        assert by["bridge"]["id"] == bridge
        # nothing was done: the transferee is still bridged, in the app
        assert server.core.channels[transferee].bridge is not None
        assert not events.of("BridgeBlindTransfer")
        r = await http.post(f"/ari/channels/{phone_chan}/transfer_progress",
                            params={"states": "channel_progress"})  # fmt: skip
        assert r.status == 204
        trying = await notify(phone)
        assert trying.call_id == refer.call_id
        assert (trying.headers.get("event") or "").startswith("refer")
        assert (trying.content_type or "").startswith("message/sipfrag")
        assert trying.body.startswith(b"SIP/2.0 100")
        assert (trying.headers.get("subscription-state") or "").startswith("active")
        progress = await events.wait("ChannelTransfer", 2)
        assert progress["state"] == "channel_progress"
        assert progress["refer_to"] == first["refer_to"]
        r = await http.post(f"/ari/channels/{phone_chan}/transfer_progress",
                            params={"states": "channel_answered"})  # fmt: skip
        assert r.status == 204
        done = await notify(phone)
        assert done.body.startswith(b"SIP/2.0 200")
        assert (done.headers.get("subscription-state") or "").startswith("terminated")
        assert (await events.wait("ChannelTransfer", 3))["state"] == "channel_answered"
        # the subscription is over: more progress sends nothing
        r = await http.post(f"/ari/channels/{phone_chan}/transfer_progress",
                            params={"states": "channel_declined"})  # fmt: skip
        assert r.status == 204
        r = await http.post(f"/ari/channels/{phone_chan}/transfer_progress",
                            params={"states": "bogus"})  # fmt: skip
        assert r.status == 400
        bye = in_dialog("BYE")
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        await wait_for(lambda: phone_chan not in server.core.channels)
        assert not [m for m in phone.inbox if isinstance(m, Request) and m.method == "NOTIFY"]
        assert len(events.of("ChannelTransfer")) == 3
        events.task.cancel()


async def _call(phone: Phone, events: Events, count: int) -> tuple[str, Request, Response, Any]:
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
    start = await events.wait("StasisStart", count)
    return start["channel"]["id"], invite, ok, in_dialog


async def test_attended_refer_names_the_replaced_channel(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        held, held_invite, held_ok, _ = await _call(phone, events, 1)
        active, _invite, _ok, in_dialog = await _call(phone, events, 2)
        our_tag = held_ok.to.tag
        their_tag = held_invite.from_.tag
        assert our_tag and their_tag
        replaces = quote(f"{held_invite.call_id};to-tag={our_tag};from-tag={their_tag}")
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:2222@{host}?Replaces={replaces}>")])
        phone.send(refer)
        assert (await phone.response(refer)).status == 202
        transfer = await events.wait("ChannelTransfer")
        assert transfer["referred_by"]["source_channel"]["id"] == active
        assert "bridge" not in transfer["referred_by"]
        refer_to = transfer["refer_to"]
        assert refer_to["destination_channel"]["id"] == held
        assert refer_to["requested_destination"] == {
            "destination": "2222",
            "protocol_id": held_invite.call_id,
            "additional_protocol_params": [
                {"parameter_name": "from", "parameter_value": their_tag},
                {"parameter_name": "to", "parameter_value": our_tag},
            ],
        }
        # a declined transfer: 100 Trying first, then 603, and the state
        r = await http.post(f"/ari/channels/{active}/transfer_progress",
                            params={"states": "channel_declined"})  # fmt: skip
        assert r.status == 204
        assert (await notify(phone)).body.startswith(b"SIP/2.0 100")
        final = await notify(phone)
        assert final.body.startswith(b"SIP/2.0 603")
        assert (final.headers.get("subscription-state") or "").startswith("terminated")
        assert (await events.wait("ChannelTransfer", 2))["state"] == "channel_declined"
        # both calls are still up: nothing was transferred
        assert held in server.core.channels and active in server.core.channels
        events.task.cancel()


async def test_unavailable_reports_503(
    server: Server, http: aiohttp.ClientSession, phone: Phone
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        chan, _invite, _ok, in_dialog = await _call(phone, events, 1)
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:4000@{host}>")])
        phone.send(refer)
        assert (await phone.response(refer)).status == 202
        await events.wait("ChannelTransfer")
        r = await http.post(f"/ari/channels/{chan}/transfer_progress",
                            params={"states": "channel_unavailable"})  # fmt: skip
        assert r.status == 204
        assert (await notify(phone)).body.startswith(b"SIP/2.0 100")
        assert (await notify(phone)).body.startswith(b"SIP/2.0 503")
        # Asterisk names both failures channel_declined
        assert (await events.wait("ChannelTransfer", 2))["state"] == "channel_declined"
        events.task.cancel()
