"""PJSIP channels: SIP phones and trunks (``PJSIP/<endpoint>``, ``PJSIP/<endpoint>/<uri>``).

:class:`PjsipTech` joins the sans-IO :class:`~pyari.sip.ua.UserAgent` (through the
:class:`~pyari.sip.service.SipService` shell) to the core:

* an inbound INVITE makes a channel ``PJSIP/<endpoint>-<n>`` in state Ring that runs the
  dialplan at the endpoint's context with the request-URI user as extension; Ringing,
  Progress (183 + SDP, early media) and Answer (200 + SDP) follow the dialplan;
* outbound: ``request``/``call`` send an INVITE to the endpoint's registered (or static)
  contact, or to the URI given; 180/183/200 become Ringing/early media/Up, failures
  hang the channel up with chan_pjsip's SIP → Q.850 mapping;
* audio: one :class:`~pyari.channels.rtp_media.RtpStream` per channel feeds the media
  engine stream; RFC 4733 and SIP INFO digits become ChannelDtmfReceived;
* re-INVITEs that put us on hold publish ChannelHold/ChannelUnhold; REFER is a blind
  transfer (BridgeBlindTransfer), or with ``transfer_handling=ari-only`` a ChannelTransfer
  the app answers with ``transfer_progress``; MESSAGE becomes TextMessageReceived and
  ``/endpoints/sendMessage`` to ``pjsip:<endpoint>`` sends one;
* endpoints ``PJSIP/<name>`` are online while one of their AORs has a contact;
  registrations and qualify publish ContactStatusChange and PeerStatusChange.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.channels.webrtc_media import (
    EDGE_CODECS,
    CertificateStore,
    MediaSecurity,
    available_codecs,
    engine_format,
    wants_security,
)
from pyari.config.codecs import OPUS_DEFAULTS, CodecSettings, OpusSettings
from pyari.config.pjsip import Endpoint as EndpointConf
from pyari.config.pjsip import PjsipSettings
from pyari.core import causes, security
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.endpoint import Endpoint, Refer, TextMessage
from pyari.core.snapshots import CallerId
from pyari.core.tech import BadDialString, EndpointNotFound, pvt_of, pvt_or_none
from pyari.media.frames import MediaFormat
from pyari.media.service import media_of
from pyari.sip.message import SipParseError, Uri, parse_uri
from pyari.sip.registrar import Binding, ChangeKind
from pyari.sip.sdp import (
    MediaSession,
    SessionDescription,
    TransportParams,
    create_answer,
    create_offer,
    negotiated,
)
from pyari.sip.service import SipService
from pyari.sip.ua import (
    Action,
    Answered,
    Call,
    CallEnded,
    CallFailed,
    ContactChanged,
    DtmfInfo,
    IncomingCall,
    MediaChanged,
    MessageReceived,
    Progress,
    QualifyResult,
    Reinvite,
    SecurityAlert,
    TransferRequested,
    UserAgent,
    status_to_cause,
)

if TYPE_CHECKING:
    from pyari.core.engine import Core
    from pyari.media.mixer import Stream

log = logging.getLogger(__name__)
verbose = logging.getLogger("pyari.verbose")

TECH = "PJSIP"
_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
"""What may stand as the user of ``PJSIP/<user>@<endpoint>`` (RFC 3261 ``user``)."""
SILENCE = {"ulaw": b"\xff" * 160, "alaw": b"\xd5" * 160}


@dataclass(eq=False)
class PjsipPvt:
    """What a PJSIP channel holds: its SIP session and its RTP."""

    endpoint: EndpointConf
    call: Call | None = None
    rtp: RtpStream | None = None
    media: MediaSession | None = None
    target: str | None = None
    """The URI dialed (``PJSIP/ep/<uri>``) for an outbound channel."""
    user: str | None = None
    """The user dialed (``PJSIP/<user>@ep``): the user part of the contact's URI."""
    answer_sdp: bytes = b""
    offer: SessionDescription | None = None
    session_id: str = field(default_factory=lambda: str(int(random.random() * 1_000_000_000)))
    """The o= line's session id: a number below 10⁹ drawn as Asterisk draws it
    (``ast_random``, not a secret: no system call per call)."""
    sdp_version: int = 1
    early_sent: bool = False
    remote_hold: bool = False
    media_host: str = "127.0.0.1"
    subscription: Any = None
    ari_transfer: AriTransfer | None = None
    """A REFER handed to ARI (``transfer_handling=ari-only``) that is not finished."""
    security: MediaSecurity | None = None
    """ICE and DTLS of a WebRTC endpoint's media (channels/webrtc_media.py)."""
    opus: OpusSettings = OPUS_DEFAULTS
    """codecs.conf ``[opus]`` of the server when the channel was made: its SDP and Opus
    stream keep them through a reload."""


@dataclass(eq=False)
class AriTransfer:
    """What a REFER asked for, kept for the ChannelTransfer events of its progress."""

    exten: str
    protocol_id: str | None = None
    params: list[tuple[str, str]] = field(default_factory=list)
    dest: Channel | None = None
    """The channel of the dialog a Replaces names (attended transfer)."""
    sent_100: bool = False


TRANSFER_PROGRESS = {
    # indicate("transfer", ...) → (sipfrag status, ChannelTransfer state), as res_pjsip_refer
    "progress": (100, "channel_progress"),
    "success": (200, "channel_answered"),
    "unavailable": (503, "channel_declined"),
    "failed": (603, "channel_declined"),
}


@dataclass
class ContactState:
    """What ``pjsip show contacts`` shows of one contact."""

    aor: str
    uri: str
    status: str = "NonQualified"
    rtt: float | None = None


