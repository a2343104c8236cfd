"""The thin I/O shell around the sans-IO SIP code: UDP, TCP and TLS on asyncio.

:class:`SipEndpoint` owns a :class:`~pyari.sip.transaction.TransactionLayer`, feeds it
what the sockets receive, writes its :class:`~pyari.sip.transaction.Send` events and
runs its timers with one loop timer (re-armed at ``next_deadline()``); every other
event goes to the ``handler`` given by the transaction user. Messages that do not parse
are answered with 400/505 when :func:`~pyari.sip.message.error_response` allows, else
dropped; they never reach the handler. The clock is the event loop's.

Streams (TCP, TLS) are framed by Content-Length. Connections are kept by the peer's
address; :meth:`SipEndpoint.connect` opens one to a peer (requests to a phone that has
no connection to us) and reads it like an accepted one. :class:`StreamLimits` bound them
(decision 0017): accepted connections are capped per transport and per IP address (the
ones over a cap are closed at once); a message must arrive whole within the message
timeout of its first byte (a new connection's first message within that of the accept);
a connection silent for the idle timeout is closed unless something still uses it
(:meth:`SipEndpoint._busy`: a transaction here, a registration or call in the service).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass

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

__all__ = ["SipEndpoint", "StreamLimits"]

log = logging.getLogger(__name__)

Handler = Callable[["SipEndpoint", Event], None]

_KEEPALIVE_START = (b"", b"\r", b"\n", b"\x00")
"""How a datagram that is only a keep-alive (CRLFs, NULs) begins: others are not
searched for one."""


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipEndpoint) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.owner._datagram(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("SIP UDP error: %s", exc)


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Bounds of the TCP/TLS connections of one transport (0 turns one off); the
    ``tcp_*`` options of a pjsip.conf transport, defaults and reasons in decision 0017."""

    idle_timeout: float = 600.0
    message_timeout: float = 10.0
    max_connections: int = 512
    max_per_address: int = 64


class _Framer(StreamFramer):
    @property
    def pending(self) -> bool:
        """Part of a message is buffered (blank keep-alive lines do not count)."""
        return bool(self._buffer.strip(b"\r\n"))


