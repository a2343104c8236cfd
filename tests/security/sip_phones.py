"""SIP phones on loopback addresses for the security tests (127.0.0.1 and 127.0.0.2 are
two phones: loopback has all of 127/8): requests built as a phone sends them, final
answers collected, an INVITE's non-2xx acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

from conftest import make_server, wait_for
from pyari.server import Server
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Request, Response, parse_message, parse_uri


class Phone(asyncio.DatagramProtocol):
    """A UDP socket on one loopback address that collects the responses it gets."""

    def __init__(self) -> None:
        self.inbox: list[Response] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.local: tuple[str, int] = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)
        self.local = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = parse_message(data)
        if isinstance(message, Response):
            self.inbox.append(message)

    def request(
        self,
        method: str,
        port: int,
        user: str = "2222",
        *,
        contact_host: str | None = None,
        call_id: str | None = None,
        cseq: int = 1,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Request:
        host, local_port = self.local
        contact = NameAddr(parse_uri(f"sip:{user}@{contact_host or host}:{local_port}"))
        return build_request(
            method,
            parse_uri(f"sip:{user}@127.0.0.1:{port}"),
            from_=NameAddr(parse_uri(f"sip:{user}@127.0.0.1"), params={"tag": new_tag()}),
            to=NameAddr(parse_uri(f"sip:{user}@127.0.0.1")),
            call_id=call_id or new_call_id(),
            cseq=cseq,
            sent_by=f"{host}:{local_port}",
            contact=contact,
            headers=headers,
        )

    async def send(self, port: int, req: Request) -> Response:
        """Send ``req`` to pyari and give its final answer."""
        assert self.transport is not None
        self.transport.sendto(req.to_bytes(), ("127.0.0.1", port))

        def final() -> list[Response]:
            return [
                r
                for r in self.inbox
                if r.status >= 200 and r.call_id == req.call_id and r.cseq.number == req.cseq.number
            ]

        await wait_for(lambda: bool(final()))
        answer = final()[0]
        if req.method == "INVITE":  # ACK the non-2xx, so it is not retransmitted
            ack = build_request(
                "ACK",
                req.uri,
                from_=req.from_,
                to=answer.to,
                call_id=req.call_id,
                cseq=req.cseq.number,
                sent_by=req.top_via.sent_by,
            )
            self.transport.sendto(ack.to_bytes(), ("127.0.0.1", port))
        return answer

    async def ask(
        self, port: int, method: str, user: str = "2222", *, contact_host: str | None = None
    ) -> int:
        req = self.request(method, port, user, contact_host=contact_host)
        return (await self.send(port, req)).status


async def udp_phone(host: str) -> Phone:
    """A :class:`Phone` on ``host`` (a loopback address), any free port."""
    loop = asyncio.get_running_loop()
    _, phone = await loop.create_datagram_endpoint(Phone, local_addr=(host, 0))
    return phone


def add_to_pjsip(etc: Path, extra: str, acl_conf: str | None = None) -> None:
    """pjsip.conf of ``etc`` with ``extra`` after its samples' sections (in place of the
    ``extra`` of a previous call); acl.conf written when given."""
    marker = "\n;; security test\n"
    base = (etc / "pjsip.conf").read_text().split(marker)[0]
    (etc / "pjsip.conf").write_text(f"{base}{marker}{extra}")
    if acl_conf is not None:
        (etc / "acl.conf").write_text(acl_conf)


async def started(etc: Path) -> Server:
    """A server of the folder ``etc``, started (no control socket)."""
    srv: Server = make_server(etc)
    await srv.start(control_socket=False)
    return srv
