"""The events socket's writes: an event goes to the transport at once while the writer
is idle and nothing waits in the queue, else it queues behind what waits; the order on
the socket is the order of the events either way."""

from __future__ import annotations

import asyncio
import json

from pyari.ari.events_ws import EventEncoder, EventSession
from pyari.core import events as ev
from pyari.core.engine import Core
from pyari.stasis.registry import Registry


class Socket:
    """Records what the session writes: at once (``now``) or from its writer."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str]] = []
        self.takes_now = True

    def now(self, data: bytes) -> bool:
        if not self.takes_now:
            return False
        self.frames.append(("now", json.loads(data)["eventname"]))
        return True

    async def send(self, data: bytes) -> None:
        self.frames.append(("writer", json.loads(data)["eventname"]))


def session_of(sock: Socket, max_queue: int = 100) -> tuple[EventSession, Registry]:
    registry = Registry(Core())
    session = EventSession(
        registry, ["app"], sock.send, EventEncoder("id", False), max_queue=max_queue
    )
    session.send_now = sock.now
    session.open()
    return session, registry


def send(registry: Registry, *names: str) -> None:
    app = registry.get("app")
    assert app is not None
    for name in names:
        app.send(ev.ChannelUserevent(eventname=name))


async def test_events_go_at_once_while_the_writer_is_idle() -> None:
    sock = Socket()
    session, registry = session_of(sock)
    writer = asyncio.ensure_future(session.write_loop())
    send(registry, "a", "b")
    assert sock.frames == [("now", "a"), ("now", "b")]
    app = registry.get("app")
    assert app is not None and app.written == session.sent["app"] == 2
    session.close()
    await writer


async def test_a_refused_write_queues_and_later_events_wait_behind_it() -> None:
    sock = Socket()
    session, registry = session_of(sock)
    writer = asyncio.ensure_future(session.write_loop())
    send(registry, "a")
    sock.takes_now = False  # the transport is paused
    send(registry, "b")
    sock.takes_now = True
    send(registry, "c")  # "b" waits in the queue: "c" goes behind it
    assert sock.frames == [("now", "a")]
    await asyncio.sleep(0)
    assert sock.frames == [("now", "a"), ("writer", "b"), ("writer", "c")]
    send(registry, "d")
    assert sock.frames[-1] == ("now", "d")
    session.close()
    await writer


async def test_more_events_in_one_round_than_the_queue_holds_close_the_session() -> None:
    sock = Socket()
    session, registry = session_of(sock, max_queue=4)
    writer = asyncio.ensure_future(session.write_loop())
    send(registry, *"abcdef")
    assert [name for _, name in sock.frames] == list("abcd")
    assert session.closed and session.close_code == 1013
    await writer
    # In the next round the count starts again.
    sock2 = Socket()
    session2, registry2 = session_of(sock2, max_queue=4)
    send(registry2, *"abcd")
    await asyncio.sleep(0)
    send(registry2, *"efgh")
    assert not session2.closed
    assert [name for _, name in sock2.frames] == list("abcdefgh")
    session2.close()
