"""Reconnect, re-registration, re-sync and handler isolation of the typed client."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from conftest import PASSWORD, USER, wait_for
from pyari.client import (
    AriClient,
    Backoff,
    Event,
    Resynced,
    StasisStart,
    connect,
)
from pyari.server import Server


def test_backoff_grows_caps_and_jitters() -> None:
    draws = iter([0.0, 1.0, 0.5, 0.0, 0.0, 0.0])
    b = Backoff(initial=1.0, factor=2.0, maximum=5.0, jitter=0.5, random=lambda: next(draws))
    assert [b.delay(n) for n in range(6)] == [1.0, 1.0, 3.0, 5.0, 5.0, 5.0]
    b2 = Backoff(initial=0.1, factor=3.0, maximum=100.0, jitter=0.0)
    assert b2.delay(0) == pytest.approx(0.1)
    assert b2.delay(3) == pytest.approx(2.7)
    assert b2.delay(10_000) == 100.0


async def test_reconnect_reregisters_and_resyncs(server: Server, base_url: str) -> None:
    port = server.http_port
    delays: list[float] = []
    server_back = asyncio.Event()

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 3:
            await server_back.wait()

    backoff = Backoff(initial=0.5, factor=2.0, maximum=30.0, jitter=0.5, random=lambda: 0.5)
    client = await connect(base_url, USER, PASSWORD, apps="app1", sleep=fake_sleep, backoff=backoff)
    try:
        resynced: list[Resynced] = []
        client.on("Resynced", resynced.append)
        kept_events: list[str] = []
        started: set[str] = set()
        client.on(StasisStart, lambda e: started.add(e.channel.id))
        kept = await client.channels.originate("Sim/alice", app="app1", channel_id="kept")
        lost = await client.channels.originate("Sim/bob", app="app1", channel_id="lost")
        await wait_for(lambda: started == {"kept", "lost"})
        bridge = await client.bridges.create(bridge_id="br-1")
        await bridge.add_channel(kept)
        await wait_for(lambda: "br-1" in client._state["app1"].bridges)
        kept.on("ChannelVarset", lambda e: kept_events.append(e.variable))
        lost.on("*", lambda e: None)
        assert client.connections == 1

        await server.http.stop()
        await wait_for(lambda: not client.connected)
        # While away: one channel hangs up.
        server.sim.phone("bob").hangup()
        await wait_for(lambda: len(server.core.channels) == 1)
        await wait_for(lambda: len(delays) >= 3)
        assert server.stasis.get("app1") is not None
        assert server.stasis.get("app1").handler is None  # type: ignore[union-attr]
        server.http.settings = dataclasses.replace(server.http.settings, bindport=port)
        await server.http.start()
        server_back.set()
        await asyncio.wait_for(client.wait_connected(), 5)
        await wait_for(lambda: len(resynced) == 1)

        assert delays[:3] == [0.375, 0.75, 1.5]
        assert client.connections == 2
        # Re-registered: the app has a live socket again.
        assert server.stasis.get("app1").handler is not None  # type: ignore[union-attr]
        event = resynced[0]
        assert event.type == "Resynced"
        assert event.application == "app1"
        assert [c.id for c in event.channels] == ["kept"]
        assert [b.id for b in event.bridges] == ["br-1"]
        assert event.gone_channel_ids == ["lost"]
        assert event.gone_bridge_ids == []
        assert event.reconnects == 1
        assert ("Channel", "lost") not in client._object_handlers
        # Objects in the resync are live handles; events flow again.
        await event.channels[0].set_channel_var("AFTER", value="1")
        await wait_for(lambda: kept_events == ["AFTER"])
        await event.channels[0].hangup()
        await event.bridges[0].destroy()
    finally:
        await client.close()


async def test_no_reconnect_ends_run_forever(server: Server, base_url: str) -> None:
    client = await connect(base_url, USER, PASSWORD, apps="app1", reconnect=False)
    stream = client.events()
    try:
        await server.http.stop()
        await asyncio.wait_for(client.run_forever(), 5)
        assert not client.connected
        assert [e async for e in stream] == []
    finally:
        await client.close()


async def test_slow_handler_does_not_block_others(server: Server, base_url: str) -> None:
    client = await connect(base_url, USER, PASSWORD, apps="app1")
    release = asyncio.Event()
    slow_seen: list[str] = []
    fast_seen: list[str] = []
    try:

        @client.on("StasisStart")
        async def slow(event: StasisStart) -> None:
            slow_seen.append(event.channel.id)
            if event.channel.id == "s-1":
                await release.wait()

        @client.on("*")
        async def fast(event: Event) -> None:
            fast_seen.append(event.type)

        stream = client.events("ChannelVarset")
        await client.channels.originate("Sim/alice", app="app1", channel_id="s-1")
        await wait_for(lambda: slow_seen == ["s-1"])
        # The slow handler is stuck on s-1; the socket, other handlers, the
        # stream and the same handler for another channel all go on.
        await client.channels.originate("Sim/bob", app="app1", channel_id="s-2")
        await wait_for(lambda: slow_seen == ["s-1", "s-2"])
        await client.channels.set_channel_var("s-1", "V", value="1")
        event = await asyncio.wait_for(stream.__anext__(), 5)
        assert event.type == "ChannelVarset"
        await wait_for(lambda: fast_seen.count("StasisStart") == 2)
        assert "ChannelVarset" in fast_seen
        release.set()
        await client.channels.hangup("s-1")
        await client.channels.hangup("s-2")
    finally:
        await client.close()


async def test_async_handler_sees_one_objects_events_in_order(
    server: Server, base_url: str
) -> None:
    client = await connect(base_url, USER, PASSWORD, apps="app1")
    order: list[str] = []
    try:

        @client.on("ChannelVarset")
        async def on_var(event: Event) -> None:
            await asyncio.sleep(0)  # yield between events: order must still hold
            if event.variable == "N":  # type: ignore[attr-defined]
                order.append(event.value)  # type: ignore[attr-defined]

        started: list[str] = []
        client.on("StasisStart", lambda e: started.append(e.type))
        chan = await client.channels.originate("Sim/alice", app="app1", channel_id="o-1")
        await wait_for(lambda: server.stasis.get("app1") is not None)
        await wait_for(lambda: bool(started))  # the originate answer may come first
        for i in range(20):
            await chan.set_channel_var("N", value=str(i))
        await wait_for(lambda: len(order) >= 20)
        assert order == [str(i) for i in range(20)]
        await chan.hangup()
    finally:
        await client.close()


async def test_handler_errors_are_reported_not_fatal(server: Server, base_url: str) -> None:
    errors: list[tuple[str, str]] = []
    client = AriClient(
        base_url,
        USER,
        PASSWORD,
        apps="app1",
        on_error=lambda exc, ev: errors.append((type(exc).__name__, ev.type)),
    )
    await client.connect()
    ok: list[str] = []
    try:

        def boom(event: Event) -> None:
            raise ValueError("x")

        async def aboom(event: Event) -> None:
            raise KeyError("y")

        client.on("StasisStart", boom)
        client.on("StasisStart", aboom)
        client.on("StasisStart", lambda e: ok.append(e.type))
        chan = await client.channels.originate("Sim/alice", app="app1")
        await wait_for(lambda: len(errors) == 2 and ok == ["StasisStart"])
        assert sorted(errors) == [("KeyError", "StasisStart"), ("ValueError", "StasisStart")]
        await chan.hangup()
    finally:
        await client.close()
