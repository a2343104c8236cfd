"""The typed client against the in-process pyari: calls, objects, events, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from conftest import PASSWORD, USER, wait_for
from pyari.client import (
    AriClient,
    BadRequest,
    Bridge,
    Channel,
    ChannelDestroyed,
    Conflict,
    Event,
    Message,
    NotBound,
    NotFound,
    StasisEnd,
    StasisStart,
    Unauthorized,
    connect,
)
from pyari.server import Server


@pytest.fixture
async def client(server: Server, base_url: str) -> AsyncIterator[AriClient]:
    async with connect(base_url, USER, PASSWORD, apps="app1") as c:
        yield c


async def next_of(stream: AsyncIterator[Message], etype: str) -> Message:
    async def find() -> Message:
        async for event in stream:
            if event.type == etype:
                return event
        raise AssertionError(f"stream ended before {etype}")

    return await asyncio.wait_for(find(), 5)


async def test_originate_answer_bridge_hangup(server: Server, client: AriClient) -> None:
    stream = client.events()
    seen: list[str] = []
    started = asyncio.Event()
    ended = asyncio.Event()
    bridges: list[Bridge] = []

    @client.on("StasisStart")
    async def on_start(event: StasisStart) -> None:
        assert isinstance(event.channel, Channel)
        seen.append(f"start:{event.channel.id}:{','.join(event.args)}")
        await event.channel.answer()
        bridge = await client.bridges.create(type="mixing", name="b1")
        await bridge.add_channel(event.channel)
        bridges.append(bridge)
        started.set()

    def on_end(event: StasisEnd) -> None:
        seen.append(f"end:{event.channel.id}")
        ended.set()

    client.on(StasisEnd, on_end)
    chan = await client.channels.originate(
        "Sim/alice", app="app1", app_args="a,b", caller_id="Bob <100>", channel_id="c-1"
    )
    assert isinstance(chan, Channel)
    assert chan.id == "c-1"
    assert chan.caller.number == "100"
    await asyncio.wait_for(started.wait(), 5)
    assert seen == ["start:c-1:a,b"]
    assert (await chan.get()).state == "Up"
    got = await bridges[0].get()
    assert got.channels == ["c-1"]
    assert [b.id for b in await client.bridges.list()] == [bridges[0].id]
    entered = await next_of(stream, "ChannelEnteredBridge")
    assert entered.bridge.id == bridges[0].id  # type: ignore[attr-defined]
    await chan.hangup(reason="normal")
    await asyncio.wait_for(ended.wait(), 5)
    assert seen == ["start:c-1:a,b", "end:c-1"]
    destroyed = await next_of(stream, "ChannelDestroyed")
    assert isinstance(destroyed, ChannelDestroyed)
    assert destroyed.cause == 16
    await bridges[0].destroy()
    with pytest.raises(NotFound):
        await bridges[0].get()
    await wait_for(lambda: not server.core.channels)


async def test_errors_carry_status_and_message(client: AriClient) -> None:
    with pytest.raises(NotFound) as nf:
        await client.channels.get("nope")
    assert nf.value.status == 404
    assert nf.value.message == "Channel not found"
    chan = await client.channels.originate("Sim/bob", app="app1", channel_id="dup")
    with pytest.raises(BadRequest) as br:
        await client.channels.hangup(chan.id, reason="bogus")  # type: ignore[arg-type]
    assert br.value.status == 400
    assert br.value.message == "Invalid reason for hangup reason provided"
    with pytest.raises(Conflict) as cf:
        await client.channels.originate("Sim/bob", app="app1", channel_id="dup")
    assert cf.value.status == 409
    await chan.hangup()


async def test_wrong_password_is_unauthorized(server: Server, base_url: str) -> None:
    bad = AriClient(base_url, USER, "wrong", apps="app1")
    try:
        with pytest.raises(Unauthorized):
            await bad.asterisk.ping()
        with pytest.raises(Unauthorized):
            await bad.connect()
    finally:
        await bad.close()


async def test_per_object_handlers_and_removal(server: Server, client: AriClient) -> None:
    got: list[str] = []
    start = asyncio.get_running_loop().create_future()
    client.on("StasisStart", lambda e: start.set_result(e) if not start.done() else None)
    chan = await client.channels.originate("Sim/carol", app="app1", channel_id="c-2")
    other = await client.channels.originate("Sim/dave", app="app1", channel_id="c-3")
    await asyncio.wait_for(start, 5)
    destroyed = asyncio.Event()

    async def on_any(event: Event) -> None:
        got.append(event.type)
        if event.type == "ChannelDestroyed":
            destroyed.set()

    chan.on("*", on_any)
    chan.on("ChannelVarset", lambda e: got.append("var:" + e.variable))
    await chan.set_channel_var("X", value="1")
    await other.set_channel_var("Y", value="2")
    await wait_for(lambda: "var:X" in got)
    assert "var:Y" not in got
    assert ("Channel", "c-2") in client._object_handlers
    await chan.hangup()
    await asyncio.wait_for(destroyed.wait(), 5)
    assert ("Channel", "c-2") not in client._object_handlers
    await other.hangup()


async def test_unbound_model_raises() -> None:
    with pytest.raises(NotBound):
        await Channel(caller=None, connected=None, dialplan=None).answer()  # type: ignore[arg-type]


async def test_events_iterator_filters_and_ends_on_close(server: Server, base_url: str) -> None:
    client = await connect(base_url, USER, PASSWORD, apps=["app1", "app2"])
    stream = client.events(StasisStart)
    await client.channels.originate("Sim/erin", app="app2", channel_id="c-4")
    event = await next_of(stream, "StasisStart")
    assert isinstance(event, StasisStart)
    assert event.application == "app2"
    await event.channel.hangup()
    await client.close()
    assert [e async for e in stream] == []
