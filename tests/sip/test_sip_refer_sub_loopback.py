"""``Refer-Sub: false`` (RFC 4488) end to end on loopback UDP, with the in-process phone:
the phone's call is bridged by the ARI app with a second channel and the phone sends a
REFER asking for no implicit subscription.

* blind transfer (the default): BridgeBlindTransfer, the transferee goes to the target,
  the REFER is answered 200 with ``Refer-Sub: false`` (res_pjsip_refer answers with the
  transfer's result) and no NOTIFY ever comes;
* ``transfer_handling=ari-only``: ChannelTransfer, 200 with ``Refer-Sub: false`` at once,
  and ``transfer_progress`` still gives the app its ChannelTransfer events but sends no
  NOTIFY;
* ``/endpoints/refer`` with a ``Refer-Sub`` variable sends it as a header.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from channels.test_channels_pjsip import Events, Phone, offer, register
from channels.test_channels_pjsip_refer import _bridged_call, open_phone
from channels.test_channels_pjsip_refer import refer_phone as refer_phone  # the fixture
from conftest import auth_headers, make_server, wait_for
from pyari.server import Server
from pyari.sip.dialog import build_request
from pyari.sip.message import NameAddr, Request, make_response
from sip.test_sip_tcp_out import config_dir


def notifies(phone: Phone) -> list[Request]:
    return [m for m in phone.inbox if isinstance(m, Request) and m.method == "NOTIFY"]


async def _bye(phone: Phone, in_dialog: object) -> None:
    """End the call; its 200 comes after anything pyari sent before."""
    bye = in_dialog("BYE")  # type: ignore[operator]
    phone.send(bye)
    assert (await phone.response(bye)).status == 200


async def test_refer_sub_false_blind_transfer_without_notify(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone
) -> None:
    phone = refer_phone
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        phone_chan, transferee, bridge, in_dialog = await _bridged_call(http, phone, events)
        host = f"{phone.server[0]}:{phone.server[1]}"
        refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:1000@{host}>"),
                                            ("Refer-Sub", "false"),
                                            ("Require", "norefersub")])  # fmt: skip
        phone.send(refer)
        final = await phone.response(refer, final=False)
        assert final.status == 200  # the transfer's result, not 202
        assert final.headers.get("refer-sub") == "false"
        blind = await events.wait("BridgeBlindTransfer")
        assert blind["channel"]["id"] == phone_chan
        assert blind["transferee"]["id"] == transferee
        assert blind["bridge"]["id"] == bridge
        assert blind["result"] == "Success"
        end = await events.wait("StasisEnd")
        assert end["channel"]["id"] == transferee
        await wait_for(
            lambda: (c := server.core.channels.get(transferee)) is not None and c.exten == "1000"
        )
        await _bye(phone, in_dialog)
        assert notifies(phone) == []
        events.task.cancel()


async def test_refer_sub_false_declined_is_the_final_response(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone
) -> None:
    """Not in a bridge: the REFER itself gets 603 (with a subscription it is a NOTIFY)."""
    phone = refer_phone
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        ok = await phone.authorized(invite)
        assert ok.status == 200
        await events.wait("StasisStart")
        host = f"{phone.server[0]}:{phone.server[1]}"

        def in_dialog(method: str, **kw: object) -> Request:
            req = phone.request(method, "1000", call_id=invite.call_id,
                                from_tag=invite.from_.tag, **kw)  # type: ignore[arg-type]  # fmt: skip
            req.headers.set("To", ok.headers.get("to") or "")
            return req

        refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:1000@{host}>"),
                                            ("Refer-Sub", "false")])  # fmt: skip
        phone.send(refer)
        final = await phone.response(refer, final=False)
        assert (final.status, final.headers.get("refer-sub")) == (603, "false")
        await _bye(phone, in_dialog)
        assert notifies(phone) == []
        assert not events.of("BridgeBlindTransfer")
        events.task.cancel()


@pytest.fixture
async def ari_only(tmp_path: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, "", endpoint_extra="transfer_handling = ari-only"))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_refer_sub_false_ari_only_reports_to_the_app_without_notify(
    ari_only: Server,
) -> None:
    server = ari_only
    transport, phone = await open_phone(server)
    base = f"http://127.0.0.1:{server.http_port}"
    try:
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
            http.ws_connect("/ari/events?app=hello") as ws,
        ):
            events = Events(ws)
            phone_chan, transferee, _bridge, in_dialog = await _bridged_call(http, phone, events)
            host = f"{phone.server[0]}:{phone.server[1]}"
            refer = in_dialog("REFER", headers=[("Refer-To", f"<sip:3000@{host}>"),
                                                ("Refer-Sub", "false")])  # fmt: skip
            phone.send(refer)
            final = await phone.response(refer, final=False)
            assert (final.status, final.headers.get("refer-sub")) == (200, "false")
            first = await events.wait("ChannelTransfer")
            assert "state" not in first
            assert first["refer_to"] == {"requested_destination": {"destination": "3000"}}
            assert first["referred_by"]["source_channel"]["id"] == phone_chan
            # the app still reports progress and gets its events; the phone gets nothing
            for state, count in (("channel_progress", 2), ("channel_answered", 3)):
                r = await http.post(f"/ari/channels/{phone_chan}/transfer_progress",
                                    params={"states": state})  # fmt: skip
                assert r.status == 204
                assert (await events.wait("ChannelTransfer", count))["state"] == state
            assert server.core.channels[transferee].bridge is not None
            await _bye(phone, in_dialog)
            assert notifies(phone) == []
            events.task.cancel()
    finally:
        transport.close()


def _notify_for(phone: Phone, refer: Request, tag: str) -> Request:
    """The referee's NOTIFY in the dialog its answer to ``refer`` made."""

    return build_request(
        "NOTIFY",
        refer.from_.uri,
        from_=NameAddr(refer.uri, params={"tag": tag}),
        to=NameAddr(refer.from_.uri, params={"tag": refer.from_.tag or ""}),
        call_id=refer.call_id,
        cseq=1,
        sent_by=phone.sent_by,
        headers=[("Event", "refer"), ("Subscription-State", "terminated;reason=noresource")],
        body=b"SIP/2.0 200 OK\r\n",
        content_type="message/sipfrag;version=2.0",
    )


