"""http.conf's session limits and timeouts against slow clients (issue #11, item 2).

A trickled request head (slowloris) must not hold a session: it is closed at
``request_head_timeout``, and before that a new connection takes its place
when ``sessionlimit`` or ``sessionlimit_per_address`` is reached.  A
connection with a complete request being answered, or a WebSocket, is never
the one closed.  Both HTTP cores; timeouts run on an injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.ari.service import AriRequest, AriResponse
from pyari.config import HttpSettings
from pyari.config.parser import parse_text
from pyari.http.sessions import (
    MIN_INITIAL_WAIT,
    SessionLimits,
    Wait,
    WaitKind,
    first_wait,
    overdue,
)
from pyari.server import Server
from rawhttp import at_eof, read_reply, request

PARTIAL_HEAD = b"GET /ari/asterisk/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"

# -- the rules, without sockets ---------------------------------------------------------


class Fake:
    """A session whose wait the test sets (None: busy)."""

    def __init__(self, host: str, wait: Wait | None) -> None:
        self.host = host
        self.waiting = wait
        self.closed_as: str | None = None

    def wait(self) -> Wait | None:
        return self.waiting

    def evict(self) -> None:
        self.closed_as = "evicted"

    def expire(self, kind: WaitKind) -> None:
        self.closed_as = kind


def head(since: float) -> Wait:
    return Wait("head", since, since)


def test_defaults_and_settings_are_asterisks_plus_two() -> None:
    d = HttpSettings()
    assert (d.sessionlimit, d.session_inactivity, d.session_keep_alive) == (100, 30000, 15000)
    assert (d.request_head_timeout, d.sessionlimit_per_address) == (10000, 50)
    s = HttpSettings.from_sections(
        parse_text("[general]\nrequest_head_timeout=2500\nsessionlimit_per_address=0\n", "h")
    )
    assert (s.request_head_timeout, s.sessionlimit_per_address) == (2500, 0)


def test_first_request_wait_is_asterisks() -> None:
    # keep-alive, else inactivity, never under 10 s
    assert first_wait(HttpSettings()) == 15.0
    assert first_wait(HttpSettings(session_keep_alive=0)) == 30.0
    assert first_wait(HttpSettings(session_keep_alive=100)) == MIN_INITIAL_WAIT
    s = HttpSettings()
    assert not overdue(s, Wait("first", 0, 0), 15.0)
    assert overdue(s, Wait("first", 0, 0), 15.01)


def test_a_trickled_head_is_cut_at_the_head_deadline() -> None:
    s = HttpSettings()  # inactivity 30 s, head 10 s
    trickled = Wait("head", 0.0, 9.0)  # a line every 9 s: never 30 s idle
    assert not overdue(s, trickled, 9.99)
    assert overdue(s, trickled, 10.01)
    assert not overdue(dataclasses.replace(s, request_head_timeout=0), trickled, 29.0)
    # a body is bounded by inactivity only; the next request by keep-alive
    assert not overdue(s, Wait("body", 0.0, 9.0), 38.9)
    assert overdue(s, Wait("body", 0.0, 9.0), 39.1)
    assert not overdue(s, Wait("next", 0.0, 0.0), 14.9)
    assert overdue(s, Wait("next", 0.0, 0.0), 15.0)
    assert overdue(dataclasses.replace(s, session_keep_alive=0), Wait("next", 5.0, 5.0), 5.0)


def test_the_longest_stalled_session_makes_room() -> None:
    limits = SessionLimits(HttpSettings(sessionlimit=3, sessionlimit_per_address=0))
    busy = Fake("a", None)
    old_head = Fake("a", head(1.0))
    idle = Fake("a", Wait("next", 2.0, 2.0))
    for s in (busy, old_head, idle):
        assert limits.admit(s)
    newcomer = Fake("a", head(3.0))
    assert limits.admit(newcomer)
    assert old_head.closed_as == "evicted"
    assert limits.admit(Fake("a", head(4.0)))
    assert idle.closed_as == "evicted"
    # Only the busy one and two heads are left; the older head goes.
    assert limits.admit(Fake("a", head(5.0)))
    assert newcomer.closed_as == "evicted"
    assert busy.closed_as is None
    assert (limits.evicted, len(limits)) == (3, 3)


def test_busy_sessions_and_websockets_are_never_evicted() -> None:
    limits = SessionLimits(HttpSettings(sessionlimit=2, sessionlimit_per_address=0))
    answering, websocket = Fake("a", None), Fake("a", None)
    assert limits.admit(answering) and limits.admit(websocket)
    assert not limits.admit(Fake("a", head(9.0)))  # refused, as Asterisk does
    assert (answering.closed_as, websocket.closed_as, limits.refused) == (None, None, 1)
    limits.remove(answering)
    assert limits.admit(Fake("a", head(9.0)))


def test_per_address_cap_takes_from_that_address_only() -> None:
    limits = SessionLimits(HttpSettings(sessionlimit=10, sessionlimit_per_address=2))
    mine = [Fake("b", head(0.0))]
    theirs = [Fake("a", head(1.0)), Fake("a", head(2.0))]
    for s in mine + theirs:
        assert limits.admit(s)
    assert limits.admit(Fake("a", head(3.0)))
    assert theirs[0].closed_as == "evicted" and mine[0].closed_as is None
    assert limits.by_host == {"a": 2, "b": 1}
    busy = SessionLimits(HttpSettings(sessionlimit=10, sessionlimit_per_address=1))
    assert busy.admit(Fake("a", None))
    assert not busy.admit(Fake("a", head(0.0)))
    assert busy.admit(Fake("b", head(0.0)))


def test_a_full_server_takes_from_the_busiest_address() -> None:
    limits = SessionLimits(HttpSettings(sessionlimit=3, sessionlimit_per_address=0))
    lone = Fake("b", Wait("next", 0.0, 0.0))  # waited longest, but its address has one
    flood = [Fake("a", head(5.0)), Fake("a", head(6.0))]
    for s in (lone, *flood):
        assert limits.admit(s)
    assert limits.admit(Fake("c", head(7.0)))
    assert flood[0].closed_as == "evicted" and lone.closed_as is None


def test_sweep_expires_by_kind() -> None:
    limits = SessionLimits(HttpSettings())
    trickle, fresh, busy = Fake("a", Wait("head", 0.0, 9.0)), Fake("a", head(9.0)), Fake("a", None)
    for s in (trickle, fresh, busy):
        limits.admit(s)
    limits.sweep(10.5)
    assert (trickle.closed_as, fresh.closed_as, busy.closed_as) == ("head", None, None)
    assert len(limits) == 2


# -- both cores, over loopback --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["httptools", "aiohttp"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setenv("PYARI_HTTP_BACKEND", name)
    return name


@pytest.fixture
async def serve(backend: str) -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    started: list[Server] = []

    async def start(**http: object) -> Server:
        srv = make_server(None, **http)
        await srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        await srv.stop()


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def connect(srv: Server) -> Conn:
    return await asyncio.open_connection("127.0.0.1", srv.http_port)


def limits_of(srv: Server) -> SessionLimits:
    limits: SessionLimits = srv.http.limits
    return limits


async def settled(srv: Server, count: int) -> None:
    """The server has taken in ``count`` sessions (and looked at them)."""
    await wait_for(lambda: len(limits_of(srv)) == count)
    await asyncio.sleep(0)  # let aiohttp's handler start waiting for its request


def kinds(srv: Server) -> list[str | None]:
    """What each session waits for (None: busy)."""
    return [w.kind if (w := s.wait()) else None for s in limits_of(srv).sessions]


def gate(srv: Server) -> asyncio.Event:
    """Hold every REST request in the handler until the returned event is set."""
    release = asyncio.Event()
    service: Any = srv.http.service
    handle = service.handle

    async def held(req: AriRequest) -> AriResponse:
        await release.wait()
        result: AriResponse = await handle(req)
        return result

    service.handle = held
    return release


async def test_head_deadline_closes_a_trickled_head(serve: Any, backend: str) -> None:
    srv = await serve()
    clock = Clock()
    limits_of(srv).clock = clock
    reader, writer = await connect(srv)
    writer.write(PARTIAL_HEAD)
    await settled(srv, 1)
    await wait_for(lambda: kinds(srv) == ["head"])
    clock.now += 9  # a header line every 9 s keeps it under session_inactivity
    writer.write(b"X-Slow: 1\r\n")
    await asyncio.sleep(0.05)
    limits_of(srv).sweep()
    assert len(limits_of(srv)) == 1 and not reader.at_eof()
    clock.now += 1.5  # 10.5 s since the head began
    limits_of(srv).sweep()
    if backend == "httptools":  # Asterisk's page for a head that timed out
        reply = await read_reply(reader)
        assert (reply.status, reply.headers["Connection"]) == (400, "close")
        assert b"Timeout" in reply.body
    assert await at_eof(reader)
    writer.close()
    await wait_for(lambda: len(limits_of(srv)) == 0)


async def test_first_and_keep_alive_waits(serve: Any) -> None:
    srv = await serve()
    clock = Clock()
    limits_of(srv).clock = clock
    silent = await connect(srv)
    talker = await connect(srv)
    await settled(srv, 2)
    talker[1].write(request("GET", "/ari/asterisk/ping"))
    assert (await read_reply(talker[0])).status == 200
    await asyncio.sleep(0.05)
    limits_of(srv).sweep()  # the talker is seen idle from here
    clock.now += 14.9
    limits_of(srv).sweep()
    assert len(limits_of(srv)) == 2
    clock.now += 0.2  # 15.1 s: session_keep_alive for both
    limits_of(srv).sweep()
    assert await at_eof(silent[0]) and await at_eof(talker[0])
    for _, w in (silent, talker):
        w.close()


async def test_newcomers_never_evict_requests_or_websockets(serve: Any) -> None:
    srv = await serve(sessionlimit=3, sessionlimit_per_address=0)
    release = gate(srv)
    answering = await connect(srv)
    answering[1].write(request("GET", "/ari/asterisk/ping"))
    async with aiohttp.ClientSession(headers=auth_headers()) as http:
        ws = await http.ws_connect(f"http://127.0.0.1:{srv.http_port}/ari/events?app=held")
        await settled(srv, 2)
        # Two stalled newcomers: each takes the third place from the one before.
        first = await connect(srv)
        first[1].write(PARTIAL_HEAD)
        await settled(srv, 3)
        second = await connect(srv)
        second[1].write(request("GET", "/ari/asterisk/ping")[:-2])  # all but the blank line
        assert await at_eof(first[0])
        # Now the third place is held by a request being answered: a newcomer is refused.
        second[1].write(b"\r\n")
        await asyncio.sleep(0.05)
        third = await connect(srv)
        third[1].write(PARTIAL_HEAD)
        assert await at_eof(third[0])
        assert limits_of(srv).refused >= 1
        release.set()
        assert (await read_reply(answering[0])).status == 200
        assert (await read_reply(second[0])).status == 200
        assert not ws.closed and srv.stasis.get("held") is not None
        await ws.close()
    for _, w in (answering, first, second, third):
        w.close()


async def trickle(port: int, count: int, stop: asyncio.Event, opened: list[int]) -> None:
    """``count`` connections from loopback, each a head that never ends.

    Like slowloris: every round a header line goes out on each; a connection the
    server closed is opened again.
    """
    conns: list[Conn | None] = [None] * count

    async def refresh(i: int) -> None:
        conn = conns[i]
        if conn is not None and not conn[0].at_eof() and not conn[1].is_closing():
            try:
                conn[1].write(b"X-a: b\r\n")
                return
            except (ConnectionError, RuntimeError):
                pass
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.write(PARTIAL_HEAD)
        conns[i] = (reader, writer)
        opened[0] += 1

    try:
        while not stop.is_set():
            await asyncio.gather(*(refresh(i) for i in range(count)))
            # drain what the server sent (error pages), so closes are seen
            for conn in conns:
                if conn is not None and conn[0]._buffer:  # type: ignore[attr-defined]
                    conn[0]._buffer.clear()  # type: ignore[attr-defined]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        for conn in conns:
            if conn is not None:
                conn[1].close()


async def test_a_legitimate_client_gets_through_300_trickling_connections(
    serve: Any,
) -> None:
    srv = await serve()  # Asterisk's sessionlimit (100), pyari's per-address cap (50)
    stop = asyncio.Event()
    opened = [0]
    attack = asyncio.ensure_future(trickle(srv.http_port, 300, stop, opened))
    try:
        await wait_for(lambda: opened[0] >= 300, timeout=20)
        assert len(limits_of(srv)) <= 50  # one address: its cap
        base = f"http://127.0.0.1:{srv.http_port}"
        ok = 0
        tries = 20
        for i in range(tries):
            # a fresh connection each time: no pooled keep-alive to lean on
            async with aiohttp.ClientSession(
                headers=auth_headers(), connector=aiohttp.TCPConnector(force_close=True)
            ) as http:
                try:
                    if i % 2:
                        async with http.get(f"{base}/ari/asterisk/ping") as r:
                            ok += r.status == 200 and json.loads(await r.text())["ping"] == "pong"
                    else:
                        ws = await http.ws_connect(f"{base}/ari/events?app=legit{i}")
                        await wait_for(lambda i=i: srv.stasis.get(f"legit{i}") is not None)
                        ok += not ws.closed
                        await ws.close()
                except (aiohttp.ClientError, ConnectionError):
                    pass
        assert ok == tries
        assert limits_of(srv).evicted > 0
    finally:
        stop.set()
        await attack


async def test_a_client_that_does_not_read_its_answer_holds_no_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httptools core: an answer left unread does not pin its session.

    (aiohttp writes inside the request handler: such a client stays busy there.)
    """
    monkeypatch.setenv("PYARI_HTTP_BACKEND", "httptools")
    srv = make_server(None, sessionlimit=1, sessionlimit_per_address=0)
    await srv.start()
    try:
        clock = Clock()
        limits_of(srv).clock = clock
        service: Any = srv.http.service

        async def huge(req: AriRequest) -> AriResponse:
            return AriResponse(200, b"x" * (32 * 1024 * 1024))

        service.handle = huge
        _, writer = await connect(srv)
        writer.write(request("GET", "/ari/asterisk/info", headers={"Connection": "close"}))
        # Answered and closing, but the bytes wait for a reader that never comes.
        await wait_for(lambda: kinds(srv) == ["next"])
        clock.now += 16  # session_keep_alive: dropped, not left to drain
        limits_of(srv).sweep()
        await wait_for(lambda: len(limits_of(srv)) == 0)
        writer.close()
        # Left unread on a kept-alive connection, it makes room for a newcomer.
        _, writer = await connect(srv)
        writer.write(request("GET", "/ari/asterisk/info"))
        await wait_for(lambda: kinds(srv) == ["next"])
        service.handle = type(service).handle.__get__(service)
        other = await connect(srv)
        other[1].write(request("GET", "/ari/asterisk/ping"))
        assert (await read_reply(other[0])).status == 200
        assert limits_of(srv).evicted == 1
        other[1].close()
        writer.close()
    finally:
        await srv.stop()
