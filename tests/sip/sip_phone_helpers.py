"""The test SIP phones: a UDP phone built on pyari's own sans-IO SIP pieces
(:class:`Phone`), the same phone over one TCP or TLS connection
(:class:`StreamPhone`), and an ARI events reader (:class:`Events`)."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import aiohttp

from conftest import wait_for
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    StreamFramer,
    make_response,
    parse_message,
    parse_uri,
)
from pyari.sip.sdp import create_answer, parse_sdp

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

    def via(self) -> str:
        """A new Via for a request this phone resends."""
        return f"SIP/2.0/UDP {self.sent_by};rport;branch=z9hG4bK{new_tag()}"

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
        again.headers.set("Via", self.via())
        again.headers.set("CSeq", f"{self.cseq} {request.method}")
        again.headers.add("Authorization", value)
        self.send(again)
        return await self.response(again)


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


class StreamPhone(Phone):
    """The test phone over one TCP or TLS connection to pyari."""

    def __init__(self, kind: str = "TCP") -> None:
        super().__init__()
        self.kind = kind
        self.writer: asyncio.StreamWriter | None = None
        self.reader_task: asyncio.Task[None] | None = None
        self.contact_address: tuple[str, int] | None = None
        """The Contact's host:port (the connection's own address by default)."""

    async def open(self, server: tuple[str, int], tls: ssl.SSLContext | None = None) -> None:
        self.server = server
        reader, self.writer = await asyncio.open_connection(*server, ssl=tls)
        self.address = self.writer.get_extra_info("sockname")[:2]
        self.reader_task = asyncio.ensure_future(read_messages(reader, self.inbox))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.reader_task is not None:
            self.reader_task.cancel()

    def send(self, message: Request | Response) -> None:
        assert self.writer is not None
        self.writer.write(message.to_bytes())

    def contact(self) -> NameAddr:
        host, port = self.contact_address or self.address
        return NameAddr(parse_uri(f"sip:{USER}@{host}:{port};transport={self.kind.lower()}"))

    def via(self) -> str:
        return f"SIP/2.0/{self.kind} {self.sent_by};rport;branch=z9hG4bK{new_tag()}"

    def request(self, method: str, to_user: str, **kw: Any) -> Request:
        req = super().request(method, to_user, **kw)
        req.headers.set("Via", self.via())
        return req


async def read_messages(reader: asyncio.StreamReader, inbox: list[Request | Response]) -> None:
    framer = StreamFramer()
    while data := await reader.read(65536):
        inbox.extend(framer.feed(data))


def send_answer(phone: Phone, invite: Request, tag: str, port: int, session_id: str) -> None:
    """Answer an INVITE pyari sent with a 200 and an SDP answer (ulaw on ``port``)."""
    answer, media = create_answer(parse_sdp(invite.body), ["ulaw"], "127.0.0.1", port,
                                  session_id=session_id)  # fmt: skip
    assert media is not None
    phone.send(
        make_response(
            invite, 200, to_tag=tag,
            headers=[("Contact", str(phone.contact())), ("Content-Type", "application/sdp")],
            body=answer.to_bytes(),
        )
    )  # fmt: skip
