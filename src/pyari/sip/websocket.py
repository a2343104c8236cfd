"""SIP over WebSocket (RFC 7118): pjsip.conf's ``protocol=ws`` and ``protocol=wss``
transports, served on the HTTP server's ``/ws`` as Asterisk's
res_pjsip_transport_websocket serves them (subprotocol ``sip``).

The HTTP layer may not import SIP: ``server.py`` hands the HTTP server a
:class:`SipWebSockets` at start (the ``SipSockets`` protocol of
:mod:`pyari.http.common`). A ``ws`` transport serves ``/ws`` on the plain listener,
a ``wss`` one on the TLS listener (their ``bind`` is not used: the HTTP server's
addresses are). Each accepted socket is one *flow* (:class:`SipFlow`), known by the
peer's address:

* every WebSocket message is one whole SIP message (RFC 7118 §5); one that does not
  parse is answered 400 (when it is a request with enough to answer) or dropped, and
  the socket stays open; nothing reaches the user agent. A request whose top Via is
  not WS/WSS gets 400 too: its responses must come back on the socket (RFC 7118 §5.2),
  never go to a port its Via names;
* what the user agent sends to that address over any stream transport goes on the
  flow (responses, and requests to a browser that registered on it: a browser has
  no listening address, its Via and Contact hosts are ``.invalid``);
* when the socket closes, the contacts registered over it are removed and calls over
  it end (:meth:`~pyari.sip.service.SipService.flow_closed`): nothing can reach them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pyari.sip.message import Request, SipParseError, error_response, make_response, parse_message

if TYPE_CHECKING:
    from pyari.config.pjsip import Transport
    from pyari.sip.service import SipService
    from pyari.sip.transaction import Address

__all__ = ["MAX_MESSAGE", "SipFlow", "SipWebSockets"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 65535
"""Largest SIP message taken from a WebSocket (a larger one closes the socket, 1009)."""


class SipFlow:
    """One accepted ``/ws`` socket carrying SIP."""

    __slots__ = ("_close", "_send", "dropped", "kind", "local", "peer", "service")

    def __init__(
        self,
        service: SipService,
        kind: str,
        peer: Address,
        local: Address,
        send: Callable[[str], None],
        close: Callable[[], None],
    ) -> None:
        self.service = service
        self.kind = kind
        """``WS`` or ``WSS``."""
        self.peer = peer
        self.local = local
        self._send = send
        self._close = close
        self.dropped = 0
        """Messages that did not parse."""

    def receive(self, data: bytes | str) -> None:
        """One WebSocket message (text or binary) from the peer."""
        raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        if not raw.strip(b"\r\n\x00 "):
            return  # keep-alive (RFC 7118 does not define one; some clients send CRLF)
        try:
            message = parse_message(raw)
        except SipParseError as exc:
            self.dropped += 1
            log.debug("bad SIP message over %s from %s: %s", self.kind, self.peer, exc.reason)
            response = error_response(exc)
            if response is not None:
                self.send(response.to_bytes())
            return
        if isinstance(message, Request) and not _over_websocket(message):
            self.dropped += 1
            if message.method != "ACK":
                reason = "Bad Request - Via transport must be WS or WSS"
                self.send(make_response(message, 400, reason).to_bytes())
            return
        self.service.receive(message, self.peer)

    def send(self, data: bytes) -> None:
        """A whole SIP message to the peer (one text frame)."""
        self._send(data.decode("utf-8", "replace"))

    def close(self) -> None:
        self._close()

    def closed(self) -> None:
        """The socket is gone (either end closed it)."""
        self.service.flow_closed(self)


def _over_websocket(request: Request) -> bool:
    try:
        return request.top_via.transport.upper() in ("WS", "WSS")
    except SipParseError:
        return False


class SipWebSockets:
    """What serves ``/ws``: the ``ws``/``wss`` transports of the running SIP service."""

    def __init__(
        self,
        service: Callable[[], SipService | None],
        transports: Callable[[], Iterable[Transport]],
    ) -> None:
        self._service = service
        self._transports = transports

    def serves(self, secure: bool) -> bool:
        """Whether ``/ws`` is SIP on the plain (``ws``) or TLS (``wss``) listener."""
        if self._service() is None:
            return False
        wanted = "wss" if secure else "ws"
        return any(t.protocol == wanted for t in self._transports())

    def open(
        self,
        peer: Address,
        local: Address,
        secure: bool,
        send: Callable[[str], None],
        close: Callable[[], None],
    ) -> SipFlow | None:
        """A new flow for an accepted socket (None: SIP is not running)."""
        service = self._service()
        if service is None:
            return None
        flow = SipFlow(service, "WSS" if secure else "WS", peer, local, send, close)
        service.flow_opened(flow)
        return flow
