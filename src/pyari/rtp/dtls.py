"""DTLS-SRTP (RFC 5763, RFC 5764), sans-IO: the handshake over memory BIOs, then SRTP.

:class:`DtlsCertificate` is the endpoint's certificate: a self-signed ECDSA P-256 one
made at start (pjsip.conf ``dtls_auto_generate_cert``), or ``dtls_cert_file`` with
``dtls_private_key``; its SHA-256 fingerprint goes in SDP (``a=fingerprint``).

:class:`DtlsSrtp` runs one handshake with pyOpenSSL on memory BIOs: datagrams go in
(:meth:`DtlsSrtp.receive`), datagrams to send come out, retransmission timers run from
:meth:`DtlsSrtp.poll` (the media clock calls it every tick). When the handshake ends,
the peer's certificate is checked against the fingerprint its SDP announced
(``dtls_verify=fingerprint``, the default): a mismatch fails the transport (the channel
hangs up) and no key is derived. Otherwise the SRTP keys come from the exporter
(``EXTRACTOR-dtls_srtp``) and pylibsrtp protects and unprotects RTP and RTCP with
``AES_CM_128_HMAC_SHA1_80``. Malformed records, alerts and handshake errors fail the
transport, never the process.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pyari.rtp.srtp import SRTP_AES128_CM_SHA1_80, SrtpSessions

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from OpenSSL import SSL

__all__ = ["DtlsCertificate", "DtlsError", "DtlsSrtp", "fingerprint_of"]

log = logging.getLogger(__name__)

Role = Literal["client", "server"]
State = Literal["new", "connecting", "connected", "failed", "closed"]

SRTP_PROFILE = b"SRTP_AES128_CM_SHA1_80"
KEY_LENGTH = 16
SALT_LENGTH = 14
MTU = 1200
MAX_RECORDS_PER_DATAGRAM = 32


class DtlsError(Exception):
    """A certificate that cannot be loaded or made."""


def fingerprint_of(certificate: x509.Certificate, algorithm: str = "sha-256") -> str:
    """``AB:CD:...`` of a certificate (upper-case hex, as SDP carries it)."""
    from cryptography.hazmat.primitives import hashes

    algorithms = {"sha-1": hashes.SHA1(), "sha-256": hashes.SHA256(), "sha-384": hashes.SHA384(),
                  "sha-512": hashes.SHA512()}  # fmt: skip
    digest = certificate.fingerprint(algorithms[algorithm])
    return ":".join(f"{b:02X}" for b in digest)


class DtlsCertificate:
    """A certificate and its key for DTLS (see the module docstring)."""

    def __init__(
        self,
        certificate: x509.Certificate,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    ) -> None:
        self.certificate = certificate
        self.key = key
        self.fingerprint = fingerprint_of(certificate)
        """SHA-256, for ``a=fingerprint:sha-256 ...``."""

    @classmethod
    def generate(cls, common_name: str = "pyari") -> DtlsCertificate:
        """A fresh self-signed ECDSA P-256 certificate (valid 30 days from yesterday)."""
        import secrets

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(secrets.randbits(63) + 1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_file: Path, key_file: Path | None = None) -> DtlsCertificate:
        """``dtls_cert_file`` (PEM) and ``dtls_private_key`` (PEM; the cert file when
        None). Raises :class:`DtlsError`."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            key = load_pem_private_key((key_file or cert_file).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise DtlsError(f"cannot load the DTLS certificate: {type(exc).__name__}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise DtlsError("the DTLS private key must be an EC or RSA key")
        return cls(cert, key)

    def context(self) -> SSL.Context:
        from OpenSSL import SSL

        ctx = SSL.Context(SSL.DTLS_METHOD)
        ctx.set_verify(
            SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_args: True
        )  # self-signed: the fingerprint in SDP is what is checked
        ctx.use_certificate(self.certificate)
        ctx.use_privatekey(self.key)
        # ECDHE with the certificate's key type: ECDSA (made here, browsers') or RSA
        # (certificates made for Asterisk, e.g. by ast_tls_cert)
        ctx.set_cipher_list(b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                            b"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:"
                            b"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA")  # fmt: skip
        ctx.set_tlsext_use_srtp(SRTP_PROFILE)
        return ctx


