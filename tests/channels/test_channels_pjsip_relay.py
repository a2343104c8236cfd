"""Two PJSIP calls in an ARI mixing bridge relay their RTP on arrival (issue #16): an
inbound call from a phone and an originated call back to it, bridged; the phone's audio
on one leg leaves the other at once, with that leg's SSRC, without waiting for a tick;
a playback on one leg puts the pair back on the media clock."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import aiohttp

from conftest import wait_for
from pyari.channels.pjsip import PjsipPvt
from pyari.core.tech import pvt_of
from pyari.rtp.packet import RtpPacket
from pyari.server import Server
from pyari.sip.dialog import new_tag
from pyari.sip.message import Request, make_response
from pyari.sip.sdp import create_offer, parse_sdp
from sip.sip_phone_helpers import PASSWORD, USER, Events, Phone, send_answer


async def _phone(server: Server) -> tuple[asyncio.DatagramTransport, Phone]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Phone, local_addr=("127.0.0.1", 0))
    proto.server = server.pjsip.address()
    return transport, proto


def _rtp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return out
        out.append((struct.unpack_from("!I", data, 8)[0], data[12:]))


async def test_bridged_pjsip_calls_relay_on_arrival_until_a_playback(
    server: Server, http: aiohttp.ClientSession
) -> None:
    transport, phone = await _phone(server)
    rtp_a, rtp_b = _rtp_socket(), _rtp_socket()
    try:
        reg = phone.request("REGISTER", USER, headers=[("Expires", "600")])
        assert (await phone.authorized(reg, PASSWORD)).status == 200
        async with http.ws_connect("/ari/events?app=hello") as ws:
            events = Events(ws)
            # leg a: the phone calls in (its RTP on rtp_a)
            sdp = create_offer(["ulaw"], "127.0.0.1", rtp_a.getsockname()[1], session_id="1")
            invite = phone.request("INVITE", "1000", body=sdp.to_bytes(),
                                   content_type="application/sdp")  # fmt: skip
            ok = await phone.authorized(invite, PASSWORD)
            assert ok.status == 200
            ack = phone.request("ACK", "1000", call_id=invite.call_id, from_tag=invite.from_.tag)
            ack.headers.set("To", ok.headers.get("to") or "")
            ack.headers.set("CSeq", f"{ok.cseq.number} ACK")
            phone.send(ack)
            a_port = parse_sdp(ok.body).audio.port  # type: ignore[union-attr]
            a_id = (await events.wait("StasisStart"))["channel"]["id"]
            # leg b: originated to the phone (its RTP on rtp_b)
            r = await http.post("/ari/channels", params={"endpoint": "PJSIP/2222", "app": "hello"})
            assert r.status == 200
            b_id = (await r.json())["id"]
            out: Request = await phone.incoming("INVITE")
            send_answer(phone, out, new_tag(), rtp_b.getsockname()[1], "2")
            await phone.incoming("ACK")
            await events.wait("StasisStart", 2)
            r = await http.post("/ari/bridges", params={"type": "mixing", "bridgeId": "relay"})
            assert r.status == 200
            r = await http.post("/ari/bridges/relay/addChannel",
                                params={"channel": f"{a_id},{b_id}"})  # fmt: skip
            assert r.status == 204
            a_pvt = pvt_of(server.core.channels[a_id], PjsipPvt)
            b_pvt = pvt_of(server.core.channels[b_id], PjsipPvt)
            assert a_pvt.rtp is not None and b_pvt.rtp is not None
            await wait_for(lambda: a_pvt.rtp.relay is b_pvt.rtp and b_pvt.rtp.relay is a_pvt.rtp)  # type: ignore[union-attr]
            b_session = b_pvt.rtp.session
            assert b_session is not None
            _drain(rtp_b)
            # the phone's audio on a leaves b at once, as b's stream
            sent_at = time.monotonic()
            for n in range(3):
                packet = RtpPacket(0, n, 160 * n, 0xABCD, bytes([n + 1]) * 160).to_bytes()
                rtp_a.sendto(packet, ("127.0.0.1", a_port))
                await asyncio.sleep(0.005)
            got: list[tuple[int, bytes]] = []

            def three() -> bool:
                got.extend(_drain(rtp_b))
                return len(got) >= 3

            await wait_for(three)
            assert time.monotonic() - sent_at < 1.0
            assert [payload[0] for _ssrc, payload in got[:3]] == [1, 2, 3]
            assert all(ssrc == b_session.ssrc for ssrc, _payload in got)
            # a playback on b: the pair goes back to the clock, b hears the sound
            r = await http.post(f"/ari/channels/{b_id}/play",
                                params={"media": "tone:440", "playbackId": "pb"})  # fmt: skip
            assert r.status == 201
            await wait_for(lambda: a_pvt.rtp.relay is None and b_pvt.rtp.relay is None)  # type: ignore[union-attr]
            r = await http.delete("/ari/playbacks/pb")
            assert r.status == 204
            await wait_for(lambda: a_pvt.rtp.relay is b_pvt.rtp)  # type: ignore[union-attr]
            for chan in (a_id, b_id):
                await http.delete(f"/ari/channels/{chan}")
            for _ in range(2):
                bye = await phone.incoming("BYE")
                phone.send(make_response(bye, 200))
            events.task.cancel()
    finally:
        rtp_a.close()
        rtp_b.close()
        transport.close()
