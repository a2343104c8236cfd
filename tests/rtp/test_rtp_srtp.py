"""The SRTP sessions DTLS-SRTP and SDES-SRTP share (rtp/srtp.py): nothing passes before
the keys are given (and that is no unprotect failure), RTP and RTCP go through both ways
once keyed, with each suite; a packet under the wrong key or replayed is a counted failure."""

from __future__ import annotations

import pytest

from pyari.rtp.packet import RtpPacket
from pyari.rtp.rtcp import build_report
from pyari.rtp.sdes import new_key
from pyari.rtp.srtp import SRTP_AES128_CM_SHA1_80, SrtpSessions


def _pair(suite: str) -> tuple[SrtpSessions, SrtpSessions]:
    a_key, b_key = new_key(), new_key()
    a, b = SrtpSessions(), SrtpSessions()
    a._start_srtp(a_key, suite, b_key, suite)
    b._start_srtp(b_key, suite, a_key, suite)
    return a, b


def test_unkeyed_passes_nothing() -> None:
    s = SrtpSessions()
    packet = RtpPacket(0, 1, 160, 7, b"\xff" * 160).to_bytes()
    assert s.protect(packet) is None
    assert s.protect_rtcp(packet) is None
    assert s.unprotect(packet, False) is None
    assert s.unprotect(packet, True) is None
    assert s.unprotect_failures == 0


@pytest.mark.parametrize("suite", [SRTP_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_32"])
def test_keyed_both_ways(suite: str) -> None:
    a, b = _pair(suite)
    packet = RtpPacket(0, 5, 800, 42, b"\xff" * 160).to_bytes()
    protected = a.protect(packet)
    assert protected is not None and protected != packet
    assert b.unprotect(protected, False) == packet
    report = build_report(42, cname="pyari", sender=(1 << 32, 800, 1, 160))
    protected_rtcp = a.protect_rtcp(report)
    assert protected_rtcp is not None and b.unprotect(protected_rtcp, True) == report
    assert b.unprotect_failures == 0
    assert b.unprotect(protected, False) is None  # a replay
    assert a.unprotect(protected, False) is None  # under a's own key: not the peer's
    assert (a.unprotect_failures, b.unprotect_failures) == (1, 1)


def test_unknown_suite_refused() -> None:
    with pytest.raises(KeyError):
        SrtpSessions()._start_srtp(
            new_key(), "F8_128_HMAC_SHA1_80", new_key(), "F8_128_HMAC_SHA1_80"
        )
