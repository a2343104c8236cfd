"""Typed settings of pjsip.conf (Asterisk's res_pjsip sorcery objects).

Each section names its object type with ``type=``: ``transport``, ``endpoint``, ``aor``,
``auth``, ``identify``, ``acl`` (other types, e.g. ``registration`` or ``system``, are kept
out and logged). Templates (``[name](!)``, ``[x](tmpl)``) come from the parser. Bad values,
unknown types and references to objects that do not exist raise :class:`ConfigError` with
the file and line, so a reload keeps the running configuration.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from pyari.config.acl import NO_ACL, Acl, Rule, address_in, build_acl, parse_network
from pyari.config.backoff import AuthBackoff
from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section
from pyari.config.values import parse_bool, parse_hostport, parse_int, split_list

__all__ = [
    "CODEC_NAMES",
    "Aor",
    "Auth",
    "Endpoint",
    "Identify",
    "PjsipSettings",
    "SipAcl",
    "Transport",
]

log = logging.getLogger(__name__)

CODEC_NAMES = ("ulaw", "alaw", "gsm", "g722", "g726", "g729", "ilbc", "opus", "slin", "speex")
"""Codec names accepted in allow/disallow (ulaw, alaw, g722, opus and gsm have media in pyari;
the others are accepted and left out of offers and answers)."""

DtmfMode = Literal["rfc4733", "inband", "info", "auto", "auto_info"]
_DTMF_MODES = ("rfc4733", "inband", "info", "auto", "auto_info")
_PROTOCOLS = ("udp", "tcp", "tls", "ws", "wss")
_TLS_METHODS = ("default", "unspecified", "tlsv1", "tlsv1_1", "tlsv1_2", "tlsv1_3", "sslv23")
_DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 8088, "wss": 8089}
TransferHandling = Literal["default", "ari-only"]
_TRANSFER_HANDLING = ("default", "ari-only")
MediaEncryption = Literal["no", "sdes", "dtls"]
_MEDIA_ENCRYPTION = ("no", "sdes", "dtls")
DtlsVerify = Literal["no", "yes", "fingerprint", "certificate"]
_DTLS_VERIFY = ("no", "yes", "fingerprint", "certificate")
DtlsSetup = Literal["active", "passive", "actpass"]
_DTLS_SETUP = ("active", "passive", "actpass")
DtlsFingerprint = Literal["SHA-256", "SHA-1"]


def _fail(entry: Entry, reason: str) -> ConfigError:
    return ConfigError(entry.file, entry.line, f"{entry.key} = {entry.value!r}: {reason}")


def _choice(entry: Entry, allowed: Iterable[str]) -> str:
    value = entry.value.strip().lower()
    options = tuple(allowed)
    if value not in options:
        raise _fail(entry, f"must be one of {', '.join(options)}")
    return value


@dataclass(frozen=True, slots=True)
class Transport:
    name: str
    protocol: str = "udp"
    bind: tuple[str, int] = ("0.0.0.0", 5060)
    cert_file: Path | None = None
    priv_key_file: Path | None = None
    ca_list_file: Path | None = None
    method: str = "default"
    external_media_address: str | None = None
    external_signaling_address: str | None = None
    local_net: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    tcp_idle_timeout: float = 600.0
    """pyari's own (tcp/tls): seconds a connection that carries nothing (no transaction,
    registration or call) may stay silent before it is closed; 0 for never."""
    tcp_message_timeout: float = 10.0
    """pyari's own (tcp/tls): seconds to receive a whole message once its first byte came
    (and a new connection's first message, or its TLS handshake); 0 for no limit."""
    tcp_max_connections: int = 512
    """pyari's own (tcp/tls): connections accepted at once on the transport; 0 for no cap."""
    tcp_max_connections_per_address: int = 64
    """pyari's own (tcp/tls): connections accepted at once from one IP address; 0 for no cap."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    context: str = "default"
    allow: tuple[str, ...] = ()
    """Codecs in preference order, after applying disallow/allow lines in order."""
    aors: tuple[str, ...] = ()
    auth: str | None = None
    outbound_auth: str | None = None
    dtmf_mode: DtmfMode = "rfc4733"
    callerid: str | None = None
    callerid_name: str | None = None
    callerid_number: str | None = None
    from_user: str | None = None
    from_domain: str | None = None
    direct_media: bool = True
    rtp_symmetric: bool = False
    force_rport: bool = True
    rewrite_contact: bool = False
    transport: str | None = None
    language: str = ""
    send_pai: bool = False
    trust_id_inbound: bool = False
    allow_transfer: bool = True
    rtp_timeout: int = 0
    transfer_handling: TransferHandling = "default"
    """``ari-only``: a REFER is not carried out but reported to ARI (ChannelTransfer)."""
    # WebRTC and secure media: res_pjsip's media options (``webrtc = yes`` turns several
    # on, as Asterisk's endpoint apply handler does: see _endpoint)
    webrtc: bool = False
    use_avpf: bool = False
    """RTP/AVPF (RTCP feedback) in offers and answers; UDP/TLS/RTP/SAVPF with DTLS."""
    media_encryption: MediaEncryption = "no"
    media_encryption_optimistic: bool = False
    ice_support: bool = False
    rtcp_mux: bool = False
    bundle: bool = False
    media_use_received_transport: bool = False
    media_address: str | None = None
    """The address put in SDP for media (and ICE host candidates)."""
    bind_rtp_to_media_address: bool = False
    dtls_verify: DtlsVerify = "no"
    dtls_setup: DtlsSetup = "active"
    dtls_rekey: int = 0
    dtls_auto_generate_cert: bool = False
    """An ephemeral certificate for DTLS (``webrtc = yes`` without ``dtls_cert_file``)."""
    dtls_cert_file: Path | None = None
    dtls_private_key: Path | None = None
    dtls_cipher: str | None = None
    dtls_ca_file: Path | None = None
    dtls_ca_path: Path | None = None
    dtls_fingerprint: DtlsFingerprint = "SHA-256"
    outbound_proxy: str | None = None
    """A SIP URI (``sip:proxy:5060\\;lr``): the calls of the endpoint are sent there with
    a ``Route`` header naming it (a loose router), as are their in-dialog requests when
    the proxy did not record-route."""
    acl: Acl = NO_ACL
    """``permit``/``deny``/``acl``: once a request is matched to the endpoint, a source
    address this refuses makes it a request of no endpoint (:mod:`pyari.sip.acl`)."""
    contact_acl: Acl = NO_ACL
    """``contact_permit``/``contact_deny``/``contact_acl``: the same for the host of a
    ``sip:``/``sips:`` Contact of the request."""


@dataclass(frozen=True, slots=True)
class Aor:
    name: str
    max_contacts: int = 0
    contacts: tuple[str, ...] = ()
    qualify_frequency: int = 0
    qualify_timeout: float = 3.0
    remove_existing: bool = False
    default_expiration: int = 3600
    minimum_expiration: int = 60
    maximum_expiration: int = 7200
    outbound_proxy: str | None = None
    """A SIP URI: the qualify OPTIONS of the AOR's contacts go through it."""


@dataclass(frozen=True, slots=True)
class Auth:
    name: str
    auth_type: Literal["userpass", "md5"] = "userpass"
    username: str = ""
    password: str = field(default="", repr=False)
    md5_cred: str = field(default="", repr=False)
    realm: str = ""
    supported_algorithms_uas: tuple[str, ...] = ("MD5",)
    """Digest algorithms offered in challenges, most preferred first (Asterisk's default
    is MD5 only; ``supported_algorithms_uas = SHA-256, MD5`` offers both)."""


@dataclass(frozen=True, slots=True)
class Identify:
    name: str
    endpoint: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hostnames: tuple[str, ...] = ()

    def matches(self, address: str) -> bool:
        """Whether a source IP address belongs to this identify (hostnames must have been
        resolved into ``networks`` by the caller to count)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address.lower() in self.hostnames
        return any(address_in(ip, net) for net in self.networks)


@dataclass(frozen=True, slots=True)
class SipAcl:
    """A ``type=acl`` section (res_pjsip_acl): every request pyari receives over SIP is
    refused when ``acl`` (``permit``/``deny``/``acl`` lines) refuses its source address,
    or ``contact_acl`` (``contact_permit``/``contact_deny``/``contact_acl``) the host of
    one of its Contact headers (:mod:`pyari.sip.acl`)."""

    name: str
    acl: Acl = NO_ACL
    contact_acl: Acl = NO_ACL


_ACL_OPTIONS = ("permit", "deny", "acl", "contact_permit", "contact_deny", "contact_acl")


@dataclass(frozen=True, slots=True)
class PjsipSettings:
    transports: dict[str, Transport] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    aors: dict[str, Aor] = field(default_factory=dict)
    auths: dict[str, Auth] = field(default_factory=dict)
    identifies: dict[str, Identify] = field(default_factory=dict)
    auth_backoff: AuthBackoff = field(default_factory=AuthBackoff)
    """pyari's own (``type=global``): the back-off of addresses failing digest auth."""
    acls: tuple[SipAcl, ...] = ()
    """The ``type=acl`` sections that refuse something, in the file's order (empty: no
    check at all on received requests)."""

    def identify(self, address: str) -> Endpoint | None:
        """The endpoint an ``identify`` section maps a source IP address to."""
        for ident in self.identifies.values():
            if ident.matches(address):
                return self.endpoints.get(ident.endpoint)
        return None

    @classmethod
    def from_sections(
        cls,
        sections: Iterable[Section],
        named_acls: Mapping[str, tuple[Rule, ...]] | None = None,
    ) -> Self:
        """``named_acls``: acl.conf's (:func:`~pyari.config.acl.load_named_acls`), for the
        ``acl``/``contact_acl`` options of ``type=acl`` and ``type=endpoint`` sections."""
        transports: dict[str, Transport] = {}
        endpoints: dict[str, Endpoint] = {}
        aors: dict[str, Aor] = {}
        auths: dict[str, Auth] = {}
        identifies: dict[str, Identify] = {}
        backoff = AuthBackoff()
        acls: list[SipAcl] = []
        where: dict[tuple[str, str], Section] = {}
        for section in sections:
            if section.is_template:
                continue
            type_entry = section.last("type")
            if type_entry is None:
                raise ConfigError(section.file, section.line, f"[{section.name}] has no type=")
            kind = type_entry.value.strip().lower()
            name = section.name
            if (kind, name) in where:
                raise ConfigError(
                    section.file, section.line, f"[{name}]: a second {kind} of that name"
                )
            where[(kind, name)] = section
            if kind == "transport":
                transports[name] = _transport(section)
            elif kind == "endpoint":
                endpoints[name] = _endpoint(section, named_acls or {})
            elif kind == "aor":
                aors[name] = _aor(section)
            elif kind == "auth":
                auths[name] = _auth(section)
            elif kind == "identify":
                identifies[name] = _identify(section)
            elif kind == "global":
                # only pyari's own auth_failure_* options are read from it
                backoff = AuthBackoff.from_entries(_entries(section))
            elif kind == "acl":
                sip_acl = _acl(section, named_acls or {})
                if sip_acl.acl or sip_acl.contact_acl:
                    acls.append(sip_acl)
            elif kind in ("registration", "system", "domain_alias", "contact"):
                log.warning(
                    "%s:%d: [%s] type=%s is not supported and is ignored",
                    section.file,
                    section.line,
                    name,
                    kind,
                )
            else:
                raise _fail(type_entry, "unknown pjsip object type")
        for name, ep in endpoints.items():
            section = where[("endpoint", name)]
            for aor in ep.aors:
                if aor not in aors:
                    raise _ref(section, "aors", f"no aor named {aor!r}")
            for key, ref in (("auth", ep.auth), ("outbound_auth", ep.outbound_auth)):
                if ref is not None and ref not in auths:
                    raise _ref(section, key, f"no auth named {ref!r}")
            if ep.transport is not None and ep.transport not in transports:
                raise _ref(section, "transport", f"no transport named {ep.transport!r}")
        for name, ident in identifies.items():
            if ident.endpoint not in endpoints:
                raise _ref(
                    where[("identify", name)], "endpoint", f"no endpoint named {ident.endpoint!r}"
                )
        return cls(transports, endpoints, aors, auths, identifies, backoff, tuple(acls))


def _ref(section: Section, key: str, reason: str) -> ConfigError:
    entry = section.last(key)
    if entry is not None:
        return _fail(entry, reason)
    return ConfigError(section.file, section.line, f"[{section.name}]: {reason}")


def _entries(section: Section) -> dict[str, Entry]:
    return {e.key.casefold(): e for e in section.entries}


def _text(entry: Entry | None) -> str | None:
    if entry is None:
        return None
    value = entry.value.strip()
    return value or None


def _transport(section: Section) -> Transport:
    e = _entries(section)
    protocol = _choice(e["protocol"], _PROTOCOLS) if "protocol" in e else "udp"
    bind: tuple[str, int] = ("0.0.0.0", _DEFAULT_PORTS[protocol])
    if "bind" in e:
        bind = parse_hostport(e["bind"], _DEFAULT_PORTS[protocol])
    cert = _text(e.get("cert_file"))
    key = _text(e.get("priv_key_file"))
    if protocol == "tls" and (cert is None or key is None):
        raise ConfigError(
            section.file, section.line, f"[{section.name}]: tls needs cert_file and priv_key_file"
        )
    method = _choice(e["method"], _TLS_METHODS) if "method" in e else "default"
    nets = []
    for entry in (x for x in section.entries if x.key.casefold() == "local_net"):
        for item in split_list(entry.value):
            try:
                nets.append(parse_network(item))
            except ValueError as exc:
                raise _fail(entry, "not an address or network") from exc
    return Transport(
        name=section.name,
        protocol=protocol,
        bind=bind,
        cert_file=Path(cert) if cert else None,
        priv_key_file=Path(key) if key else None,
        ca_list_file=Path(v) if (v := _text(e.get("ca_list_file"))) else None,
        method=method,
        external_media_address=_text(e.get("external_media_address")),
        external_signaling_address=_text(e.get("external_signaling_address")),
        local_net=tuple(nets),
        tcp_idle_timeout=_seconds(e, "tcp_idle_timeout", 600.0),
        tcp_message_timeout=_seconds(e, "tcp_message_timeout", 10.0),
        tcp_max_connections=_count(e, "tcp_max_connections", 512),
        tcp_max_connections_per_address=_count(e, "tcp_max_connections_per_address", 64),
    )


def _seconds(e: dict[str, Entry], key: str, default: float) -> float:
    """A non-negative number of seconds (fractions allowed)."""
    entry = e.get(key)
    if entry is None:
        return default
    try:
        value = float(entry.value.strip())
    except ValueError as exc:
        raise _fail(entry, "not a number of seconds") from exc
    if not 0 <= value < float("inf"):
        raise _fail(entry, "must be 0 or more seconds")
    return value


def _count(e: dict[str, Entry], key: str, default: int) -> int:
    entry = e.get(key)
    return default if entry is None else parse_int(entry, minimum=0)


def _codecs(section: Section) -> tuple[str, ...]:
    """disallow/allow lines applied in order (``all`` clears or adds every codec)."""
    allowed: list[str] = []
    for entry in section.entries:
        key = entry.key.casefold()
        if key not in ("allow", "disallow"):
            continue
        for item in split_list(entry.value.lower()):
            name = item.lstrip("!")
            remove = key == "disallow" or item.startswith("!")
            if name == "all":
                allowed = (
                    [] if remove else [*allowed, *(c for c in CODEC_NAMES if c not in allowed)]
                )
                continue
            if name not in CODEC_NAMES:
                raise _fail(entry, f"unknown codec {name!r}")
            if remove:
                allowed = [c for c in allowed if c != name]
            elif name not in allowed:
                allowed.append(name)
    return tuple(allowed)


def _endpoint(section: Section, named: Mapping[str, tuple[Rule, ...]]) -> Endpoint:
    e = _entries(section)
    source_acl, contact_acl = _acl_pair(section, named)
    dtmf: DtmfMode = "rfc4733"
    if "dtmf_mode" in e:
        dtmf = _choice(e["dtmf_mode"], _DTMF_MODES)  # type: ignore[assignment]
    callerid = _text(e.get("callerid"))
    cid_name, cid_number = _split_callerid(callerid)
    handling: TransferHandling = "default"
    if "transfer_handling" in e:
        handling = _choice(e["transfer_handling"], _TRANSFER_HANDLING)  # type: ignore[assignment]

    def flag(key: str, default: bool) -> bool:
        return parse_bool(e[key]) if key in e else default

    def path(key: str) -> Path | None:
        text = _text(e.get(key))
        return Path(text) if text else None

    webrtc = flag("webrtc", False)
    encryption: MediaEncryption = "no"
    if "media_encryption" in e:
        encryption = _choice(e["media_encryption"], _MEDIA_ENCRYPTION)  # type: ignore[assignment]
    verify: DtlsVerify = "no"
    if "dtls_verify" in e:
        verify = _choice(e["dtls_verify"], _DTLS_VERIFY)  # type: ignore[assignment]
    setup: DtlsSetup = "active"
    if "dtls_setup" in e:
        setup = _choice(e["dtls_setup"], _DTLS_SETUP)  # type: ignore[assignment]
    fingerprint: DtlsFingerprint = "SHA-256"
    if "dtls_fingerprint" in e and _choice(e["dtls_fingerprint"], ("sha-256", "sha-1")) == "sha-1":
        fingerprint = "SHA-1"
    cert = path("dtls_cert_file")
    auto_cert = flag("dtls_auto_generate_cert", False)
    bundle = flag("bundle", False) or webrtc
    if webrtc:
        # Asterisk's sip_endpoint_apply_handler: these are forced, whatever the section says
        encryption, verify, setup = "dtls", "fingerprint", "actpass"
        auto_cert = auto_cert or cert is None

    return Endpoint(
        name=section.name,
        context=_text(e.get("context")) or "default",
        allow=_codecs(section),
        aors=split_list(e["aors"].value) if "aors" in e else (),
        auth=_first(e.get("auth")),
        outbound_auth=_first(e.get("outbound_auth")),
        dtmf_mode=dtmf,
        callerid=callerid,
        callerid_name=cid_name,
        callerid_number=cid_number,
        from_user=_text(e.get("from_user")),
        from_domain=_text(e.get("from_domain")),
        direct_media=flag("direct_media", True),
        rtp_symmetric=flag("rtp_symmetric", False),
        force_rport=flag("force_rport", True),
        rewrite_contact=flag("rewrite_contact", False),
        transport=_text(e.get("transport")),
        language=_text(e.get("language")) or "",
        send_pai=flag("send_pai", False),
        trust_id_inbound=flag("trust_id_inbound", False),
        allow_transfer=flag("allow_transfer", True),
        rtp_timeout=parse_int(e["rtp_timeout"], 0) if "rtp_timeout" in e else 0,
        transfer_handling=handling,
        webrtc=webrtc,
        use_avpf=flag("use_avpf", False) or webrtc,
        media_encryption=encryption,
        media_encryption_optimistic=flag("media_encryption_optimistic", False),
        ice_support=flag("ice_support", False) or webrtc,
        rtcp_mux=flag("rtcp_mux", False) or bundle,
        bundle=bundle,
        media_use_received_transport=flag("media_use_received_transport", False) or webrtc,
        media_address=_text(e.get("media_address")),
        bind_rtp_to_media_address=flag("bind_rtp_to_media_address", False),
        dtls_verify=verify,
        dtls_setup=setup,
        dtls_rekey=parse_int(e["dtls_rekey"], minimum=0) if "dtls_rekey" in e else 0,
        dtls_auto_generate_cert=auto_cert,
        dtls_cert_file=cert,
        dtls_private_key=path("dtls_private_key"),
        dtls_cipher=_text(e.get("dtls_cipher")),
        dtls_ca_file=path("dtls_ca_file"),
        dtls_ca_path=path("dtls_ca_path"),
        dtls_fingerprint=fingerprint,
        outbound_proxy=_proxy(e.get("outbound_proxy")),
        acl=source_acl,
        contact_acl=contact_acl,
    )


def _proxy(entry: Entry | None) -> str | None:
    """``outbound_proxy``: a ``sip:``/``sips:`` URI (its ``;lr``, written ``\\;lr`` in the
    file, is optional: the proxy is always treated as a loose router)."""
    text = _text(entry)
    if text is None or entry is None:
        return None
    if not text.lower().startswith(("sip:", "sips:")) or any(c.isspace() for c in text):
        raise _fail(entry, "must be a sip: or sips: URI")
    return text


def _first(entry: Entry | None) -> str | None:
    if entry is None:
        return None
    items = split_list(entry.value)
    return items[0] if items else None


def _split_callerid(text: str | None) -> tuple[str | None, str | None]:
    """``"Name" <1234>`` / ``Name <1234>`` / ``1234`` → (name, number)."""
    if not text:
        return None, None
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        name = name.strip().strip('"').strip()
        return name or None, number.strip() or None
    return None, text.strip()


def _aor(section: Section) -> Aor:
    e = _entries(section)
    contacts: list[str] = []
    for entry in (x for x in section.entries if x.key.casefold() == "contact"):
        for item in split_list(entry.value):
            if not item.lower().startswith(("sip:", "sips:")):
                raise _fail(entry, "a contact must be a sip: or sips: URI")
            contacts.append(item)

    def number(key: str, default: int) -> int:
        return parse_int(e[key], 0) if key in e else default

    minimum = number("minimum_expiration", 60)
    maximum = number("maximum_expiration", 7200)
    default = number("default_expiration", 3600)
    if maximum and minimum > maximum:
        raise _fail(e["minimum_expiration"], "larger than maximum_expiration")
    timeout = 3.0
    if "qualify_timeout" in e:
        try:
            timeout = float(e["qualify_timeout"].value)
        except ValueError as exc:
            raise _fail(e["qualify_timeout"], "not a number of seconds") from exc
    return Aor(
        name=section.name,
        max_contacts=number("max_contacts", 0),
        contacts=tuple(contacts),
        qualify_frequency=number("qualify_frequency", 0),
        qualify_timeout=timeout,
        remove_existing=parse_bool(e["remove_existing"]) if "remove_existing" in e else False,
        default_expiration=default,
        minimum_expiration=minimum,
        maximum_expiration=maximum,
        outbound_proxy=_proxy(e.get("outbound_proxy")),
    )


def _auth(section: Section) -> Auth:
    e = _entries(section)
    auth_type = _choice(e["auth_type"], ("userpass", "md5")) if "auth_type" in e else "userpass"
    username = _text(e.get("username")) or ""
    password = e["password"].value if "password" in e else ""
    md5 = (_text(e.get("md5_cred")) or "").lower()
    if auth_type == "md5" and (len(md5) != 32 or any(ch not in "0123456789abcdef" for ch in md5)):
        entry = e.get("md5_cred")
        if entry is None:
            raise ConfigError(
                section.file, section.line, f"[{section.name}]: auth_type=md5 needs md5_cred"
            )
        raise _fail(entry, "not 32 hexadecimal digits")
    if not username:
        raise ConfigError(section.file, section.line, f"[{section.name}]: auth needs a username")
    return Auth(
        name=section.name,
        auth_type="md5" if auth_type == "md5" else "userpass",
        username=username,
        password=password,
        md5_cred=md5,
        realm=_text(e.get("realm")) or "",
        supported_algorithms_uas=_algorithms(e.get("supported_algorithms_uas")),
    )


def _algorithms(entry: Entry | None) -> tuple[str, ...]:
    """``supported_algorithms_uas``: MD5, SHA-256 (case-insensitive); MD5 by default."""
    known = {"MD5": "MD5", "SHA-256": "SHA-256"}
    if entry is None:
        return ("MD5",)
    names = [n.strip().upper() for n in entry.value.split(",") if n.strip()]
    for name in names:
        if name not in known:
            raise _fail(entry, f"unsupported digest algorithm '{name}'")
    return tuple(dict.fromkeys(known[n] for n in names)) or ("MD5",)


def _acl_pair(section: Section, named: Mapping[str, tuple[Rule, ...]]) -> tuple[Acl, Acl]:
    """The (source, contact) ACLs of a section's ``permit``/``deny``/``acl`` and
    ``contact_*`` lines; a bad rule is a ConfigError."""
    source: list[Entry] = []
    contact: list[Entry] = []
    for entry in section.entries:
        key = entry.key.strip().lower()
        if key not in _ACL_OPTIONS:
            continue
        if key.startswith("contact_"):
            contact.append(dataclasses.replace(entry, key=key.removeprefix("contact_")))
        else:
            source.append(entry)
    return build_acl(source, named), build_acl(contact, named)


def _acl(section: Section, named: Mapping[str, tuple[Rule, ...]]) -> SipAcl:
    """A ``type=acl`` section. A bad rule or another option is a ConfigError: the load
    fails (a reload keeps the running ACLs), where Asterisk would leave the section out
    and so let every address in. A name acl.conf lacks refuses every address."""
    for entry in section.entries:
        key = entry.key.strip().lower()
        if key != "type" and key not in _ACL_OPTIONS:
            raise _fail(entry, "not an option of type=acl")
    return SipAcl(section.name, *_acl_pair(section, named))


def _identify(section: Section) -> Identify:
    e = _entries(section)
    if "endpoint" not in e:
        raise ConfigError(section.file, section.line, f"[{section.name}]: identify needs endpoint")
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    hosts: list[str] = []
    for entry in (x for x in section.entries if x.key.casefold() == "match"):
        for item in split_list(entry.value):
            try:
                nets.append(parse_network(item))
                continue
            except ValueError:
                pass
            host = item.split(":")[0] if item.count(":") == 1 else item
            if not host or not all(part.isalnum() or "-" in part for part in host.split(".")):
                raise _fail(entry, f"{item!r} is not an address, network or host name")
            hosts.append(host.lower())
    if not nets and not hosts:
        raise ConfigError(section.file, section.line, f"[{section.name}]: identify needs match=")
    return Identify(section.name, e["endpoint"].value.strip(), tuple(nets), tuple(hosts))
