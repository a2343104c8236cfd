"""SIP over TCP toward phones: a phone that registered over TCP gets its calls on the
connection it registered on (or on a new one to its contact when pyari has none), and a
contact that cannot be reached fails the call with cause 34 (pjsip's 503 on a transport
error). The phone is a small stream client built on the PJSIP tests' phone."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import make_server, wait_for
from pyari.config.embedded import embedded_names, embedded_text
from pyari.server import Server
from pyari.sip.dialog import new_tag
from pyari.sip.message import Request, Response, make_response
from sip.sip_phone_helpers import USER, Events, StreamPhone, read_messages, send_answer

TCP_TRANSPORT = """
[transport-tcp]
type = transport
protocol = tcp
bind = 127.0.0.1:5060
"""

TRUNK = """
[3333]
type = endpoint
context = ARI-test
allow = ulaw
aors = 3333
rewrite_contact = no

[3333]
type = aor
max_contacts = 1
"""


def config_dir(tmp_path: Path, pjsip_extra: str, endpoint_extra: str = "") -> Path:
    """The embedded configuration with ``pjsip_extra`` added to pjsip.conf and
    ``endpoint_extra`` lines added to the endpoint 2222."""
    folder = tmp_path / "etc"
    folder.mkdir()
    for name in embedded_names():
        text = embedded_text(name)
        if text is not None:
            (folder / name).write_text(text, encoding="utf-8")
    pjsip = (folder / "pjsip.conf").read_text(encoding="utf-8")
    if endpoint_extra:
        marker = "[2222]\ntype = endpoint\n"
        assert marker in pjsip
        pjsip = pjsip.replace(marker, marker + endpoint_extra.strip() + "\n", 1)
    (folder / "pjsip.conf").write_text(pjsip + pjsip_extra, encoding="utf-8")
    return folder


async def register(phone: StreamPhone, user: str = USER) -> Response:
    req = phone.request("REGISTER", user, headers=[("Expires", "600")])
    if user != USER:
        req.headers.set("From", f"<sip:{user}@{phone.server[0]}>;tag={new_tag()}")
    return await phone.authorized(req)


async def answer_invite(phone: StreamPhone, invite: Request) -> None:
    """Ring and answer an INVITE pyari sent; wait for its ACK."""
    tag = new_tag()
    phone.send(make_response(invite, 180, to_tag=tag))
    send_answer(phone, invite, tag, 40010, "7")
    ack = await phone.incoming("ACK")
    assert ack.top_via.transport == phone.kind


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = make_server(config_dir(tmp_path, TCP_TRANSPORT + TRUNK))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_originate_reaches_a_tcp_phone_on_its_connection(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = StreamPhone("TCP")
    await phone.open(server.pjsip.address("transport-tcp"))
    try:
        assert (await register(phone)).status == 200
        [binding] = server.pjsip.ua.location.all()
        assert binding.transport == "TCP"
        connections = len(server.pjsip.service.transports["transport-tcp"].streams)  # type: ignore[union-attr]
        async with http.ws_connect("/ari/events?app=out") as ws:
            events = Events(ws)
            r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "out"})
            assert r.status == 200
            chan_id = (await r.json())["id"]
            invite = await phone.incoming("INVITE")
            assert invite.top_via.transport == "TCP"
            assert "transport=tcp" in (invite.headers.get("contact") or "")
            await answer_invite(phone, invite)
            start = await events.wait("StasisStart")
            assert start["channel"]["id"] == chan_id
            # the same connection carried it all
            assert len(server.pjsip.service.transports["transport-tcp"].streams) == connections  # type: ignore[union-attr]
            r = await http.delete(f"/ari/channels/{chan_id}")
            assert r.status == 204
            bye = await phone.incoming("BYE")
            phone.send(make_response(bye, 200))
            await events.wait("StasisEnd")
            events.task.cancel()
    finally:
        await phone.close()


async def test_originate_opens_a_connection_to_the_contact(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """The phone registers on one connection, which it then closes; its contact is its
    own listener, which pyari connects to for the call."""
    accepted: list[Request | Response] = []
    conns: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns.append(writer)
        await read_messages(reader, accepted)

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    listen_port = listener.sockets[0].getsockname()[1]
    phone = StreamPhone("TCP")
    await phone.open(server.pjsip.address("transport-tcp"))
    phone.contact_address = ("127.0.0.1", listen_port)
    try:
        assert (await register(phone, "3333")).status == 200
        await phone.close()
        tcp = server.pjsip.service.transports["transport-tcp"]  # type: ignore[union-attr]
        await wait_for(lambda: not tcp.streams)
        r = await http.post("/ari/channels", params={"endpoint": "PJSIP/3333", "app": "out"})
        assert r.status == 200
        chan_id = (await r.json())["id"]
        await wait_for(lambda: any(isinstance(m, Request) for m in accepted))
        invite = accepted[0]
        assert isinstance(invite, Request) and invite.method == "INVITE"
        assert invite.uri.port == listen_port
        assert invite.top_via.transport == "TCP"
        reply = make_response(invite, 486, to_tag=new_tag())
        conns[0].write(reply.to_bytes())
        await wait_for(lambda: chan_id not in server.core.channels)
    finally:
        for writer in conns:
            writer.close()
        listener.close()


async def test_unreachable_tcp_contact_fails_with_congestion(
    server: Server, http: aiohttp.ClientSession
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    async with http.ws_connect("/ari/events?app=out") as ws:
        events = Events(ws)
        r = await http.post(
            "/ari/channels",
            params={
                "endpoint": f"PJSIP/3333/sip:3333@127.0.0.1:{closed};transport=tcp",
                "app": "out",
            },
        )
        assert r.status == 200
        chan_id = (await r.json())["id"]
        destroyed = await events.wait("ChannelDestroyed")
        assert destroyed["channel"]["id"] == chan_id
        assert destroyed["cause"] == 34
        events.task.cancel()
    assert server.pjsip.ua.calls == {}
    assert not server.pjsip.service._connecting  # type: ignore[union-attr]


async def test_qualify_of_a_tcp_contact_uses_its_connection(server: Server) -> None:
    phone = StreamPhone("TCP")
    await phone.open(server.pjsip.address("transport-tcp"))
    try:
        assert (await register(phone)).status == 200
        server.pjsip.service.execute(server.pjsip.ua.qualify("2222", server.pjsip.now()))  # type: ignore[union-attr]
        options = await phone.incoming("OPTIONS")
        assert options.top_via.transport == "TCP"
        phone.send(make_response(options, 200))
        await wait_for(lambda: server.pjsip.contacts[("2222", phone.contact().uri.__str__())].status
                       == "Reachable")  # fmt: skip
    finally:
        await phone.close()
