"""SRTP (RFC 3711) with a pair of libsrtp sessions: the half that DTLS-SRTP
(:class:`~pyari.rtp.dtls.DtlsSrtp`) and SDES-SRTP (:class:`~pyari.rtp.sdes.SdesSrtp`)
share once their master keys are known, whichever way the keys were agreed.

Ours protects what we send, the peer's unprotects what it sends. Until the keys are
given, the sessions are a stand-in through which nothing passes, so that the calls made
for every packet need no check of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pylibsrtp import Policy, Session

__all__ = ["SRTP_AES128_CM_SHA1_80", "SrtpSessions"]

SRTP_AES128_CM_SHA1_80 = "AES_CM_128_HMAC_SHA1_80"
"""The crypto suite of DTLS-SRTP (its ``SRTP_AES128_CM_SHA1_80`` profile), by its SDES name."""
REPLAY_WINDOW = 1024
"""Packets of replay protection of what the peer sends (libsrtp's default is 128)."""


class _Unkeyed:
    """The sessions before the keys are known: nothing passes either way."""

    @staticmethod
    def protect(packet: bytes) -> None:
        return None

    protect_rtcp = unprotect = unprotect_rtcp = protect


_UNKEYED = _Unkeyed()


def _policy(key: bytes, suite: str, *, outbound: bool) -> Policy:
    """The libsrtp policy of one direction: ``key`` is the 30-byte master key and salt,
    ``suite`` an SDES suite name (``AES_CM_128_HMAC_SHA1_80`` or ``..._32``)."""
    from pylibsrtp import Policy

    profiles = {
        "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        "AES_CM_128_HMAC_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    }
    policy = Policy(
        key=key,
        ssrc_type=Policy.SSRC_ANY_OUTBOUND if outbound else Policy.SSRC_ANY_INBOUND,
        srtp_profile=profiles[suite],
    )
    if outbound:
        policy.allow_repeat_tx = True  # a packet sent again (a retransmission) is not refused
    else:
        policy.window_size = REPLAY_WINDOW
    return policy


class SrtpSessions:
    """Protect and unprotect with the keys given to :meth:`_start_srtp` (see the module
    docstring); a packet that cannot be protected, or fails authentication or the replay
    check, gives None (failures to unprotect are counted in ``unprotect_failures``)."""

    def __init__(self) -> None:
        self._tx: Session | _Unkeyed = _UNKEYED
        self._rx: Session | _Unkeyed = _UNKEYED
        self.unprotect_failures = 0

    def _start_srtp(self, tx_key: bytes, tx_suite: str, rx_key: bytes, rx_suite: str) -> None:
        """Key both directions: ``tx_key`` protects what we send, ``rx_key`` unprotects
        what the peer sends (each the 30-byte master key and salt of its suite, an SDES
        suite name)."""
        from pylibsrtp import Session

        self._tx = Session(_policy(tx_key, tx_suite, outbound=True))
        self._rx = Session(_policy(rx_key, rx_suite, outbound=False))

    def protect(self, packet: bytes) -> bytes | None:
        try:
            return self._tx.protect(packet)
        except Exception:
            return None

    def protect_rtcp(self, packet: bytes) -> bytes | None:
        try:
            return self._tx.protect_rtcp(packet)
        except Exception:
            return None

    def unprotect(self, packet: bytes, rtcp: bool) -> bytes | None:
        """The plain packet, or None when it fails authentication (or replays)."""
        try:
            if rtcp:
                return self._rx.unprotect_rtcp(packet)
            return self._rx.unprotect(packet)
        except Exception:
            self.unprotect_failures += 1
            return None
