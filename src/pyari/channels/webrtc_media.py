"""The WebRTC side of a PJSIP channel's media: ICE-lite, DTLS-SRTP, rtcp-mux, AVPF, and
the codecs converted at the RTP edge.

A PJSIP endpoint with ``media_encryption=dtls`` and/or ``ice_support=yes`` (both set by
``webrtc=yes``) gets, per channel, a :class:`MediaSecurity`: our ICE credentials and
host candidates (rtp.conf's ``ice_host_candidate`` and ICE ACL applied to the address
the RTP socket is bound to, or to ``media_address``), the endpoint's DTLS certificate
(``dtls_cert_file``/``dtls_private_key``, or one made per endpoint with
``dtls_auto_generate_cert``) and its role. :meth:`MediaSecurity.params` gives the
:class:`~pyari.sip.sdp.TransportParams` for our offer or answer; once the peer's SDP is
known, :meth:`MediaSecurity.attach` puts a :class:`~pyari.rtp.webrtc.SecureTransport` on
the channel's :class:`~pyari.channels.rtp_media.RtpStream`.

:func:`available_codecs` filters an endpoint's ``allow`` list down to the codecs whose
libraries are installed (G.722: ``g722``; Opus: ``opuslib-next`` with ``libopus``; GSM:
``libgsm``),
keeping its order; :func:`engine_format` is the engine stream's format for a codec.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pyari.media.frames import FORMATS, SLIN, SLIN16, ULAW, MediaFormat, slin_for_rate
from pyari.sip.sdp import CODECS, TransportParams, answer_setup, sdes_choice

if TYPE_CHECKING:
    from pyari.channels.rtp_media import RtpStream
    from pyari.config.pjsip import Endpoint as EndpointConf
    from pyari.config.rtp import RtpSettings
    from pyari.rtp.dtls import DtlsCertificate
    from pyari.rtp.ice import IceLite

__all__ = [
    "CertificateStore",
    "MediaSecurity",
    "available_codecs",
    "engine_format",
    "wants_security",
]

log = logging.getLogger(__name__)

EDGE_CODECS = frozenset({"g722", "opus", "gsm"})
"""Codecs converted at the RTP edge (media/rtp_codecs.py), each needing its library."""


@functools.cache
def _importable(name: str) -> bool:
    try:
        if name == "g722":
            import G722  # type: ignore[import-not-found]  # noqa: F401
        elif name == "opus":
            import opuslib_next  # type: ignore[import-untyped]  # noqa: F401
        elif name == "gsm":
            from pyari.media.rtp_codecs import GsmCodec

            GsmCodec()
    except Exception:  # not installed, or libopus missing (OSError from ctypes)
        log.warning("codec %s is not available: its library is not installed", name)
        return False
    return True


def available_codecs(allow: Sequence[str]) -> list[str]:
    """The endpoint's codecs pyari can carry, in its ``allow`` order."""
    return [c for c in allow if c in CODECS and (c not in EDGE_CODECS or _importable(c))]


def engine_format(codec: str, engine_rate: int = 8000) -> MediaFormat:
    """The engine stream's format for a negotiated codec: G.722 slin16, Opus signed
    linear at the engine's rate (media/rtp_codecs.py says why), GSM slin, G.711 itself."""
    if codec == "g722":
        return SLIN16
    if codec == "gsm":
        return SLIN
    if codec == "opus":
        return slin_for_rate(engine_rate)
    return FORMATS.get(codec, ULAW)


def wants_security(conf: EndpointConf) -> bool:
    """ICE, DTLS or SDES-SRTP on this endpoint's media (``webrtc=yes`` sets the first
    two)."""
    return conf.media_encryption in ("dtls", "sdes") or conf.ice_support


class CertificateStore:
    """One DTLS certificate per endpoint: loaded from its files, or made once."""

    def __init__(self) -> None:
        self._certs: dict[tuple[str, str, str], DtlsCertificate] = {}

    def for_endpoint(self, conf: EndpointConf) -> DtlsCertificate | None:
        from pyari.rtp.dtls import DtlsCertificate, DtlsError

        key = (conf.name, str(conf.dtls_cert_file or ""), str(conf.dtls_private_key or ""))
        cert = self._certs.get(key)
        if cert is not None:
            return cert
        if conf.dtls_cert_file is not None:
            try:
                cert = DtlsCertificate.load(conf.dtls_cert_file, conf.dtls_private_key)
            except DtlsError as exc:
                log.error("Endpoint %s: %s", conf.name, exc)
                return None
        elif conf.dtls_auto_generate_cert:
            cert = DtlsCertificate.generate()
        else:
            log.error("Endpoint %s: media_encryption=dtls without a certificate", conf.name)
            return None
        self._certs[key] = cert
        return cert


