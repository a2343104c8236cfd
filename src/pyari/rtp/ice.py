"""ICE-lite (RFC 8445 §2.5): pyari answers the connectivity checks of a full agent.

As Asterisk with ``ice_support=yes`` towards a browser, pyari gathers host candidates
only and never sends checks of its own: the browser (the controlling full agent) sends
STUN Binding requests to our candidates; each one that carries our ``ufrag:theirs``
USERNAME and a MESSAGE-INTEGRITY made with our password gets a Binding success response
(XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT) and makes its source a valid
address. The first check with USE-CANDIDATE (or, before one, the first valid check)
selects the address media is sent to. ``permit`` (rtp.conf's ``ice_acl``,
``ice_deny``/``ice_permit``) decides which remote addresses may be checked at all: a
check from elsewhere gets no answer, so tests never talk to anything but loopback.

STUN parsing and encoding are aioice's (``aioice.stun``); malformed input of any kind is
dropped and counted, never raised.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Callable

__all__ = ["IceLite", "host_candidate", "is_stun"]

Address = tuple[str, int]

HOST_TYPE_PREFERENCE = 126
LOCAL_PREFERENCE = 65535


def is_stun(data: bytes) -> bool:
    """RFC 7983 demultiplexing: STUN messages start with 0 or 1 (and carry the cookie)."""
    return len(data) >= 20 and data[0] < 4 and data[4:8] == b"\x21\x12\xa4\x42"


def host_candidate(address: str, port: int, component: int = 1) -> str:
    """An ``a=candidate`` value for a host candidate (RFC 8445 §5.1.2.1 priority)."""
    priority = (HOST_TYPE_PREFERENCE << 24) + (LOCAL_PREFERENCE << 8) + (256 - component)
    foundation = format(zlib.crc32(f"host{address}udp".encode()) & 0xFFFFFFFF, "x")
    return f"{foundation} {component} udp {priority} {address} {port} typ host"


class IceLite:
    """The lite agent of one media stream (see the module docstring)."""

    def __init__(
        self,
        *,
        ufrag: str | None = None,
        pwd: str | None = None,
        permit: Callable[[str], bool] | None = None,
    ) -> None:
        # ice-chars are ALPHA / DIGIT / "+" / "/": hex digits are a subset
        self.ufrag = ufrag or secrets.token_hex(4)
        self.pwd = pwd or secrets.token_hex(16)
        self.remote_ufrag: str | None = None
        self.remote_pwd: str | None = None
        self.permit = permit
        self.selected: Address | None = None
        """Where media goes: the nominated (or first valid) remote address."""
        self.nominated = False
        self.valid: set[Address] = set()
        self.checks = 0
        self.refused = 0
        """Checks from addresses ``permit`` refuses."""
        self.bad = 0
        """Datagrams that looked like STUN but were malformed or failed integrity."""

    def set_remote(self, ufrag: str | None, pwd: str | None) -> None:
        """The peer's credentials (its SDP); an ICE restart (new ones) forgets the pairs."""
        if (ufrag, pwd) != (self.remote_ufrag, self.remote_pwd) and self.remote_ufrag:
            self.valid.clear()
            self.selected = None
            self.nominated = False
        self.remote_ufrag = ufrag
        self.remote_pwd = pwd

    def handle(self, data: bytes, addr: Address) -> bytes | None:
        """A STUN datagram from ``addr``: the response to send back, or None."""
        from aioice import stun

        if self.permit is not None and not self.permit(addr[0]):
            self.refused += 1
            return None
        try:
            request = stun.parse_message(data)
        except Exception:  # aioice raises ValueError, struct.error, IndexError ...
            self.bad += 1
            return None
        if request.message_method != stun.Method.BINDING:
            return None
        if request.message_class != stun.Class.REQUEST:
            return None  # lite agents send no requests, so expect no responses
        username = request.attributes.get("USERNAME")
        if not isinstance(username, str) or username.split(":", 1)[0] != self.ufrag:
            self.bad += 1
            return None
        if "FINGERPRINT" not in request.attributes:
            self.bad += 1
            return None
        if not request.check_message_integrity(self.pwd.encode()):
            self.bad += 1
            return None
        self.checks += 1
        self.valid.add(addr)
        if "USE-CANDIDATE" in request.attributes:
            if not self.nominated or self.selected != addr:
                self.selected = addr
            self.nominated = True
        elif self.selected is None:
            self.selected = addr
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes["XOR-MAPPED-ADDRESS"] = (addr[0], addr[1])
        response.add_message_integrity(self.pwd.encode())
        return bytes(response)
