"""A WebRTC media transport on one UDP socket, sans-IO: ICE-lite, DTLS-SRTP, rtcp-mux.

:class:`SecureTransport` sits between the RTP socket and the
:class:`~pyari.rtp.session.RtpSession`. Every datagram that arrives goes through
:meth:`SecureTransport.receive`, which tells the protocols apart by their first byte
(RFC 7983): STUN (0-3) to the ICE-lite agent, DTLS (20-63) to the handshake, RTP and
RTCP (128-191) are unprotected with SRTP/SRTCP and returned for the session; anything
else is dropped. With ICE, media is only taken from (and sent to) an address that passed
a check. Every packet the session sends goes through :meth:`SecureTransport.protect_rtp`
or :meth:`SecureTransport.protect_rtcp` (with rtcp-mux RTCP shares the RTP socket).

The SRTP context is a DTLS-SRTP association or SDES keys from SDP
(:class:`~pyari.rtp.sdes.SdesSrtp`, the same interface without a handshake).

Nothing here raises on bad input; counters say what was dropped. When DTLS fails (a
certificate whose fingerprint is not the one in SDP, a handshake error) ``failed`` is
set and ``on_failed`` is called once, so the channel can hang up cleanly.
"""

from __future__ import annotations

from collections.abc import Callable

from pyari.rtp.dtls import DtlsSrtp
from pyari.rtp.ice import IceLite, is_stun
from pyari.rtp.sdes import SdesSrtp

__all__ = ["SecureTransport"]

Address = tuple[str, int]
Datagram = tuple[bytes, Address]


class SecureTransport:
    """See the module docstring. ``remote`` is the signalled address (SDP c=/m=)."""

    def __init__(
        self,
        *,
        ice: IceLite | None,
        dtls: DtlsSrtp | SdesSrtp | None,
        remote: Address | None,
        rtcp_mux: bool = True,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        self.ice = ice
        self.dtls = dtls
        self.signalled = remote
        self.rtcp_mux = rtcp_mux
        self.on_failed = on_failed
        self.dropped = 0
        self.stun = 0
        self.dtls_datagrams = 0
        self._reported = False
        self._started = False

    # -------------------------------------------------------------- state

    @property
    def remote(self) -> Address | None:
        """Where packets go: the ICE-selected address, else (no ICE) the signalled one."""
        if self.ice is not None:
            return self.ice.selected
        return self.signalled

    @property
    def ready(self) -> bool:
        """Media may flow: a path is chosen and, with DTLS, keys are agreed."""
        if self.remote is None:
            return False
        return self.dtls is None or self.dtls.connected

    @property
    def failed(self) -> bool:
        return self.dtls is not None and self.dtls.failed

    def _check_failed(self) -> None:
        dtls = self.dtls
        if dtls is not None and dtls.failed and not self._reported:
            self._reported = True
            if self.on_failed is not None:
                self.on_failed(dtls.reason)

    def _start(self, now: float) -> list[Datagram]:
        """A DTLS client starts once it has somewhere to send its hello."""
        dtls = self.dtls
        remote = self.remote
        if dtls is None or self._started or remote is None:
            return []
        self._started = True
        return [(d, remote) for d in dtls.start(now)]

    # -------------------------------------------------------------- datagrams

    def receive(
        self, data: bytes, addr: Address, now: float
    ) -> tuple[bytes | None, list[Datagram]]:
        """A datagram from ``addr``: (the plain RTP/RTCP packet for the session or None,
        datagrams to send)."""
        if not data:
            self.dropped += 1
            return None, []
        first = data[0]
        ice = self.ice
        if first < 4:
            if ice is None or not is_stun(data):
                self.dropped += 1
                return None, []
            self.stun += 1
            response = ice.handle(data, addr)
            out: list[Datagram] = [(response, addr)] if response is not None else []
            out += self._start(now)
            return None, out
        if ice is not None and addr not in ice.valid:
            # media and DTLS only from an address that passed a connectivity check
            self.dropped += 1
            return None, []
        if 20 <= first <= 63:
            dtls = self.dtls
            if dtls is None:
                self.dropped += 1
                return None, []
            self.dtls_datagrams += 1
            replies = dtls.receive(data, now)
            self._check_failed()
            return None, [(d, self.remote or addr) for d in replies]
        if 128 <= first <= 191:
            dtls = self.dtls
            if dtls is None:
                return data, []
            rtcp = len(data) >= 2 and 192 <= data[1] <= 223
            plain = dtls.unprotect(data, rtcp)
            if plain is None:
                self.dropped += 1
            return plain, []
        self.dropped += 1
        return None, []

    def poll(self, now: float) -> list[Datagram]:
        """Timers: start the DTLS client, retransmit a lost flight (each media tick)."""
        dtls = self.dtls
        if dtls is None:
            return []
        out = self._start(now)
        remote = self.remote
        if remote is not None:
            out += [(d, remote) for d in dtls.poll(now)]
        self._check_failed()
        return out

    def protect_rtp(self, packet: bytes) -> bytes | None:
        """The packet to put on the wire, None while it cannot be sent yet."""
        dtls = self.dtls
        if dtls is None:
            return packet
        return dtls.protect(packet)

    def protect_rtcp(self, packet: bytes) -> bytes | None:
        dtls = self.dtls
        if dtls is None:
            return packet
        return dtls.protect_rtcp(packet)

    def close(self) -> list[Datagram]:
        dtls = self.dtls
        remote = self.remote
        if dtls is None or remote is None:
            return []
        return [(d, remote) for d in dtls.close()]