class MediaSecurity:
    """One channel's ICE agent and DTLS certificate (see the module docstring)."""

    def __init__(
        self,
        conf: EndpointConf,
        rtp_settings: RtpSettings,
        certificate: DtlsCertificate | None,
        address: str,
        port: int,
    ) -> None:
        from pyari.rtp.ice import IceLite, host_candidate

        self.conf = conf
        self.certificate = certificate
        self.ice: IceLite | None = None
        self.candidates: tuple[str, ...] = ()
        if conf.ice_support and rtp_settings.ice_support:
            self.ice = IceLite(permit=rtp_settings.ice_permits)
            self.candidates = tuple(
                host_candidate(host, port) for host in rtp_settings.host_candidates(address)
            )
        self.setup: str = conf.dtls_setup
        """Our DTLS role as offered or answered (``actpass`` until an answer says)."""
        self.sdes_key: bytes | None = None
        """Our SRTP master key and salt for ``media_encryption=sdes``."""
        if conf.media_encryption == "sdes":
            from pyari.rtp.sdes import new_key

            self.sdes_key = new_key()

    @property
    def dtls(self) -> bool:
        return self.certificate is not None and self.conf.media_encryption == "dtls"

    def params(self, *, offer: bool) -> TransportParams:
        """Our attributes for an offer (``a=setup`` the endpoint's ``dtls_setup``) or an
        answer (:func:`~pyari.sip.sdp.create_answer` turns the role around as needed)."""
        ice = self.ice
        return TransportParams(
            ice_ufrag=ice.ufrag if ice is not None else None,
            ice_pwd=ice.pwd if ice is not None else None,
            ice_lite=ice is not None,
            candidates=self.candidates,
            fingerprint=self._fingerprint(),
            setup=self.conf.dtls_setup if offer else self._answer_preference(),
            rtcp_mux=self.conf.rtcp_mux,
            avpf=self.conf.use_avpf,
            mid="0" if offer and self.conf.bundle else None,
            crypto=self._crypto(),
        )

    def _crypto(self) -> tuple[str, ...]:
        """Our ``a=crypto`` (tag 1, AES_CM_128_HMAC_SHA1_80, as Asterisk offers); an
        answer keeps the offer's tag and suite with this key."""
        if self.sdes_key is None:
            return ()
        from pyari.rtp.sdes import Crypto

        return (str(Crypto(1, "AES_CM_128_HMAC_SHA1_80", self.sdes_key)),)

    def _fingerprint(self) -> tuple[str, str] | None:
        """``a=fingerprint`` with pjsip.conf's ``dtls_fingerprint`` hash (SHA-256, or
        SHA-1 as older peers want)."""
        cert = self.certificate
        if cert is None or not self.dtls:
            return None
        if self.conf.dtls_fingerprint == "SHA-1":
            from pyari.rtp.dtls import fingerprint_of

            return ("sha-1", fingerprint_of(cert.certificate, "sha-1"))
        return ("sha-256", cert.fingerprint)

    def _answer_preference(self) -> str:
        setup = self.conf.dtls_setup
        return setup if setup in ("active", "passive") else "active"

    def attach(
        self,
        rtp: RtpStream,
        remote: TransportParams | None,
        remote_address: tuple[str, int],
        *,
        answered_by_us: bool,
        on_failed: Callable[[str], None],
    ) -> bool:
        """Put the secure transport on ``rtp`` for the peer's ``remote`` attributes;
        False when the peer's SDP cannot be used (DTLS wanted but no fingerprint, SDES
        wanted but no usable key)."""
        from pyari.rtp.dtls import DtlsSrtp
        from pyari.rtp.sdes import Crypto, SdesSrtp, parse_crypto
        from pyari.rtp.webrtc import SecureTransport

        remote = remote or TransportParams()
        ice = self.ice if remote.ice_ufrag else None
        if ice is not None:
            ice.set_remote(remote.ice_ufrag, remote.ice_pwd)
        dtls: DtlsSrtp | SdesSrtp | None = None
        if self.sdes_key is not None:
            # an answer of ours used the offer's first usable line; an answer to our
            # offer has one line
            line = sdes_choice(remote.crypto) if answered_by_us else next(iter(remote.crypto), "")
            theirs = parse_crypto(line or "")
            if theirs is None:
                return False
            dtls = SdesSrtp(Crypto(theirs.tag, theirs.suite, self.sdes_key), theirs)
        elif self.dtls:
            if remote.fingerprint is None or self.certificate is None:
                return False
            if answered_by_us:
                ours = answer_setup(remote.setup, self._answer_preference())
            else:
                # our offer said dtls_setup (actpass); the answer decides
                ours = answer_setup(remote.setup, self.conf.dtls_setup)
            self.setup = ours
            secure = rtp.secure
            if secure is not None and isinstance(secure.dtls, DtlsSrtp) and not secure.failed:
                dtls = secure.dtls  # a re-INVITE keeps the association
            else:
                dtls = DtlsSrtp(
                    self.certificate,
                    "client" if ours == "active" else "server",
                    remote.fingerprint,
                    verify=self.conf.dtls_verify != "no",
                )
        if ice is None and dtls is None:
            rtp.secure = None
            return True
        rtp.secure = SecureTransport(
            ice=ice,
            dtls=dtls,
            remote=remote_address,
            rtcp_mux=remote.rtcp_mux,
            on_failed=on_failed,
        )
        return True


def remote_ice(rtp: RtpStream) -> IceLite | None:
    """The ICE agent on a stream (tests and the CLI look at its state)."""
    secure = rtp.secure
    return secure.ice if secure is not None else None
