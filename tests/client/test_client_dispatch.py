"""Dispatch without a socket: ordering per object, concurrency across objects."""

from __future__ import annotations

import asyncio

from pyari.client import AriClient, Event


def varset(chan: str, value: str) -> bytes:
    return (
        '{"type":"ChannelVarset","application":"a","timestamp":"t","variable":"N",'
        f'"value":"{value}","channel":{{"id":"{chan}","caller":{{}},"connected":{{}},'
        '"dialplan":{}}}'
    ).encode()


async def test_async_handler_gets_each_objects_events_in_order() -> None:
    client = AriClient("http://x", "u", "p")
    got: dict[str, list[str]] = {"c1": [], "c2": []}
    gate = asyncio.Event()

    @client.on("ChannelVarset")
    async def handler(event: Event) -> None:
        chan = event.channel.id  # type: ignore[attr-defined]
        if chan == "c1":
            await gate.wait()  # c1's handler is stuck ...
        for _ in range(int(event.value) % 3):  # type: ignore[attr-defined]
            await asyncio.sleep(0)
        got[chan].append(event.value)  # type: ignore[attr-defined]

    for i in range(30):
        client.feed(varset("c1", str(i)))
        client.feed(varset("c2", str(i)))
    # ... while c2's events are all handled, in order.
    for _ in range(200):
        if len(got["c2"]) == 30:
            break
        await asyncio.sleep(0)
    assert got["c2"] == [str(i) for i in range(30)]
    assert got["c1"] == []
    gate.set()
    for _ in range(200):
        if len(got["c1"]) == 30:
            break
        await asyncio.sleep(0)
    assert got["c1"] == [str(i) for i in range(30)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert not client._tasks  # lanes end when drained
    assert not client._handlers["ChannelVarset"][0].lanes
    await client.close()


async def test_sync_handlers_run_inline_and_off_removes() -> None:
    client = AriClient("http://x", "u", "p")
    got: list[str] = []
    unsubscribe = client.on("ChannelVarset", lambda e: got.append(e.value))
    client.feed(varset("c1", "1"))
    assert got == ["1"]
    unsubscribe()
    client.feed(varset("c1", "2"))
    assert got == ["1"]

    @client.on("*")
    def any_event(event: Event) -> None:
        got.append(event.type)

    client.feed(varset("c1", "3"))
    client.off("*", any_event)
    client.feed(varset("c1", "4"))
    assert got == ["1", "ChannelVarset"]
    await client.close()


async def test_close_cancels_running_handlers() -> None:
    client = AriClient("http://x", "u", "p")
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def forever(event: Event) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    client.on("ChannelVarset", forever)
    client.feed(varset("c1", "1"))
    await asyncio.wait_for(started.wait(), 5)
    await client.close()
    assert cancelled == [True]
    assert not client._tasks