@pytest.mark.parametrize("refer_sub", [None, "false"])
async def test_endpoints_refer_with_and_without_refer_sub(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone, refer_sub: str | None
) -> None:
    """``/endpoints/refer``: its ``variables`` become headers, so {"Refer-Sub": "false"}
    asks for no subscription. With one, the referee's NOTIFY is answered 200; after a 200
    with ``Refer-Sub: false`` there is no subscription and a NOTIFY gets 481."""

    phone = refer_phone
    host, port = phone.address
    variables = {"X-Test": "yes"} | ({"Refer-Sub": refer_sub} if refer_sub else {})
    r = await http.post(
        "/ari/endpoints/refer",
        params={"to": f"sip:bob@{host}:{port}", "from": "sip:alice@127.0.0.1",
                "refer_to": "sip:3000@127.0.0.1"},
        json={"variables": variables},
    )  # fmt: skip
    assert r.status == 202, await r.text()
    refer = await phone.incoming("REFER")
    assert refer.headers.get("refer-sub") == refer_sub
    assert refer.headers.get("x-test") == "yes"
    assert (refer.headers.get("refer-to") or "").endswith("<sip:3000@127.0.0.1>")
    if refer_sub:
        phone.send(make_response(refer, 200, to_tag="bob1", headers=[("Refer-Sub", "false")]))
    else:
        phone.send(make_response(refer, 202, to_tag="bob1"))
    notify = _notify_for(phone, refer, "bob1")
    phone.send(notify)
    answer = await phone.response(notify)
    assert answer.status == (481 if refer_sub else 200)


# ------------------------------------------------------------------ ARI redirect


