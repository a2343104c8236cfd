"""SIP transactions (RFC 3261 §17, with the RFC 6026 "Accepted" state) as a sans-IO state
machine.

:class:`TransactionLayer` is driven by three calls, each given the current time (an
injected clock, seconds as a float):

* ``receive(message, source, now)`` — a parsed message from the transport;
* ``send_request(request, dest, now)`` / ``send_response(transaction, response, now)`` —
  from the transaction user (TU: dialogs, the registrar...);
* ``tick(now)`` — fires the timers that are due; ``next_deadline()`` tells the I/O shell
  when to call it next.

Each returns a list of events: :class:`Send` (put these bytes on the wire),
:class:`RequestReceived`, :class:`ResponseReceived`, :class:`AckReceived` (an ACK for a
2xx, which belongs to the dialog), :class:`StrayResponse` (a 2xx retransmission that no
transaction matches any more), :class:`TransactionTimeout` and
:class:`TransactionTerminated`.

Timers: A, B, D, E, F, G, H, I, J, K of RFC 3261 and L, M of RFC 6026, from T1 = 500 ms,
T2 = 4 s, T4 = 5 s; over reliable transports the retransmission timers are not used and
D, I, J, K are zero.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pyari.sip.message import (
    Headers,
    Request,
    Response,
    SipMessage,
    SipParseError,
    Via,
    header_key,
    make_response,
)

__all__ = [
    "MAGIC_COOKIE",
    "AckReceived",
    "Address",
    "ClientTransaction",
    "Event",
    "RequestReceived",
    "ResponseReceived",
    "Send",
    "ServerTransaction",
    "State",
    "StrayResponse",
    "Timers",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "event_class",
    "new_branch",
    "random_bytes",
    "random_hex",
    "response_destination",
]

MAGIC_COOKIE = "z9hG4bK"

Address = tuple[str, int]
"""(host, port) of a peer."""


_POOL_SIZE = 4096
_pool = b""
_pool_at = 0
_pool_lock = threading.Lock()


def _new_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_new_pool)  # a child never repeats its parent's draws


def random_bytes(count: int) -> bytes:
    """``count`` bytes from ``os.urandom``, read 4 KiB at a time: each byte is handed out
    once, so the values are as unpredictable as ``secrets``' (which reads the system's
    generator on every call), with one system call per some hundred tags, branches and
    Call-IDs instead of one each."""
    global _pool, _pool_at
    with _pool_lock:
        start = _pool_at
        end = start + count
        if end > len(_pool):
            _pool = os.urandom(max(_POOL_SIZE, count))
            start, end = 0, count
        _pool_at = end
        return _pool[start:end]


def random_hex(count: int) -> str:
    """``count`` random bytes in hex (as ``secrets.token_hex(count)``)."""
    return random_bytes(count).hex()


def new_branch() -> str:
    """A fresh RFC 3261 branch (magic cookie + 80 random bits)."""
    return MAGIC_COOKIE + random_hex(10)


@dataclass(frozen=True, slots=True)
class Timers:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


class State(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


# --------------------------------------------------------------------------- events


_C = TypeVar("_C", bound=type)

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True)
    def event_class(cls: _C) -> _C:
        """An event: a dataclass with slots, read-only for the type checker."""
        return cls

else:
    event_class: Callable[[type], type] = dataclass(slots=True, unsafe_hash=True)
    """Events are dataclasses with slots, equal and hashed by their fields, never changed
    (the type checker treats them as frozen). They are not frozen at run time: a frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``, and a set-up
    makes ~8 events (bench.sip_ua_cpu: ~32,000 instructions per set-up, 3 %)."""


@event_class
class Send:
    """Bytes for the transport: ``data`` to ``dest`` over ``transport`` ("UDP", "TCP"...)."""

    data: bytes
    dest: Address
    transport: str
    message: SipMessage


@event_class
class RequestReceived:
    """A new request for the TU (not a retransmission)."""

    transaction: ServerTransaction
    request: Request


@event_class
class AckReceived:
    """An ACK that no server transaction absorbs: the ACK of a 2xx (the dialog's), or a
    stray one."""

    request: Request
    source: Address


@event_class
class ResponseReceived:
    transaction: ClientTransaction
    response: Response


@event_class
class StrayResponse:
    """A response no client transaction matches (e.g. a 2xx retransmitted after Timer M)."""

    response: Response
    source: Address


@event_class
class TransactionTimeout:
    """Timer B/F (client: no final response) or H (server: no ACK for a non-2xx final
    response)."""

    transaction: ClientTransaction | ServerTransaction


@event_class
class TransactionTerminated:
    transaction: ClientTransaction | ServerTransaction


Event = (
    Send
    | RequestReceived
    | AckReceived
    | ResponseReceived
    | StrayResponse
    | TransactionTimeout
    | TransactionTerminated
)


# --------------------------------------------------------------------------- helpers


def response_destination(via: Via, source: Address, *, force_rport: bool = False) -> Address:
    """Where a response goes over UDP (RFC 3261 §18.2.2, RFC 3581): the packet's source
    port when the Via asked for ``rport`` (or ``force_rport``), else the sent-by port, to
    the source address."""
    if via.has_rport or force_rport:
        return source
    port = via.port if via.port is not None else 5060
    return (source[0], port)


def _server_key(request: Request) -> tuple[str, ...]:
    """The RFC 3261 §17.2.3 matching key: branch + sent-by + method (ACK counts as
    INVITE), or the RFC 2543 fallback without a magic cookie."""
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        return ("3261", branch, via.sent_by.lower(), method)
    # RFC 2543: Request-URI, From tag, Call-ID, CSeq number and top Via (the To tag is
    # left out so the ACK, which carries the tag of our response, matches its INVITE).
    uri = str(request.uri.without_params())
    cseq = request.cseq
    return (
        "2543",
        uri,
        request.from_.tag or "",
        request.call_id,
        str(cseq.number),
        str(via),
        method,
    )


def _client_key(branch: str, method: str) -> tuple[str, str]:
    return (branch, "INVITE" if method == "ACK" else method)


# --------------------------------------------------------------------------- transactions

_TimerEntry = tuple[float, int, str, bool, tuple[str, ...]]
"""(when, sequence, timer name, client?, transaction key) on the layer's timer heap."""


LAX_TIMERS = frozenset("DIJKLM")
"""Timers that only end a transaction (its wait for retransmissions is over): the I/O
shell may run them a little late, together (``next_deadline(slack=...)``)."""


class _Deadlines(dict[str, float]):
    """A transaction's running timers (name → when). Each one set is also pushed on its
    layer's heap, so the layer finds the next timer without scanning every transaction
    (at 100 set-ups/s some 10,000 transactions wait out timers L/J/K for 32 s). Entries
    are never removed from the heap: one is stale once its transaction has left the
    layer's table or holds another time for that timer, and is dropped when reached.
    The heap holds keys, not transactions, so no reference cycle is made. The timers
    of :data:`LAX_TIMERS` go on a heap of their own."""

    __slots__ = ("_client", "_heap", "_key", "_lax", "_seq")

    def __init__(
        self,
        heaps: tuple[list[_TimerEntry], list[_TimerEntry]],
        seq: itertools.count[int],
        client: bool,
        key: tuple[str, ...],
    ) -> None:
        super().__init__()
        self._heap, self._lax = heaps
        self._seq = seq
        self._client = client
        self._key = key

    def __setitem__(self, name: str, when: float) -> None:
        dict.__setitem__(self, name, when)
        heap = self._lax if name in LAX_TIMERS else self._heap
        heapq.heappush(heap, (when, next(self._seq), name, self._client, self._key))


@dataclass(eq=False)
class _Transaction:
    request: Request
    transport: str
    peer: Address
    timers: Timers
    state: State
    deadlines: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, float] = field(default_factory=dict)
    last_sent: bytes | None = None
    last_sent_message: SipMessage | None = None

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"  # the layer keeps transports in upper case

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    def _send(self, message: SipMessage, dest: Address) -> Send:
        data = message.to_bytes()
        self.last_sent = data
        self.last_sent_message = message
        return Send(data, dest, self.transport, message)

    def _resend(self, dest: Address) -> list[Event]:
        if self.last_sent is None or self.last_sent_message is None:
            return []
        return [Send(self.last_sent, dest, self.transport, self.last_sent_message)]