class DtlsSrtp(SrtpSessions):
    """One DTLS-SRTP association (see the module docstring); its SRTP half (``protect``,
    ``protect_rtcp``, ``unprotect``) is :class:`~pyari.rtp.srtp.SrtpSessions`, keyed when
    the handshake ends."""

    def __init__(
        self,
        certificate: DtlsCertificate,
        role: Role,
        remote_fingerprint: tuple[str, str] | None,
        *,
        verify: bool = True,
    ) -> None:
        from OpenSSL import SSL

        super().__init__()
        self.role = role
        self.remote_fingerprint = remote_fingerprint
        self.verify = verify
        self.state: State = "new"
        self.reason = ""
        """Why the transport failed (for the log and tests)."""
        self._ssl = SSL.Connection(certificate.context(), None)
        self._ssl.set_ciphertext_mtu(MTU)
        if role == "client":
            self._ssl.set_connect_state()
        else:
            self._ssl.set_accept_state()
        self._deadline: float | None = None

    # -------------------------------------------------------------- handshake

    @property
    def connected(self) -> bool:
        return self.state == "connected"

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def start(self, now: float) -> list[bytes]:
        """Begin (a client sends its ClientHello; a server waits)."""
        if self.state != "new":
            return []
        self.state = "connecting"
        if self.role == "server":
            return []
        return self._step(now)

    def _fail(self, reason: str) -> None:
        if self.state != "failed":
            log.info("DTLS failed: %s", reason)
        self.state = "failed"
        self.reason = reason
        self._deadline = None

    def _flush(self) -> list[bytes]:
        from OpenSSL import SSL

        out: list[bytes] = []
        for _ in range(MAX_RECORDS_PER_DATAGRAM):
            try:
                data = self._ssl.bio_read(MTU + 300)
            except SSL.WantReadError:
                break
            except SSL.Error:
                break
            if not data:
                break
            out.append(data)
        return out

    def _step(self, now: float) -> list[bytes]:
        from OpenSSL import SSL

        try:
            self._ssl.do_handshake()
        except SSL.WantReadError:
            out = self._flush()
            self._arm(now)
            return out
        except SSL.Error as exc:
            out = self._flush()  # the alert, if any
            self._fail(f"handshake error: {exc!r}"[:200])
            return out
        out = self._flush()
        self._connected()
        if self.state == "failed":
            # tell the peer: a close_notify instead of silence
            with contextlib.suppress(SSL.Error):
                self._ssl.shutdown()
            out += self._flush()
        return out

    def _arm(self, now: float) -> None:
        timeout = self._ssl.DTLSv1_get_timeout()
        self._deadline = now + timeout if timeout is not None else None

    def _connected(self) -> None:
        from OpenSSL import SSL

        self._deadline = None
        if self.verify:
            cert = self._ssl.get_peer_certificate(as_cryptography=True)
            wanted = self.remote_fingerprint
            if cert is None or wanted is None:
                self._fail("no peer certificate or no fingerprint in SDP")
                return
            algorithm, value = wanted
            try:
                actual = fingerprint_of(cert, algorithm.lower())
            except KeyError:
                self._fail(f"unsupported fingerprint hash {algorithm!r}")
                return
            if actual != value.upper():
                self._fail("certificate fingerprint mismatch")
                return
        if self._ssl.get_selected_srtp_profile() != SRTP_PROFILE:
            self._fail("no SRTP profile negotiated")
            return
        try:
            material = self._ssl.export_keying_material(
                b"EXTRACTOR-dtls_srtp", 2 * (KEY_LENGTH + SALT_LENGTH)
            )
        except SSL.Error:
            self._fail("keying material export failed")
            return
        self._setup_srtp(material)
        self.state = "connected"

    def _setup_srtp(self, material: bytes) -> None:
        client_key = material[:KEY_LENGTH]
        server_key = material[KEY_LENGTH : 2 * KEY_LENGTH]
        client_salt = material[2 * KEY_LENGTH : 2 * KEY_LENGTH + SALT_LENGTH]
        server_salt = material[2 * KEY_LENGTH + SALT_LENGTH :]
        client = client_key + client_salt
        server = server_key + server_salt
        tx_key, rx_key = (client, server) if self.role == "client" else (server, client)
        self._start_srtp(tx_key, SRTP_AES128_CM_SHA1_80, rx_key, SRTP_AES128_CM_SHA1_80)

    def receive(self, data: bytes, now: float) -> list[bytes]:
        """A DTLS datagram from the peer: what to send back."""
        from OpenSSL import SSL

        if self.state in ("failed", "closed"):
            return []
        if self.state == "new":
            self.state = "connecting"
        try:
            self._ssl.bio_write(data)
        except SSL.Error:
            return []
        if self.state == "connecting":
            return self._step(now)
        # connected: a retransmitted flight from the peer, an alert, or application data
        try:
            self._ssl.recv(1500)
        except SSL.ZeroReturnError:
            self.state = "closed"
        except SSL.WantReadError:
            pass
        except SSL.Error:
            pass  # a stray record after the handshake changes nothing
        return self._flush()

    def poll(self, now: float) -> list[bytes]:
        """Retransmit the last flight when its timer has expired."""
        deadline = self._deadline
        if deadline is None or now < deadline or self.state != "connecting":
            return []
        try:
            self._ssl.DTLSv1_handle_timeout()
        except Exception:
            self._fail("timer handling failed")
            return []
        out = self._flush()
        self._arm(now)
        return out

    def close(self) -> list[bytes]:
        """A close_notify for the peer."""
        from OpenSSL import SSL

        if self.state not in ("connected", "connecting"):
            self.state = "closed"
            return []
        with contextlib.suppress(SSL.Error):
            self._ssl.shutdown()
        self.state = "closed"
        return self._flush()
