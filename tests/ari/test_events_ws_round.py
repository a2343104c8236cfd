"""An events session on the httptools core's WebSocket: the frames sent at once in a loop
round leave in one write at its end, and the same callback ends the session's round (its
count of frames sent at once: more than the queue holds in one round close it, 1013)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from pyari.ari.events_ws import EventEncoder, EventSession
from pyari.core import events as ev
from pyari.core.engine import Core
from pyari.http.httptools_core import HttpProtocol, WebSocket
from pyari.stasis.registry import Registry


class Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))


class Proto:
    """What a WebSocket uses of its connection."""

    def __init__(self) -> None:
        self.transport = Transport()
        self._write_paused = False
        self.closed = False


def ready() -> int:
    """Callbacks waiting for the next loop round (asyncio's own loop)."""
    return len(cast(Any, asyncio.get_running_loop())._ready)


def names(data: bytes) -> list[str]:
    """The event names a client reads from the server's bytes."""
    conn = Connection(ConnectionType.CLIENT)
    conn.receive_data(data)
    return [json.loads(e.data)["eventname"] for e in conn.events() if isinstance(e, TextMessage)]


def open_session(max_queue: int = 100) -> tuple[EventSession, Registry, Proto]:
    proto = Proto()
    ws = WebSocket(cast(HttpProtocol, proto), "ari", 1 << 20)

    async def send(data: bytes) -> None:
        await ws.send_text_bytes(data)

    registry = Registry(Core())
    session = EventSession(registry, ["app"], send, EventEncoder("id", False), max_queue=max_queue)
    session.send_now = ws.send_text_now
    session.at_round_end = ws.call_at_round_end
    session.open()
    return session, registry, proto


def send(registry: Registry, *eventnames: str) -> None:
    app = registry.get("app")
    assert app is not None
    for name in eventnames:
        app.send(ev.ChannelUserevent(eventname=name))


async def test_a_rounds_events_leave_in_one_write_with_one_callback() -> None:
    session, registry, proto = open_session()
    writer = asyncio.ensure_future(session.write_loop())
    await asyncio.sleep(0)  # (the writer waits)
    before = ready()
    send(registry, "a", "b", "c")
    assert proto.transport.writes == []
    assert ready() == before + 1  # the socket's write and the session's round: one callback
    await asyncio.sleep(0)
    assert [names(w) for w in proto.transport.writes] == [["a", "b", "c"]]
    before = ready()
    send(registry, "d")
    assert ready() == before + 1
    await asyncio.sleep(0)
    assert [names(w) for w in proto.transport.writes] == [["a", "b", "c"], ["d"]]
    session.close()
    await writer


async def test_more_events_in_one_round_than_the_queue_holds_close_the_session() -> None:
    session, registry, proto = open_session(max_queue=4)
    writer = asyncio.ensure_future(session.write_loop())
    send(registry, *"abcdef")
    assert session.closed and session.close_code == 1013
    await writer
    await asyncio.sleep(0)
    assert names(b"".join(proto.transport.writes)) == list("abcd")
    # The count starts again in every round.
    session2, registry2, proto2 = open_session(max_queue=4)
    send(registry2, *"abcd")
    await asyncio.sleep(0)
    send(registry2, *"efgh")
    await asyncio.sleep(0)
    assert not session2.closed
    assert names(b"".join(proto2.transport.writes)) == list("abcdefgh")
    session2.close()


async def test_a_round_with_a_64_kib_write_still_ends_the_sessions_round() -> None:
    session, registry, proto = open_session(max_queue=3)
    big = "x" * 70_000
    send(registry, big)  # written at once (over 64 KiB), no write left for the round's end
    assert [names(w) for w in proto.transport.writes] == [[big]]
    send(registry, "b", "c")
    await asyncio.sleep(0)
    assert [names(w) for w in proto.transport.writes] == [[big], ["b", "c"]]
    send(registry, "d", "e", "f")  # a new round: three more fit
    await asyncio.sleep(0)
    assert not session.closed
    assert names(proto.transport.writes[-1]) == ["d", "e", "f"]
    session.close()
