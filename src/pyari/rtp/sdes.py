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


class SdesSrtp:
    """SRTP both ways with keys from SDP: ours protects, the peer's unprotects."""

    state = "connected"
    reason = ""
    connected = True
    failed = False

    def __init__(self, local: Crypto, remote: Crypto) -> None:
        from pylibsrtp import Policy, Session

        profiles = {
            "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            "AES_CM_128_HMAC_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
        }
        tx = Policy(key=local.key, ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                    srtp_profile=profiles[local.suite])  # fmt: skip
        tx.allow_repeat_tx = True
        rx = Policy(key=remote.key, ssrc_type=Policy.SSRC_ANY_INBOUND,
                    srtp_profile=profiles[remote.suite])  # fmt: skip
        rx.window_size = 1024
        self._tx = Session(tx)
        self._rx = Session(rx)
        self.unprotect_failures = 0

    def start(self, now: float) -> list[bytes]:
        return []

    def receive(self, data: bytes, now: float) -> list[bytes]:
        return []  # no DTLS here

    def poll(self, now: float) -> list[bytes]:
        return []

    def close(self) -> list[bytes]:
        return []

    def protect(self, packet: bytes) -> bytes | None:
        try:
            return self._tx.protect(packet)  # type: ignore[no-any-return]
        except Exception:
            return None

    def protect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._tx.protect_rtcp(packet)  # type: ignore[no-any-return]
        except Exception:
            return None

    def unprotect(self, packet: bytes, rtcp: bool) -> bytes | None:
        try:
            if rtcp:
                return self._rx.unprotect_rtcp(packet)  # type: ignore[no-any-return]
            return self._rx.unprotect(packet)  # type: ignore[no-any-return]
        except Exception:
            self.unprotect_failures += 1
            return None
