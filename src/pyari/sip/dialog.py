"""SIP dialogs (RFC 3261 §12-§15) and the pieces of request building around them.

* :func:`build_request` / :func:`build_cancel` — requests outside a dialog (INVITE,
  OPTIONS, MESSAGE, REGISTER) and the CANCEL of an INVITE (§8.1.1, §9.1).
* :class:`Dialog` — the state of one dialog: Call-ID, tags, CSeq numbers, route set and
  remote target; made by the UAS from a request (§12.1.1) or by the UAC from a response
  (§12.1.2); builds in-dialog requests (BYE, re-INVITE, INFO, REFER, NOTIFY, UPDATE,
  MESSAGE) and the ACK of a 2xx; checks incoming in-dialog requests (CSeq order, target
  refresh).
* :class:`Retransmit2xx` — the UAS's 2xx retransmission until the ACK (§13.3.1.4).
* :class:`DialogTable` — finds the dialog of an incoming message.

Pure code: no sockets, times are given.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pyari.sip.message import (
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    Uri,
    Via,
    canonical_name,
    header_key,
    make_response,
    parse_name_addr,
    parse_via,
)
from pyari.sip.transaction import (
    Address,
    Send,
    Timers,
    new_branch,
    random_bytes,
    random_hex,
)

__all__ = [
    "Dialog",
    "DialogId",
    "DialogState",
    "DialogTable",
    "NoAck",
    "Retransmit2xx",
    "build_cancel",
    "build_request",
    "new_call_id",
    "new_tag",
]

TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
"""Methods whose Contact replaces the dialog's remote target (RFC 3261 §12.2, RFC 6665)."""


def new_tag() -> str:
    return random_hex(8)


def new_call_id(host: str = "pyari") -> str:
    return f"{random_hex(12)}@{host}"


_SENT_BY: dict[tuple[str, str], Via | None] = {}
"""Our Via's transport and sent-by as parse_via reads them (None: it cannot), by the
(transport, sent-by) text; bounded."""


def _via(transport: str, sent_by: str) -> tuple[str, Via | None]:
    """Our Via with a new branch: its text and, when parse_via reads the text, what it
    reads (so a request we build need not parse its own Via)."""
    branch = new_branch()
    text = f"SIP/2.0/{transport.upper()} {sent_by};rport;branch={branch}"
    key = (transport, sent_by)
    if key in _SENT_BY:
        known = _SENT_BY[key]
    else:
        try:
            known = parse_via(text)
        except SipParseError:
            known = None
        if len(_SENT_BY) < 64:
            _SENT_BY[key] = known
    if known is None:
        return text, None
    return text, Via(known.transport, known.host, known.port, {"rport": None, "branch": branch})


def build_request(
    method: str,
    uri: Uri,
    *,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int,
    sent_by: str,
    transport: str = "UDP",
    contact: NameAddr | None = None,
    route: Iterable[NameAddr] = (),
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    max_forwards: int = 70,
) -> Request:
    """A request outside a dialog (RFC 3261 §8.1.1). ``from_`` should carry a tag."""
    via, parsed_via = _via(transport, sent_by)
    items = [("Via", via)]
    keys = ["via"]
    for hop in route:
        items.append(("Route", str(hop)))
        keys.append("route")
    items += [
        ("Max-Forwards", str(max_forwards)),
        ("From", str(from_)),
        ("To", str(to)),
        ("Call-ID", call_id),
        ("CSeq", f"{cseq} {method}"),
    ]
    keys += ["max-forwards", "from", "to", "call-id", "cseq"]
    if contact is not None:
        items.append(("Contact", str(contact)))
        keys.append("contact")
    for name, value in headers:
        items.append((canonical_name(name), value))
        keys.append(header_key(name))
    if body and content_type:
        items.append(("Content-Type", content_type))
        keys.append("content-type")
    request = Request(method=method, uri=uri, headers=Headers._of(items, keys), body=body)
    if parsed_via is not None:
        request.headers.parsed["top_via"] = parsed_via
    return request


def build_cancel(invite: Request) -> Request:
    """The CANCEL of ``invite`` (RFC 3261 §9.1): same Request-URI, top Via (branch),
    From, To, Call-ID, CSeq number and Route."""
    h = Headers()
    h.add("Via", invite.headers.getall("via")[0])
    for name, value in invite.headers:
        if header_key(name) in ("route", "max-forwards", "from", "to", "call-id"):
            h.add(name, value)
    h.add("CSeq", f"{invite.cseq.number} CANCEL")
    return Request(method="CANCEL", uri=invite.uri, headers=h)


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class DialogId(NamedTuple):
    """(Call-ID, local tag, remote tag): a tuple, so that a dialog is found by one
    (hashed and compared in C) without making an object."""

    call_id: str
    local_tag: str
    remote_tag: str


