"""The bridge scenario driven by the unmodified aioari, through its object API."""

from __future__ import annotations

import asyncio
from typing import Any

import aioari
import aiohttp
import pytest

from conftest import PASSWORD, USER, wait_for
from interop.bridge_scenario import CHANNEL_ORDER, check_events
from pyari.server import Server

pytestmark = pytest.mark.slow


async def test_aioari_two_channels_bridged_then_hung_up(
    server: Server, base_url: str, http: aiohttp.ClientSession
) -> None:
    client = await aioari.connect(base_url, USER, PASSWORD)
    per_channel: dict[str, list[str]] = {}
    per_bridge: dict[str, list[str]] = {}
    started: dict[str, Any] = {}
    ended: dict[str, asyncio.Event] = {}
    errors: list[BaseException] = []
    client.exception_handler = errors.append

    async def on_start(objs: dict[str, Any], event: dict[str, Any]) -> None:
        # StasisStart has two Channel fields (channel, replace_channel): aioari
        # hands over a dict of the ones present.
        assert list(objs) == ["channel"]
        assert event["application"] == "hello"
        channel = objs["channel"]
        await channel.answer()
        started[channel.id] = channel

    def on_channel(channel: Any, event: dict[str, Any]) -> None:
        if isinstance(channel, dict):
            channel = channel["channel"]
        per_channel.setdefault(channel.id, []).append(event["type"])

    def on_bridge(bridge: Any, event: dict[str, Any]) -> None:
        per_bridge.setdefault(bridge.id, []).append(event["type"])

    for kind in CHANNEL_ORDER:
        client.on_channel_event(kind, on_channel)
    client.on_channel_event("StasisStart", on_start)
    for kind in ("ChannelEnteredBridge", "ChannelLeftBridge", "BridgeDestroyed"):
        client.on_bridge_event(kind, on_bridge)

    runner = asyncio.create_task(client.run(apps="hello"))
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        alice = await client.channels.originate(endpoint="Sim/alice", app="hello")
        bob = await client.channels.originate(endpoint="Sim/bob", app="hello")
        assert alice.id != bob.id
        assert alice.json["name"].startswith("Sim/alice-")
        assert bob.json["name"].startswith("Sim/bob-")
        for chan in (alice, bob):
            ended[chan.id] = asyncio.Event()
            chan.on_event("StasisEnd", lambda c, e: ended[c.id].set())

        await wait_for(lambda: set(started) == {alice.id, bob.id})
        for chan in (alice, bob):
            async with http.get(f"/ari/channels/{chan.id}") as r:
                assert r.status == 200
                assert (await r.json())["state"] == "Up"

        bridge = await client.bridges.create(type="mixing")
        assert bridge.json["bridge_type"] == "mixing"
        assert bridge.json["channels"] == []
        await bridge.addChannel(channel=alice.id)
        await bridge.addChannel(channel=bob.id)

        def entered(chan_id: str) -> bool:
            return "ChannelEnteredBridge" in per_channel.get(chan_id, [])

        await wait_for(lambda: entered(alice.id) and entered(bob.id))
        assert per_bridge[bridge.id].count("ChannelEnteredBridge") == 2
        async with http.get(f"/ari/bridges/{bridge.id}") as r:
            assert sorted((await r.json())["channels"]) == sorted([alice.id, bob.id])

        await alice.hangup()
        await asyncio.wait_for(ended[alice.id].wait(), 5)
        assert not ended[bob.id].is_set()
        async with http.get(f"/ari/bridges/{bridge.id}") as r:
            assert (await r.json())["channels"] == [bob.id]

        await bob.hangup()
        await asyncio.wait_for(ended[bob.id].wait(), 5)

        await bridge.destroy()
        await wait_for(lambda: "BridgeDestroyed" in per_bridge[bridge.id])
        async with http.get(f"/ari/bridges/{bridge.id}") as r:
            assert r.status == 404
        await wait_for(lambda: not server.core.channels)
    finally:
        await client.close()
        runner.cancel()

    assert errors == []
    check_events(per_channel, per_bridge, (alice.id, bob.id), bridge.id)
