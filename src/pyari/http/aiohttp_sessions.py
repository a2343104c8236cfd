"""http.conf's session limits on the aiohttp core (:mod:`pyari.http.aiohttp_core`).

aiohttp has no hook for what a connection is doing, so each accepted
connection's protocol is a :class:`TrackedHandler` that passes every
transport callback on to aiohttp's own ``RequestHandler`` and reads that
handler's state to tell the :class:`~pyari.http.sessions.SessionLimits`
what the connection waits for.  As far as aiohttp lets it see:

* a head is in progress from the first byte that starts no complete request
  (aiohttp's parser keeps the partial head to itself);
* once aiohttp has a head, the request (its body included) is busy: aiohttp
  reads bodies inside the handler, so a slow body is not timed out here;
* the end of an answer is seen at the next look (a sweep, or a newcomer
  looking for room), not to the millisecond.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from aiohttp import web

from pyari.http.sessions import SessionLimits, Wait, WaitKind

KEEPALIVE_TIMEOUT = 24 * 3600.0
"""aiohttp's own keep-alive timer, left far out: the session limits do it."""


class TrackedHandler(asyncio.Protocol):
    """One accepted connection: aiohttp's handler, seen by the session limits."""

    def __init__(self, server: web.Server, limits: SessionLimits) -> None:
        self.inner = server()
        self.limits = limits
        self.host = ""
        self.admitted = False
        now = limits.clock()
        self.accepted = now
        self.last_read = now
        self.idle_from = now
        """When the handler was first seen idle after its last answer."""
        self.seen_count = 0
        """aiohttp's request count when :attr:`idle_from` was taken."""
        self.busy_seen = False
        self.head_started = 0.0
        self.head_count = -1
        """aiohttp's request count when the head in progress began (-1: none)."""
        self.transport: asyncio.Transport | None = None

    # -- what aiohttp's handler is doing -------------------------------------------------

    def _idle(self) -> bool:
        """aiohttp waits for a request: none queued, none being answered."""
        inner: Any = self.inner
        waiter = getattr(inner, "_waiter", None)
        return (
            waiter is not None
            and not waiter.done()
            and not getattr(inner, "_messages", None)
            and getattr(inner, "_payload_parser", None) is None
            and not getattr(inner, "_upgraded", False)
        )

    def _count(self) -> int:
        return int(getattr(self.inner, "_request_count", 0))

    def wait(self) -> Wait | None:
        if self.transport is None or self.transport.is_closing():
            return None
        if not self._idle():
            self.busy_seen = True
            return None
        count = self._count()
        if self.busy_seen or count != self.seen_count:
            self.busy_seen = False
            self.seen_count = count
            self.idle_from = self.limits.clock()
        if self.head_count == count:
            return Wait("head", self.head_started, self.last_read)
        if count == 0:
            return Wait("first", self.accepted, self.accepted)
        return Wait("next", self.idle_from, self.idle_from)

    def evict(self) -> None:
        self._close()

    def expire(self, kind: WaitKind) -> None:
        self._close()

    def _close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- transport callbacks, passed on --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.host = str(peer[0]) if peer else ""
        if not self.limits.admit(self):
            transport.close()  # every session busy: closed unanswered, as Asterisk does
            return
        self.admitted = True
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.limits.remove(self)
        if self.admitted:
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        now = self.last_read = self.limits.clock()
        count = self._count()
        if self.head_count != count and self._idle():
            self.head_started = now  # the first byte of a new request
            self.head_count = count
        self.inner.data_received(data)

    def eof_received(self) -> None:
        self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def tracked_factory(runner: web.AppRunner, limits: SessionLimits) -> Callable[[], TrackedHandler]:
    """The protocol factory of a listener of ``runner``'s application."""
    server = runner.server
    assert server is not None, "runner.setup() first"

    def make() -> TrackedHandler:
        return TrackedHandler(server, limits)

    return make
