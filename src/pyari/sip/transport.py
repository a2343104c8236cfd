"""The thin I/O shell around the sans-IO SIP code: UDP, TCP and TLS on asyncio.

:class:`SipEndpoint` owns a :class:`~pyari.sip.transaction.TransactionLayer`, feeds it
what the sockets receive, writes its :class:`~pyari.sip.transaction.Send` events and
runs its timers with one loop timer (re-armed at ``next_deadline()``); every other
event goes to the ``handler`` given by the transaction user. Messages that do not parse
are answered with 400/505 when :func:`~pyari.sip.message.error_response` allows, else
dropped; they never reach the handler. The clock is the event loop's.

Streams (TCP, TLS) are framed by Content-Length. Connections are kept by the peer's
address; :meth:`SipEndpoint.connect` opens one to a peer (requests to a phone that has
no connection to us) and reads it like an accepted one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable

from pyari.sip.message import (
    Request,
    Response,
    SipMessage,
    SipParseError,
    StreamFramer,
    error_response,
    parse_message,
)
from pyari.sip.transaction import (
    Address,
    ClientTransaction,
    Event,
    Send,
    ServerTransaction,
    TransactionLayer,
)

__all__ = ["SipEndpoint"]

log = logging.getLogger(__name__)

Handler = Callable[["SipEndpoint", Event], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipEndpoint) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.owner._datagram(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP error: %s", exc)


class SipEndpoint:
    """UDP (and optionally TCP) SIP transport bound to one address, or a TLS one."""

    def __init__(self, handler: Handler, layer: TransactionLayer | None = None) -> None:
        self.handler = handler
        self.layer = layer or TransactionLayer()
        self.loop = asyncio.get_running_loop()
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Server | None = None
        self.address: Address = ("", 0)
        self.tcp_address: Address | None = None
        self.streams: dict[Address, asyncio.StreamWriter] = {}
        self.stream_kind = "TCP"
        """What the streams carry: ``TCP`` or ``TLS``."""
        self.tls: ssl.SSLContext | None = None
        self._readers: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.dropped = 0

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        handler: Handler,
        *,
        layer: TransactionLayer | None = None,
        tcp: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> SipEndpoint:
        """Bind UDP (plus TCP on the same port with ``tcp``), or only TLS with ``tls``."""
        self = cls(handler, layer)
        if tls is not None:
            self.tls = tls
            self.stream_kind = "TLS"
            self.tcp = await asyncio.start_server(self._stream, host, port, ssl=tls)
            tsock = self.tcp.sockets[0].getsockname()
            self.address = self.tcp_address = (tsock[0], tsock[1])
            return self
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(host, port)
        )
        self.udp = transport
        sock = transport.get_extra_info("sockname")
        self.address = (sock[0], sock[1])
        if tcp:
            self.tcp = await asyncio.start_server(self._stream, host, self.address[1])
            tsock = self.tcp.sockets[0].getsockname()
            self.tcp_address = (tsock[0], tsock[1])
        return self

    def now(self) -> float:
        return self.loop.time()

    @property
    def sent_by(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.udp is not None:
            self.udp.close()
        for writer in list(self.streams.values()):
            writer.close()
        for task in list(self._readers):
            task.cancel()
        if self.tcp is not None:
            self.tcp.close()
            await self.tcp.wait_closed()

    # -------------------------------------------------------------- input

    def _datagram(self, data: bytes, source: Address) -> None:
        if not data.strip(b"\r\n\x00"):
            return  # keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._reject(exc, source, "UDP")
            return
        self._incoming(message, source)

    def _reject(self, exc: SipParseError, source: Address, transport: str) -> None:
        self.dropped += 1
        response = error_response(exc)
        log.debug("bad SIP message from %s: %s", source, exc.reason)
        if response is not None:
            self._write(Send(response.to_bytes(), source, transport, response))

    def _incoming(self, message: Request | Response, source: Address) -> None:
        self._dispatch(self.layer.receive(message, source, self.now()))

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source: Address = (peer[0], peer[1])
        self.streams[source] = writer
        await self._read_stream(reader, writer, source)

    async def _read_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, source: Address
    ) -> None:
        framer = StreamFramer()
        try:
            while data := await reader.read(65536):
                try:
                    messages = framer.feed(data)
                except SipParseError as exc:
                    self._reject(exc, source, self.stream_kind)
                    break
                for message in messages:
                    self._incoming(message, source)
        except (OSError, ssl.SSLError) as exc:
            log.debug("SIP %s connection with %s failed: %s", self.stream_kind, source, exc)
        finally:
            if self.streams.get(source) is writer:
                del self.streams[source]
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def connect(self, dest: Address) -> asyncio.StreamWriter:
        """A connection to ``dest`` (an existing one, else a new one read like an accepted
        one). Raises OSError when it cannot be made. Certificates of servers are not
        verified, as Asterisk's ``verify_server=no`` default."""
        writer = self.streams.get(dest)
        if writer is not None and not writer.is_closing():
            return writer
        context: ssl.SSLContext | None = None
        if self.stream_kind == "TLS":
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(dest[0], dest[1], ssl=context)
        existing = self.streams.get(dest)
        if existing is not None and not existing.is_closing():
            writer.close()  # the peer connected meanwhile
            return existing
        self.streams[dest] = writer
        task = self.loop.create_task(self._read_stream(reader, writer, dest))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)
        return writer

    # -------------------------------------------------------------- output

    def _write(self, send: Send) -> None:
        if send.transport == "UDP":
            if self.udp is not None:
                self.udp.sendto(send.data, send.dest)
            return
        writer = self.streams.get(send.dest)
        if writer is not None:
            writer.write(send.data)
        else:
            log.debug("no %s connection to %s", send.transport, send.dest)

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Send):
                self._write(event)
            else:
                try:
                    self.handler(self, event)
                except Exception:  # a bug in one call must not stop the endpoint
                    log.exception("SIP handler failed on %r", type(event).__name__)
        self._arm()

    def _arm(self) -> None:
        deadline = self.layer.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self._dispatch(self.layer.tick(self.now()))

    # -------------------------------------------------------------- for the TU

    def send_request(
        self, request: Request, dest: Address, *, transport: str = "UDP"
    ) -> ClientTransaction:
        tx, events = self.layer.send_request(request, dest, self.now(), transport=transport)
        self._dispatch(events)
        return tx

    def send_response(self, tx: ServerTransaction, response: Response) -> None:
        self._dispatch(self.layer.send_response(tx, response, self.now()))

    def send_stateless(self, message: SipMessage, dest: Address, *, transport: str = "UDP") -> None:
        self._dispatch(self.layer.send_stateless(message, dest, transport=transport))