@dataclass(eq=False)
class Dialog:
    """One dialog, seen from our side (``role`` "uac" or "uas")."""

    role: str
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddr
    remote_uri: NameAddr
    remote_target: Uri
    local_contact: NameAddr
    sent_by: str
    transport: str = "UDP"
    route_set: list[NameAddr] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    state: DialogState = DialogState.EARLY
    invite_seq: int = 0
    """CSeq number of the last INVITE (initial or re-INVITE) we sent or received."""

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    # -------------------------------------------------------------- creation

    @classmethod
    def as_uas(
        cls,
        request: Request,
        *,
        local_tag: str,
        local_contact: NameAddr,
        sent_by: str,
        transport: str = "UDP",
        confirmed: bool = False,
    ) -> Dialog:
        """The dialog a UAS creates when it answers ``request`` with a 1xx (early) or 2xx
        (``confirmed``) carrying ``local_tag`` (RFC 3261 §12.1.1)."""
        contacts = request.contacts
        target = contacts[0].uri if contacts else request.from_.uri
        local = request.to.copy()  # the request's own To stays as it came
        local.params["tag"] = local_tag
        remote = request.from_
        cseq = request.cseq.number
        return cls(
            role="uas",
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=remote.tag or "",
            local_uri=local,
            remote_uri=remote,
            remote_target=target,
            local_contact=local_contact,
            sent_by=sent_by,
            transport=transport,
            route_set=[parse_name_addr(v) for v in request.headers.getall("record-route")],
            local_seq=int.from_bytes(random_bytes(2), "big") + 1,  # 1 to 2**16
            remote_seq=cseq,
            state=DialogState.CONFIRMED if confirmed else DialogState.EARLY,
            invite_seq=cseq if request.method == "INVITE" else 0,
        )

    @classmethod
    def as_uac(
        cls, request: Request, response: Response, *, sent_by: str, transport: str = "UDP"
    ) -> Dialog:
        """The dialog a UAC creates from a 1xx-with-tag or 2xx ``response`` to
        ``request`` (RFC 3261 §12.1.2)."""
        contacts = response.contacts
        remote = response.to
        local = request.from_
        local_contact = request.contacts[0] if request.contacts else local
        route = [parse_name_addr(v) for v in response.headers.getall("record-route")]
        route.reverse()
        return cls(
            role="uac",
            call_id=request.call_id,
            local_tag=local.tag or "",
            remote_tag=remote.tag or "",
            local_uri=local,
            remote_uri=remote,
            remote_target=contacts[0].uri if contacts else request.uri,
            local_contact=local_contact,
            sent_by=sent_by,
            transport=transport,
            route_set=route,
            local_seq=request.cseq.number,
            remote_seq=None,
            state=DialogState.CONFIRMED if 200 <= response.status < 300 else DialogState.EARLY,
            invite_seq=request.cseq.number if request.method == "INVITE" else 0,
        )

    # -------------------------------------------------------------- requests

    def next_hop(self) -> Uri:
        """The URI to send the dialog's next request to: the first route, else the
        remote target."""
        return self.route_set[0].uri if self.route_set else self.remote_target

    def _addressing(self) -> tuple[Uri, list[NameAddr]]:
        if not self.route_set:
            return self.remote_target, []
        first = self.route_set[0]
        if "lr" in first.uri.params:
            return self.remote_target, list(self.route_set)
        # strict router (RFC 2543): it goes in the Request-URI
        uri = Uri(first.uri.scheme, first.uri.user, first.uri.host, first.uri.port)
        return uri, [*self.route_set[1:], NameAddr(self.remote_target)]

    def create_request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> Request:
        """An in-dialog request (RFC 3261 §12.2.1.1) with the next local CSeq."""
        if method in ("ACK", "CANCEL"):
            raise ValueError(f"{method} does not take a new CSeq: use create_ack/build_cancel")
        self.local_seq += 1
        if method == "INVITE":
            self.invite_seq = self.local_seq
        uri, route = self._addressing()
        return build_request(
            method,
            uri,
            from_=self.local_uri,
            to=self.remote_uri,
            call_id=self.call_id,
            cseq=self.local_seq,
            sent_by=self.sent_by,
            transport=self.transport,
            contact=self.local_contact if method in TARGET_REFRESH else None,
            route=route,
            headers=headers,
            body=body,
            content_type=content_type,
        )

    def create_ack(
        self, cseq: int | None = None, *, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        """The ACK of a 2xx to our INVITE number ``cseq`` (default: the last one)."""
        uri, route = self._addressing()
        request = build_request(
            "ACK",
            uri,
            from_=self.local_uri,
            to=self.remote_uri,
            call_id=self.call_id,
            cseq=self.invite_seq if cseq is None else cseq,
            sent_by=self.sent_by,
            transport=self.transport,
            route=route,
            body=body,
            content_type=content_type,
        )
        return request

    # -------------------------------------------------------------- incoming

    def receive_request(self, request: Request) -> Response | None:
        """Check an in-dialog request (RFC 3261 §12.2.2): an out-of-order CSeq gets a 500
        (returned); a target refresh updates the remote target; BYE ends the dialog.
        ACK and CANCEL are not numbered and only pass."""
        if request.method in ("ACK", "CANCEL"):
            return None
        cseq = request.cseq.number
        if self.remote_seq is not None and cseq <= self.remote_seq:
            return make_response(request, 500, "Server Internal Error - CSeq out of order")
        self.remote_seq = cseq
        if request.method == "INVITE":
            self.invite_seq = cseq
        if request.method in TARGET_REFRESH:
            contacts = request.contacts
            if contacts:
                self.remote_target = contacts[0].uri
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def receive_response(self, request: Request, response: Response) -> None:
        """Update from a response to one of our in-dialog requests (or to the INVITE
        that made this dialog): 2xx confirms; a target refresh's 2xx updates the target."""
        status = response.status
        if request.method == "INVITE" and self.state is DialogState.EARLY:
            if 200 <= status < 300:
                self.state = DialogState.CONFIRMED
            elif status >= 300:
                self.state = DialogState.TERMINATED
        if 200 <= status < 300 and request.method in TARGET_REFRESH:
            contacts = response.contacts
            if contacts:
                self.remote_target = contacts[0].uri
        if request.method == "BYE" or status in (408, 481):
            # RFC 3261 §12.2.1.2: a 481 or 408 to an in-dialog request ends the dialog
            self.state = DialogState.TERMINATED

    def terminate(self) -> None:
        self.state = DialogState.TERMINATED


# --------------------------------------------------------------------------- 2xx retransmission


@dataclass(frozen=True, slots=True)
class NoAck:
    """No ACK came for a 2xx within 64*T1: the UAS should send BYE (RFC 3261 §13.3.1.4)."""

    response: Response


class Retransmit2xx:
    """Retransmits a 2xx to an INVITE, at T1, 2T1 ... capped at T2, until the ACK arrives
    or 64*T1 passes (UDP only; over a reliable transport it only waits for the ACK)."""

    def __init__(
        self,
        response: Response,
        dest: Address,
        now: float,
        *,
        transport: str = "UDP",
        timers: Timers | None = None,
        data: bytes | None = None,
    ) -> None:
        """``data``: the response's bytes when the caller has them already."""
        self.response = response
        self.dest = dest
        self.transport = transport.upper()
        self.timers = timers or Timers()
        self.data = data if data is not None else response.to_bytes()
        self.interval = self.timers.t1
        self.reliable = self.transport != "UDP"
        self.next_send: float | None = None if self.reliable else now + self.interval
        self.give_up = now + 64 * self.timers.t1
        self.done = False

    def first(self) -> list[Send]:
        return [Send(self.data, self.dest, self.transport, self.response)]

    def ack_received(self) -> None:
        self.done = True

    def next_deadline(self) -> float | None:
        if self.done:
            return None
        return self.give_up if self.next_send is None else min(self.next_send, self.give_up)

    def tick(self, now: float) -> list[Send | NoAck]:
        if self.done:
            return []
        if now >= self.give_up:
            self.done = True
            return [NoAck(self.response)]
        out: list[Send | NoAck] = []
        if self.next_send is not None and now >= self.next_send:
            out.append(Send(self.data, self.dest, self.transport, self.response))
            self.interval = min(self.interval * 2, self.timers.t2)
            self.next_send = now + self.interval
        return out


# --------------------------------------------------------------------------- lookup


class DialogTable:
    """The dialogs of one endpoint, found by (Call-ID, local tag, remote tag)."""

    def __init__(self) -> None:
        self._dialogs: dict[tuple[str, str, str], Dialog] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def add(self, dialog: Dialog) -> None:
        self._dialogs[dialog.call_id, dialog.local_tag, dialog.remote_tag] = dialog

    def remove(self, dialog: Dialog) -> None:
        self._dialogs.pop((dialog.call_id, dialog.local_tag, dialog.remote_tag), None)

    def get(self, dialog_id: DialogId) -> Dialog | None:
        return self._dialogs.get(dialog_id)

    def for_request(self, request: Request) -> Dialog | None:
        """The dialog of an incoming request: our tag is in To, theirs in From."""
        local = request.to.tag
        if not local:
            return None
        return self._dialogs.get((request.call_id, local, request.from_.tag or ""))

    def for_response(self, response: Response) -> Dialog | None:
        """The dialog of an incoming response: our tag is in From, theirs in To."""
        return self._dialogs.get(
            (response.call_id, response.from_.tag or "", response.to.tag or "")
        )
