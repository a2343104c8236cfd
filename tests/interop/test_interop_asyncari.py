"""The bridge scenario driven by the unmodified asyncari (anyio, on asyncio).

asyncari authenticates with ``?api_key=user:password``, builds its API from
``/ari/api-docs/resources.json`` and reads events through ``async for`` over
listeners whose streams are unbuffered: every listener opened here is drained
by a task of its own, or the client's dispatch would stall.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import anyio
import asyncari
import pytest

from conftest import PASSWORD, USER, wait_for
from interop.bridge_scenario import check_events
from pyari.server import Server

pytestmark = [
    pytest.mark.slow,
    # asyncari logs events its models do not handle (Dial...) with Logger.warn.
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]


async def test_asyncari_two_channels_bridged_then_hung_up(
    server: Server, base_url: str, http: aiohttp.ClientSession
) -> None:
    per_channel: dict[str, list[str]] = {}
    per_bridge: dict[str, list[str]] = {}
    started: dict[str, Any] = {}

    async with asyncari.connect(base_url, "hello", USER, PASSWORD) as client:
        assert server.stasis.get("hello") is not None

        async def record(reader: Any) -> None:
            # Every event of the app, with the objects asyncari made of it.
            async for msg in reader:
                channel = getattr(msg, "channel", None)
                if channel is not None:
                    assert isinstance(channel, asyncari.model.Channel)
                    per_channel.setdefault(channel.id, []).append(msg.type)
                bridge = getattr(msg, "bridge", None)
                if bridge is not None:
                    assert isinstance(bridge, asyncari.model.Bridge)
                    per_bridge.setdefault(bridge.id, []).append(msg.type)

        async def answer(listener: Any) -> None:
            async for objs, event in listener:
                # StasisStart has two Channel fields (channel, replace_channel).
                assert list(objs) == ["channel"]
                assert event["application"] == "hello"
                channel = objs["channel"]
                await channel.answer()
                started[channel.id] = channel

        async with anyio.create_task_group() as tg:
            # Opened here, before any call exists, so no event is missed.
            tg.start_soon(record, client.__aiter__())
            starts = client.on_channel_event("StasisStart")
            starts.open()
            tg.start_soon(answer, starts)

            alice = await client.channels.originate(endpoint="Sim/alice", app="hello")
            bob = await client.channels.originate(endpoint="Sim/bob", app="hello")
            assert isinstance(alice, asyncari.model.Channel)
            assert alice.id != bob.id
            assert alice.json["name"].startswith("Sim/alice-")
            assert bob.json["name"].startswith("Sim/bob-")

            await wait_for(lambda: set(started) == {alice.id, bob.id})
            # The objects are asyncari's per-id singletons: the REST answer's
            # id and the event's id are the same object.
            assert started[alice.id] is alice
            assert started[bob.id] is bob
            for chan in (alice, bob):
                async with http.get(f"/ari/channels/{chan.id}") as r:
                    assert (await r.json())["state"] == "Up"

            bridge = await client.bridges.create(type="mixing")
            assert isinstance(bridge, asyncari.model.Bridge)
            assert bridge.json["bridge_type"] == "mixing"
            await bridge.addChannel(channel=f"{alice.id},{bob.id}")
            with anyio.fail_after(5):
                await alice.wait_bridged(bridge)
                await bob.wait_bridged(bridge)
            assert bridge.channels == {alice, bob}
            async with http.get(f"/ari/bridges/{bridge.id}") as r:
                assert sorted((await r.json())["channels"]) == sorted([alice.id, bob.id])

            await alice.hangup()
            with anyio.fail_after(5):
                await alice.wait_down()  # set by her StasisEnd
            assert "StasisEnd" not in per_channel[bob.id]
            assert bridge.channels == {bob}

            await bob.hangup()
            with anyio.fail_after(5):
                await bob.wait_down()
            await wait_for(lambda: "ChannelLeftBridge" in per_channel[bob.id])
            assert bridge.channels == set()

            await bridge.destroy()
            await wait_for(lambda: "BridgeDestroyed" in per_bridge[bridge.id])
            async with http.get(f"/ari/bridges/{bridge.id}") as r:
                assert r.status == 404
            await wait_for(lambda: not server.core.channels)
            tg.cancel_scope.cancel()

    check_events(per_channel, per_bridge, (alice.id, bob.id), bridge.id)
    await wait_for(lambda: server.stasis.get("hello") is None)
