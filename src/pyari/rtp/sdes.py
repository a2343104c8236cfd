"""SDES-SRTP (RFC 4568): SRTP keys given in SDP (``a=crypto``), pjsip.conf's
``media_encryption=sdes``.

:class:`SdesSrtp` has the SRTP side of :class:`~pyari.rtp.dtls.DtlsSrtp`'s interface
(always connected, no handshake), so a :class:`~pyari.rtp.webrtc.SecureTransport`
carries either. Suites: ``AES_CM_128_HMAC_SHA1_80`` and ``AES_CM_128_HMAC_SHA1_32``
(Asterisk's res_srtp offers both, 80 first); keys are 30 bytes (16 key, 14 salt),
``inline:`` base64 without lifetime or MKI parameters (those lines are skipped).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from pyari.rtp.srtp import SrtpSessions

__all__ = ["SUITES", "Crypto", "SdesSrtp", "choose_crypto", "new_key", "parse_crypto"]

SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
KEY_BYTES = 30


@dataclass(frozen=True, slots=True)
class Crypto:
    """One ``a=crypto`` line: tag, suite and the 30-byte master key and salt."""

    tag: int
    suite: str
    key: bytes

    def __str__(self) -> str:
        return f"{self.tag} {self.suite} inline:{base64.b64encode(self.key).decode()}"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def parse_crypto(value: str) -> Crypto | None:
    """An ``a=crypto`` value pyari can use, else None (unknown suite, lifetime or MKI,
    a key of the wrong size, anything malformed)."""
    parts = value.split()
    if len(parts) < 3 or not parts[0].isdigit() or len(parts[0]) > 9:
        return None
    suite = parts[1].upper()
    params = parts[2]
    if suite not in SUITES or not params.startswith("inline:") or "|" in params:
        return None
    try:
        key = base64.b64decode(params[len("inline:") :], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(key) != KEY_BYTES:
        return None
    return Crypto(int(parts[0]), suite, key)


def choose_crypto(values: list[str] | tuple[str, ...]) -> Crypto | None:
    """The first usable line of an offer (its order is its preference)."""
    for value in values:
        crypto = parse_crypto(value)
        if crypto is not None:
            return crypto
    return None


class SdesSrtp(SrtpSessions):
    """SRTP both ways with keys from SDP: ours protects, the peer's unprotects."""

    state = "connected"
    reason = ""
    connected = True
    failed = False

    def __init__(self, local: Crypto, remote: Crypto) -> None:
        super().__init__()
        self._start_srtp(local.key, local.suite, remote.key, remote.suite)

    def start(self, now: float) -> list[bytes]:
        return []

    def receive(self, data: bytes, now: float) -> list[bytes]:
        return []  # no DTLS here

    def poll(self, now: float) -> list[bytes]:
        return []

    def close(self) -> list[bytes]:
        return []
