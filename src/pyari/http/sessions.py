"""HTTP session limits and timeouts of http.conf, for both HTTP cores.

A *session* is one accepted HTTP connection (as Asterisk counts them).  What
it is doing decides how long it may wait and whether it may be closed to make
room for a newcomer:

* ``first``: accepted, no byte of a request yet.  Asterisk waits
  ``session_keep_alive`` (``session_inactivity`` when keep-alive is off) but
  never less than :data:`MIN_INITIAL_WAIT` seconds.
* ``next``: answered, kept alive, waiting for the next request:
  ``session_keep_alive``.
* ``head``: a request head has begun arriving: ``session_inactivity`` between
  reads (as Asterisk), and, pyari's own, ``request_head_timeout`` for the
  whole head, so a head trickled a line at a time cannot hold a session.
* ``body``: the head is in, the body is arriving: ``session_inactivity``
  between reads.
* busy (:meth:`Session.wait` is None): a complete request is queued or being
  answered, or the connection is a WebSocket.  Never timed out here, never
  evicted.

``sessionlimit`` bounds the sessions, and ``sessionlimit_per_address``
(pyari's own) those of one client address.  A connection over either limit
evicts the session that has waited longest in ``first``/``next``/``head``/
``body`` (of the same address for the per-address cap, of the address
holding the most sessions otherwise); when every session is busy it is
closed unanswered, as Asterisk does.  See
docs/decisions/0018-http-session-limits.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

if TYPE_CHECKING:
    from pyari.config import HttpSettings

log = logging.getLogger("pyari.http")

MIN_INITIAL_WAIT = 10.0
"""Seconds a new connection may wait before its first request begins, at least."""

WaitKind = Literal["first", "next", "head", "body"]


class Wait(NamedTuple):
    """What a session is waiting for, since when, and when it last read."""

    kind: WaitKind
    since: float
    last_read: float


class Session(Protocol):
    """A connection as the limits see it (each core's connection object)."""

    @property
    def host(self) -> str: ...

    def wait(self) -> Wait | None:
        """What it waits for (None: busy answering, or a WebSocket)."""
        ...

    def evict(self) -> None:
        """Close it now to make room for another connection."""
        ...

    def expire(self, kind: WaitKind) -> None:
        """Close it: it waited too long for ``kind``."""
        ...


def first_wait(settings: HttpSettings) -> float:
    """Seconds a new connection may wait for its first request to begin."""
    ms = settings.session_keep_alive
    if ms <= 0:
        ms = settings.session_inactivity
    return max(ms / 1000.0, MIN_INITIAL_WAIT)


def overdue(settings: HttpSettings, wait: Wait, now: float) -> bool:
    """Whether a session waiting for ``wait`` has waited too long at ``now``."""
    inactivity = settings.session_inactivity / 1000.0
    if wait.kind == "first":
        return now - wait.since > first_wait(settings)
    if wait.kind == "next":
        return now - wait.since >= settings.session_keep_alive / 1000.0
    if now - wait.last_read > inactivity:
        return True
    head = settings.request_head_timeout / 1000.0
    return wait.kind == "head" and head > 0 and now - wait.since > head


def sweep_interval(settings: HttpSettings) -> float:
    """Seconds between sweeps: a quarter of the shortest timeout, 20 ms to 1 s."""
    times = (
        settings.session_inactivity,
        settings.session_keep_alive,
        settings.request_head_timeout,
        4000,
    )
    shortest = min(t for t in times if t > 0)
    return min(1.0, max(0.02, shortest / 4000.0))


class SessionLimits:
    """The sessions of one HTTP server: admission, eviction and timeouts."""

    def __init__(self, settings: HttpSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.sessions: dict[Session, str] = {}
        self.by_host: dict[str, int] = {}
        self.evicted = 0
        """Sessions closed to make room, since start."""
        self.refused = 0
        """Connections closed unanswered because every session was busy."""

    def __len__(self) -> int:
        return len(self.sessions)

    def admit(self, session: Session) -> bool:
        """Count a new connection in, evicting a waiting session if a limit is reached.

        False: every session it could replace is busy; the caller closes it.
        """
        s = self.settings
        host = session.host
        per_host = s.sessionlimit_per_address
        if per_host > 0 and self.by_host.get(host, 0) >= per_host and not self._evict(host):
            self._refuse(f"HTTP session count from {host} exceeded {per_host} sessions.")
            return False
        if len(self.sessions) >= max(s.sessionlimit, 1) and not self._evict(None):
            self._refuse(f"HTTP session count exceeded {s.sessionlimit} sessions.")
            return False
        self.sessions[session] = host
        self.by_host[host] = self.by_host.get(host, 0) + 1
        return True

    def remove(self, session: Session) -> None:
        host = self.sessions.pop(session, None)
        if host is None:
            return
        left = self.by_host[host] - 1
        if left:
            self.by_host[host] = left
        else:
            del self.by_host[host]

    def _refuse(self, message: str) -> None:
        self.refused += 1
        log.warning("%s", message)

    def _evict(self, host: str | None) -> bool:
        """Close the longest-waiting session (of ``host``, or of the busiest address)."""
        victim: Session | None = None
        best: tuple[int, float] | None = None
        by_host = self.by_host
        for session, where in self.sessions.items():
            if host is not None and where != host:
                continue
            wait = session.wait()
            if wait is None:
                continue
            key = (-by_host[where], wait.since)
            if best is None or key < best:
                victim, best = session, key
        if victim is None:
            return False
        self.remove(victim)
        self.evicted += 1
        log.debug("HTTP session from %s closed to make room for a new one", host or "?")
        victim.evict()
        return True

    def sweep(self, now: float | None = None) -> None:
        """Close the sessions that waited too long (at ``now``, else the clock's time)."""
        if now is None:
            now = self.clock()
        s = self.settings
        for session in list(self.sessions):
            wait = session.wait()
            if wait is not None and overdue(s, wait, now):
                self.remove(session)
                session.expire(wait.kind)