def _replaces_of(target: Uri) -> tuple[str, str, str] | None:
    """(call-id, to-tag, from-tag) of the ``Replaces`` header of a Refer-To URI."""
    if not target.headers:
        return None
    for item in target.headers.split("&"):
        name, _, value = item.partition("=")
        if name.strip().lower() != "replaces":
            continue
        call_id, *params = unquote(value).split(";")
        tags: dict[str, str] = {}
        for param in params:
            key, _, val = param.partition("=")
            tags[key.strip().lower()] = val.strip()
        return call_id.strip(), tags.get("to-tag", ""), tags.get("from-tag", "")
    return None


def _bridge_side(chan: Channel) -> dict[str, Any]:
    """``bridge`` and ``connected_channel`` (its one other member) of a channel."""
    bridge = chan.bridge
    if bridge is None:
        return {}
    out: dict[str, Any] = {}
    others = [c for c in bridge.channels if c is not chan]
    if len(others) == 1:
        out["connected_channel"] = others[0].snapshot()
    out["bridge"] = bridge.snapshot()
    return out


def _default_port(transport: str) -> int:
    return 5061 if transport == "TLS" else 5060


_LOCAL_HOST_TTL = 30.0
"""Seconds a local address learnt for a destination is kept (routes rarely change)."""
_LOCAL_HOST_MAX = 256
_local_hosts: dict[tuple[int, str], tuple[float, str]] = {}
"""(family, toward) -> (learnt at, local address): what :func:`_local_host` found lately."""


def _local_host(bind_host: str, toward: str, clock: Callable[[], float] = time.monotonic) -> str:
    """A concrete local address for SDP when bound to the wildcard.

    The address the system routes from toward a destination is kept for
    ``_LOCAL_HOST_TTL`` seconds (at most ``_LOCAL_HOST_MAX`` destinations), so calls from
    the same peer do not open, connect and close a socket each (Asterisk works its
    address out once). A failed look-up (``127.0.0.1``) is not kept.
    """
    if bind_host not in ("0.0.0.0", "::", ""):
        return bind_host
    family = socket.AF_INET6 if ":" in toward else socket.AF_INET
    key = (family, toward)
    now = clock()
    kept = _local_hosts.get(key)
    if kept is not None and now - kept[0] < _LOCAL_HOST_TTL:
        return kept[1]
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.connect((toward, 9))
            host = str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"
    if len(_local_hosts) >= _LOCAL_HOST_MAX and key not in _local_hosts:
        _local_hosts.clear()
    _local_hosts[key] = (now, host)
    return host