@dataclass(eq=False)
class ClientTransaction(_Transaction):
    """A request we sent: INVITE (Calling/Proceeding/Completed/Accepted) or non-INVITE
    (Trying/Proceeding/Completed)."""

    branch: str = ""
    last_response: Response | None = None
    ack: Request | None = None


@dataclass(eq=False)
class ServerTransaction(_Transaction):
    """A request we received; ``response_dest`` is where its responses go."""

    key: tuple[str, ...] = ()
    response_dest: Address = ("", 0)
    last_response: Response | None = None

    def respond(
        self, status: int, reason: str | None = None, *, to_tag: str | None = None
    ) -> Response:
        """Build (not send) a response to this transaction's request."""
        return make_response(self.request, status, reason, to_tag=to_tag)


# --------------------------------------------------------------------------- the layer


class TransactionLayer:
    """All transactions of one SIP endpoint. See the module docstring."""

    def __init__(
        self,
        timers: Timers | None = None,
        *,
        auto_trying: bool = True,
        force_rport: bool = False,
    ) -> None:
        self.timers = timers or Timers()
        self.auto_trying = auto_trying
        self.force_rport = force_rport
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, ...], ServerTransaction] = {}
        self._timers: list[_TimerEntry] = []
        """Retransmission and timeout timers (A, B, E, F, G, H)."""
        self._lax_timers: list[_TimerEntry] = []
        """The timers of :data:`LAX_TIMERS`."""
        self._heaps = (self._timers, self._lax_timers)
        self._timer_seq = itertools.count()

    # ------------------------------------------------------------------ client side

    def send_request(
        self, request: Request, dest: Address, now: float, *, transport: str = "UDP"
    ) -> tuple[ClientTransaction, list[Event]]:
        """Start a client transaction for ``request`` (its top Via must carry a branch;
        one is added when missing). ACK is not sent through here: use :meth:`send_ack`."""
        if request.method == "ACK":
            raise ValueError("ACK for a 2xx is sent by the dialog with send_ack()")
        via = request.top_via
        branch = via.branch
        if not branch:
            via = via.copy()  # the parsed value is shared: change a copy
            branch = new_branch()
            via.params["branch"] = branch
            vias = request.headers.getall("via")
            request.headers.remove("via")
            request.headers.add("Via", str(via))
            for other in vias[1:]:
                request.headers.add("Via", other)
        t = self.timers
        ckey = _client_key(branch, request.method)
        tx = ClientTransaction(
            request=request,
            transport=transport.upper(),
            peer=dest,
            timers=t,
            state=State.CALLING if request.method == "INVITE" else State.TRYING,
            deadlines=_Deadlines(self._heaps, self._timer_seq, True, ckey),
            branch=branch,
        )
        self.clients[ckey] = tx
        events: list[Event] = [tx._send(request, dest)]
        timeout = 64 * t.t1
        if tx.is_invite:
            if not tx.reliable:
                tx.intervals["A"] = t.t1
                tx.deadlines["A"] = now + t.t1
            tx.deadlines["B"] = now + timeout
        else:
            if not tx.reliable:
                tx.intervals["E"] = t.t1
                tx.deadlines["E"] = now + t.t1
            tx.deadlines["F"] = now + timeout
        return tx, events

    def send_ack(self, ack: Request, dest: Address, *, transport: str = "UDP") -> list[Event]:
        """Send an ACK for a 2xx: no transaction (RFC 3261 §17.1.1.3, §13.2.2.4)."""
        return [Send(ack.to_bytes(), dest, transport.upper(), ack)]

    def send_stateless(
        self, message: SipMessage, dest: Address, *, transport: str = "UDP"
    ) -> list[Event]:
        """Send a message outside any transaction (a 2xx retransmission, a 400 for a
        message that could not be parsed...)."""
        return [Send(message.to_bytes(), dest, transport.upper(), message)]

    def _client_response(self, response: Response, source: Address, now: float) -> list[Event]:
        try:
            via = response.top_via
            method = response.cseq.method
        except SipParseError:
            return []
        tx = self.clients.get(_client_key(via.branch or "", method))
        if tx is None:
            return [StrayResponse(response, source)]
        status = response.status
        events: list[Event] = []
        t = tx.timers
        if tx.is_invite:
            if tx.state in (State.CALLING, State.PROCEEDING):
                if status < 200:
                    tx.state = State.PROCEEDING
                    tx.deadlines.pop("A", None)
                    tx.deadlines.pop("B", None)
                    tx.last_response = response
                    events.append(ResponseReceived(tx, response))
                elif status < 300:
                    tx.state = State.ACCEPTED
                    tx.deadlines.clear()
                    tx.deadlines["M"] = now + 64 * t.t1
                    tx.last_response = response
                    events.append(ResponseReceived(tx, response))
                else:
                    tx.state = State.COMPLETED
                    tx.deadlines.clear()
                    tx.last_response = response
                    tx.ack = _ack_for_failure(tx.request, response)
                    events.append(Send(tx.ack.to_bytes(), tx.peer, tx.transport, tx.ack))
                    tx.deadlines["D"] = now + (0.0 if tx.reliable else 32.0)
                    events.append(ResponseReceived(tx, response))
            elif tx.state is State.COMPLETED:
                if status >= 300 and tx.ack is not None:
                    events.append(Send(tx.ack.to_bytes(), tx.peer, tx.transport, tx.ack))
            elif tx.state is State.ACCEPTED and 200 <= status < 300:
                events.append(ResponseReceived(tx, response))
        else:
            if tx.state in (State.TRYING, State.PROCEEDING):
                tx.last_response = response
                if status < 200:
                    tx.state = State.PROCEEDING
                    if "E" in tx.deadlines:
                        tx.intervals["E"] = t.t2
                else:
                    tx.state = State.COMPLETED
                    tx.deadlines.clear()
                    tx.deadlines["K"] = now + (0.0 if tx.reliable else t.t4)
                events.append(ResponseReceived(tx, response))
        return events

    # ------------------------------------------------------------------ server side

    def _server_request(self, request: Request, source: Address, now: float) -> list[Event]:
        try:
            key = _server_key(request)
            via = request.top_via
        except SipParseError:
            return []
        tx = self.servers.get(key)
        if request.method == "ACK":
            if tx is not None and tx.is_invite and tx.state is State.COMPLETED:
                tx.state = State.CONFIRMED
                tx.deadlines.pop("G", None)
                tx.deadlines.pop("H", None)
                tx.deadlines["I"] = now + (0.0 if tx.reliable else tx.timers.t4)
                return []
            if tx is not None and tx.state is State.CONFIRMED:
                return []  # a retransmitted ACK
            return [AckReceived(request, source)]
        if tx is not None:
            # a retransmission: answer with the last response, if any
            if tx.state in (State.PROCEEDING, State.TRYING, State.COMPLETED):
                return tx._resend(tx.response_dest)
            return []
        transport = via.transport
        tx = ServerTransaction(
            request=request,
            transport=transport,
            peer=source,
            timers=self.timers,
            state=State.PROCEEDING if request.method == "INVITE" else State.TRYING,
            key=key,
            # over a connection (TCP, TLS, WebSocket) the response goes back on it (§18.2.2)
            response_dest=response_destination(
                via, source, force_rport=self.force_rport or transport != "UDP"
            ),
            deadlines=_Deadlines(self._heaps, self._timer_seq, False, key),
        )
        self.servers[key] = tx
        events: list[Event] = []
        if tx.is_invite and self.auto_trying:
            trying = make_response(request, 100)
            tx.last_response = trying
            events.append(tx._send(trying, tx.response_dest))
        events.append(RequestReceived(tx, request))
        return events

    def send_response(self, tx: ServerTransaction, response: Response, now: float) -> list[Event]:
        """Send ``response`` on server transaction ``tx`` and move its state."""
        if tx.state in (State.COMPLETED, State.CONFIRMED, State.TERMINATED):
            return []
        if tx.state is State.ACCEPTED:
            # RFC 6026: further 2xx are sent by the TU, outside the state machine
            if 200 <= response.status < 300:
                return [Send(response.to_bytes(), tx.response_dest, tx.transport, response)]
            return []
        status = response.status
        t = tx.timers
        tx.last_response = response
        events: list[Event] = [tx._send(response, tx.response_dest)]
        if status < 200:
            if not tx.is_invite:
                tx.state = State.PROCEEDING
            return events
        if tx.is_invite:
            if status < 300:
                tx.state = State.ACCEPTED
                tx.deadlines["L"] = now + 64 * t.t1
            else:
                tx.state = State.COMPLETED
                if not tx.reliable:
                    tx.intervals["G"] = t.t1
                    tx.deadlines["G"] = now + t.t1
                tx.deadlines["H"] = now + 64 * t.t1
        else:
            tx.state = State.COMPLETED
            tx.deadlines["J"] = now + (0.0 if tx.reliable else 64 * t.t1)
        return events

    def find_invite(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (RFC 3261 §9.2)."""
        try:
            key = _server_key(cancel)
        except SipParseError:
            return None
        invite_key = (*key[:-1], "INVITE")
        tx = self.servers.get(invite_key)
        return tx if tx is not None and tx.is_invite else None

    # ------------------------------------------------------------------ driving

    def receive(self, message: Request | Response, source: Address, now: float) -> list[Event]:
        """Hand a parsed message from the transport to the transactions."""
        if isinstance(message, Response):
            return self._client_response(message, source, now)
        return self._server_request(message, source, now)

    def _live(self, entry: _TimerEntry) -> _Transaction | None:
        """The transaction a heap entry still times, or None when the entry is stale."""
        when, _seq, name, client, key = entry
        tx: _Transaction | None = (
            self.clients.get(key) if client else self.servers.get(key)  # type: ignore[arg-type]
        )
        if tx is None or tx.deadlines.get(name) != when:
            return None
        return tx

    def next_deadline(self, slack: float = 0.0) -> float | None:
        """The earliest timer of any transaction, or None. With ``slack``, when ``tick``
        is next needed: a timer of :data:`LAX_TIMERS` may wait that long (the ones
        due meanwhile then fire together)."""
        for heap in self._heaps:  # stale entries on top are dropped (as _live tells)
            while heap:
                when, _seq, name, client, key = heap[0]
                tx = self.clients.get(key) if client else self.servers.get(key)  # type: ignore[arg-type]
                if tx is not None and tx.deadlines.get(name) == when:
                    break
                heapq.heappop(heap)
        strict, lax = self._heaps
        if not lax:
            return strict[0][0] if strict else None
        when = lax[0][0] + slack
        return when if not strict or when < strict[0][0] else strict[0][0]

    def tick(self, now: float) -> list[Event]:
        """Fire every timer due at ``now`` (in time order; timers that firing sets fire
        on a later tick)."""
        due: list[_TimerEntry] = []
        for heap in (self._timers, self._lax_timers):
            while heap and heap[0][0] <= now:
                due.append(heapq.heappop(heap))
        if due:
            due.sort()  # (when, sequence): the order of one heap
        events: list[Event] = []
        for entry in due:
            tx = self._live(entry)
            if tx is None:
                continue
            if isinstance(tx, ClientTransaction):
                events.extend(self._client_timer(entry[4], tx, entry[2], now))  # type: ignore[arg-type]
            elif isinstance(tx, ServerTransaction):
                events.extend(self._server_timer(entry[4], tx, entry[2], now))
        return events

    def _client_timer(
        self, key: tuple[str, str], tx: ClientTransaction, name: str, now: float
    ) -> list[Event]:
        t = tx.timers
        if name in ("A", "E"):
            interval = tx.intervals[name]
            # A doubles without a cap (it stops at B); E doubles up to T2
            nxt = interval * 2 if name == "A" else min(interval * 2, t.t2)
            if name == "E" and tx.state is State.PROCEEDING:
                nxt = t.t2
            tx.intervals[name] = nxt
            tx.deadlines[name] = now + nxt
            return tx._resend(tx.peer)
        if name in ("B", "F"):
            tx.deadlines.clear()
            tx.state = State.TERMINATED
            self.clients.pop(key, None)
            return [TransactionTimeout(tx), TransactionTerminated(tx)]
        # D, K, M
        tx.deadlines.clear()
        tx.state = State.TERMINATED
        self.clients.pop(key, None)
        return [TransactionTerminated(tx)]

    def _server_timer(
        self, key: tuple[str, ...], tx: ServerTransaction, name: str, now: float
    ) -> list[Event]:
        t = tx.timers
        if name == "G":
            nxt = min(tx.intervals["G"] * 2, t.t2)
            tx.intervals["G"] = nxt
            tx.deadlines["G"] = now + nxt
            return tx._resend(tx.response_dest)
        tx.deadlines.clear()
        tx.state = State.TERMINATED
        self.servers.pop(key, None)
        if name == "H":
            return [TransactionTimeout(tx), TransactionTerminated(tx)]
        return [TransactionTerminated(tx)]


def _ack_for_failure(invite: Request, response: Response) -> Request:
    """The ACK of a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, top
    Via, From, Call-ID and CSeq number as the INVITE, To from the response, Route copied."""
    headers = Headers()
    vias = invite.headers.getall("via")
    headers.add("Via", vias[0])
    for name, value in invite.headers:
        key = header_key(name)
        if key in ("from", "call-id", "route", "max-forwards"):
            headers.add(name, value)
    headers.add("To", response.headers.get("to") or "")
    headers.add("CSeq", f"{invite.cseq.number} ACK")
    return Request(method="ACK", uri=invite.uri, headers=headers)
