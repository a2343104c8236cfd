"""The SIP user agent of pyari: what res_pjsip does with requests, as pure code.

:class:`UserAgent` sits on top of the transaction layer. It is driven by
``receive(message, source, now)``, ``tick(now)`` and ``next_deadline()`` (an I/O shell
such as :class:`pyari.sip.service.SipService` calls them) and by the calls of the channel
technology (``ring``, ``progress``, ``answer``, ``reject``, ``hangup``, ``invite`` ...).
Every call returns a list of actions: :class:`~pyari.sip.transaction.Send` (bytes for the
wire) and the user-agent events defined here (:class:`IncomingCall`, :class:`Answered`,
:class:`CallEnded`, :class:`ContactChanged` ...), which the technology turns into channels,
endpoint states and ARI events.

What it does, in Asterisk's way:

* identifies the endpoint of a request (``From`` user, then ``type=identify`` by source
  address); unknown senders are challenged like everybody else and can never pass, and
  so is a request the endpoint's own ``permit``/``deny``/``acl``/``contact_*`` refuse
  (with a FailedACL security event);
* digest authentication (MD5, SHA-256) of INVITE, REGISTER and MESSAGE for endpoints with
  ``auth=``: a 401 with a challenge, a wrong answer gets a new 401;
* the registrar (``type=aor``: max_contacts, remove_existing, expirations), contact
  expiry and OPTIONS qualify;
* INVITE server and client sessions: 100/180/183/200, the 2xx retransmission until ACK,
  CANCEL (487), BYE both ways, re-INVITE (hold), INFO DTMF, REFER, MESSAGE, and answers
  to 401/407 with ``outbound_auth``;
* REFER with its implicit subscription (202, then NOTIFY message/sipfrag), or without one
  when the REFER says ``Refer-Sub: false`` (RFC 4488, as res_pjsip_refer: no 202 and no
  NOTIFY, the final response carries the transfer's result and ``Refer-Sub: false``);
  REFERs we send out of dialog accept the NOTIFYs of their subscription.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pyari.config.pjsip import Aor, Endpoint, PjsipSettings
from pyari.core.security import FailureGuard, SecurityEvent, address_ie, quoted
from pyari.sip.acl import endpoint_refusal
from pyari.sip.auth import (
    AuthResult,
    Credentials,
    DigestClient,
    DigestServer,
    Verdict,
    parse_auth_header,
)
from pyari.sip.dialog import (
    Dialog,
    DialogState,
    DialogTable,
    NoAck,
    Retransmit2xx,
    build_cancel,
    build_request,
    new_call_id,
    new_tag,
)
from pyari.sip.message import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    Uri,
    check_request,
    make_response,
    parse_name_addr,
    parse_uri,
)
from pyari.sip.registrar import AorPolicy, Binding, ChangeKind, Location, Registrar
from pyari.sip.sdp import SdpError, SessionDescription, parse_sdp
from pyari.sip.transaction import (
    AckReceived,
    Address,
    ClientTransaction,
    Event,
    RequestReceived,
    ResponseReceived,
    Send,
    ServerTransaction,
    StrayResponse,
    TransactionLayer,
    TransactionTerminated,
    TransactionTimeout,
    event_class,
)

__all__ = [
    "ALLOW",
    "Action",
    "Answered",
    "Call",
    "CallEnded",
    "CallFailed",
    "ContactChanged",
    "DtmfInfo",
    "IncomingCall",
    "MediaChanged",
    "MessageReceived",
    "Progress",
    "QualifyResult",
    "Reinvite",
    "SecurityAlert",
    "TransferRequested",
    "UserAgent",
    "cause_to_status",
    "status_to_cause",
]

ALLOW = (
    "OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, "
    "MESSAGE, INFO, REFER"
)
SUPPORTED = "replaces, timer, norefersub"
"""What our requests and responses advertise; ``norefersub`` (RFC 4488) as Asterisk's
``norefersub=yes`` default of ``type=global``."""
REFER_OUT_EXPIRES = 600.0
"""How long the implicit subscription of a REFER we sent is kept without a final NOTIFY
(pjproject's default for REFER subscriptions)."""
REFER_BLOCKED_HEADERS = frozenset(
    {"to", "from", "via", "route", "contact", "call-id", "cseq", "allow", "content-length",
     "content-type", "request-uri", "refer-to"}
)  # fmt: skip
"""Variables of ``/endpoints/refer`` that never become headers of the REFER (as
res_pjsip_refer's list, plus Refer-To which the request already has)."""
USER_AGENT = "Asterisk PBX (pyari)"
DEFAULT_REALM = "asterisk"
DIGEST_ALGORITHMS = ("MD5",)
"""Offered when an auth does not say (``supported_algorithms_uas``): Asterisk's default.
Offering SHA-256 as well breaks older clients: baresip 1.0 (libre) fails the whole
registration with ENOSYS on a challenge whose algorithm it does not know."""
_KNOWN_UNSUPPORTED = frozenset({"SUBSCRIBE", "PUBLISH", "UPDATE", "PRACK", "NOTIFY"})


# --------------------------------------------------------------------------- causes


_CAUSE_TO_STATUS = {
    1: 404, 2: 404, 3: 404, 34: 503, 42: 503, 18: 408, 19: 480, 20: 480, 21: 403,
    22: 410, 31: 480, 28: 484, 17: 486, 38: 500, 29: 501, 66: 503, 27: 502, 58: 488,
    127: 500,
}  # fmt: skip
_STATUS_TO_CAUSE = {
    302: 23, 401: 21, 403: 21, 404: 1, 405: 127, 407: 21, 408: 18, 409: 41, 410: 22, 411: 127,
    413: 127, 414: 127, 415: 127, 420: 3, 480: 19, 481: 127, 482: 127, 483: 19, 484: 28,
    485: 1, 486: 17, 487: 127, 488: 58, 491: 127, 493: 127, 500: 38, 501: 29, 502: 27,
    503: 34, 504: 102, 505: 127, 600: 17, 603: 21, 604: 1, 606: 58,
}  # fmt: skip


def cause_to_status(cause: int) -> int:
    """The SIP final response for a Q.850 hangup cause (chan_pjsip's table; 603 when the
    cause has no mapping, as ``ast_sip_session_terminate`` does)."""
    return _CAUSE_TO_STATUS.get(cause, 603)


def status_to_cause(status: int) -> int:
    """The Q.850 cause of a SIP failure response (chan_pjsip's table)."""
    found = _STATUS_TO_CAUSE.get(status)
    if found is not None:
        return found
    if 400 <= status < 500:
        return 127
    if 500 <= status < 600:
        return 34
    if 600 <= status < 700:
        return 127
    return 16


# --------------------------------------------------------------------------- calls


@dataclass(eq=False)
class Call:
    """One INVITE session (inbound or outbound)."""

    id: int
    direction: str
    """``in`` (we are the UAS) or ``out``."""
    endpoint: Endpoint
    invite: Request
    peer: Address
    """Where in-dialog requests go."""
    transport: str = "UDP"
    tx: ServerTransaction | ClientTransaction | None = None
    dialog: Dialog | None = None
    local_tag: str = ""
    offer: SessionDescription | None = None
    remote_sdp: SessionDescription | None = None
    local_sdp: bytes = b""
    answered: bool = False
    ended: bool = False
    cancel_pending: bool = False
    provisional: bool = False
    auth_tries: int = 0
    retransmit: Retransmit2xx | None = None
    reinvite_tx: ServerTransaction | None = None
    ack: Request | None = None
    refer_subscription: bool = False
    """A REFER we accepted with an implicit subscription: its progress goes in NOTIFYs."""
    refer_tx: ServerTransaction | None = None
    """A REFER with ``Refer-Sub: false`` whose final response waits for the transfer."""
    proxy: NameAddr | None = None
    """The endpoint's ``outbound_proxy`` an outbound call was sent through."""
    data: object = None
    """Owned by the channel technology (its channel)."""

    @property
    def call_id(self) -> str:
        return self.invite.call_id


@event_class
class IncomingCall:
    call: Call
    exten: str
    caller_name: str
    caller_number: str
    offer: SessionDescription | None
    source: Address


@event_class
class Progress:
    """A provisional response to our INVITE: 180 (ringing) or 183 (progress, early media)."""

    call: Call
    status: int
    sdp: SessionDescription | None


@event_class
class Answered:
    call: Call
    sdp: SessionDescription | None


@event_class
class CallFailed:
    call: Call
    status: int
    reason: str


@event_class
class CallEnded:
    """The far end ended the call: ``bye``, ``cancel``, ``timeout`` (no ACK) ..."""

    call: Call
    reason: str
    cause: int = 16


@event_class
class Reinvite:
    """An in-dialog INVITE: answer it with :meth:`UserAgent.answer_reinvite`."""

    call: Call
    offer: SessionDescription | None


@event_class
class MediaChanged:
    """The negotiated media changed (the answer to our offer in a 2xx or ACK)."""

    call: Call
    sdp: SessionDescription


@event_class
class DtmfInfo:
    call: Call
    digit: str
    duration_ms: int


@event_class
class TransferRequested:
    call: Call
    refer_to: str
    referred_by: str
    """The ``Referred-By`` header, or the dialog's remote URI."""
    subscription: bool = True
    """False for ``Refer-Sub: false``: the REFER is not answered yet, the result of the
    transfer given to :meth:`UserAgent.refer_notify` (or :meth:`UserAgent.refer_accept`)
    becomes its final response, and no NOTIFY is ever sent."""


@event_class
class MessageReceived:
    endpoint: Endpoint
    from_: str
    to: str
    body: str
    content_type: str
    source: Address


@event_class
class ContactChanged:
    """A contact of an AOR was created, updated, removed or expired."""

    aor: str
    binding: Binding
    kind: ChangeKind


@event_class
class QualifyResult:
    aor: str
    uri: str
    rtt: float | None
    """Seconds, or None when the contact did not answer."""


@event_class
class SecurityAlert:
    """A security event of a request, with the NOTICE line res_pjsip's distributor writes
    with it (``""`` for none) and a WARNING (``""`` for none)."""

    event: SecurityEvent
    notice: str = ""
    warning: str = ""


Action = (
    Send
    | IncomingCall
    | Progress
    | Answered
    | CallFailed
    | CallEnded
    | Reinvite
    | MediaChanged
    | DtmfInfo
    | TransferRequested
    | MessageReceived
    | ContactChanged
    | QualifyResult
    | SecurityAlert
)


def _address_of(uri: Uri) -> Address:
    port = uri.port
    if port is None:
        port = 5061 if uri.scheme == "sips" else 5060
    return (uri.host.strip("[]"), port)


_DTMF_RELAY = re.compile(r"signal\s*=\s*([0-9*#A-Da-d])", re.I)
_DTMF_DURATION = re.compile(r"duration\s*=\s*([0-9]+)", re.I)


@dataclass
class _ReferOut:
    """The implicit subscription of a REFER we sent outside any dialog."""

    call_id: str
    local_tag: str
    expires_at: float
    remote_tag: str | None = None


@dataclass
class _Qualify:
    aor: str
    uri: str
    next_at: float
    sent_at: float | None = None
    tx: ClientTransaction | None = None


# --------------------------------------------------------------------------- the UA


class UserAgent:
    """See the module docstring."""

    def __init__(
        self,
        settings: PjsipSettings,
        *,
        layer: TransactionLayer | None = None,
        location: Location | None = None,
        secret: bytes | None = None,
    ) -> None:
        self.settings = settings
        self.layer = layer or TransactionLayer()
        self.dialogs = DialogTable()
        self.location = location or Location()
        self.registrar = Registrar(self.location)
        self._secret = secret
        self._digests: dict[tuple[str, tuple[str, ...]], DigestServer] = {}
        self.addresses: dict[str, Address] = {}
        """Our address per transport (``UDP``/``TCP``), set by the I/O shell."""
        self.calls: dict[int, Call] = {}
        self._retransmitting: dict[int, Call] = {}
        """Calls whose 2xx may still be retransmitting (``call.retransmit`` set): what
        ``next_deadline`` and ``tick`` look at instead of every call."""
        self._by_tx: dict[int, Call] = {}
        self._by_call_id: dict[str, Call] = {}
        self._seq = itertools.count(1)
        self._qualify: dict[tuple[str, str], _Qualify] = {}
        self._qualify_tx: dict[int, _Qualify] = {}
        self._static: set[tuple[str, str]] = set()
        self._refers_out: dict[str, _ReferOut] = {}
        self.guard = FailureGuard(settings.auth_backoff)
        """Source addresses that keep failing digest authentication."""
        self.reload(settings, now=None)

    # ------------------------------------------------------------------ configuration

    def reload(self, settings: PjsipSettings, now: float | None) -> list[Action]:
        """Take new settings: static contacts of AORs are (re)made; bindings of AORs that
        are gone stay until they expire."""
        self.settings = settings
        self.guard.configure(settings.auth_backoff)
        out: list[Action] = []
        wanted = {(a.name, c) for a in settings.aors.values() for c in a.contacts}
        for aor, uri in self._static - wanted:
            for b in self.location.lookup(aor, float("-inf")):
                if b.uri == uri and b.static:
                    self.location._drop(b)
                    out.append(ContactChanged(aor, b, ChangeKind.REMOVED))
        for aor, uri in sorted(wanted - self._static):
            binding = self.location.add_static(aor, uri)
            out.append(ContactChanged(aor, binding, ChangeKind.CREATED))
        self._static = wanted
        self._qualify = {
            k: q for k, q in self._qualify.items() if self._qualify_frequency(q.aor) > 0
        }
        return out

    def _qualify_frequency(self, aor: str) -> int:
        conf = self.settings.aors.get(aor)
        return conf.qualify_frequency if conf is not None else 0

    def digest(self, realm: str, algorithms: tuple[str, ...] = DIGEST_ALGORITHMS) -> DigestServer:
        key = (realm, algorithms)
        server = self._digests.get(key)
        if server is None:
            server = self._digests[key] = DigestServer(
                realm, secret=self._secret, algorithms=algorithms
            )
        return server

    def sent_by(self, transport: str = "UDP") -> str:
        host, port = self.addresses.get(transport.upper()) or self.addresses.get(
            "UDP", ("127.0.0.1", 5060)
        )
        return f"{host}:{port}"

    def contact(self, user: str | None = None, transport: str = "UDP") -> NameAddr:
        host, port = self.addresses.get(transport.upper()) or ("127.0.0.1", 5060)
        params: dict[str, str | None] = {}
        if transport.upper() != "UDP":
            params["transport"] = transport.lower()
        return NameAddr(Uri("sip", user or None, host, port, params))

    def _headers(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("Supported", SUPPORTED)]

    # ------------------------------------------------------------------ driving

    def receive(self, message: Request | Response, source: Address, now: float) -> list[Action]:
        return self._process(self.layer.receive(message, source, now), now)

    def next_deadline(self, slack: float = 0.0) -> float | None:
        """When ``tick`` is next needed (``slack``: how late a transaction's end may
        come, see :meth:`TransactionLayer.next_deadline`)."""
        best = self.layer.next_deadline(slack) or None
        when = self.location.next_expiry()
        if when and (best is None or when < best):
            best = when
        if self._retransmitting:
            acked: list[int] = []
            for call in self._retransmitting.values():
                rt = call.retransmit
                if rt is None:
                    acked.append(call.id)
                    continue
                when = rt.next_deadline()
                if when is not None and (best is None or when < best):
                    best = when
            for call_id in acked:
                del self._retransmitting[call_id]
        for q in self._qualify.values():
            if best is None or q.next_at < best:
                best = q.next_at
        return best

    def tick(self, now: float) -> list[Action]:
        out: list[Action] = list(self._process(self.layer.tick(now), now))
        for call in list(self._retransmitting.values()):
            rt = call.retransmit
            if rt is None:
                self._retransmitting.pop(call.id, None)
                continue
            for item in rt.tick(now):
                if isinstance(item, NoAck):
                    call.retransmit = None
                    out.extend(self._send_bye(call, now))
                    out.append(CallEnded(call, "timeout", 16))
                else:
                    out.append(item)
        for change in self.location.purge(now):
            out.append(ContactChanged(change.binding.aor, change.binding, change.kind))
            self._qualify.pop((change.binding.aor, change.binding.uri), None)
        out.extend(self._qualify_due(now))
        return out

    def _process(self, events: Iterable[Event], now: float) -> list[Action]:
        out: list[Action] = []
        for event in events:
            kind = type(event)  # the event classes are final: no isinstance chain
            if kind is Send:
                out.append(event)  # type: ignore[arg-type]  # a Send (type checked above)
            elif kind is TransactionTerminated:
                continue
            elif isinstance(event, RequestReceived):
                out.extend(self._request(event.transaction, event.request, now))
            elif isinstance(event, AckReceived):
                out.extend(self._ack(event.request, now))
            elif isinstance(event, ResponseReceived):
                out.extend(self._response(event.transaction, event.response, now))
            elif isinstance(event, StrayResponse):
                out.extend(self._stray(event.response, event.source))
            elif isinstance(event, TransactionTimeout):
                out.extend(self._timeout(event.transaction, now))
        return out

    def _respond(
        self,
        tx: ServerTransaction,
        status: int,
        now: float,
        *,
        reason: str | None = None,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> list[Action]:
        hdrs = list(headers)
        if body and content_type:
            hdrs.append(("Content-Type", content_type))
        response = make_response(
            tx.request, status, reason, to_tag=to_tag or new_tag(), headers=hdrs, body=body
        )
        return _sends(self.layer.send_response(tx, response, now))

    # ------------------------------------------------------------------ endpoints

    def identify(self, request: Request, source: Address) -> Endpoint | None:
        """The endpoint a request comes from: by From user (Asterisk's ``username``
        identifier: endpoint name or its auth username), else by source address."""
        try:
            user = request.from_.uri.user
        except SipParseError:
            user = None
        eps = self.settings.endpoints
        if user:
            found = eps.get(user)
            if found is not None:
                return found
            for ep in eps.values():
                auth = self.settings.auths.get(ep.auth or "")
                if auth is not None and auth.username == user:
                    return ep
        return self.settings.identify(source[0])

    def _admitted(
        self, tx: ServerTransaction, request: Request, source: Address, now: float
    ) -> tuple[Endpoint | None, bool, list[Action]]:
        """:meth:`identify`, then the endpoint's own ACLs as res_pjsip's distributor
        applies them: refused, the request is one of no endpoint (``None``), with a
        FailedACL event and its NOTICE; then :meth:`_authenticate`.
        ``(endpoint, passed, actions)``."""
        endpoint = self.identify(request, source)
        refused: list[Action] = []
        if endpoint is not None and (endpoint.acl.parts or endpoint.contact_acl.parts):
            refusal = endpoint_refusal(endpoint, request, source)
            if refusal is not None:
                acl_name, reason = refusal
                extra = (("ACLName", acl_name),)
                refused.append(self._alert(tx, "FailedACL", endpoint.name, extra, notice=reason))
                endpoint = None
        passed, out = self._authenticate(tx, endpoint, source, now, unknown=not refused)
        return endpoint, passed, refused + out

    def _authenticate(
        self,
        tx: ServerTransaction,
        endpoint: Endpoint | None,
        source: Address,
        now: float,
        *,
        unknown: bool = True,
    ) -> tuple[bool, list[Action]]:
        """(passed, actions): a 401 challenge when not passed, with the security events
        and NOTICE lines res_pjsip writes. Any request from an unidentified sender (or one
        an endpoint's ACL refused: ``unknown`` False, no InvalidAccountID then), or from an
        address that the back-off blocks, fails whatever its credentials."""
        request = tx.request
        auth = self.settings.auths.get(endpoint.auth or "") if endpoint is not None else None
        if endpoint is not None and auth is None:
            return True, []
        out: list[Action] = []
        if endpoint is None and unknown:
            user = _from_user(request)
            out.append(
                self._alert(tx, "InvalidAccountID", user, notice="No matching endpoint found")
            )
        account = endpoint.name if endpoint is not None else "<unknown>"
        realm = (auth.realm if auth is not None else "") or DEFAULT_REALM
        algorithms = auth.supported_algorithms_uas if auth is not None else DIGEST_ALGORITHMS
        server = self.digest(realm, algorithms or DIGEST_ALGORITHMS)

        def lookup(username: str) -> Credentials | None:
            if auth is None or username != auth.username:
                return None
            if auth.auth_type == "md5":
                return Credentials(username, md5_ha1=auth.md5_cred)
            return Credentials(username, password=auth.password)

        authorizations = request.headers.getall("authorization")
        if self.guard.blocked(source[0], now):
            # refused unchecked: a right guess looks exactly like a wrong one
            verdict = Verdict.FAILED if authorizations else Verdict.MISSING
            result = AuthResult(verdict)
        else:
            result = server.verify(request.method, authorizations, lookup, now)
        if result.verdict is Verdict.OK:
            return True, []
        if result.verdict is Verdict.FAILED:
            nonce, answer = _digest_answer(authorizations)
            extra = (("Challenge", nonce), ("Response", answer), ("ExpectedResponse", ""))
            out.append(
                self._alert(
                    tx, "ChallengeResponseFailed", account, extra, notice="Failed to authenticate"
                )
            )
            self.guard.failed(source[0], now)
        else:
            # Asterisk's event never carries the nonce it sent (Challenge="")
            out.append(self._alert(tx, "ChallengeSent", account, (("Challenge", ""),)))
        challenge = server.challenge(now, stale=result.verdict is Verdict.STALE)
        out.extend(
            self._respond(tx, 401, now, headers=[("WWW-Authenticate", c) for c in challenge])
        )
        return False, out

    def _alert(
        self,
        tx: ServerTransaction,
        name: str,
        account: str,
        extra: tuple[tuple[str, str], ...] = (),
        *,
        notice: str = "",
        warning: str = "",
    ) -> SecurityAlert:
        """A security event of the request of ``tx`` (Service PJSIP, the Call-ID as the
        session), with res_pjsip's ``Request ... failed for ...`` NOTICE when ``notice``
        gives its reason."""
        request = tx.request
        transport = tx.transport.upper()
        peer = tx.peer
        event = SecurityEvent(
            name,
            "PJSIP",
            account,
            request.call_id,
            address_ie(transport, self.addresses.get(transport)),
            address_ie(transport, peer),
            extra,
        )
        line = ""
        if notice:
            try:
                sender = f"<{request.from_.uri}>"
            except SipParseError:
                sender = ""
            host = f"[{peer[0]}]" if ":" in peer[0] else peer[0]
            line = (
                f"Request '{quoted(request.method)}' from '{quoted(sender)}' failed for "
                f"'{host}:{peer[1]}' (callid: {quoted(request.call_id)}) - {notice}"
            )
        return SecurityAlert(event, line, warning)

    # ------------------------------------------------------------------ requests

    def _request(self, tx: ServerTransaction, request: Request, now: float) -> list[Action]:
        error = check_request(request, supported=("replaces", "timer", "100rel", "path",
                                                  "norefersub"),
                              accepted_types=self._accepted(request.method))  # fmt: skip
        if error is not None:
            return _sends(self.layer.send_response(tx, error, now))
        method = request.method
        try:
            to_tag = request.to.tag
        except SipParseError:
            return self._respond(tx, 400, now)
        if method == "CANCEL":
            return self._cancel(tx, request, now)
        if to_tag and method == "NOTIFY" and request.call_id in self._refers_out:
            return self._refer_out_notify(tx, request, now)
        if to_tag:
            return self._in_dialog(tx, request, now)
        source = tx.peer
        if method == "INVITE":
            return self._invite(tx, request, source, now)
        if method == "REGISTER":
            return self._register(tx, request, source, now)
        if method == "OPTIONS":
            return self._respond(
                tx, 200, now, headers=[*self._headers(), ("Accept", "application/sdp")]
            )
        if method == "MESSAGE":
            return self._message(tx, request, source, now, None)
        if method == "BYE":
            return self._respond(tx, 481, now)
        if method in _KNOWN_UNSUPPORTED or method in ("INFO", "REFER"):
            return self._respond(tx, 405, now, headers=[("Allow", ALLOW)])
        return self._respond(tx, 501, now)

    @staticmethod
    def _accepted(method: str) -> tuple[str, ...]:
        if method == "MESSAGE":
            return ("text/plain", "text/html", "application/json", "text/*", "application/xml")
        if method == "INFO":
            return ("application/dtmf-relay", "application/dtmf", "application/media_control+xml")
        if method == "NOTIFY":
            return ("message/sipfrag", "application/simple-message-summary")
        return ("application/sdp",)

    def _invite(
        self, tx: ServerTransaction, request: Request, source: Address, now: float
    ) -> list[Action]:
        endpoint, passed, out = self._admitted(tx, request, source, now)
        if not passed or endpoint is None:
            return out
        offer: SessionDescription | None = None
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SdpError:
                return self._respond(tx, 488, now)
        tag = new_tag()
        transport = tx.transport
        peer = (
            source
            if endpoint.rewrite_contact or endpoint.force_rport
            else _contact_address(request, source)
        )
        call = Call(
            id=next(self._seq),
            direction="in",
            endpoint=endpoint,
            invite=request,
            peer=peer,
            transport=transport,
            tx=tx,
            local_tag=tag,
            offer=offer,
            remote_sdp=offer,
        )
        call.dialog = Dialog.as_uas(
            request,
            local_tag=tag,
            local_contact=self.contact(request.uri.user, transport),
            sent_by=self.sent_by(transport),
            transport=transport,
        )
        self.dialogs.add(call.dialog)
        self._add_call(call)
        from_ = request.from_
        exten = request.uri.user or "s"
        name = endpoint.callerid_name if endpoint.callerid_number else (from_.display or "")
        number = endpoint.callerid_number or (from_.uri.user or "")
        if endpoint.callerid_number is None and endpoint.callerid_name:
            name = endpoint.callerid_name
        out.append(IncomingCall(call, exten, name or "", number, offer, source))
        return out

    def _add_call(self, call: Call) -> None:
        self.calls[call.id] = call
        self._by_call_id[call.call_id] = call
        if call.tx is not None:
            self._by_tx[id(call.tx)] = call

    def _forget(self, call: Call) -> None:
        call.ended = True
        self.calls.pop(call.id, None)
        self._retransmitting.pop(call.id, None)
        if self._by_call_id.get(call.call_id) is call:
            del self._by_call_id[call.call_id]
        if call.tx is not None:
            self._by_tx.pop(id(call.tx), None)
        if call.dialog is not None:
            self.dialogs.remove(call.dialog)

    def _call_of(self, request: Request) -> Call | None:
        dialog = self.dialogs.for_request(request)
        if dialog is None:
            return None
        call = self._by_call_id.get(request.call_id)
        return call if call is not None and call.dialog is dialog else None

    def _cancel(self, tx: ServerTransaction, request: Request, now: float) -> list[Action]:
        invite_tx = self.layer.find_invite(request)
        call = self._by_tx.get(id(invite_tx)) if invite_tx is not None else None
        if invite_tx is None or call is None:
            return self._respond(tx, 481, now)
        out = self._respond(tx, 200, now)
        if call.answered or call.ended:
            return out
        out.extend(self._respond(invite_tx, 487, now, to_tag=call.local_tag))
        self._forget(call)
        out.append(CallEnded(call, "cancel", 16))
        return out

    def _in_dialog(self, tx: ServerTransaction, request: Request, now: float) -> list[Action]:
        call = self._call_of(request)
        if call is None or call.dialog is None:
            return self._respond(tx, 481, now)
        dialog = call.dialog
        error = dialog.receive_request(request)
        if error is not None:
            return _sends(self.layer.send_response(tx, error, now))
        method = request.method
        if method == "BYE":
            out = self._respond(tx, 200, now, to_tag=call.local_tag)
            self._forget(call)
            out.append(CallEnded(call, "bye", _reason_cause(request)))
            return out
        if method == "INVITE":
            offer = None
            if request.body:
                try:
                    offer = parse_sdp(request.body)
                except SdpError:
                    return self._respond(tx, 488, now, to_tag=call.local_tag)
            call.reinvite_tx = tx
            call.remote_sdp = offer or call.remote_sdp
            return [Reinvite(call, offer)]
        if method == "INFO":
            out = []
            digit, duration = _dtmf_info(request)
            out.extend(self._respond(tx, 200, now, to_tag=call.local_tag))
            if digit is not None:
                out.append(DtmfInfo(call, digit, duration))
            return out
        if method == "REFER":
            refer_to = request.headers.get("refer-to")
            if not refer_to:
                return self._respond(tx, 400, now, reason="Bad Request - no Refer-To")
            try:
                target = str(parse_name_addr(refer_to).uri)
            except SipParseError:
                return self._respond(tx, 400, now, reason="Bad Request - bad Refer-To")
            if not call.endpoint.allow_transfer:
                return self._respond(tx, 603, now, to_tag=call.local_tag)
            by = request.headers.get("referred-by") or str(dialog.remote_uri.uri)
            refer_sub = request.headers.get("refer-sub")
            if call.refer_tx is not None:  # the result of the last one is not known yet
                return self._respond(tx, 491, now, to_tag=call.local_tag)
            if refer_sub is not None and not refer_sub.strip().lower().startswith("true"):
                # RFC 4488: no implicit subscription; answered with the transfer's result
                call.refer_tx = tx
                return [TransferRequested(call, target, by, subscription=False)]
            headers = [("Refer-Sub", "true")] if refer_sub is not None else []
            out = self._respond(tx, 202, now, to_tag=call.local_tag, headers=headers)
            call.refer_subscription = True
            out.append(TransferRequested(call, target, by))
            return out
        if method == "MESSAGE":
            return self._message(tx, request, tx.peer, now, call)
        if method == "NOTIFY":
            return self._respond(tx, 200, now, to_tag=call.local_tag)
        if method == "UPDATE":
            return self._respond(tx, 501, now)
        return self._respond(tx, 405, now, headers=[("Allow", ALLOW)])

    def _message(
        self,
        tx: ServerTransaction,
        request: Request,
        source: Address,
        now: float,
        call: Call | None,
    ) -> list[Action]:
        endpoint = call.endpoint if call is not None else None
        out: list[Action] = []
        if call is None:
            endpoint, passed, out = self._admitted(tx, request, source, now)
            if not passed or endpoint is None:
                return out
        assert endpoint is not None
        out.extend(self._respond(tx, 202, now, to_tag=call.local_tag if call else None))
        body = request.body.decode("utf-8", "replace")
        out.append(
            MessageReceived(
                endpoint,
                str(request.from_.uri),
                str(request.to.uri),
                body,
                request.content_type or "text/plain",
                source,
            )
        )
        return out

    def _register(
        self, tx: ServerTransaction, request: Request, source: Address, now: float
    ) -> list[Action]:
        endpoint, passed, out = self._admitted(tx, request, source, now)
        if not passed or endpoint is None:
            return out
        if not endpoint.aors:
            # Asterisk: 403, a FailedACL event and a WARNING
            host, port = tx.peer
            warning = f"Endpoint '{endpoint.name}' ({host}:{port}) has no configured AORs"
            acl = (("ACLName", "registrar_attempt_without_configured_aors"),)
            out.append(self._alert(tx, "FailedACL", endpoint.name, acl, warning=warning))
            out.extend(self._respond(tx, 403, now))
            return out
        aor_name = request.to.uri.user or ""
        if aor_name not in endpoint.aors:
            if len(endpoint.aors) == 1 and not aor_name:
                aor_name = endpoint.aors[0]
            else:
                return self._respond(tx, 404, now)
        conf = self.settings.aors.get(aor_name) or Aor(aor_name)
        policy = AorPolicy(
            max_contacts=conf.max_contacts,
            remove_existing=conf.remove_existing,
            default_expiration=conf.default_expiration,
            minimum_expiration=conf.minimum_expiration,
            maximum_expiration=conf.maximum_expiration,
        )
        if not conf.max_contacts:
            # Asterisk refuses registrations to an AOR with max_contacts 0
            return self._respond(tx, 403, now, reason="Forbidden - No contacts allowed")
        outcome = self.registrar.register(
            request, aor_name, policy, now, source=source, transport=tx.transport, to_tag=new_tag()
        )
        out.extend(_sends(self.layer.send_response(tx, outcome.response, now)))
        for change in outcome.changes:
            out.append(ContactChanged(aor_name, change.binding, change.kind))
            key = (aor_name, change.binding.uri)
            if change.kind in (ChangeKind.REMOVED, ChangeKind.EXPIRED):
                self._qualify.pop(key, None)
            elif conf.qualify_frequency > 0 and key not in self._qualify:
                self._qualify[key] = _Qualify(aor_name, change.binding.uri, now)
        return out

    def _ack(self, request: Request, now: float) -> list[Action]:
        call = self._call_of(request)
        if call is None:
            return []
        if call.retransmit is not None:
            call.retransmit.ack_received()
            call.retransmit = None
            self._retransmitting.pop(call.id, None)
        out: list[Action] = []
        if request.body and call.offer is None:
            # late offer: the ACK carries the answer to the offer of our 2xx
            try:
                sdp = parse_sdp(request.body)
            except SdpError:
                return out
            call.remote_sdp = sdp
            out.append(MediaChanged(call, sdp))
        return out

    # ------------------------------------------------------------------ UAS session

    def _provisional(self, call: Call, status: int, sdp: bytes, now: float) -> list[Action]:
        tx = call.tx
        if (
            call.direction != "in"
            or call.answered
            or call.ended
            or not isinstance(tx, ServerTransaction)
        ):
            return []
        contact = ("Contact", str(call.dialog.local_contact)) if call.dialog else None
        headers = [*self._headers(), *([contact] if contact else [])]
        return self._respond(
            tx,
            status,
            now,
            to_tag=call.local_tag,
            headers=headers,
            body=sdp,
            content_type="application/sdp" if sdp else None,
        )

    def ring(self, call: Call, now: float) -> list[Action]:
        """180 Ringing."""
        return self._provisional(call, 180, b"", now)

    def progress(self, call: Call, sdp: bytes, now: float) -> list[Action]:
        """183 Session Progress with our answer (early media)."""
        call.local_sdp = sdp
        return self._provisional(call, 183, sdp, now)

    def answer(self, call: Call, sdp: bytes, now: float) -> list[Action]:
        """200 OK with our SDP, retransmitted until the ACK."""
        tx = call.tx
        if call.answered or call.ended or not isinstance(tx, ServerTransaction):
            return []
        call.answered = True
        call.local_sdp = sdp
        assert call.dialog is not None
        call.dialog.state = DialogState.CONFIRMED
        return self._send_2xx(call, call.dialog, tx, sdp, now)

    def answer_reinvite(
        self, call: Call, sdp: bytes | None, now: float, status: int = 200
    ) -> list[Action]:
        tx = call.reinvite_tx
        call.reinvite_tx = None
        if tx is None or call.ended or call.dialog is None:
            return []
        if status != 200 or sdp is None:
            return self._respond(tx, status if status != 200 else 488, now, to_tag=call.local_tag)
        call.local_sdp = sdp
        return self._send_2xx(call, call.dialog, tx, sdp, now)

    def _send_2xx(
        self, call: Call, dialog: Dialog, tx: ServerTransaction, sdp: bytes, now: float
    ) -> list[Action]:
        """200 OK to ``tx`` with our SDP, retransmitted until the ACK."""
        headers = [*self._headers(), ("Contact", str(dialog.local_contact))]
        headers.append(("Content-Type", "application/sdp"))
        response = make_response(tx.request, 200, to_tag=call.local_tag, headers=headers, body=sdp)
        out: list[Action] = _sends(self.layer.send_response(tx, response, now))
        call.retransmit = Retransmit2xx(
            response, tx.response_dest, now, transport=tx.transport, timers=self.layer.timers,
            data=tx.last_sent if tx.last_sent_message is response else None,
        )  # fmt: skip
        if self.calls.get(call.id) is call:
            self._retransmitting[call.id] = call
        return out

    def reject(self, call: Call, status: int, now: float) -> list[Action]:
        """A final failure response to an inbound INVITE not yet answered."""
        tx = call.tx
        if call.answered or call.ended or not isinstance(tx, ServerTransaction):
            return []
        self._forget(call)
        return self._respond(tx, status, now, to_tag=call.local_tag)

    def hangup(self, call: Call, now: float, cause: int = 16) -> list[Action]:
        """End the session from our side: a failure response, CANCEL or BYE."""
        if call.ended:
            return []
        if call.direction == "in" and not call.answered:
            return self.reject(call, cause_to_status(cause), now)
        if call.direction == "out" and not call.answered:
            call.cancel_pending = True
            if call.provisional and isinstance(call.tx, ClientTransaction):
                cancel = build_cancel(call.tx.request)
                _tx, events = self.layer.send_request(
                    cancel, call.tx.peer, now, transport=call.transport
                )
                return list(self._process(events, now))
            return []
        out = self._send_bye(call, now)
        self._forget(call)
        return out

    def _send_bye(self, call: Call, now: float) -> list[Action]:
        dialog = call.dialog
        if dialog is None or dialog.state is DialogState.TERMINATED:
            return []
        if call.retransmit is not None:
            call.retransmit.ack_received()
            call.retransmit = None
        bye = dialog.create_request("BYE", headers=[("User-Agent", USER_AGENT)])
        dialog.terminate()
        _tx, events = self.layer.send_request(bye, self._dialog_dest(call), now,
                                              transport=call.transport)  # fmt: skip
        return list(self._process(events, now))

    def _dialog_dest(self, call: Call) -> Address:
        if call.transport in _FLOW_TRANSPORTS:
            return call.peer  # a browser is reached only on its WebSocket (RFC 7118)
        if call.direction == "in" and (call.endpoint.rewrite_contact or call.endpoint.force_rport):
            return call.peer
        assert call.dialog is not None
        return _address_of(call.dialog.next_hop())

    def _in_dialog_request(
        self,
        call: Call,
        method: str,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> list[Action]:
        dialog = call.dialog
        if dialog is None or call.ended or dialog.state is not DialogState.CONFIRMED:
            return []
        request = dialog.create_request(
            method, body=body, content_type=content_type, headers=headers
        )
        _tx, events = self.layer.send_request(
            request, self._dialog_dest(call), now, transport=call.transport
        )
        return list(self._process(events, now))

    def reinvite(self, call: Call, sdp: bytes, now: float) -> list[Action]:
        """A re-INVITE with a new offer (hold: ``a=sendonly``)."""
        call.local_sdp = sdp
        return self._in_dialog_request(
            call, "INVITE", now, body=sdp, content_type="application/sdp",
            headers=self._headers(),
        )  # fmt: skip

    def send_dtmf_info(self, call: Call, digit: str, duration_ms: int, now: float) -> list[Action]:
        body = f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode()
        return self._in_dialog_request(
            call, "INFO", now, body=body, content_type="application/dtmf-relay"
        )

    def refer_notify(self, call: Call, status: int, now: float) -> list[Action]:
        """Report the progress of a transfer we were asked for (NOTIFY message/sipfrag).
        For a REFER with ``Refer-Sub: false`` the first final ``status`` is its response
        instead (with ``Refer-Sub: false``), and nothing else is ever sent."""
        if call.refer_tx is not None:
            return self.refer_accept(call, now, status) if status >= 200 else []
        if not call.refer_subscription:
            return []
        final = status >= 200
        if final:
            call.refer_subscription = False
        state = "terminated;reason=noresource" if final else "active;expires=60"
        body = f"SIP/2.0 {status} {_phrase(status)}\r\n".encode()
        return self._in_dialog_request(
            call, "NOTIFY", now, body=body, content_type="message/sipfrag;version=2.0",
            headers=[("Event", "refer"), ("Subscription-State", state)],
        )  # fmt: skip

    def refer_accept(self, call: Call, now: float, status: int = 200) -> list[Action]:
        """The final response to a REFER with ``Refer-Sub: false`` still waiting for one
        (nothing for a REFER answered already): ``status`` and ``Refer-Sub: false``."""
        tx = call.refer_tx
        if tx is None:
            return []
        call.refer_tx = None
        return self._respond(tx, status, now, to_tag=call.local_tag,
                             headers=[("Refer-Sub", "false")])  # fmt: skip

    def redirect(self, call: Call, target: str, now: float) -> list[Action]:
        """302 Moved Temporarily to ``target`` (its Contact) for an inbound call not yet
        answered: chan_pjsip's transfer of a ringing channel. Nothing when ``target`` is not
        a SIP URI or the call cannot be redirected any more."""
        tx = call.tx
        if (
            call.direction != "in"
            or call.answered
            or call.ended
            or not isinstance(tx, ServerTransaction)
            or _sip_target(target) is None
        ):
            return []
        self._forget(call)
        return self._respond(tx, 302, now, to_tag=call.local_tag,
                             headers=[("Contact", f"<{target}>")])  # fmt: skip

    def refer(
        self, call: Call, target: str, now: float, *, referred_by: str | None = None
    ) -> list[Action]:
        """A REFER in the call's dialog asking the peer to call ``target``: chan_pjsip's
        transfer of an answered channel (``Referred-By`` is ``referred_by``, else our side
        of the dialog). The peer's NOTIFYs are answered 200 in the dialog; a 2xx with
        ``Refer-Sub: false`` needs none. Nothing when ``target`` is not a SIP URI."""
        dialog = call.dialog
        if dialog is None or _sip_target(target) is None:
            return []
        by = referred_by or f"<{dialog.local_uri.uri}>"
        return self._in_dialog_request(
            call, "REFER", now,
            headers=[("Refer-To", f"<{target}>"), ("Referred-By", by),
                     ("User-Agent", USER_AGENT)],
        )  # fmt: skip

    # ------------------------------------------------------------------ UAC

    def _from(self, endpoint: Endpoint, caller_number: str, caller_name: str) -> NameAddr:
        host, port = self.addresses.get("UDP", ("127.0.0.1", 5060))
        user = endpoint.from_user or caller_number or "asterisk"
        domain = endpoint.from_domain or host
        uri = Uri("sip", user, domain, None if endpoint.from_domain else port)
        return NameAddr(uri, caller_name or None, {"tag": new_tag()})

    def invite(
        self,
        endpoint: Endpoint,
        target: Uri,
        dest: Address,
        sdp: bytes,
        now: float,
        *,
        caller_number: str = "",
        caller_name: str = "",
        transport: str = "UDP",
    ) -> tuple[Call, list[Action]]:
        """Start an outbound call to ``target`` (sent to ``dest``, or to the endpoint's
        ``outbound_proxy`` with a Route header naming it)."""
        proxy = _proxy_of(endpoint.outbound_proxy)
        if proxy is not None:
            dest = _address_of(proxy.uri)
            if proxy.uri.transport in ("udp", "tcp", "tls"):
                transport = proxy.uri.transport.upper()
            elif proxy.uri.scheme == "sips":
                transport = "TLS"
        request = build_request(
            "INVITE",
            target,
            from_=self._from(endpoint, caller_number, caller_name),
            to=NameAddr(target),
            call_id=new_call_id(),
            cseq=1,
            sent_by=self.sent_by(transport),
            transport=transport,
            contact=self.contact(endpoint.from_user or caller_number or "asterisk", transport),
            route=[proxy] if proxy is not None else (),
            headers=[*self._headers(), ("User-Agent", USER_AGENT)],
            body=sdp,
            content_type="application/sdp" if sdp else None,
        )
        call = Call(
            id=next(self._seq),
            direction="out",
            endpoint=endpoint,
            invite=request,
            peer=dest,
            transport=transport,
            local_sdp=sdp,
            proxy=proxy,
        )
        tx, events = self.layer.send_request(request, dest, now, transport=transport)
        call.tx = tx
        self._add_call(call)
        return call, list(self._process(events, now))

    def _response(self, tx: ClientTransaction, response: Response, now: float) -> list[Action]:
        if tx.method == "INVITE":
            call = self._by_tx.get(id(tx))
            if call is not None:
                return self._invite_response(call, tx, response, now)
            return []
        if tx.method == "OPTIONS":
            q = self._qualify_tx.pop(id(tx), None)
            if q is not None and q.sent_at is not None:
                return [QualifyResult(q.aor, q.uri, max(now - q.sent_at, 1e-6))]
        if tx.method == "REFER":
            self._refer_out_response(response)
        return []

    def _start_uac_dialog(self, call: Call, request: Request, response: Response) -> Dialog:
        """The dialog a response to our INVITE creates (early or confirmed)."""
        dialog = Dialog.as_uac(
            request, response, sent_by=self.sent_by(call.transport), transport=call.transport
        )
        if not dialog.route_set and call.proxy is not None:
            dialog.route_set = [call.proxy]  # the proxy did not record-route: keep using it
        call.dialog = dialog
        self.dialogs.add(dialog)
        return dialog

    def _invite_response(
        self, call: Call, tx: ClientTransaction, response: Response, now: float
    ) -> list[Action]:
        status = response.status
        request = tx.request
        out: list[Action] = []
        if status < 200:
            if status == 100:
                return []
            call.provisional = True
            if call.cancel_pending:
                cancel = build_cancel(request)
                _t, events = self.layer.send_request(cancel, tx.peer, now, transport=call.transport)
                return list(self._process(events, now))
            if call.dialog is None and response.to.tag:
                self._start_uac_dialog(call, request, response)
            sdp = _sdp_of(response)
            if sdp is not None:
                call.remote_sdp = sdp
            return [Progress(call, status, sdp)]
        if status < 300:
            if call.dialog is None or call.dialog.remote_tag != (response.to.tag or ""):
                if call.dialog is not None:
                    self.dialogs.remove(call.dialog)
                dialog = self._start_uac_dialog(call, request, response)
            else:
                dialog = call.dialog
                dialog.receive_response(request, response)
            dialog.state = DialogState.CONFIRMED
            ack = dialog.create_ack(request.cseq.number)
            call.ack = ack
            out.extend(
                _sends(self.layer.send_ack(ack, self._uac_dest(call), transport=call.transport))
            )
            if call.answered:
                return out  # a retransmitted 2xx
            call.answered = True
            if call.cancel_pending or call.ended:
                out.extend(self._send_bye(call, now))
                self._forget(call)
                return out
            sdp = _sdp_of(response)
            if sdp is not None:
                call.remote_sdp = sdp
            out.append(Answered(call, sdp))
            return out
        # failures (the transaction layer has sent the ACK)
        if status in (401, 407) and call.auth_tries == 0 and not call.cancel_pending:
            retry = self._authorized_retry(call, request, response)
            if retry is not None:
                call.auth_tries += 1
                self._by_tx.pop(id(tx), None)
                new_tx, events = self.layer.send_request(retry, tx.peer, now,
                                                         transport=call.transport)  # fmt: skip
                call.tx = new_tx
                call.invite = retry
                self._by_tx[id(new_tx)] = call
                return list(self._process(events, now))
        self._forget(call)
        if call.cancel_pending and status == 487:
            return [CallEnded(call, "cancel", 16)]
        return [CallFailed(call, status, response.reason)]

    def _uac_dest(self, call: Call) -> Address:
        if call.transport in _FLOW_TRANSPORTS:
            return call.peer
        if call.dialog is not None and self.settings.endpoints.get(call.endpoint.name) is not None:
            target = call.dialog.next_hop()
            if target.host and not call.endpoint.rewrite_contact:
                return _address_of(target)
        return call.peer

    def _authorized_retry(self, call: Call, request: Request, response: Response) -> Request | None:
        auth = self.settings.auths.get(call.endpoint.outbound_auth or "")
        if auth is None:
            return None
        header = "www-authenticate" if response.status == 401 else "proxy-authenticate"
        client = DigestClient(auth.username, auth.password)
        value = client.authorize(
            response.headers.getall(header), method=request.method, uri=str(request.uri)
        )
        if value is None:
            return None
        retry = Request(method=request.method, uri=request.uri, headers=request.headers.copy(),
                        body=request.body)  # fmt: skip
        vias = retry.headers.getall("via")
        retry.headers.remove("via")
        first = vias[0].split(";branch=")[0]
        retry.headers.insert_first("Via", f"{first};branch=z9hG4bK{new_tag()}{new_tag()[:4]}")
        retry.headers.set("CSeq", f"{request.cseq.number + 1} {request.method}")
        retry.headers.set(
            "Authorization" if response.status == 401 else "Proxy-Authorization", value
        )
        return retry

    def _stray(self, response: Response, source: Address) -> list[Action]:
        """A 2xx retransmission after the INVITE transaction ended: ACK it again."""
        if not 200 <= response.status < 300:
            return []
        call = self._by_call_id.get(response.call_id)
        if call is None or call.ack is None:
            return []
        return _sends(self.layer.send_ack(call.ack, self._uac_dest(call), transport=call.transport))

    def _timeout(self, tx: ClientTransaction | ServerTransaction, now: float) -> list[Action]:
        if isinstance(tx, ClientTransaction):
            return self._client_tx_ended(tx, 408, "Request Timeout")
        return []

    def _client_tx_ended(self, tx: ClientTransaction, status: int, reason: str) -> list[Action]:
        """``tx`` ended with no final response: an unanswered call it carried fails with
        ``status`` (or ends, if it was being cancelled); a qualify it carried got no answer."""
        if tx.method == "INVITE":
            call = self._by_tx.get(id(tx))
            if call is not None and not call.answered:
                self._forget(call)
                if call.cancel_pending:
                    return [CallEnded(call, "cancel", 16)]
                return [CallFailed(call, status, reason)]
        if tx.method == "OPTIONS":
            q = self._qualify_tx.pop(id(tx), None)
            if q is not None:
                return [QualifyResult(q.aor, q.uri, None)]
        return []

    def transport_failed(self, request: Request, now: float) -> list[Action]:
        """``request`` could not be sent (no connection could be made to its peer): its
        client transaction ends at once, as pjsip's does on a transport error (503)."""
        tx = next((t for t in self.layer.clients.values() if t.request is request), None)
        if tx is None:
            return []
        for key, found in list(self.layer.clients.items()):
            if found is tx:
                del self.layer.clients[key]
        return self._client_tx_ended(tx, 503, "Service Unavailable")

    def flow_closed(self, peer: Address, now: float) -> list[Action]:
        """The WebSocket flow with ``peer`` closed (RFC 7118 §5): the contacts registered
        over it are removed and the calls over it end (nothing can reach them now)."""
        out: list[Action] = []
        for binding in self.location.all():
            if binding.source == peer and binding.transport in _FLOW_TRANSPORTS:
                self.location._drop(binding)
                self._qualify.pop((binding.aor, binding.uri), None)
                out.append(ContactChanged(binding.aor, binding, ChangeKind.REMOVED))
        for call in list(self.calls.values()):
            if call.peer == peer and call.transport in _FLOW_TRANSPORTS and not call.ended:
                self._forget(call)
                if call.answered or call.direction == "in":
                    out.append(CallEnded(call, "transport", 16))
                else:
                    out.append(CallFailed(call, 503, "Service Unavailable"))
        return out

    # ------------------------------------------------------------------ messages out

    def send_message(
        self,
        endpoint: Endpoint | None,
        target: Uri,
        dest: Address,
        body: str,
        now: float,
        *,
        from_user: str = "asterisk",
        content_type: str = "text/plain",
        transport: str = "UDP",
    ) -> list[Action]:
        """A MESSAGE outside any dialog, over ``transport`` (the one the contact
        registered over: a browser's WebSocket)."""
        user = (endpoint.from_user if endpoint is not None else None) or from_user or "asterisk"
        request = build_request(
            "MESSAGE",
            target,
            from_=self._local_from(user),
            to=NameAddr(target),
            call_id=new_call_id(),
            cseq=1,
            sent_by=self.sent_by(transport),
            transport=transport,
            headers=[("User-Agent", USER_AGENT)],
            body=body.encode(),
            content_type=content_type,
        )
        return self._send_out_of_dialog(request, dest, now, transport)

    def send_refer(
        self,
        target: Uri,
        dest: Address,
        refer_to: str,
        now: float,
        *,
        from_user: str = "asterisk",
        headers: Iterable[tuple[str, str]] = (),
        transport: str = "UDP",
    ) -> list[Action]:
        """A REFER outside any dialog (``/endpoints/refer``). ``headers`` are the
        request's variables (``Refer-Sub: false`` asks for no implicit subscription;
        ``display_name`` is the Refer-To's display name); the ones res_pjsip_refer blocks
        are left out. The NOTIFYs of the subscription are answered 200 until one
        terminates it; none are expected when the 2xx says ``Refer-Sub: false``."""
        extra: list[tuple[str, str]] = []
        display = ""
        for name, value in headers:
            key = name.strip().lower()
            if key == "display_name":
                display = value.replace("\\", "\\\\").replace('"', '\\"')
            elif key not in REFER_BLOCKED_HEADERS:
                extra.append((name.strip(), value))
        refer_to_value = f'"{display}" <{refer_to}>' if display else f"<{refer_to}>"
        request = build_request(
            "REFER",
            target,
            from_=self._local_from(from_user),
            to=NameAddr(target),
            call_id=new_call_id(),
            cseq=1,
            sent_by=self.sent_by(transport),
            transport=transport,
            contact=self.contact(from_user, transport),
            headers=[("Refer-To", refer_to_value), ("User-Agent", USER_AGENT), *extra],
        )
        for key, sub in list(self._refers_out.items()):
            if sub.expires_at <= now:
                del self._refers_out[key]
        self._refers_out[request.call_id] = _ReferOut(
            request.call_id, request.from_.tag or "", now + REFER_OUT_EXPIRES
        )
        return self._send_out_of_dialog(request, dest, now, transport)

    def _refer_out_response(self, response: Response) -> None:
        sub = self._refers_out.get(response.call_id)
        if sub is None or response.status < 200:
            return
        refer_sub = (response.headers.get("refer-sub") or "").strip().lower()
        if response.status >= 300 or refer_sub == "false":
            del self._refers_out[response.call_id]  # failed, or no subscription
            return
        sub.remote_tag = response.to.tag

    def _refer_out_notify(
        self, tx: ServerTransaction, request: Request, now: float
    ) -> list[Action]:
        """A NOTIFY of the subscription of a REFER we sent: 200, until it is terminated."""
        sub = self._refers_out[request.call_id]
        try:
            from_tag = request.from_.tag
        except SipParseError:
            return self._respond(tx, 400, now)
        if (
            request.to.tag != sub.local_tag
            or (sub.remote_tag is not None and from_tag != sub.remote_tag)
            or sub.expires_at <= now
        ):
            return self._respond(tx, 481, now)
        state = (request.headers.get("subscription-state") or "").strip().lower()
        if state.startswith("terminated"):
            del self._refers_out[request.call_id]
        return self._respond(tx, 200, now, to_tag=sub.local_tag)

    def _local_from(self, user: str) -> NameAddr:
        """``user`` at our UDP address, as the From of a request outside any dialog."""
        host, port = self.addresses.get("UDP", ("127.0.0.1", 5060))
        return NameAddr(Uri("sip", user, host, port), params={"tag": new_tag()})

    def _send_out_of_dialog(
        self, request: Request, dest: Address, now: float, transport: str = "UDP"
    ) -> list[Action]:
        _tx, events = self.layer.send_request(request, dest, now, transport=transport)
        return list(self._process(events, now))

    # ------------------------------------------------------------------ contacts

    def contacts(self, aor: str, now: float) -> list[Binding]:
        return self.location.lookup(aor, now)

    def qualify(self, aor: str, now: float) -> list[Action]:
        """Send OPTIONS to every contact of ``aor`` now."""
        out: list[Action] = []
        for binding in self.location.lookup(aor, now):
            q = self._qualify.get((aor, binding.uri)) or _Qualify(aor, binding.uri, now)
            out.extend(self._send_qualify(q, binding, now))
        return out

    def _send_qualify(self, q: _Qualify, binding: Binding, now: float) -> list[Action]:
        try:
            uri = parse_uri(binding.uri)
        except SipParseError:
            return []
        dest = binding.source or _address_of(uri)
        transport = binding.transport.upper()
        conf = self.settings.aors.get(q.aor)
        proxy = _proxy_of(conf.outbound_proxy if conf is not None else None)
        if proxy is not None:
            dest = _address_of(proxy.uri)
        request = build_request(
            "OPTIONS",
            uri,
            from_=self._local_from("qualify"),
            to=NameAddr(uri),
            call_id=new_call_id(),
            cseq=1,
            sent_by=self.sent_by(transport),
            transport=transport,
            route=[proxy] if proxy is not None else (),
            headers=[("Accept", "application/sdp")],
        )
        tx, events = self.layer.send_request(request, dest, now, transport=transport)
        q.sent_at = now
        q.tx = tx
        self._qualify_tx[id(tx)] = q
        return list(self._process(events, now))

    def _qualify_due(self, now: float) -> list[Action]:
        out: list[Action] = []
        for (aor, uri), q in list(self._qualify.items()):
            if q.next_at > now:
                continue
            freq = self._qualify_frequency(aor)
            if freq <= 0:
                del self._qualify[(aor, uri)]
                continue
            q.next_at = now + freq
            binding = next((b for b in self.location.lookup(aor, now) if b.uri == uri), None)
            if binding is None:
                del self._qualify[(aor, uri)]
                continue
            out.extend(self._send_qualify(q, binding, now))
        return out

    def start_qualify(self, now: float) -> None:
        """Schedule qualify of the static contacts (at start and after a reload)."""
        for aor in self.settings.aors.values():
            if aor.qualify_frequency <= 0:
                continue
            for binding in self.location.lookup(aor.name, now):
                self._qualify.setdefault(
                    (aor.name, binding.uri), _Qualify(aor.name, binding.uri, now)
                )


# --------------------------------------------------------------------------- helpers


_FLOW_TRANSPORTS = ("WS", "WSS")
"""Transports whose peer is reached only on the connection it opened (a browser)."""


def _proxy_of(text: str | None) -> NameAddr | None:
    """The Route of an ``outbound_proxy`` URI, always a loose router (``;lr`` added)."""
    if not text:
        return None
    try:
        uri = parse_uri(text)
    except SipParseError:
        return None
    if not uri.host:
        return None
    uri.params.setdefault("lr", None)
    return NameAddr(uri)


def _sends(events: Iterable[Event]) -> list[Action]:
    return [e for e in events if isinstance(e, Send)]


def _sdp_of(message: Request | Response) -> SessionDescription | None:
    if not message.body or (message.content_type or "application/sdp") != "application/sdp":
        return None
    try:
        return parse_sdp(message.body)
    except SdpError:
        return None


def _sip_target(target: str) -> Uri | None:
    """``target`` as a sip:/sips: URI, or None."""
    try:
        uri = parse_uri(target)
    except SipParseError:
        return None
    return uri if uri.scheme in ("sip", "sips") and uri.host else None


def _contact_address(request: Request, source: Address) -> Address:
    try:
        contacts = request.contacts
    except SipParseError:
        return source
    if contacts and contacts[0].uri.host:
        return _address_of(contacts[0].uri)
    return source


def _dtmf_info(request: Request) -> tuple[str | None, int]:
    body = request.body.decode("utf-8", "replace")
    kind = request.content_type or ""
    if kind == "application/dtmf-relay":
        m = _DTMF_RELAY.search(body)
        d = _DTMF_DURATION.search(body)
        duration = int(d.group(1)) if d else 100
        return (m.group(1).upper() if m else None), duration
    if kind == "application/dtmf":
        text = body.strip()
        if len(text) == 1 and text.upper() in "0123456789*#ABCD":
            return text.upper(), 100
        if text.isdigit() and int(text) <= 15:
            return "0123456789*#ABCD"[int(text)], 100
    return None, 0


def _reason_cause(request: Request) -> int:
    """The Q.850 cause of a BYE's ``Reason: Q.850;cause=N`` header, else 16."""
    reason = request.headers.get("reason") or ""
    m = re.search(r"q\.850\s*;.*?cause\s*=\s*([0-9]+)", reason, re.I)
    return int(m.group(1)) if m else 16


def _phrase(status: int) -> str:
    from pyari.sip.message import reason_phrase

    return reason_phrase(status)


def _from_user(request: Request) -> str:
    """The user part of the From URI ("" when there is none)."""
    try:
        return request.from_.uri.user or ""
    except SipParseError:
        return ""


def _digest_answer(authorizations: list[str]) -> tuple[str, str]:
    """(nonce, response) of the first Digest ``Authorization`` value, as Asterisk reports
    them in a ChallengeResponseFailed event (its nonce cut to 63 characters)."""
    for value in authorizations:
        try:
            scheme, params = parse_auth_header(value)
        except SipParseError:
            continue
        if scheme == "digest":
            return params.get("nonce", "")[:63], params.get("response", "")[:255]
    return "", ""