class PjsipTech:
    name = TECH
    description = "PJSIP Channel Driver"

    def __init__(
        self,
        settings: PjsipSettings,
        rtp: RtpMedia | None = None,
        *,
        exten_exists: Callable[[str, str], bool] | None = None,
        codecs: CodecSettings | None = None,
    ) -> None:
        self.settings = settings
        self.codecs = codecs if codecs is not None else CodecSettings()
        """This server's codecs.conf (``[opus]``): a call takes the ones in force when it
        is made (:meth:`reload_codecs` replaces them for the calls after)."""
        self.core: Core | None = None
        self.ua = UserAgent(settings)
        self.service: SipService | None = None
        self.rtp = rtp
        self._seq = itertools.count(1)
        self.contacts: dict[tuple[str, str], ContactState] = {}
        self.exten_exists = exten_exists
        """Whether an extension exists in the dialplan (an INVITE to none gets 404)."""
        self.certificates = CertificateStore()
        """DTLS certificates of the endpoints with ``media_encryption=dtls``."""

    # -------------------------------------------------------------- lifecycle

    async def start(self, core: Core, rtp: RtpMedia, *, port: int | None = None) -> None:
        """Bind the transports and announce the endpoints."""
        self.core = core
        self.rtp = rtp
        core.register_tech(self)
        core.endpoints.register_message_tech("pjsip", self._send_message)
        core.endpoints.register_message_tech("sip", self._send_message)
        core.endpoints.register_refer_tech("pjsip", self._send_refer)
        core.endpoints.register_refer_tech("sip", self._send_refer)
        self.service = SipService(self.ua, self._event)
        await self.service.open(self.settings.transports.values(), port=port)
        for transport, ep in self.service.transports.items():
            verbose.info("  == pjsip transport %s bound to %s:%d", transport, *ep.address)
        self._apply_settings(self.ua.reload(self.settings, self.service.now()))

    async def add_transports(self, core: Core, rtp: RtpMedia, *, port: int | None = None) -> None:
        """Start the transports of the settings that do not run yet (after a reload); the
        first ones start SIP. Raises OSError when one cannot bind."""
        if self.service is None:
            if self.settings.transports:
                await self.start(core, rtp, port=port)
            return
        new = [
            t
            for name, t in self.settings.transports.items()
            if name not in self.service.transports and t.protocol in ("udp", "tcp", "tls")
        ]
        await self.service.open(new, port=port)
        for conf in new:
            ep = self.service.transports.get(conf.name)
            if ep is not None:
                verbose.info("  == pjsip transport %s bound to %s:%d", conf.name, *ep.address)

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.close()
            self.service = None

    @property
    def running(self) -> bool:
        return self.service is not None and bool(self.service.transports)

    def address(self, transport: str | None = None) -> tuple[str, int]:
        """The bound address of a transport (tests use it with ``bind=...:0``)."""
        if self.service is None:
            raise RuntimeError("PJSIP is not started")
        return self.service.address(transport)

    def now(self) -> float:
        return self.service.now() if self.service is not None else time.monotonic()

    def _execute(self, actions: list[Action]) -> None:
        if self.service is not None:
            self.service.execute(actions)

    def reload(self, settings: PjsipSettings) -> None:
        """``pjsip reload``: new endpoints, AORs, auths; calls in progress keep theirs."""
        self.settings = settings
        actions = self.ua.reload(settings, self.now())
        self._apply_settings(actions)

    def reload_codecs(self, codecs: CodecSettings) -> None:
        """``module reload codec_opus.so``: codecs.conf for the calls made from now on;
        calls in progress keep theirs."""
        self.codecs = codecs

    def _apply_settings(self, actions: list[Action]) -> None:
        core = self.core
        if core is None:
            return
        for name in self.settings.endpoints:
            core.endpoints.create(TECH, name, "offline")
        for endpoint in core.endpoints.of_tech(TECH):
            if endpoint.resource not in self.settings.endpoints and not endpoint.channel_ids:
                core.endpoints.remove(endpoint)
        self._execute(actions)
        self.ua.start_qualify(self.now())
        for name in self.settings.endpoints:
            self._update_endpoint_state(name)
        if self.service is not None:
            self.service.arm()

    # -------------------------------------------------------------- endpoints

    def _endpoint(self, name: str) -> Endpoint | None:
        return self.core.endpoints.find(f"{TECH}/{name}") if self.core is not None else None

    def endpoint_online(self, conf: EndpointConf) -> bool:
        now = self.now()
        for aor in conf.aors:
            for binding in self.ua.location.lookup(aor, now):
                state = self.contacts.get((aor, binding.uri))
                if state is None or state.status != "Unreachable":
                    return True
        return False

    def _update_endpoint_state(self, name: str) -> None:
        conf = self.settings.endpoints.get(name)
        endpoint = self._endpoint(name)
        if conf is None or endpoint is None:
            return
        state = "online" if self.endpoint_online(conf) else "offline"
        if state == endpoint.state:
            return
        endpoint.set_state(state)
        endpoint.topic.publish(
            ev.PeerStatusChange(
                endpoint=endpoint.snapshot(),
                peer={"peer_status": "Reachable" if state == "online" else "Unreachable"},
            )
        )
        verbose.info(
            "Endpoint %s is now %s", name, "Reachable" if state == "online" else "Unreachable"
        )

    def _endpoints_of_aor(self, aor: str) -> list[str]:
        return [n for n, e in self.settings.endpoints.items() if aor in e.aors]

    def _contact_status(self, aor: str, uri: str, status: str, rtt: float | None) -> None:
        info = {
            "uri": uri,
            "contact_status": status,
            "aor": aor,
            "roundtrip_usec": str(int(rtt * 1_000_000)) if rtt is not None else "0",
        }
        for name in self._endpoints_of_aor(aor):
            endpoint = self._endpoint(name)
            if endpoint is not None:
                endpoint.topic.publish(
                    ev.ContactStatusChange(endpoint=endpoint.snapshot(), contact_info=info)
                )

    def _contact_changed(self, event: ContactChanged) -> None:
        key = (event.aor, event.binding.uri)
        qualified = self._qualify_frequency(event.aor) > 0
        if event.kind in (ChangeKind.REMOVED, ChangeKind.EXPIRED):
            self.contacts.pop(key, None)
            self._contact_status(event.aor, event.binding.uri, "Removed", None)
        elif event.kind is ChangeKind.CREATED:
            status = "Unknown" if qualified else "NonQualified"
            self.contacts[key] = ContactState(event.aor, event.binding.uri, status)
            self._contact_status(event.aor, event.binding.uri, status, None)
            if event.binding.static:
                verbose.info("Contact %s/%s has been created", event.aor, event.binding.uri)
            else:
                verbose.info("Added contact '%s' to AOR '%s'", event.binding.uri, event.aor)
        else:
            self.contacts.setdefault(key, ContactState(event.aor, event.binding.uri))
        for name in self._endpoints_of_aor(event.aor):
            self._update_endpoint_state(name)

    def _qualify_frequency(self, aor: str) -> int:
        conf = self.settings.aors.get(aor)
        return conf.qualify_frequency if conf is not None else 0

    def _qualified(self, event: QualifyResult) -> None:
        key = (event.aor, event.uri)
        state = self.contacts.setdefault(key, ContactState(event.aor, event.uri))
        status = "Reachable" if event.rtt is not None else "Unreachable"
        state.rtt = event.rtt
        if status != state.status:
            state.status = status
            self._contact_status(event.aor, event.uri, status, event.rtt)
            for name in self._endpoints_of_aor(event.aor):
                self._update_endpoint_state(name)

    # -------------------------------------------------------------- UA events

    def _event(self, action: Action) -> None:
        if isinstance(action, IncomingCall):
            self._incoming(action)
            return
        if isinstance(action, ContactChanged):
            self._contact_changed(action)
            return
        if isinstance(action, QualifyResult):
            self._qualified(action)
            return
        if isinstance(action, MessageReceived):
            self._message_received(action)
            return
        if isinstance(action, SecurityAlert):
            _report(action)
            return
        call = getattr(action, "call", None)
        chan: Channel | None = call.data if call is not None else None  # type: ignore[assignment]
        if chan is None or chan.destroyed:
            if isinstance(action, TransferRequested):  # no channel to transfer (chan_pjsip: 404)
                self._execute(self.ua.refer_notify(action.call, 404, self.now()))
            return
        pvt = pvt_of(chan, PjsipPvt)
        if isinstance(action, CallEnded):
            chan.queue_hangup(action.cause)
        elif isinstance(action, CallFailed):
            chan.queue_hangup(status_to_cause(action.status))
        elif isinstance(action, Progress):
            if action.sdp is not None:
                self._remote_answer(chan, pvt, action.sdp)
                self._start_media(chan, pvt)
            if action.status == 180:
                chan.set_state("Ringing")
            elif action.status == 183 and action.sdp is not None:
                chan.control_received("progress")
        elif isinstance(action, Answered):
            if action.sdp is not None:
                self._remote_answer(chan, pvt, action.sdp)
            self._start_media(chan, pvt)
            chan.answer()
        elif isinstance(action, Reinvite):
            self._reinvite(chan, pvt, action)
        elif isinstance(action, MediaChanged):
            self._remote_answer(chan, pvt, action.sdp)
        elif isinstance(action, DtmfInfo):
            chan.dtmf_received(action.digit, action.duration_ms)
        elif isinstance(action, TransferRequested):
            self._transfer(chan, pvt, action)

    def _codecs(self, conf: EndpointConf) -> list[str]:
        names = available_codecs(conf.allow)
        return names or (["ulaw"] if not conf.allow else [])

    def _open_rtp(self, pvt: PjsipPvt, toward: tuple[str, int]) -> RtpStream:
        """The channel's RTP socket, bound as pjsip.conf says (``media_address``,
        ``bind_rtp_to_media_address``), with its ICE/DTLS state for a WebRTC endpoint;
        ``pvt.media_host`` becomes the address put in SDP."""
        assert self.rtp is not None
        conf = pvt.endpoint
        local = self._media_host(toward)
        use_media = bool(conf.media_address) and conf.bind_rtp_to_media_address
        bind = conf.media_address if use_media and conf.media_address else local
        pvt.media_host = conf.media_address or local
        rtp = self.rtp.open(bind)
        if wants_security(conf):
            cert = self.certificates.for_endpoint(conf) if conf.media_encryption == "dtls" else None
            pvt.security = MediaSecurity(
                conf, self.rtp.settings, cert, conf.media_address or rtp.address[0], rtp.port
            )
        return rtp

    @staticmethod
    def _transport(pvt: PjsipPvt, *, offer: bool) -> TransportParams | None:
        return pvt.security.params(offer=offer) if pvt.security is not None else None

    def _media_failed(self, pvt: PjsipPvt, reason: str) -> None:
        """DTLS failed (a fingerprint that is not the one in SDP...): hang up."""
        chan = pvt.call.data if pvt.call is not None else None
        log.warning("DTLS failure on %s: %s", getattr(chan, "name", "a call"), reason)
        if isinstance(chan, Channel) and not chan.destroyed:
            chan.queue_hangup(causes.BEARERCAPABILITY_NOTAVAIL)

    def _media_host(self, source: tuple[str, int]) -> str:
        host = self.ua.addresses.get("UDP", ("127.0.0.1", 0))[0]
        return _local_host(host, source[0])

    def _incoming(self, event: IncomingCall) -> None:
        core = self.core
        call = event.call
        conf = call.endpoint
        if core is None or self.rtp is None or core.pbx_starter is None:
            self._execute(self.ua.reject(call, 503, self.now()))
            return
        if self.exten_exists is not None and not self.exten_exists(conf.context, event.exten):
            log.warning(
                "Call from '%s' to extension '%s' rejected because extension not found in "
                "context '%s'.", conf.name, event.exten, conf.context,
            )  # fmt: skip
            self._execute(self.ua.reject(call, 404, self.now()))
            return
        pvt = PjsipPvt(conf, call=call, offer=event.offer, opus=self.codecs.opus)
        codecs = self._codecs(conf)
        if event.offer is not None:
            rtp = self._open_rtp(pvt, event.source)
            answer, media = create_answer(
                event.offer,
                codecs,
                pvt.media_host,
                rtp.port,
                session_id=pvt.session_id,
                dtmf=conf.dtmf_mode in ("rfc4733", "auto", "auto_info"),
                transport=self._transport(pvt, offer=False),
                opus=pvt.opus,
            )
            pvt.rtp = rtp
            if media is None or not self._configure_rtp(pvt, media, answered=True):
                pvt.rtp = None
                rtp.close()
                self._execute(self.ua.reject(call, 488, self.now()))
                return
            pvt.answer_sdp = answer.to_bytes()
        else:
            # late offer: we offer in the 200 and read the answer in the ACK
            rtp = self._open_rtp(pvt, event.source)
            pvt.rtp = rtp
            pvt.answer_sdp = create_offer(
                codecs,
                pvt.media_host,
                rtp.port,
                session_id=pvt.session_id,
                transport=self._transport(pvt, offer=True),
                opus=pvt.opus,
            ).to_bytes()
        # no RTP relayed to the caller before the answer or early media (183)
        rtp.relay_ready = False

        def setup(chan: Channel) -> PjsipPvt:
            call.data = chan
            self._wire(chan, pvt)
            return pvt

        chan = core.new_channel(
            self,
            f"{TECH}/{conf.name}-{next(self._seq):08x}",
            setup=setup,
            state="Ring",
            context=conf.context,
            exten=event.exten,
            caller=CallerId(event.caller_name, event.caller_number),
            language=conf.language or "en",
        )
        endpoint = self._endpoint(conf.name)
        if endpoint is not None:
            endpoint.add_channel(chan)
        core.start_pbx(chan)

    def _wire(self, chan: Channel, pvt: PjsipPvt) -> None:
        """Follow the channel's state: Ringing on an inbound channel sends 180 (until
        the call is answered, :meth:`_unwire`; an outbound one never rings back)."""
        call = pvt.call
        if call is not None and call.direction == "in":

            def on_message(_topic: object, message: object) -> None:
                if (
                    isinstance(message, ev.ChannelStateChange)
                    and message.channel.state == "Ringing"
                ):
                    self._execute(self.ua.ring(call, self.now()))

            pvt.subscription = chan.topic.subscribe(on_message)
        if pvt.rtp is not None:
            pvt.rtp.on_dtmf = lambda digit, ms: self._rtp_dtmf(chan, digit, ms)

    @staticmethod
    def _unwire(pvt: PjsipPvt) -> None:
        """Stop following the channel's state: its call is answered or over (the user
        agent sends no 180 then), or the channel hangs up."""
        if pvt.subscription is not None:
            pvt.subscription.unsubscribe()
            pvt.subscription = None

    def _rtp_dtmf(self, chan: Channel, digit: str, duration_ms: int) -> None:
        if not chan.destroyed:
            chan.dtmf_received(digit, duration_ms)

    def _configure_rtp(self, pvt: PjsipPvt, media: MediaSession, *, answered: bool) -> bool:
        """Point the RTP stream at what SDP agreed (``answered``: the agreement is our
        answer); False when the peer's WebRTC attributes cannot be used."""
        pvt.media = media
        rtp = pvt.rtp
        if rtp is None:
            return True
        name = media.codec.name
        codec = None
        if name in EDGE_CODECS:
            from pyari.media.rtp_codecs import make_codec

            codec = make_codec(name, media.fmtp, self._engine_rate(), pvt.opus)
        remote = (media.remote_address, media.remote_port)
        rtp.configure(
            remote,
            media.payload_type,
            dtmf_payload_type=media.dtmf_payload_type,
            rate=media.codec.clock_rate,
            symmetric=pvt.endpoint.rtp_symmetric,
            silence=SILENCE.get(name),
            codec=codec,
        )
        pvt.remote_hold = media.remote_hold
        rtp.send_enabled = media.direction in ("sendrecv", "sendonly")
        security = pvt.security
        if security is not None:
            return security.attach(
                rtp,
                media.transport,
                remote,
                answered_by_us=answered,
                on_failed=lambda reason: self._media_failed(pvt, reason),
            )
        return True

    def _remote_answer(self, chan: Channel, pvt: PjsipPvt, sdp: SessionDescription) -> None:
        """The far end answered our offer (outbound 183/200, or an ACK after a late offer)."""
        if pvt.answer_sdp and pvt.offer is None:
            from pyari.sip.sdp import parse_sdp

            offer = parse_sdp(pvt.answer_sdp)
        elif pvt.offer is not None and pvt.call is not None and pvt.call.direction == "out":
            offer = pvt.offer
        else:
            return
        media = negotiated(offer, sdp, self._codecs(pvt.endpoint))
        if media is not None and not self._configure_rtp(pvt, media, answered=False):
            self._media_failed(pvt, "the answer has no usable DTLS fingerprint")

    def _start_media(self, chan: Channel, pvt: PjsipPvt) -> None:
        media = media_of(chan.core)
        if media is not None and pvt.rtp is not None and not chan.destroyed:
            media.channel_media(chan)

    def _reinvite(self, chan: Channel, pvt: PjsipPvt, event: Reinvite) -> None:
        call = event.call
        rtp = pvt.rtp
        now = self.now()
        if event.offer is None or rtp is None:
            # an offerless re-INVITE: offer what we have
            self._execute(self.ua.answer_reinvite(call, pvt.answer_sdp or None, now))
            return
        pvt.sdp_version += 1
        answer, media = create_answer(
            event.offer,
            self._codecs(pvt.endpoint),
            pvt.media_host,
            rtp.port,
            session_id=pvt.session_id,
            version=pvt.sdp_version,
            dtmf=pvt.endpoint.dtmf_mode in ("rfc4733", "auto", "auto_info"),
            transport=self._transport(pvt, offer=False),
            opus=pvt.opus,
        )
        if media is None:
            self._execute(self.ua.answer_reinvite(call, None, now, status=488))
            return
        was_held = pvt.remote_hold
        pvt.answer_sdp = answer.to_bytes()
        self._configure_rtp(pvt, media, answered=True)
        self._execute(self.ua.answer_reinvite(call, pvt.answer_sdp, now))
        if media.remote_hold and not was_held:
            chan.publish(ev.ChannelHold(channel=chan.snapshot()))
        elif was_held and not media.remote_hold:
            chan.publish(ev.ChannelUnhold(channel=chan.snapshot()))

    def _transfer(self, chan: Channel, pvt: PjsipPvt, event: TransferRequested) -> None:
        """A blind transfer (REFER): the other party of the bridge goes to the target;
        with ``transfer_handling=ari-only`` the REFER is only reported to ARI."""
        call = event.call
        now = self.now()
        try:
            target = parse_uri(event.refer_to)
        except SipParseError:
            self._execute(self.ua.refer_notify(call, 400, now))
            return
        if pvt.endpoint.transfer_handling == "ari-only":
            self._ari_transfer(chan, pvt, target)
            self._execute(self.ua.refer_accept(call, now))  # Refer-Sub: false → 200 now
            return
        exten = target.user or ""
        context = chan.get_var("TRANSFER_CONTEXT") or chan.context
        bridge = chan.bridge
        if bridge is None or not exten:
            self._execute(self.ua.refer_notify(call, 603, now))
            return
        others = [c for c in bridge.channels if c is not chan]
        transferee = others[0] if len(others) == 1 else None
        bridge.topic.publish(
            ev.BridgeBlindTransfer(
                channel=chan.snapshot(),
                exten=exten,
                context=context,
                result="Success",
                is_external=True,
                transferee=transferee.snapshot() if transferee is not None else ev.UNSET,
                bridge=bridge.snapshot(),
            )
        )
        if transferee is not None:
            control = transferee.control
            if control is not None:

                def go(t: Channel = transferee) -> None:
                    t.set_location(context, exten, 1)
                    control.goto = True
                    control.leave()

                self._spawn_on(control, go)
        self._execute(self.ua.refer_notify(call, 200, now))

    def _ari_transfer(self, chan: Channel, pvt: PjsipPvt, target: Uri) -> None:
        """res_pjsip_refer's ari-only mode: nothing is done but a ChannelTransfer event
        (without a state); the app reports progress with ``transfer_progress``."""
        transfer = AriTransfer(exten=(target.user or "").split(";", 1)[0])
        replaces = _replaces_of(target)
        if replaces is not None:
            call_id, to_tag, from_tag = replaces
            transfer.protocol_id = call_id
            transfer.params = [("from", from_tag), ("to", to_tag)]
            for other in self.ua.calls.values():
                dialog = other.dialog
                if (
                    dialog is not None
                    and dialog.call_id == call_id
                    and dialog.local_tag == to_tag
                    and dialog.remote_tag == from_tag
                    and isinstance(other.data, Channel)
                ):
                    transfer.dest = other.data
                    break
        pvt.ari_transfer = transfer
        self._publish_transfer(chan, transfer, None)

    def _ari_transfer_progress(self, chan: Channel, pvt: PjsipPvt, data: str | None) -> None:
        """``transfer_progress`` of the app: a NOTIFY (after a first 100 Trying) and a
        ChannelTransfer with the state; a final one ends the transfer."""
        transfer = pvt.ari_transfer
        found = TRANSFER_PROGRESS.get(data or "")
        if transfer is None or found is None or pvt.call is None:
            return
        status, state = found
        now = self.now()
        if not transfer.sent_100 and status != 100:
            self._execute(self.ua.refer_notify(pvt.call, 100, now))
        transfer.sent_100 = True
        if status >= 200:
            pvt.ari_transfer = None
        self._execute(self.ua.refer_notify(pvt.call, status, now))
        self._publish_transfer(chan, transfer, state)

    @staticmethod
    def _publish_transfer(chan: Channel, transfer: AriTransfer, state: str | None) -> None:
        destination: dict[str, Any] = {"destination": transfer.exten}
        if transfer.protocol_id is not None:
            destination["protocol_id"] = transfer.protocol_id
        if transfer.params:
            destination["additional_protocol_params"] = [
                {"parameter_name": k, "parameter_value": v} for k, v in transfer.params
            ]
        refer_to: dict[str, Any] = {"requested_destination": destination}
        dest = transfer.dest
        if dest is not None and not dest.destroyed:
            refer_to["destination_channel"] = dest.snapshot()
            refer_to.update(_bridge_side(dest))
        referred_by: dict[str, Any] = {"source_channel": chan.snapshot(), **_bridge_side(chan)}
        chan.publish(
            ev.ChannelTransfer(
                refer_to=refer_to,
                referred_by=referred_by,
                state=state if state is not None else ev.UNSET,
            )
        )

    def _spawn_on(self, control: Any, fn: Callable[[], None]) -> None:
        core = self.core
        if core is None:
            return

        async def run() -> None:
            try:
                await control.execute(fn)
            except Exception:
                log.debug("transfer: the transferee went away")

        core.spawn(run(), name="pjsip transfer")

    def _message_received(self, event: MessageReceived) -> None:
        endpoint = self._endpoint(event.endpoint.name)
        if endpoint is None:
            return
        endpoint.text_message_received(
            TextMessage(
                to=event.to,
                sender=event.from_,
                body=event.body,
                variables={"PJSIP_RECVADDR": f"{event.source[0]}:{event.source[1]}"},
            )
        )

    # -------------------------------------------------------------- outbound

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        self.core = core
        name, _, target = resource.partition("/")
        user: str | None = None
        if "@" in name and name not in self.settings.endpoints:
            user, _, name = name.partition("@")
        conf = self.settings.endpoints.get(name)
        if not name or (user is not None and not _SIP_USER.fullmatch(user)):
            raise BadDialString()
        if conf is None:
            raise EndpointNotFound()
        chan = core.new_channel(
            self,
            f"{TECH}/{name}-{next(self._seq):08x}",
            uniqueid=uniqueid,
            setup=lambda _chan: PjsipPvt(
                conf, target=target or None, user=user or None, opus=self.codecs.opus
            ),
            state="Down",
            context=conf.context,
            language=conf.language or "en",
        )
        endpoint = self._endpoint(name)
        if endpoint is not None:
            endpoint.add_channel(chan)
        return chan

    def _destination(self, pvt: PjsipPvt) -> tuple[Uri, tuple[str, int], str] | None:
        """(request URI, where to send, transport) of an outbound call: the URI dialed,
        else the first contact of the endpoint's AORs. The transport is the URI's
        ``transport=`` (``sips:`` is TLS), else the one the contact registered over, else
        the protocol of the endpoint's ``transport=``, else UDP."""
        now = self.now()
        if pvt.target:
            text = pvt.target if ":" in pvt.target.split("@")[0] else f"sip:{pvt.target}"
            try:
                uri = parse_uri(text)
            except SipParseError:
                return None
            transport = self._transport_of(pvt.endpoint, uri, None)
            return uri, (uri.host.strip("[]"), uri.port or _default_port(transport)), transport
        for aor in pvt.endpoint.aors:
            for binding in self.ua.location.lookup(aor, now):
                try:
                    uri = parse_uri(binding.uri)
                except SipParseError:
                    continue
                if pvt.user:
                    uri.user = pvt.user  # PJSIP/<user>@<endpoint>, as chan_pjsip
                transport = self._transport_of(pvt.endpoint, uri, binding)
                flow = transport in ("WS", "WSS")  # a browser: only its WebSocket reaches it
                dest = (
                    binding.source
                    if (binding.source is not None and (pvt.endpoint.rewrite_contact or flow))
                    else (uri.host.strip("[]"), uri.port or _default_port(transport))
                )
                return uri, dest, transport
        return None

    def _transport_of(self, conf: EndpointConf, uri: Uri, binding: Binding | None) -> str:
        if uri.transport in ("udp", "tcp", "tls"):
            return uri.transport.upper()
        if uri.scheme == "sips":
            return "TLS"
        if binding is not None and binding.source is not None and not binding.static:
            return binding.transport.upper()
        named = self.settings.transports.get(conf.transport or "")
        if named is not None and named.protocol in ("udp", "tcp", "tls"):
            return named.protocol.upper()
        return "UDP"

    def call(self, chan: Channel, timeout: float | None) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        found = self._destination(pvt)
        if found is None or self.rtp is None or self.service is None:
            log.warning("Unable to call %s: no contact for the endpoint", chan.name)
            chan.core.loop_call_soon(lambda: chan.queue_hangup(causes.CONGESTION))
            return
        uri, dest, transport = found
        codecs = self._codecs(pvt.endpoint) or ["ulaw"]
        # ARI's formats: only those of the endpoint's codecs, in allow order; none in
        # common (formats=slin16, as apps ask) leaves the offer to the endpoint, and
        # the channel is transcoded
        codecs = [c for c in codecs if c in chan.formats] or codecs
        rtp = self._open_rtp(pvt, dest)
        pvt.rtp = rtp
        offer = create_offer(
            codecs,
            pvt.media_host,
            rtp.port,
            session_id=pvt.session_id,
            dtmf_payload_type=101
            if pvt.endpoint.dtmf_mode in ("rfc4733", "auto", "auto_info")
            else None,
            transport=self._transport(pvt, offer=True),
            opus=pvt.opus,
        )
        pvt.offer = offer
        caller = chan.connected if chan.connected.number else chan.caller
        conf = pvt.endpoint
        call, actions = self.ua.invite(
            conf,
            uri,
            dest,
            offer.to_bytes(),
            self.now(),
            caller_number=caller.number or conf.callerid_number or "",
            caller_name=caller.name or conf.callerid_name or "",
            transport=transport,
        )
        call.data = chan
        pvt.call = call
        self._wire(chan, pvt)
        self._execute(actions)

    def answered(self, chan: Channel) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        call = pvt.call
        if call is None or call.direction != "in":
            return
        if pvt.rtp is not None:
            pvt.rtp.relay_ready = True
        self._start_media(chan, pvt)
        self._execute(self.ua.answer(call, pvt.answer_sdp, self.now()))
        if call.answered or call.ended:  # a Ringing state from now on sends nothing
            self._unwire(pvt)

    def indicate(self, chan: Channel, condition: str, data: str | None) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        call = pvt.call
        now = self.now()
        media = media_of(chan.core)
        if condition == "ringing":
            if call is not None and call.direction == "in" and not chan.up:
                if chan.state != "Ringing":
                    chan.set_state("Ringing")
                else:
                    self._execute(self.ua.ring(call, now))
        elif condition == "progress":
            self._early_media(chan, pvt)
        elif condition == "hold":
            if media is not None:
                media.start_moh(chan, data or None)
        elif condition == "unhold" and media is not None:
            media.stop_moh(chan)
        elif condition == "transfer":
            self._ari_transfer_progress(chan, pvt, data)

    def _early_media(self, chan: Channel, pvt: PjsipPvt) -> None:
        call = pvt.call
        if call is None or call.direction != "in" or chan.up or pvt.early_sent:
            return
        pvt.early_sent = True
        if pvt.rtp is not None:
            pvt.rtp.relay_ready = True
        self._start_media(chan, pvt)
        self._execute(self.ua.progress(call, pvt.answer_sdp, self.now()))

    def send_digit(self, chan: Channel, digit: str, duration_ms: int) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        call = pvt.call
        mode = pvt.endpoint.dtmf_mode
        if mode in ("info", "auto_info") or (pvt.rtp is None and call is not None):
            if call is not None:
                self._execute(self.ua.send_dtmf_info(call, digit, duration_ms, self.now()))
            return
        if pvt.rtp is not None and not pvt.rtp.send_dtmf(digit, duration_ms) and call is not None:
            self._execute(self.ua.send_dtmf_info(call, digit, duration_ms, self.now()))

    def transfer(self, chan: Channel, resource: str) -> None:
        """ARI redirect, as chan_pjsip: ``resource`` is an endpoint (its contact's URI) or a
        SIP URI; a ringing inbound call gets a 302 to it (and hangs up, cause 23), an
        answered one a REFER."""
        pvt = pvt_or_none(chan, PjsipPvt)
        call = pvt.call if pvt is not None else None
        if call is None:
            return
        target = resource
        if resource in self.settings.endpoints:
            found = self._target_of(f"pjsip:{resource}")
            target = str(found[1]) if found is not None else resource
        now = self.now()
        if chan.state == "Ring":
            actions = self.ua.redirect(call, target, now)
            if actions:
                chan.queue_hangup(status_to_cause(302))
        else:
            by = chan.get_var("SIPREFERREDBYHDR") or None
            actions = self.ua.refer(call, target, now, referred_by=by)
        if not actions:
            log.warning("PJSIP redirect of %s to %s failed", chan.name, resource)
        self._execute(actions)

    # -------------------------------------------------------------- media

    def media_format(self, chan: Channel) -> MediaFormat:
        pvt = pvt_of(chan, PjsipPvt)
        rate = self._engine_rate()
        if pvt.media is not None:
            return engine_format(pvt.media.codec.name, rate)
        codecs = self._codecs(pvt.endpoint)
        return engine_format(codecs[0] if codecs else "ulaw", rate)

    def _engine_rate(self) -> int:
        """The media engine's mixing rate (Opus channels run at it)."""
        media = media_of(self.core) if self.core is not None else None
        return media.engine.rate if media is not None else 8000

    def media_output(self, chan: Channel, payload: bytes) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        if pvt.rtp is None:
            return
        call = pvt.call
        if not chan.up and not pvt.early_sent and call is not None and call.direction == "in":
            self._early_media(chan, pvt)
        pvt.rtp.output(payload)

    def media_started(self, chan: Channel, stream: Stream) -> None:
        pvt = pvt_of(chan, PjsipPvt)
        if pvt.rtp is not None:
            pvt.rtp.attach(stream)
        if pvt.endpoint.dtmf_mode == "inband":
            # As chan_pjsip: dtmf_mode=inband runs the DSP's DTMF detector on the audio.
            from pyari.media.dtmf import DtmfDetector

            detector = DtmfDetector(lambda digit, ms: chan.dtmf_received(digit, ms))

            def detect(samples: Any) -> None:
                detector.feed(samples)

            stream.taps_in.append(detect)

    def rtp_statistics(self, chan: Channel) -> dict[str, int | float | str] | None:
        pvt = pvt_or_none(chan, PjsipPvt)
        if pvt is None or pvt.rtp is None:
            return None
        return pvt.rtp.statistics(chan.id)

    # -------------------------------------------------------------- hangup

    def hangup(self, chan: Channel) -> None:
        pvt = pvt_or_none(chan, PjsipPvt)
        if pvt is None:
            return
        self._unwire(pvt)
        if pvt.call is not None:
            self._execute(self.ua.hangup(pvt.call, self.now(), chan.hangupcause))
            pvt.call.data = None
        if pvt.rtp is not None:
            pvt.rtp.close()
            pvt.rtp = None
        endpoint = self._endpoint(pvt.endpoint.name)
        if endpoint is not None:
            endpoint.remove_channel(chan)

    # -------------------------------------------------------------- messages

    def _target_of(self, to: str) -> tuple[EndpointConf | None, Uri, tuple[str, int], str] | None:
        """(endpoint, request URI, where to send, transport) of a MESSAGE or REFER: a
        registered contact goes over the transport it registered on (a browser's
        WebSocket), anything else over UDP."""
        scheme, _, rest = to.partition(":")
        scheme = scheme.lower()
        now = self.now()
        if scheme == "pjsip":
            name, _, uri_text = rest.partition("/")
            user_part = None
            if "@" in name and name not in self.settings.endpoints:
                user_part, _, name = name.partition("@")
            conf = self.settings.endpoints.get(name)
            if conf is None:
                return None
            if uri_text:
                try:
                    uri = parse_uri(uri_text)
                except SipParseError:
                    return None
                return conf, uri, (uri.host, uri.port or 5060), "UDP"
            for aor in conf.aors:
                for binding in self.ua.location.lookup(aor, now):
                    try:
                        uri = parse_uri(binding.uri)
                    except SipParseError:
                        continue
                    if user_part:
                        uri.user = user_part
                    dest = binding.source or (uri.host, uri.port or 5060)
                    transport = "UDP" if binding.static else binding.transport.upper()
                    return conf, uri, dest, transport
            return None
        if scheme == "sip":
            try:
                uri = parse_uri(to)
            except SipParseError:
                return None
            return None, uri, (uri.host, uri.port or 5060), "UDP"
        return None

    def _send_message(self, message: TextMessage) -> bool:
        found = self._target_of(message.to)
        if found is None or self.service is None:
            return False
        conf, uri, dest, transport = found
        sender = message.sender
        user = "asterisk"
        if sender:
            text = sender
            if "<" in text:
                text = text.split("<", 1)[1].split(">", 1)[0]
            user = text.split(":", 1)[-1].split("@", 1)[0] or "asterisk"
        self._execute(
            self.ua.send_message(
                conf, uri, dest, message.body, self.now(), from_user=user, transport=transport
            )
        )
        return True

    def _send_refer(self, refer: Refer) -> bool:
        found = self._target_of(refer.to)
        if found is None or self.service is None or not refer.refer_to:
            return False
        _conf, uri, dest, transport = found
        headers = list(refer.variables.items())
        self._execute(
            self.ua.send_refer(
                uri, dest, refer.refer_to, self.now(), headers=headers, transport=transport
            )
        )
        return True

    # -------------------------------------------------------------- CLI helpers

    def bindings(self) -> list[Binding]:
        return self.ua.location.all()


def _report(alert: SecurityAlert) -> None:
    """Write a security alert of the UA as Asterisk's modules write it."""
    if alert.notice:
        security.notice(log, "res_pjsip/pjsip_distributor.c", alert.notice)
    if alert.warning:
        log.warning("%s", alert.warning, extra={"asterisk_source": "res_pjsip_registrar.c"})
    security.emit(alert.event)