class _Conn:
    """The clocks of one stream connection."""

    __slots__ = ("accepted", "heard", "last", "started")

    def __init__(self, now: float, accepted: bool) -> None:
        self.accepted = accepted
        """The peer connected to us (not :meth:`SipEndpoint.connect`)."""
        self.heard = not accepted
        """A whole message has come (or we opened it: nothing is owed to us first)."""
        self.last = now
        """The last whole message received or sent."""
        self.started = now if accepted else None
        """When the message being received began (the accept, for the first one)."""


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
        self.limits = StreamLimits()
        self.conns: dict[Address, _Conn] = {}
        self._per_host: dict[str, int] = {}
        self._accepted = 0
        self.refused = 0
        """Connections closed at accept for being over a cap."""
        self.timed_out = 0
        """Connections closed by the message or idle timeout."""
        self._refused_logged = 0
        self._refused_log_at = float("-inf")

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        handler: Handler,
        *,
        layer: TransactionLayer | None = None,
        tcp: bool = False,
        udp: bool = True,
        tls: ssl.SSLContext | None = None,
        limits: StreamLimits | None = None,
    ) -> SipEndpoint:
        """Bind UDP (plus TCP on the same port with ``tcp``; only TCP with ``tcp`` and not
        ``udp``), or only TLS with ``tls``. Raises OSError when a socket cannot bind."""
        self = cls(handler, layer)
        if limits is not None:
            self.limits = limits
        if tls is not None or not udp:
            if tls is not None:
                self.tls = tls
                self.stream_kind = "TLS"
            handshake = self.limits.message_timeout or None
            self.tcp = await asyncio.start_server(
                self._stream, host, port, ssl=tls,
                ssl_handshake_timeout=handshake if tls is not None else None,
            )  # fmt: skip
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
        if data[:1] in _KEEPALIVE_START and not data.strip(b"\r\n\x00"):
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
        host = source[0]
        limits = self.limits
        if (limits.max_connections and self._accepted >= limits.max_connections) or (
            limits.max_per_address and self._per_host.get(host, 0) >= limits.max_per_address
        ):
            self._refuse(source)
            writer.transport.abort()
            return
        self._accepted += 1
        self._per_host[host] = self._per_host.get(host, 0) + 1
        try:
            self.streams[source] = writer
            await self._read_stream(reader, writer, source, _Conn(self.now(), accepted=True))
        finally:
            self._accepted -= 1
            left = self._per_host[host] - 1
            if left:
                self._per_host[host] = left
            else:
                del self._per_host[host]

    def _refuse(self, source: Address) -> None:
        """Count a connection over a cap; log at most one warning every 10 s."""
        self.refused += 1
        now = self.now()
        if now - self._refused_log_at >= 10.0:
            log.warning(
                "SIP %s connection from %s:%d refused: over the cap of %d connections "
                "(%d per address); %d refused since the last warning",
                self.stream_kind, source[0], source[1], self.limits.max_connections,
                self.limits.max_per_address, self.refused - self._refused_logged,
            )  # fmt: skip
            self._refused_log_at = now
            self._refused_logged = self.refused

    def touch(self, dest: Address) -> None:
        """A whole message went out on the connection to ``dest`` (it is not idle)."""
        conn = self.conns.get(dest)
        if conn is not None:
            conn.last = self.now()

    def _busy(self, source: Address) -> bool:
        """Something still uses the connection with ``source``: a transaction of this
        endpoint's layer. The service adds registrations and calls."""
        kind = self.stream_kind
        for txs in (self.layer.clients.values(), self.layer.servers.values()):
            if any(tx.peer == source and tx.transport == kind for tx in txs):
                return True
        return False

    def _deadline(self, conn: _Conn) -> float | None:
        limits = self.limits
        deadlines = []
        if limits.message_timeout and conn.started is not None:
            deadlines.append(conn.started + limits.message_timeout)
        if limits.idle_timeout:
            deadlines.append(conn.last + limits.idle_timeout)
        return min(deadlines) if deadlines else None

    def _expired(self, conn: _Conn, source: Address) -> str | None:
        """Why the connection is to be closed now, or None (then its clocks are
        updated: one that is idle but still used starts a new idle period)."""
        now = self.now()
        limits = self.limits
        started = conn.started
        if (
            limits.message_timeout
            and started is not None
            and now >= started + limits.message_timeout
        ):
            what = "a whole message" if conn.heard else "a first message"
            return f"no {what} within {limits.message_timeout:g} s"
        if limits.idle_timeout and now >= conn.last + limits.idle_timeout:
            if not self._busy(source):
                return f"idle for {limits.idle_timeout:g} s"
            conn.last = now
        return None

    async def _read_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        source: Address,
        conn: _Conn | None = None,
    ) -> None:
        framer = _Framer()
        conn = conn or _Conn(self.now(), accepted=False)
        self.conns[source] = conn
        try:
            while True:
                try:
                    async with asyncio.timeout_at(self._deadline(conn)):
                        data = await reader.read(65536)
                except TimeoutError:
                    reason = self._expired(conn, source)
                    if reason is None:
                        continue
                    self.timed_out += 1
                    log.debug("SIP %s connection with %s closed: %s", self.stream_kind,
                              source, reason)  # fmt: skip
                    writer.transport.abort()
                    break
                if not data:
                    break
                try:
                    messages = framer.feed(data)
                except SipParseError as exc:
                    self._reject(exc, source, self.stream_kind)
                    break
                now = self.now()
                if messages:
                    conn.heard = True
                    conn.last = now
                if not framer.pending:
                    conn.started = None if conn.heard else conn.started
                elif messages or conn.started is None:
                    conn.started = now
                for message in messages:
                    self._incoming(message, source)
        except (OSError, ssl.SSLError) as exc:
            log.debug("SIP %s connection with %s failed: %s", self.stream_kind, source, exc)
        finally:
            if self.conns.get(source) is conn:
                del self.conns[source]
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
            self.touch(send.dest)
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
