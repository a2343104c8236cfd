"""Two channels in one app, bridged and unbridged, through the real aioari."""

from __future__ import annotations

import asyncio
from typing import Any

import aioari
import aiohttp

from conftest import PASSWORD, USER, wait_for
from pyari.server import Server


async def test_bridge_two_channels(
    server: Server, base_url: str, http: aiohttp.ClientSession
) -> None:
    client = await aioari.connect(base_url, USER, PASSWORD)
    events: list[dict[str, Any]] = []
    client.on_event("*", lambda e: events.append(e))
    runner = asyncio.create_task(client.run(apps="hello"))
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        a = await client.channels.originate(endpoint="Sim/alice", app="hello")
        b = await client.channels.originate(endpoint="Sim/bob", app="hello")
        starts = lambda: [e for e in events if e["type"] == "StasisStart"]  # noqa: E731
        await wait_for(lambda: len(starts()) == 2)
        await a.answer()
        bridge = await client.bridges.create(type="mixing", name="call")
        assert bridge.json["bridge_type"] == "mixing"
        assert bridge.json["bridge_class"] == "stasis"
        assert bridge.json["creator"] == "Stasis"
        await bridge.addChannel(channel=f"{a.id},{b.id}")
        entered = lambda: [e for e in events if e["type"] == "ChannelEnteredBridge"]  # noqa: E731
        await wait_for(lambda: len(entered()) == 2)
        async with http.get(f"/ari/bridges/{bridge.id}") as r:
            assert sorted((await r.json())["channels"]) == sorted([a.id, b.id])
        async with http.post(f"/ari/bridges/{bridge.id}/addChannel") as r:
            assert r.status == 400
            assert await r.json() == {"message": "Missing parameter channel"}
        async with http.post(f"/ari/bridges/{bridge.id}/addChannel?channel=nope") as r:
            assert r.status == 400
            assert await r.json() == {"message": "Channel not found"}
        async with http.post(f"/ari/bridges/{bridge.id}/removeChannel?channel={b.id}") as r:
            assert r.status == 204
        async with http.post(f"/ari/bridges/{bridge.id}/removeChannel?channel={b.id}") as r:
            assert r.status == 422
            assert await r.json() == {"message": "Channel not in this bridge"}
        async with http.post(f"/ari/bridges?bridgeId={bridge.id}") as r:
            assert r.status == 409
            assert await r.json() == {"message": f"Bridge with id '{bridge.id}' already exists"}
        await a.hangup()
        await wait_for(
            lambda: any(e["type"] == "StasisEnd" and e["channel"]["id"] == a.id for e in events)
        )
        kinds = [e["type"] for e in events if e.get("channel", {}).get("id") == a.id]
        assert kinds.index("ChannelHangupRequest") < kinds.index("ChannelLeftBridge")
        assert kinds.index("ChannelLeftBridge") < kinds.index("StasisEnd")
        await bridge.destroy()
        await wait_for(lambda: any(e["type"] == "BridgeDestroyed" for e in events))
        async with http.delete(f"/ari/bridges/{bridge.id}") as r:
            assert r.status == 404
            assert await r.json() == {"message": "Bridge not found"}
        await b.hangup()
        await wait_for(lambda: not server.core.channels)
    finally:
        await client.close()
        runner.cancel()
