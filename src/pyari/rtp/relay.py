"""The native RTP relay (decision 0029), when it is built and allowed.

``pyari.rtp._relay`` is a C extension (``src/pyari/rtp/_relay.c``, built by
``setup.py`` on install, optional): one thread per :class:`Relay` relays RTP of
two-party bridges on arrival without the GIL. :func:`make_relay` gives one, or None
when the extension is missing (no compiler at install time, not Linux) or when the
environment sets ``PYARI_PURE_RELAY=1``: then ``channels/rtp_media.py`` relays in
Python on the event loop (decision 0027), as it always did.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyari.rtp._relay import Relay

try:
    from pyari.rtp import _relay as _native
except ImportError:  # not built: the pure-Python relay
    _native = None  # type: ignore[assignment]

__all__ = ["PURE_ENV", "RTPRIO_ENV", "available", "enabled", "make_relay"]

PURE_ENV = "PYARI_PURE_RELAY"
"""Set to 1 (or yes/true/on) to relay in Python even when the extension is built."""
RTPRIO_ENV = "PYARI_RELAY_RTPRIO"
"""A ``SCHED_FIFO`` priority (1-99) for the relay thread, as ``asterisk -p`` runs
Asterisk at a real-time priority: relayed packets then wait for no other process.
Needs the permission (root or CAP_SYS_NICE); without it, or unset, the thread runs at
the process's priority."""


def available() -> bool:
    """The extension is built and importable."""
    return _native is not None


def enabled() -> bool:
    """The extension is built and the environment does not ask for the Python relay."""
    if _native is None:
        return False
    return os.environ.get(PURE_ENV, "").strip().lower() not in ("1", "yes", "true", "on")


def make_relay() -> Relay:
    """A new native relay (its thread starts with the first relayed stream)."""
    if _native is None:
        raise RuntimeError("pyari.rtp._relay is not built")
    try:
        priority = int(os.environ.get(RTPRIO_ENV, "0") or 0)
    except ValueError:
        priority = 0
    return _native.Relay(rt_priority=min(max(priority, 0), 99))
