"""The I/O shell of the :class:`~pyari.sip.ua.UserAgent`: one socket set per
``type=transport`` of pjsip.conf (UDP, TCP, TLS), one loop timer for every SIP timer.

What the sockets receive is parsed (bad messages get 400/505 or are dropped by
:class:`~pyari.sip.transport.SipEndpoint` and never reach the user agent), handed to
``UserAgent.receive``; the actions that come back are executed: ``Send`` goes on the
wire, every other action goes to ``handler`` (the PJSIP channel technology). The
technology calls the agent's methods and passes their actions to :meth:`execute`.

A message for a TCP/TLS peer goes on the connection to that address; when there is none,
one is opened (messages for it wait) as pjsip's transport manager does. A connection that
cannot be made fails the requests waiting for it (:meth:`UserAgent.transport_failed`:
503 for a call, an unreachable contact for a qualify).

Each transport is its own socket: a ``udp`` and a ``tcp`` transport may share a host and
port, as in Asterisk. A transport that cannot bind stops the start (OSError naming the
transport and address), so pyari never says it is ready without it. A connection that a
registration or a call still uses is not closed for being idle (:meth:`SipService.uses`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pyari.config.pjsip import Transport
from pyari.sip.acl import refusal, refused_by
from pyari.sip.message import Request, Response
from pyari.sip.transaction import Address, Send
from pyari.sip.transport import SipEndpoint, StreamLimits
from pyari.sip.ua import Action, UserAgent

if TYPE_CHECKING:
    from pyari.sip.websocket import SipFlow

__all__ = ["TIMER_SLACK", "SipService"]

log = logging.getLogger(__name__)

TIMER_SLACK = 0.25
"""How late a transaction may end (timers D, I, J, K, L, M): those due within this
much of each other end in one wake-up of the loop instead of one each (at 100 call
set-ups/s, some 200 a second otherwise). Retransmissions and timeouts are on time."""


class _Endpoint(SipEndpoint):
    """A transport whose messages go to the service instead of a handler."""

    service: SipService

    def _incoming(self, message: Request | Response, source: Address) -> None:
        self.service.receive(message, source)

    def _arm(self) -> None:
        self.service.arm()

    def _busy(self, source: Address) -> bool:
        return super()._busy(source) or self.service.uses(self.stream_kind, source)


class SipService:
    def __init__(self, ua: UserAgent, handler: Callable[[Action], None]) -> None:
        self.ua = ua
        self.handler = handler
        self.loop = asyncio.get_running_loop()
        self.transports: dict[str, SipEndpoint] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.received = 0
        self._connecting: dict[tuple[str, Address], list[Send]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.flows: dict[Address, SipFlow] = {}
        """The ``/ws`` sockets carrying SIP (RFC 7118), by the peer's address."""

    def now(self) -> float:
        return self.loop.time()

    async def open(self, transports: Iterable[Transport], *, port: int | None = None) -> None:
        """Bind every UDP/TCP/TLS transport (``port`` overrides the configured ports, 0 for
        a free one). A TLS transport whose certificate cannot be loaded is logged and left
        out, as Asterisk does; one that cannot bind raises OSError (decision 0017)."""
        for conf in transports:
            if conf.protocol in ("ws", "wss"):
                continue  # served on the HTTP server's /ws (pyari.sip.websocket)
            if conf.protocol not in ("udp", "tcp", "tls"):
                log.warning("pjsip transport %s: protocol %s is not supported", conf.name,
                            conf.protocol)  # fmt: skip
                continue
            host, bind_port = conf.bind
            if port is not None:
                bind_port = port
            try:
                tls = _server_context(conf) if conf.protocol == "tls" else None
            except (OSError, ValueError) as exc:
                log.error("pjsip transport %s left out: its certificate cannot be used: %s",
                          conf.name, exc)  # fmt: skip
                continue
            limits = StreamLimits(
                idle_timeout=conf.tcp_idle_timeout,
                message_timeout=conf.tcp_message_timeout,
                max_connections=conf.tcp_max_connections,
                max_per_address=conf.tcp_max_connections_per_address,
            )
            try:
                ep = await _Endpoint.open(host, bind_port, lambda e, ev: None, layer=self.ua.layer,
                                          tcp=conf.protocol == "tcp", udp=conf.protocol == "udp",
                                          tls=tls, limits=limits)  # fmt: skip
            except OSError as exc:
                where = f"[{host}]:{bind_port}" if ":" in host else f"{host}:{bind_port}"
                raise OSError(
                    f"pjsip transport {conf.name} ({conf.protocol}) could not bind {where}: "
                    f"{_bind_reason(exc)}"
                ) from exc
            assert isinstance(ep, _Endpoint)
            ep.service = self
            self.transports[conf.name] = ep
            kind = conf.protocol.upper()
            address = ep.tcp_address if kind != "UDP" and ep.tcp_address else ep.address
            self.ua.addresses.setdefault(kind, address)
            if ep.udp is not None:
                self.ua.addresses.setdefault("UDP", ep.address)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        self._connecting.clear()
        for flow in list(self.flows.values()):
            flow.close()
        self.flows.clear()
        for ep in self.transports.values():
            await ep.close()
        self.transports.clear()

    def uses(self, kind: str, peer: Address) -> bool:
        """A live registration or a call of the user agent goes over the ``kind``
        (``TCP``/``TLS``) connection with ``peer``: it is not closed for being idle."""
        now = self.now()
        for binding in self.ua.location.all():
            if binding.source == peer and binding.transport == kind and binding.expires_at > now:
                return True
        return any(
            call.peer == peer and call.transport == kind and not call.ended
            for call in self.ua.calls.values()
        )

    def address(self, name: str | None = None) -> Address:
        """The bound address of a transport (the first one by default)."""
        ep = next(iter(self.transports.values())) if name is None else self.transports[name]
        return ep.address

    # -------------------------------------------------------------- driving

    def receive(self, message: Request | Response, source: Address) -> None:
        self.received += 1
        acls = self.ua.settings.acls
        if acls and isinstance(message, Request) and refused_by(acls, message, source):
            # pjsip.conf's type=acl (res_pjsip_acl): 403 before any transaction
            send = refusal(message, source, force_rport=self.ua.layer.force_rport)
            if send is not None:
                self._write(send)
            return
        try:
            actions = self.ua.receive(message, source, self.now())
        except Exception:
            log.exception("SIP request from %s failed", source)
            return
        self.execute(actions)

    def execute(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._write(action)
                continue
            try:
                self.handler(action)
            except Exception:  # a bug in one call must not stop SIP
                log.exception("SIP event %s failed", type(action).__name__)
        self.arm()

    # -------------------------------------------------------------- WebSocket flows

    def flow_opened(self, flow: SipFlow) -> None:
        """A ``/ws`` socket was accepted: messages to its peer go on it."""
        self.flows[flow.peer] = flow
        self.ua.addresses.setdefault(flow.kind, flow.local)

    def flow_closed(self, flow: SipFlow) -> None:
        """A ``/ws`` socket closed: its contacts go away and its calls end."""
        if self.flows.get(flow.peer) is flow:
            del self.flows[flow.peer]
        try:
            actions = self.ua.flow_closed(flow.peer, self.now())
        except Exception:
            log.exception("SIP flow from %s: closing failed", flow.peer)
            return
        self.execute(actions)

    def _write(self, send: Send) -> None:
        if send.transport == "UDP":
            for ep in self.transports.values():
                udp = ep.udp
                if udp is not None:
                    udp.sendto(send.data, send.dest)  # all that ep._write does for UDP
                    return
            return
        if self.flows:
            flow = self.flows.get(send.dest)
            if flow is not None:
                flow.send(send.data)
                return
            if send.transport in ("WS", "WSS"):
                # a browser cannot be connected to: its flow is gone
                log.debug("no %s flow to %s:%d", send.transport, *send.dest)
                self.loop.call_soon(self._failed, [send])
                return
        elif send.transport in ("WS", "WSS"):
            self.loop.call_soon(self._failed, [send])
            return
        eps = list(self.transports.values())
        streams = [ep for ep in eps if ep.tcp is not None and ep.stream_kind == send.transport]
        for ep in streams:
            writer = ep.streams.get(send.dest)
            if writer is not None and not writer.is_closing():
                writer.write(send.data)
                ep.touch(send.dest)
                return
        key = (send.transport, send.dest)
        waiting = self._connecting.get(key)
        if waiting is not None:
            waiting.append(send)
            return
        if not streams:
            log.warning("no %s transport for a message to %s:%d", send.transport, *send.dest)
            self.loop.call_soon(self._failed, [send])
            return
        self._connecting[key] = [send]
        task = self.loop.create_task(self._connect(streams[0], key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, ep: SipEndpoint, key: tuple[str, Address]) -> None:
        transport, dest = key
        try:
            writer = await ep.connect(dest)
        except OSError as exc:
            log.warning("SIP %s connection to %s:%d failed: %s", transport, *dest, exc)
            self._failed(self._connecting.pop(key, []))
            return
        for send in self._connecting.pop(key, []):
            writer.write(send.data)
            ep.touch(dest)

    def _failed(self, sends: list[Send]) -> None:
        """Requests that could not be sent: their transactions fail at once."""
        actions: list[Action] = []
        for send in sends:
            if isinstance(send.message, Request):
                actions.extend(self.ua.transport_failed(send.message, self.now()))
        if actions:
            self.execute(actions)

    def arm(self) -> None:
        deadline = self.ua.next_deadline(TIMER_SLACK)
        at = self._timer_at
        if self._timer is not None and at is not None and (deadline is None or at <= deadline):
            # the timer armed fires no later than needed (one due later, or none, just
            # finds nothing to do and re-arms): not re-made after every message
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(max(deadline, self.now()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            actions = self.ua.tick(self.now())
        except Exception:
            log.exception("SIP timers failed")
            actions = []
        self.execute(actions)


def _bind_reason(exc: BaseException) -> str:
    """``address already in use`` from a bind error (asyncio and uvloop word it
    differently; uvloop keeps the errno on the cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return os.strerror(seen.errno).lower()
        seen = seen.__cause__ or seen.__context__
    return str(exc)


_TLS_VERSIONS = {
    "tlsv1": ssl.TLSVersion.TLSv1,
    "tlsv1_1": ssl.TLSVersion.TLSv1_1,
    "tlsv1_2": ssl.TLSVersion.TLSv1_2,
    "tlsv1_3": ssl.TLSVersion.TLSv1_3,
}


def _server_context(conf: Transport) -> ssl.SSLContext:
    """The server side of a ``protocol=tls`` transport: its certificate and key, and the
    one protocol version ``method`` names (the library's choice for ``default``,
    ``unspecified`` and ``sslv23``). Raises OSError/ValueError when they cannot be used."""
    if conf.cert_file is None or conf.priv_key_file is None:
        raise ValueError("tls needs cert_file and priv_key_file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(conf.cert_file, conf.priv_key_file)
    if conf.ca_list_file is not None:
        context.load_verify_locations(conf.ca_list_file)
    version = _TLS_VERSIONS.get(conf.method)
    if version is not None:
        context.minimum_version = version
        context.maximum_version = version
    return context
