"""Numbered events without a socket: duplicates, the handled point, acks, Asterisk's frames."""

from __future__ import annotations

import asyncio

from pyari.client import AriClient, Event, EventsLost
from pyari.client._sequence import Sequences


def varset(value: int, seq: int | None, chan: str = "c1", app: str = "a") -> bytes:
    tail = f',"pyari_sequence":{seq}' if seq is not None else ""
    return (
        f'{{"type":"ChannelVarset","application":"{app}","timestamp":"t","variable":"N",'
        f'"value":"{value}","channel":{{"id":"{chan}","caller":{{}},"connected":{{}},'
        f'"dialplan":{{}}}}{tail}}}'
    ).encode()


class FakeSocket:
    """What the client sends acks on."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False

    async def send_str(self, data: str) -> None:
        self.sent.append(data)

    async def close(self) -> None:
        self.closed = True


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


async def test_asterisk_frames_are_dispatched_as_before() -> None:
    client = AriClient("http://x", "u", "p", "a", ack_interval=0)
    seen: list[str] = []
    client.on("ChannelVarset", lambda e: seen.append(e.value))
    for raw in (varset(1, None), varset(1, None), varset(2, None)):
        event = client.feed(raw)
        assert event is not None and event.pyari_sequence is None
    assert seen == ["1", "1", "2"]  # no sequence: nothing is a duplicate
    assert client.handled_sequence("a") is None
    assert client._ack_timer is None
    headers = client._events_headers()
    assert headers["Pyari-Sequence"] == "1"
    assert "Pyari-Resume" not in headers  # nothing to resume from
    event = client.feed(varset(1, None))
    assert event is not None and "pyari_sequence" not in event.to_dict()
    await client.close()


async def test_duplicates_dropped_and_sync_handled_at_once() -> None:
    client = AriClient("http://x", "u", "p", ["a", "b"], ack_interval=0)
    seen: list[int] = []
    client.on("ChannelVarset", lambda e: seen.append(e.pyari_sequence))
    stream = client.events()
    for seq in (1, 2, 3, 2, 3, 4, 1):
        client.feed(varset(seq, seq))
    assert seen == [1, 2, 3, 4]
    assert [(await stream.__anext__()).pyari_sequence for _ in range(4)] == [1, 2, 3, 4]
    assert client.handled_sequence("a") == 4
    # Per application: the same number in another application is another event.
    client.feed(varset(1, 1, app="b"))
    assert seen == [1, 2, 3, 4, 1]
    assert client._events_headers()["Pyari-Resume"] == "a=4,b=1"
    await client.close()


async def test_handled_point_waits_for_async_handlers_in_order() -> None:
    client = AriClient("http://x", "u", "p", ack_interval=0)
    ws = FakeSocket()
    client._ws = ws  # type: ignore[assignment]
    gates = {"c1": asyncio.Event(), "c2": asyncio.Event()}

    @client.on("ChannelVarset")
    async def handler(event: Event) -> None:
        await gates[event.channel.id].wait()  # type: ignore[attr-defined]

    client.feed(varset(0, 1, "c1"))
    client.feed(varset(0, 2, "c2"))
    client.feed(varset(0, 3, "c1"))
    await settle()
    assert client.handled_sequence("a") == 0
    gates["c2"].set()  # 2 is done, but 1 is not: nothing is handled in full yet
    await settle()
    assert client.handled_sequence("a") == 0
    assert ws.sent == []
    gates["c1"].set()
    await settle()
    assert client.handled_sequence("a") == 3
    assert ws.sent == ['{"type":"EventAck","application":"a","sequence":3}']
    await client.close()


async def test_acks_are_batched() -> None:
    client = AriClient("http://x", "u", "p", ack_interval=0.01)
    ws = FakeSocket()
    client._ws = ws  # type: ignore[assignment]
    client.on("ChannelVarset", lambda e: None)
    for seq in range(1, 1001):
        client.feed(varset(seq, seq))
    await asyncio.sleep(0.05)
    assert ws.sent == ['{"type":"EventAck","application":"a","sequence":1000}']
    await asyncio.sleep(0.05)
    assert len(ws.sent) == 1  # nothing new: no ack
    client.feed(varset(1001, 1001))
    await client.close()  # closing sends what is pending
    assert ws.sent[-1] == '{"type":"EventAck","application":"a","sequence":1001}'


async def test_server_restart_numbers_from_below_the_resume_point() -> None:
    client = AriClient("http://x", "u", "p", "a", ack_interval=0)
    seen: list[int] = []
    client.on("ChannelVarset", lambda e: seen.append(e.pyari_sequence))
    for seq in (1, 2, 3):
        client.feed(varset(seq, seq))
    assert client._events_headers()["Pyari-Resume"] == "a=3"
    client.feed(varset(1, 1))  # the new server's first event
    client.feed(varset(2, 2))
    client.feed(varset(2, 2))
    assert seen == [1, 2, 3, 1, 2]
    assert client.handled_sequence("a") == 2
    await client.close()


async def test_resume_from_a_kept_point_and_events_lost() -> None:
    client = AriClient("http://x", "u", "p", "a", ack_interval=0, resume_from={"a": 10})
    assert client._events_headers()["Pyari-Resume"] == "a=10"
    got: list[Event] = []
    client.on("*", got.append)
    client.feed(varset(9, 9))  # at or below the resume point: the server restarted
    assert [e.pyari_sequence for e in got] == [9]
    lost = client.feed(
        b'{"type":"EventsLost","application":"a","first_sequence":10,"last_sequence":30,'
        b'"count":21,"timestamp":"t","asterisk_id":"x","pyari_sequence":30}'
    )
    assert isinstance(lost, EventsLost)
    assert (lost.first_sequence, lost.last_sequence, lost.count) == (10, 30, 21)
    client.feed(varset(31, 31))
    assert [e.type for e in got] == ["ChannelVarset", "EventsLost", "ChannelVarset"]
    assert client.handled_sequence("a") == 31
    await client.close()


async def test_sequences_off_asks_nothing_and_ignores_numbers() -> None:
    client = AriClient("http://x", "u", "p", sequences=False)
    assert "Pyari-Sequence" not in client._events_headers()
    seen: list[str] = []
    client.on("ChannelVarset", lambda e: seen.append(e.value))
    client.feed(varset(1, 1))
    client.feed(varset(1, 1))
    assert seen == ["1", "1"]
    assert client.handled_sequence("a") is None
    await client.close()


async def test_events_lost_counts_only_what_this_client_did_not_see() -> None:
    client = AriClient("http://x", "u", "p", "a", ack_interval=0)
    seen: list[int] = []

    @client.on("ChannelVarset")
    async def slow(event: Event) -> None:
        await asyncio.Event().wait()  # never finishes: handled stays at 0

    client.on("ChannelVarset", lambda e: seen.append(e.pyari_sequence))
    for seq in range(1, 21):
        client.feed(varset(seq, seq))
    assert client._events_headers()["Pyari-Resume"] == "a=0"
    lost: list[EventsLost] = []
    client.on(EventsLost, lost.append)
    # The server kept from 25: 1..24 are lost to the log, 1..20 were seen here.
    client.feed(
        b'{"type":"EventsLost","application":"a","first_sequence":1,"last_sequence":24,'
        b'"count":24,"timestamp":"t","pyari_sequence":24}'
    )
    assert [(e.first_sequence, e.last_sequence, e.count) for e in lost] == [(21, 24, 4)]
    # A report of events all seen here (up to 24 now): nothing to report.
    client.feed(
        b'{"type":"EventsLost","application":"a","first_sequence":1,"last_sequence":24,'
        b'"count":24,"timestamp":"t","pyari_sequence":24}'
    )
    assert len(lost) == 1
    await client.close()


def test_sequences_unit() -> None:
    woken: list[int] = []
    seqs = Sequences(lambda: woken.append(1))
    p = seqs.begin("a", 5)
    assert p is not None
    seqs.end(p)
    assert seqs.done("a") == 5 and woken == [1]
    assert seqs.begin("a", 5) is None
    assert seqs.acks() == [b'{"type":"EventAck","application":"a","sequence":5}']
    assert seqs.acks() == []
