"""SDP (RFC 8866) and the offer/answer model (RFC 3264) for audio (G.711, G.722, Opus)
with RFC 4733 telephone-events, plain or WebRTC (ICE, DTLS-SRTP, rtcp-mux, AVPF).

* :func:`parse_sdp` / :meth:`SessionDescription.to_bytes`.
* :func:`create_offer`, :func:`create_answer` (answers every offered m-line; one that
  has no codec in common, or is not audio, is refused with port 0), and
  :func:`negotiated` (what was agreed, from the offer and the answer, on either side).
* WebRTC: :class:`TransportParams` carries one side's ICE credentials and candidates,
  DTLS fingerprint and role, ``rtcp-mux`` and AVPF; given to :func:`create_offer` or
  :func:`create_answer` it makes a ``UDP/TLS/RTP/SAVPF`` line, and the peer's are in
  :attr:`MediaSession.transport` (:func:`transport_of`).
* Hold: an offer with ``a=sendonly``/``a=inactive`` or a connection address of
  ``0.0.0.0`` puts the offerer's peer on hold (:attr:`MediaSession.remote_hold`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pyari.config.codecs import OPUS_DEFAULTS, OpusSettings, opus_fmtp_values

__all__ = [
    "CODECS",
    "Codec",
    "MediaDescription",
    "MediaSession",
    "Origin",
    "SdpError",
    "SessionDescription",
    "TransportParams",
    "create_answer",
    "create_offer",
    "negotiated",
    "parse_sdp",
    "transport_of",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSE = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


class SdpError(ValueError):
    """An SDP body that cannot be used (the INVITE gets 488/400)."""


@dataclass(frozen=True, slots=True)
class Codec:
    """An audio format: pjsip name (``ulaw``), RTP encoding name, payload type (static,
    or the dynamic one pyari offers, as Asterisk's: Opus 107), RTP clock rate, channels
    in ``a=rtpmap``."""

    name: str
    encoding: str
    payload_type: int | None
    clock_rate: int = 8000
    channels: int = 1

    def rtpmap(self, payload_type: int) -> str:
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{payload_type} {self.encoding}/{self.clock_rate}{suffix}"


CODECS = {
    "ulaw": Codec("ulaw", "PCMU", 0),
    "alaw": Codec("alaw", "PCMA", 8),
    # RFC 3551: G.722's RTP clock is 8000 although it samples at 16 kHz
    "g722": Codec("g722", "G722", 9),
    # RFC 7587: always opus/48000/2 in SDP, whatever is sent
    "opus": Codec("opus", "opus", 107, 48000, 2),
    "gsm": Codec("gsm", "GSM", 3),
}
"""The codecs pyari's media can carry, by pjsip.conf name."""

_STATIC: dict[int, tuple[str, int, int]] = {
    codec.payload_type: (codec.encoding, codec.clock_rate, codec.channels)
    for codec in CODECS.values()
    if codec.payload_type is not None and codec.payload_type < 96
}
"""Static payload type → (encoding, clock rate, channels), for an m-line without
``a=rtpmap`` (the last of CODECS with a type wins)."""
_SECURE_ATTRIBUTES = frozenset(("fingerprint", "ice-ufrag", "crypto"))
"""Attributes without which :func:`transport_of` cannot find a line secure."""

PROFILES = ("RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF")
"""Transport protocols of an audio line pyari answers (the DTLS ones need
:class:`TransportParams` with a fingerprint)."""


@dataclass(frozen=True, slots=True)
class TransportParams:
    """The WebRTC attributes of one side's audio line (ours to send, or the peer's)."""

    ice_ufrag: str | None = None
    ice_pwd: str | None = None
    ice_lite: bool = False
    candidates: tuple[str, ...] = ()
    """``a=candidate`` values (``foundation component transport priority address port
    typ host ...``)."""
    fingerprint: tuple[str, str] | None = None
    """(hash function, colon-separated hex), e.g. ``("sha-256", "AB:CD:...")``."""
    setup: str | None = None
    """DTLS role: ``actpass`` (offers), ``active`` or ``passive``."""
    rtcp_mux: bool = False
    avpf: bool = False
    mid: str | None = None
    crypto: tuple[str, ...] = ()
    """``a=crypto`` values (SDES-SRTP keys, ``media_encryption=sdes``)."""

    @property
    def dtls(self) -> bool:
        return self.fingerprint is not None

    @property
    def sdes(self) -> bool:
        return bool(self.crypto) and not self.dtls

    @property
    def secure(self) -> bool:
        """WebRTC or SRTP attributes that a plain RTP line does not have."""
        return self.dtls or self.sdes or bool(self.ice_ufrag)

    @property
    def profile(self) -> str:
        if self.dtls:
            return "UDP/TLS/RTP/SAVPF" if self.avpf else "UDP/TLS/RTP/SAVP"
        if self.sdes:
            return "RTP/SAVPF" if self.avpf else "RTP/SAVP"
        return "RTP/AVPF" if self.avpf else "RTP/AVP"

    def attributes(self, payload_types: Sequence[int] = ()) -> list[tuple[str, str | None]]:
        """The media-level lines for these parameters (ICE-lite is session-level)."""
        out: list[tuple[str, str | None]] = [("crypto", c) for c in self.crypto]
        if self.ice_ufrag and self.ice_pwd:
            out.append(("ice-ufrag", self.ice_ufrag))
            out.append(("ice-pwd", self.ice_pwd))
            out.extend(("candidate", c) for c in self.candidates)
            if self.ice_lite:
                out.append(("end-of-candidates", None))
        if self.fingerprint is not None:
            out.append(("fingerprint", f"{self.fingerprint[0]} {self.fingerprint[1]}"))
            out.append(("setup", self.setup or "actpass"))
        if self.mid is not None:
            out.append(("mid", self.mid))
        if self.rtcp_mux:
            out.append(("rtcp-mux", None))
        if self.avpf and self.dtls:
            # as Asterisk's WebRTC endpoints: transport-wide congestion control feedback
            out.append(("rtcp-fb", "* transport-cc"))
        return out


def transport_of(sdp: SessionDescription, m: MediaDescription) -> TransportParams:
    """The peer's WebRTC attributes of ``m`` (session-level ones apply to every line)."""
    fingerprint = None
    value = m.attribute("fingerprint")
    if value is None:
        value = next((v or "" for k, v in sdp.attributes if k == "fingerprint"), None)
    if value:
        algorithm, _, digest = value.strip().partition(" ")
        if algorithm and digest.strip():
            fingerprint = (algorithm.lower(), digest.strip().upper())

    def either(name: str) -> str | None:
        found = m.attribute(name)
        if found is None:
            found = next((v or "" for k, v in sdp.attributes if k == name), None)
        return found

    proto = m.proto.upper()
    return TransportParams(
        ice_ufrag=either("ice-ufrag"),
        ice_pwd=either("ice-pwd"),
        ice_lite=any(k == "ice-lite" for k, _ in sdp.attributes),
        candidates=tuple(m.attribute_values("candidate")),
        fingerprint=fingerprint,
        setup=(either("setup") or "").lower() or None,
        rtcp_mux=m.attribute("rtcp-mux") is not None,
        avpf=proto.endswith("AVPF"),
        mid=m.attribute("mid"),
        crypto=tuple(m.attribute_values("crypto")),
    )


_PLAIN = TransportParams()

SDES_SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")


def sdes_choice(values: Sequence[str]) -> str | None:
    """The first ``a=crypto`` of an offer with a suite pyari has and a plain inline key
    (no lifetime or MKI), or None."""
    for value in values:
        parts = value.split()
        if (
            len(parts) >= 3
            and parts[0].isdigit()
            and parts[1].upper() in SDES_SUITES
            and parts[2].startswith("inline:")
            and "|" not in parts[2]
        ):
            return value
    return None


TELEPHONE_EVENT = "telephone-event"

MAX_PTIME = 1000
"""The longest packet time taken from ``a=ptime`` (ms); a longer one is ignored."""


def _uint(text: str, maximum: int | None = None) -> int | None:
    """``text`` as a number of at most ``maximum``, or None when it is not one: 1 to 20
    ASCII digits (the longest, a 64-bit o= version, has 20)."""
    if text in _COMMON_UINTS:  # the common case (formats, rtpmap), without a call
        value = _COMMON_UINTS[text]
    elif len(text) <= 20 and text.isascii() and text.isdigit():
        value = int(text)
    else:
        return None
    return None if maximum is not None and value > maximum else value


_COMMON_UINTS = {str(n): n for n in (*range(128), 8000, 16000, 48000)}
"""Payload types and the usual clock rates, read at once by :func:`_uint`."""


@dataclass(slots=True)
class Origin:
    username: str = "-"
    session_id: str = "0"
    version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(slots=True)
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    connection: str | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    port_count: int | None = None
    bandwidths: list[str] = field(default_factory=list)
    info: str | None = None

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value if value is not None else ""
        return None

    def attribute_values(self, name: str) -> list[str]:
        return [v or "" for k, v in self.attributes if k == name]

    def rtpmap(self) -> dict[int, tuple[str, int, int]]:
        """payload type → (encoding, clock rate, channels), static types filled in."""
        out: dict[int, tuple[str, int, int]] = {}
        for fmt in self.formats:
            pt = _uint(fmt, 127)
            if pt is not None:
                static = _STATIC.get(pt)
                if static is not None:
                    out[pt] = static
        for key, value in self.attributes:
            if key != "rtpmap":
                continue
            pt_text, _, desc = (value or "").partition(" ")
            pt = _uint(pt_text, 127)
            parts = desc.strip().split("/")
            rate = _uint(parts[1]) if len(parts) > 1 else 8000
            channels = _uint(parts[2]) if len(parts) > 2 else 1
            if pt is None or rate is None or channels is None:
                continue
            out[pt] = (parts[0], rate, channels)
        return out

    def fmtp(self, payload_type: int) -> str | None:
        wanted = str(payload_type)
        for key, value in self.attributes:
            if key == "fmtp":
                pt_text, _, params = (value or "").partition(" ")
                if pt_text == wanted:
                    return params.strip()
        return None

    @property
    def direction(self) -> str:
        for key, _ in reversed(self.attributes):
            if key in DIRECTIONS:
                return key
        return "sendrecv"

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        try:
            ptime = float(value) if value else 0.0
        except ValueError:
            return None
        return int(ptime) if 1 <= ptime <= MAX_PTIME else None  # nan and inf fail too

    def lines(self, session_connection: str | None) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        if self.info is not None:
            out.append(f"i={self.info}")
        if self.connection and self.connection != session_connection:
            out.append(f"c={self.connection}")
        if self.bandwidths:
            out += [f"b={b}" for b in self.bandwidths]
        out += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        return out


@dataclass(slots=True)
class SessionDescription:
    origin: Origin = field(default_factory=Origin)
    name: str = "-"
    connection: str | None = None
    times: list[str] = field(default_factory=lambda: ["0 0"])
    attributes: list[tuple[str, str | None]] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    """Session-level lines kept as they were (i=, u=, e=, p=, b=, r=, z=, k=)."""

    def connection_address(self, media: MediaDescription) -> str | None:
        """The address of ``media`` (its c= or the session's), without ``IN IP4``."""
        value = media.connection or self.connection
        if not value:
            return None
        parts = value.split()
        return parts[2].split("/")[0] if len(parts) >= 3 else None

    @property
    def audio(self) -> MediaDescription | None:
        for m in self.media:
            if m.media == "audio" and m.port != 0:
                return m
        return None

    def to_bytes(self) -> bytes:
        # (list comprehensions, and none for an empty list: each item of a generator
        # expression is one more call)
        other = self.other
        lines = ["v=0", f"o={self.origin}", f"s={self.name or ' '}"]
        if other:
            lines += [line for line in other if not line.startswith(("b=", "t="))]
        if self.connection:
            lines.append(f"c={self.connection}")
        if other:
            lines += [line for line in other if line.startswith("b=")]
        lines += [f"t={t}" for t in self.times]
        if self.attributes:
            lines += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        for m in self.media:
            lines.extend(m.lines(self.connection))
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def parse_sdp(data: bytes | str) -> SessionDescription:
    """Parse an SDP body; raises :class:`SdpError`."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    sdp = SessionDescription(times=[])
    current: MediaDescription | None = None
    seen_version = seen_origin = False
    # CRLF ends are cut in one replace; a line is then read without a call unless it
    # still ends in CR (stripped) or has no "=" second (blank lines are skipped, the
    # first one must be v=0, others are bad)
    for line in text.replace("\r\n", "\n").split("\n"):
        if line[-1:] == "\r":
            line = line.rstrip("\r")
        if line[1:2] != "=" and not line.strip():
            continue
        if not seen_version:
            if line.strip() != "v=0":
                raise SdpError("SDP must start with v=0")
            seen_version = True
            continue
        if line[1:2] != "=":
            raise SdpError(f"bad SDP line {line[:40]!r}")
        kind, value = line[0], line[2:]
        if kind == "m":
            current = _parse_media(value)
            sdp.media.append(current)
        elif kind == "a":
            name, colon, rest = value.partition(":")
            attr = (name, rest if colon else None)
            (current.attributes if current else sdp.attributes).append(attr)
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3 or parts[0] != "IN":
                raise SdpError(f"bad c= line {value!r}")
            if current is not None:
                current.connection = value
            else:
                sdp.connection = value
        elif current is not None:
            if kind == "b":
                current.bandwidths.append(value)
            elif kind == "i":
                current.info = value
        elif kind == "o":
            parts = value.split()
            version = _uint(parts[2]) if len(parts) == 6 else None
            if version is None:
                raise SdpError(f"bad o= line {value!r}")
            sdp.origin = Origin(parts[0], parts[1], version, *parts[3:])
            seen_origin = True
        elif kind == "s":
            sdp.name = value
        elif kind == "t":
            sdp.times.append(value)
        else:
            sdp.other.append(line)
    if not seen_version:
        raise SdpError("SDP must start with v=0")
    if not seen_origin:
        raise SdpError("SDP without o= line")
    if not sdp.times:
        sdp.times = ["0 0"]
    for m in sdp.media:
        if m.port != 0 and sdp.connection_address(m) is None:
            raise SdpError("media without a connection address")
    return sdp


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SdpError(f"bad m= line {value!r}")
    port_text, _, count = parts[1].partition("/")
    port = _uint(port_text, 65535)
    if port is None:
        raise SdpError(f"bad port in m= line {value!r}")
    return MediaDescription(
        media=parts[0],
        port=port,
        proto=parts[2],
        formats=parts[3:],
        port_count=(_uint(count, 65535) or None) if count else None,
    )


# --------------------------------------------------------------------------- offer/answer


@dataclass(frozen=True, slots=True)
class MediaSession:
    """What an offer/answer exchange agreed for the audio stream.

    ``direction`` is ours (what we may do), ``remote_direction`` the peer's;
    ``remote_hold`` tells that the peer put us on hold (it will not receive).
    """

    remote_address: str
    remote_port: int
    codec: Codec
    payload_type: int
    dtmf_payload_type: int | None
    ptime: int
    direction: str
    remote_direction: str
    remote_hold: bool
    codecs: tuple[tuple[Codec, int], ...] = ()
    """Every common codec with its payload type, in preference order."""
    fmtp: str | None = None
    """The peer's ``a=fmtp`` parameters of the chosen payload type (Opus: DTX, FEC...)."""
    transport: TransportParams | None = None
    """The peer's WebRTC attributes (ICE, DTLS, rtcp-mux) when its line is WebRTC or
    carries ICE credentials; None for plain RTP."""
    proto: str = "RTP/AVP"


def _ip_version(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def create_offer(
    codecs: Sequence[str],
    address: str,
    port: int,
    *,
    session_id: str,
    version: int = 1,
    direction: str = "sendrecv",
    dtmf_payload_type: int | None = 101,
    ptime: int = 20,
    transport: TransportParams | None = None,
    opus: OpusSettings = OPUS_DEFAULTS,
) -> SessionDescription:
    """An audio offer with ``codecs`` (pjsip names, in order), telephone-event when
    ``dtmf_payload_type`` is set, and a direction (``sendonly`` to put the peer on
    hold); ``transport`` makes it a WebRTC offer (ICE, DTLS, rtcp-mux, AVPF); ``opus``
    (codecs.conf ``[opus]`` of the server) gives Opus's fmtp."""
    formats: list[str] = []
    attrs: list[tuple[str, str | None]] = []
    for name in codecs:
        codec = CODECS.get(name)
        if codec is None or codec.payload_type is None:
            continue
        formats.append(str(codec.payload_type))
        attrs.append(("rtpmap", codec.rtpmap(codec.payload_type)))
        if name == "opus":
            # Asterisk's defaults have no fmtp line (res_format_attr_opus)
            fmtp = opus_offer_fmtp(opus)
            if fmtp:
                attrs.append(("fmtp", f"{codec.payload_type} {fmtp}"))
    if dtmf_payload_type is not None:
        formats.append(str(dtmf_payload_type))
        attrs.append(("rtpmap", f"{dtmf_payload_type} {TELEPHONE_EVENT}/8000"))
        attrs.append(("fmtp", f"{dtmf_payload_type} 0-16"))
    attrs.append(("ptime", str(ptime)))
    attrs.append(("maxptime", "150"))
    proto = "RTP/AVP"
    session_attrs: list[tuple[str, str | None]] = []
    if transport is not None:
        attrs.extend(transport.attributes())
        proto = transport.profile
        if transport.ice_lite and transport.ice_ufrag:
            session_attrs.append(("ice-lite", None))
    attrs.append((direction, None))
    kind = _ip_version(address)
    return SessionDescription(
        origin=Origin("-", session_id, version, "IN", kind, address),
        name="pyari",
        connection=f"IN {kind} {address}",
        times=["0 0"],
        attributes=session_attrs,
        media=[MediaDescription("audio", port, proto, formats, attributes=attrs)],
    )


def _match(
    m: MediaDescription,
    local: Sequence[str],
    prefer_remote: bool,
    rtpmap: dict[int, tuple[str, int, int]] | None = None,
) -> list[tuple[Codec, int]]:
    if rtpmap is None:
        rtpmap = m.rtpmap()
    offered: list[tuple[Codec, int]] = []
    for fmt in m.formats:
        pt = _uint(fmt, 127)
        if pt is None:
            continue
        enc = rtpmap.get(pt)
        if enc is None:
            continue
        for name in local:
            codec = CODECS.get(name)
            if codec and codec.encoding.lower() == enc[0].lower() and enc[1] == codec.clock_rate:
                if codec.channels != 1 and enc[2] != codec.channels:
                    continue
                offered.append((codec, pt))
                break
    if not prefer_remote:
        offered.sort(key=lambda item: list(local).index(item[0].name))
    return offered


def _dtmf_pt(
    m: MediaDescription,
    clock: int = 8000,
    rtpmap: dict[int, tuple[str, int, int]] | None = None,
) -> int | None:
    """The telephone-event payload type at the audio codec's ``clock`` (browsers send
    DTMF with Opus only at 48000), else the one at 8000."""
    found = None
    if rtpmap is None:
        rtpmap = m.rtpmap()
    for pt, (enc, rate, _) in rtpmap.items():
        if enc.lower() == TELEPHONE_EVENT and str(pt) in m.formats:
            if rate == clock:
                return pt
            if rate == 8000 and found is None:
                found = pt
    return found


def _remote_hold(direction: str, address: str | None) -> bool:
    """The peer put us on hold: its line's ``direction`` and connection ``address``."""
    return direction in ("sendonly", "inactive") or address in ("0.0.0.0", "::")


def _has_secure(attributes: list[tuple[str, str | None]]) -> bool:
    """One of the attributes without which :func:`transport_of` finds nothing secure
    (in C: no generator per attribute)."""
    return bool(attributes) and any(map(_SECURE_ATTRIBUTES.__contains__, dict(attributes)))


def create_answer(
    offer: SessionDescription,
    codecs: Sequence[str],
    address: str,
    port: int,
    *,
    session_id: str,
    version: int = 1,
    dtmf: bool = True,
    hold: bool = False,
    prefer_remote: bool = True,
    transport: TransportParams | None = None,
    opus: OpusSettings = OPUS_DEFAULTS,
) -> tuple[SessionDescription, MediaSession | None]:
    """The answer to ``offer`` and the agreed audio session (None when no audio stream
    could be accepted: the caller answers 488 Not Acceptable Here).

    Only the first usable audio stream is accepted; every other m-line is refused with
    port 0, keeping its formats (RFC 3264 §6). ``hold`` answers with ``sendonly`` (or
    ``inactive``) to put the peer on hold from our side.

    ``transport`` (ours) answers a WebRTC line: a DTLS line (``UDP/TLS/RTP/SAVPF``) is
    accepted only with a fingerprint of ours, and with one only a DTLS line is; our
    DTLS role answers the offer's ``a=setup`` (:func:`answer_setup`); ``a=mid``, a
    ``BUNDLE`` group of that one line and ``rtcp-mux`` are echoed when offered.

    ``opus`` (codecs.conf ``[opus]`` of the server) is joined with an Opus offer's fmtp
    (:func:`opus_answer_fmtp`).
    """
    kind = _ip_version(address)
    answer = SessionDescription(
        origin=Origin("-", session_id, version, "IN", kind, address),
        name="pyari",
        connection=f"IN {kind} {address}",
        times=["0 0"],
    )
    session: MediaSession | None = None
    want_dtls = transport is not None and transport.dtls
    want_sdes = transport is not None and transport.sdes
    session_secure = _has_secure(offer.attributes)
    for m in offer.media:
        rtpmap = m.rtpmap() if m.media == "audio" and m.port else None
        common = _match(m, codecs, prefer_remote, rtpmap) if rtpmap is not None else []
        proto = m.proto.upper()
        if want_dtls:
            usable = proto.startswith("UDP/TLS/RTP/SAVP")
        elif want_sdes:
            usable = proto in ("RTP/SAVP", "RTP/SAVPF") and bool(
                sdes_choice(m.attribute_values("crypto"))
            )
        else:
            usable = proto in ("RTP/AVP", "RTP/AVPF")
        if session is not None or not common or not usable:
            answer.media.append(MediaDescription(m.media, 0, m.proto, list(m.formats)))
            continue
        codec, pt = common[0]
        formats = [str(pt)]
        attrs: list[tuple[str, str | None]] = [("rtpmap", codec.rtpmap(pt))]
        remote_fmtp = m.fmtp(pt)
        if codec.name == "opus":
            fmtp = opus_answer_fmtp(remote_fmtp, opus)
            if fmtp:
                attrs.append(("fmtp", f"{pt} {fmtp}"))
        dtmf_pt = _dtmf_pt(m, codec.clock_rate, rtpmap) if dtmf else None
        if dtmf_pt is not None and rtpmap is not None:
            formats.append(str(dtmf_pt))
            dtmf_rate = rtpmap[dtmf_pt][1]
            attrs.append(("rtpmap", f"{dtmf_pt} {TELEPHONE_EVENT}/{dtmf_rate}"))
            attrs.append(("fmtp", f"{dtmf_pt} 0-16"))
        ptime = m.ptime or 20
        attrs.append(("ptime", str(ptime)))
        attrs.append(("maxptime", "150"))
        # transport_of finds nothing secure without one of these attributes: a plain
        # offer (most calls) skips it
        if session_secure or _has_secure(m.attributes):
            remote = transport_of(offer, m)
            webrtc = remote.secure
        else:
            remote, webrtc = _PLAIN, False
        if transport is not None and webrtc:
            crypto: tuple[str, ...] = ()
            chosen = sdes_choice(remote.crypto) if want_sdes else None
            if chosen is not None and transport.crypto:
                # the offer's tag and suite, our key
                tag, suite = chosen.split()[:2]
                crypto = (f"{tag} {suite} {transport.crypto[0].split()[2]}",)
            ours_t = TransportParams(
                ice_ufrag=transport.ice_ufrag if remote.ice_ufrag else None,
                ice_pwd=transport.ice_pwd if remote.ice_ufrag else None,
                ice_lite=transport.ice_lite,
                candidates=transport.candidates,
                fingerprint=transport.fingerprint,
                setup=answer_setup(remote.setup, transport.setup),
                rtcp_mux=transport.rtcp_mux and remote.rtcp_mux,
                avpf=proto.endswith("AVPF"),
                mid=remote.mid,
                crypto=crypto,
            )
            attrs.extend(ours_t.attributes())
            if ours_t.ice_lite and ours_t.ice_ufrag:
                answer.attributes.append(("ice-lite", None))
            if remote.mid is not None and any(
                k == "group"
                and (v or "").split()[:1] == ["BUNDLE"]
                and remote.mid in (v or "").split()[1:]
                for k, v in offer.attributes
            ):
                answer.attributes.insert(0, ("group", f"BUNDLE {remote.mid}"))
        remote_dir = m.direction
        ours = _REVERSE[remote_dir]
        if hold:
            ours = "sendonly" if ours in ("sendrecv", "sendonly") else "inactive"
        attrs.append((ours, None))
        answer.media.append(MediaDescription("audio", port, m.proto, formats, attributes=attrs))
        remote_address = offer.connection_address(m)
        session = MediaSession(
            remote_address=remote_address or "",
            remote_port=m.port,
            codec=codec,
            payload_type=pt,
            dtmf_payload_type=dtmf_pt,
            ptime=ptime,
            direction=ours,
            remote_direction=remote_dir,
            remote_hold=_remote_hold(remote_dir, remote_address),
            codecs=tuple(common),
            fmtp=remote_fmtp,
            transport=remote if webrtc else None,
            proto=m.proto,
        )
    return answer, session


def answer_setup(offered: str | None, preferred: str | None) -> str:
    """Our DTLS role in an answer (RFC 5763 §5): the opposite of an ``active`` or
    ``passive`` offer; to ``actpass`` (or none) our preference, ``active`` by default."""
    if offered == "active":
        return "passive"
    if offered == "passive":
        return "active"
    return preferred if preferred in ("active", "passive") else "active"


def opus_offer_fmtp(ours: OpusSettings = OPUS_DEFAULTS) -> str:
    """The Opus fmtp of pyari's offers: codecs.conf ``[opus]``'s values (``ours``) that
    differ from the defaults ("" with Asterisk's defaults: no fmtp line)."""
    return ours.fmtp()


def opus_answer_fmtp(remote: str | None, ours: OpusSettings = OPUS_DEFAULTS) -> str:
    """The Opus fmtp of an answer, as Asterisk's joint format writes it
    (res_format_attr_opus): pyari's parameters (``ours``: codecs.conf ``[opus]``; by
    default 48 kHz, no FEC, no DTX, VBR, mono) joined with the offer's (DTX, CBR or
    sprop-stereo if either asks, FEC if both, the lower rates and bitrate), only the
    values that differ from the defaults."""
    values = opus_fmtp_values(remote)
    out: list[str] = []
    play = min(48000, ours.max_playback_rate, values.get("maxplaybackrate", 48000))
    if play != 48000:
        out.append(f"maxplaybackrate={play}")
    capture = min(48000, values.get("sprop-maxcapturerate", 48000))
    if capture != 48000:
        out.append(f"sprop-maxcapturerate={capture}")
    bitrates = [b for b in (ours.bitrate, values.get("maxaveragebitrate", 0)) if b > 0]
    if bitrates:
        out.append(f"maxaveragebitrate={min(bitrates)}")
    if values.get("sprop-stereo", 0):
        out.append("sprop-stereo=1")
    if ours.cbr or values.get("cbr", 0):
        out.append("cbr=1")
    if ours.fec and values.get("useinbandfec", 0):
        out.append("useinbandfec=1")
    if ours.dtx or values.get("usedtx", 0):
        out.append("usedtx=1")
    return ";".join(out)


def negotiated(
    offer: SessionDescription, answer: SessionDescription, codecs: Iterable[str] = CODECS
) -> MediaSession | None:
    """For the offerer: the audio session the ``answer`` accepted (payload types are the
    answerer's), or None if it refused every audio stream."""
    names = list(codecs)
    for offered, m in zip(offer.media, answer.media, strict=False):
        if m.media != "audio" or m.port == 0 or offered.port == 0:
            continue
        common = _match(m, names, True)
        if not common:
            return None
        codec, pt = common[0]
        remote = transport_of(answer, m)
        webrtc = remote.secure
        remote_address = answer.connection_address(m)
        remote_dir = m.direction
        return MediaSession(
            remote_address=remote_address or "",
            remote_port=m.port,
            codec=codec,
            payload_type=pt,
            dtmf_payload_type=_dtmf_pt(m, codec.clock_rate),
            ptime=m.ptime or offered.ptime or 20,
            direction=_REVERSE[remote_dir],
            remote_direction=remote_dir,
            remote_hold=_remote_hold(remote_dir, remote_address),
            codecs=tuple(common),
            fmtp=m.fmtp(pt),
            transport=remote if webrtc else None,
            proto=m.proto,
        )
    return None
