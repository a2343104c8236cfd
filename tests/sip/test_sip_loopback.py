"""Wire checks of the SIP pieces on loopback: a tiny UAS built from message, transaction,
dialog and SDP code answers SIPp's built-in ``uac`` scenario (INVITE with SDP, ACK, BYE),
and the transport shell answers OPTIONS over UDP and TCP and 400s garbage."""

from __future__ import annotations

import asyncio
import shutil
import socket

import pytest

from pyari.sip.dialog import Dialog, DialogTable, NoAck, Retransmit2xx, new_tag
from pyari.sip.message import NameAddr, Response, make_response, parse_message, parse_uri
from pyari.sip.sdp import create_answer, parse_sdp
from pyari.sip.transaction import AckReceived, Event, RequestReceived
from pyari.sip.transport import SipEndpoint

SIPP = shutil.which("sipp")


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TinyUas:
    """Answers every INVITE with 180 then 200 + SDP, BYE with 200, OPTIONS with 200."""

    def __init__(self) -> None:
        self.dialogs = DialogTable()
        self.pending: dict[str, Retransmit2xx] = {}
        self.answered = 0
        self.acked = 0
        self.byes = 0
        self.codecs: list[str] = []
        self.done = asyncio.Event()
        self.expected_calls = 1

    def __call__(self, ep: SipEndpoint, event: Event) -> None:
        if isinstance(event, AckReceived):
            retransmit = self.pending.pop(event.request.call_id, None)
            if retransmit is not None:
                retransmit.ack_received()
                self.acked += 1
            return
        if not isinstance(event, RequestReceived):
            return
        tx, request = event.transaction, event.request
        if request.method == "OPTIONS":
            ep.send_response(tx, make_response(request, 200, headers=[("Allow", "INVITE, ACK")]))
            return
        if request.method == "INVITE":
            tag = new_tag()
            contact = NameAddr(parse_uri(f"sip:uas@{ep.sent_by}"))
            dialog = Dialog.as_uas(
                request, local_tag=tag, local_contact=contact, sent_by=ep.sent_by
            )
            self.dialogs.add(dialog)
            ep.send_response(tx, make_response(request, 180, to_tag=tag))
            answer, media = create_answer(
                parse_sdp(request.body), ["ulaw", "alaw"], "127.0.0.1", 40000, session_id="1"
            )
            assert media is not None
            self.codecs.append(media.codec.name)
            ok = make_response(
                request,
                200,
                to_tag=tag,
                headers=[("Contact", str(contact)), ("Content-Type", "application/sdp")],
                body=answer.to_bytes(),
            )
            ep.send_response(tx, ok)
            retransmit = Retransmit2xx(ok, tx.response_dest, ep.now())
            self.pending[request.call_id] = retransmit
            self.answered += 1
            asyncio.get_running_loop().create_task(self._retransmit(ep, retransmit))
            return
        if request.method == "BYE":
            found = self.dialogs.for_request(request)
            status = 481
            if found is not None:
                status = 200 if found.receive_request(request) is None else 500
                self.dialogs.remove(found)
            ep.send_response(tx, make_response(request, status))
            self.byes += 1
            if self.byes >= self.expected_calls:
                self.done.set()
            return
        ep.send_response(tx, make_response(request, 501))

    async def _retransmit(self, ep: SipEndpoint, retransmit: Retransmit2xx) -> None:
        while (deadline := retransmit.next_deadline()) is not None:
            await asyncio.sleep(max(0.0, deadline - ep.now()))
            for item in retransmit.tick(ep.now()):
                if isinstance(item, NoAck):
                    return
                ep._write(item)


@pytest.mark.slow
@pytest.mark.skipif(SIPP is None, reason="SIPp (Debian sip-tester) is not installed")
async def test_sipp_uac_calls_are_answered() -> None:
    uas = TinyUas()
    uas.expected_calls = 3
    ep = await SipEndpoint.open("127.0.0.1", 0, uas)
    try:
        assert SIPP is not None
        proc = await asyncio.create_subprocess_exec(
            SIPP,
            "-sn",
            "uac",
            f"127.0.0.1:{ep.address[1]}",
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-mp",
            str(free_port()),
            "-m",
            "3",
            "-r",
            "10",
            "-d",
            "200",
            "-nostdin",
            "-timeout",
            "20",
            "-timeout_error",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, (out.decode(errors="replace")[-2000:], err.decode()[-500:])
        await asyncio.wait_for(uas.done.wait(), 5)
    finally:
        await ep.close()
    assert uas.answered == 3
    assert uas.acked == 3
    assert uas.byes == 3
    assert uas.codecs == ["ulaw"] * 3
    assert len(uas.dialogs) == 0


def _options(branch: str, port: int, transport: str = "UDP") -> bytes:
    return (
        f"OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:uas@127.0.0.1>\r\n"
        f"Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.queue.put_nowait(data)


async def test_udp_options_and_garbage() -> None:
    uas = TinyUas()
    ep = await SipEndpoint.open("127.0.0.1", 0, uas)
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Collect, local_addr=("127.0.0.1", 0), remote_addr=ep.address
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        # garbage with enough headers to answer: 400; pure noise: dropped
        transport.sendto(b"\x00\x01garbage\r\n\r\n")
        bad = _options("bad1", port).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
        transport.sendto(bad)
        reply = parse_message(await asyncio.wait_for(proto.queue.get(), 5))
        assert isinstance(reply, Response)
        assert reply.status == 400
        assert "CSeq" in reply.reason
        transport.sendto(_options("good1", port))
        reply = parse_message(await asyncio.wait_for(proto.queue.get(), 5))
        assert isinstance(reply, Response)
        assert (reply.status, reply.call_id) == (200, "good1@test")
        assert reply.headers.get("allow") == "INVITE"
        # a retransmission is answered from the transaction, not the TU
        transport.sendto(_options("good1", port))
        again = parse_message(await asyncio.wait_for(proto.queue.get(), 5))
        assert isinstance(again, Response) and again.status == 200
        assert ep.dropped == 2
    finally:
        transport.close()
        await ep.close()


async def test_tcp_options_framed_by_content_length() -> None:
    uas = TinyUas()
    ep = await SipEndpoint.open("127.0.0.1", 0, uas, tcp=True)
    try:
        assert ep.tcp_address is not None
        reader, writer = await asyncio.open_connection(*ep.tcp_address)
        port = writer.get_extra_info("sockname")[1]
        data = _options("tcp1", port, "TCP") + _options("tcp2", port, "TCP")
        writer.write(data[:50])
        await writer.drain()
        writer.write(data[50:])
        await writer.drain()
        seen: list[tuple[int, str]] = []
        buffer = b""
        while len(seen) < 2:
            buffer += await asyncio.wait_for(reader.read(4096), 5)
            while b"\r\n\r\n" in buffer:
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                msg = parse_message(head + b"\r\n\r\n", stream=True)
                assert isinstance(msg, Response)
                seen.append((msg.status, msg.call_id))
        assert seen == [(200, "tcp1@test"), (200, "tcp2@test")]
        writer.close()
    finally:
        await ep.close()