async def test_redirect_of_an_answered_call_sends_refer(
    server: Server, http: aiohttp.ClientSession, refer_phone: Phone
) -> None:
    """``/channels/{id}/redirect`` with ``PJSIP/2222``: the phone is registered, so the
    Refer-To is its contact (chan_pjsip's transfer_refer); the phone's NOTIFYs get 200."""

    phone = refer_phone
    assert (await register(phone)).status == 200
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        invite = phone.request("INVITE", "1000", body=offer(phone), content_type="application/sdp")
        ok = await phone.authorized(invite)
        assert ok.status == 200
        chan = (await events.wait("StasisStart"))["channel"]
        assert chan["state"] == "Up"
        r = await http.post(f"/ari/channels/{chan['id']}/redirect",
                            params={"endpoint": "PJSIP/2222"})  # fmt: skip
        assert r.status == 204
        refer = await phone.incoming("REFER")
        assert refer.call_id == invite.call_id
        assert refer.to.tag == invite.from_.tag
        assert refer.from_.tag == ok.to.tag
        assert refer.headers.get("refer-to") == f"<sip:2222@{phone.sent_by}>"
        assert (refer.headers.get("referred-by") or "").startswith("<sip:1000@")
        phone.send(make_response(refer, 202))
        notify = phone.request("NOTIFY", "1000", call_id=invite.call_id,
                               from_tag=invite.from_.tag,
                               headers=[("Event", "refer"),
                                        ("Subscription-State", "terminated;reason=noresource")],
                               body=b"SIP/2.0 200 OK\r\n",
                               content_type="message/sipfrag;version=2.0")  # fmt: skip
        notify.headers.set("To", ok.headers.get("to") or "")
        phone.send(notify)
        assert (await phone.response(notify)).status == 200
        # then the phone, transferred, hangs up
        bye = phone.request("BYE", "1000", call_id=invite.call_id, from_tag=invite.from_.tag)
        bye.headers.set("To", ok.headers.get("to") or "")
        phone.send(bye)
        assert (await phone.response(bye)).status == 200
        await events.wait("StasisEnd")
        events.task.cancel()


@pytest.fixture
async def ringing_server(tmp_path: Path) -> AsyncIterator[Server]:
    """Extension 2000 goes to Stasis without answering."""
    folder = config_dir(tmp_path, "")
    ext = folder / "extensions.conf"
    text = ext.read_text()
    assert "[ARI-test]\n" in text
    ext.write_text(text.replace("[ARI-test]\n", "[ARI-test]\nexten => 2000,1,Stasis(hello)\n", 1))
    srv = make_server(folder)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_redirect_of_a_ringing_call_is_a_302(ringing_server: Server) -> None:

    server = ringing_server
    transport, phone = await open_phone(server)
    base = f"http://127.0.0.1:{server.http_port}"
    try:
        async with (
            aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
            http.ws_connect("/ari/events?app=hello") as ws,
        ):
            events = Events(ws)
            invite = phone.request("INVITE", "2000", body=offer(phone),
                                   content_type="application/sdp")  # fmt: skip
            phone.send(invite)
            challenge = await phone.response(invite)
            assert challenge.status == 401
            phone.inbox.clear()
            pending = asyncio.ensure_future(phone.authorized(invite))
            chan = (await events.wait("StasisStart"))["channel"]
            assert chan["state"] == "Ring"
            r = await http.post(f"/ari/channels/{chan['id']}/redirect",
                                params={"endpoint": "PJSIP/sip:3000@192.0.2.7:5070"})  # fmt: skip
            assert r.status == 204
            moved = await pending
            assert moved.status == 302
            assert moved.headers.get("contact") == "<sip:3000@192.0.2.7:5070>"
            hangup = await events.wait("ChannelHangupRequest")
            assert hangup["cause"] == 23  # redirected to new destination
            await events.wait("StasisEnd")
            await wait_for(lambda: chan["id"] not in server.core.channels)
            events.task.cancel()
    finally:
        transport.close()
