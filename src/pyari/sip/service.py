"""The I/O shell of the :class:`~pyari.sip.ua.UserAgent`: one socket set per
``type=transport`` of pjsip.conf, one loop timer for every SIP timer.

What the sockets receive is parsed (bad messages get 400/505 or are dropped by
:class:`~pyari.sip.transport.SipEndpoint` and never reach the user agent), handed to
``UserAgent.receive``; the actions that come back are executed: ``Send`` goes on the
wire, every other action goes to ``handler`` (the PJSIP channel technology). The
technology calls the agent's methods and passes their actions to :meth:`execute`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from pyari.config.pjsip import Transport
from pyari.sip.message import Request, Response
from pyari.sip.transaction import Address, Send
from pyari.sip.transport import SipEndpoint
from pyari.sip.ua import Action, UserAgent

__all__ = ["SipService"]

log = logging.getLogger(__name__)


class _Endpoint(SipEndpoint):
    """A transport whose messages go to the service instead of a handler."""

    service: SipService

    def _incoming(self, message: Request | Response, source: Address) -> None:
        self.service.receive(message, source)

    def _arm(self) -> None:
        self.service.arm()


class SipService:
    def __init__(self, ua: UserAgent, handler: Callable[[Action], None]) -> None:
        self.ua = ua
        self.handler = handler
        self.loop = asyncio.get_running_loop()
        self.transports: dict[str, SipEndpoint] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.received = 0

    def now(self) -> float:
        return self.loop.time()

    async def open(self, transports: Iterable[Transport], *, port: int | None = None) -> None:
        """Bind every UDP/TCP transport (``port`` overrides the configured ports, 0 for a
        free one). A transport that cannot bind is logged and left out, as Asterisk does."""
        for conf in transports:
            if conf.protocol not in ("udp", "tcp"):
                log.warning("pjsip transport %s: protocol %s is not supported", conf.name,
                            conf.protocol)  # fmt: skip
                continue
            host, bind_port = conf.bind
            if port is not None:
                bind_port = port
            try:
                ep = await _Endpoint.open(host, bind_port, lambda e, ev: None, layer=self.ua.layer,
                                          tcp=conf.protocol == "tcp")  # fmt: skip
            except OSError as exc:
                log.error("pjsip transport %s could not bind %s:%d: %s", conf.name, host,
                          bind_port, exc)  # fmt: skip
                continue
            assert isinstance(ep, _Endpoint)
            ep.service = self
            self.transports[conf.name] = ep
            kind = conf.protocol.upper()
            address = ep.tcp_address if kind == "TCP" and ep.tcp_address else ep.address
            self.ua.addresses.setdefault(kind, address)
            self.ua.addresses.setdefault("UDP", ep.address)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for ep in self.transports.values():
            await ep.close()
        self.transports.clear()

    def address(self, name: str | None = None) -> Address:
        """The bound address of a transport (the first one by default)."""
        ep = next(iter(self.transports.values())) if name is None else self.transports[name]
        return ep.address

    # -------------------------------------------------------------- driving

    def receive(self, message: Request | Response, source: Address) -> None:
        self.received += 1
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

    def _write(self, send: Send) -> None:
        eps = list(self.transports.values())
        if not eps:
            return
        if send.transport == "UDP":
            eps[0]._write(send)
            return
        for ep in eps:
            if send.dest in ep.streams:
                ep._write(send)
                return
        log.debug("no %s connection to %s", send.transport, send.dest)

    def arm(self) -> None:
        deadline = self.ua.next_deadline()
        if deadline == self._timer_at and self._timer is not None:
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
