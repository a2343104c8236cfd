"""The events WebSocket's rules over real sockets: several apps, replacement, take-over."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from conftest import wait_for
from pyari.core import events as ev
from pyari.server import Server


async def next_event(ws: aiohttp.ClientWebSocketResponse, etype: str | None = None) -> Any:
    """The next event (of type ``etype``, skipping others)."""
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if etype is None or data["type"] == etype:
            return data


async def app_names(http: aiohttp.ClientSession) -> list[str]:
    async with http.get("/ari/applications") as r:
        assert r.status == 200
        return sorted(a["name"] for a in await r.json())


async def user_event(http: aiohttp.ClientSession, app: str, name: str) -> None:
    async with http.post(f"/ari/events/user/{name}", params={"application": app}) as r:
        assert r.status == 204, await r.text()


async def test_comma_list_registers_every_app(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect("/ari/events?app=one,two") as ws:
        assert await app_names(http) == ["one", "two"]
        await user_event(http, "two", "for-two")
        await user_event(http, "one", "for-one")
        first, second = await next_event(ws), await next_event(ws)
        assert (first["application"], first["eventname"]) == ("two", "for-two")
        assert (second["application"], second["eventname"]) == ("one", "for-one")
    await wait_for(lambda: server.stasis.get("one") is None and server.stasis.get("two") is None)
    assert await app_names(http) == []


async def test_inbound_socket_gets_no_application_registered(
    http: aiohttp.ClientSession,
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        await user_event(http, "hello", "marker")
        first = await next_event(ws)
        assert first["type"] == "ChannelUserevent"
        assert first["eventname"] == "marker"


async def test_second_socket_replaces_the_first(
    server: Server, http: aiohttp.ClientSession
) -> None:
    first = await http.ws_connect("/ari/events?app=hello,other")
    second = await http.ws_connect("/ari/events?app=hello")
    try:
        replaced = await next_event(first)
        assert replaced["type"] == "ApplicationReplaced"
        assert replaced["application"] == "hello"
        assert "timestamp" in replaced and "asterisk_id" in replaced
        await user_event(http, "hello", "to-hello")
        await user_event(http, "other", "to-other")
        got = await next_event(second)
        assert (got["application"], got["eventname"]) == ("hello", "to-hello")
        # The first socket lost hello but keeps other; events arrive in order,
        # so had it still received hello's event it would have come first.
        mine = await next_event(first)
        assert (mine["application"], mine["eventname"]) == ("other", "to-other")
        assert await app_names(http) == ["hello", "other"]
        # The replaced socket closing takes only its own app with it.
        await first.close()
        await wait_for(lambda: server.stasis.get("other") is None)
        await user_event(http, "hello", "still-mine")
        assert (await next_event(second))["eventname"] == "still-mine"
        assert await app_names(http) == ["hello"]
    finally:
        await first.close()
        await second.close()
    await wait_for(lambda: server.stasis.get("hello") is None)


async def test_closed_socket_leaves_channels_in_stasis_and_a_new_one_takes_over(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        chan = server.sim.phone("alice").call("1000", "ARI-test")
        start = await next_event(ws, "StasisStart")
        assert start["channel"]["id"] == chan.id
    app = server.stasis.get("hello")
    assert app is not None
    await wait_for(lambda: not app.active)
    # Deactivated, but the channel keeps it listed and stays controllable.
    assert await app_names(http) == ["hello"]
    async with http.post(
        f"/ari/channels/{chan.id}/variable", params={"variable": "KEPT", "value": "yes"}
    ) as r:
        assert r.status == 204, await r.text()
    assert chan.get_var("KEPT") == "yes"
    async with http.ws_connect("/ari/events?app=hello") as ws:
        await user_event(http, "hello", "marker")
        first = await next_event(ws)
        # No new StasisStart: the first event is the marker.
        assert (first["type"], first["eventname"]) == ("ChannelUserevent", "marker")
        async with http.delete(f"/ari/channels/{chan.id}") as r:
            assert r.status == 204
        end = await next_event(ws, "StasisEnd")
        assert end["channel"]["id"] == chan.id
    await wait_for(lambda: server.stasis.get("hello") is None)
    assert await app_names(http) == []


async def test_subscribe_all_sees_every_object_once(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect("/ari/events?app=everything&subscribeAll=true") as ws:
        async with http.get("/ari/applications/everything") as r:
            body = await r.json()
        assert body["channel_ids"] == ["__AST_CHANNEL_ALL_TOPIC"]
        assert body["bridge_ids"] == ["__AST_BRIDGE_ALL_TOPIC"]
        assert body["endpoint_ids"] == ["__AST_ENDPOINT_ALL_TOPIC"]
        assert body["device_names"] == ["__AST_DEVICE_STATE_ALL_TOPIC"]
        # No app takes 1000's Stasis(hello): the call fails and hangs up.
        chan = server.sim.phone("alice").call("1000", "ARI-test")
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["type"] != "ChannelDestroyed":
            seen.append(await next_event(ws))
        types = [e["type"] for e in seen]
        assert types.count("ChannelCreated") == 1
        assert types.count("ChannelDestroyed") == 1
        assert seen[-1]["channel"]["id"] == chan.id
        # The phone's endpoint changed twice (channel added, then removed).
        assert types.count("EndpointStateChange") >= 1
        async with http.post("/ari/bridges", params={"bridgeId": "b1"}) as r:
            assert r.status == 200
        created = await next_event(ws, "BridgeCreated")
        assert created["bridge"]["id"] == "b1"
    await wait_for(lambda: server.stasis.get("everything") is None)


async def test_socket_that_cannot_keep_up_is_closed(
    server: Server, http: aiohttp.ClientSession
) -> None:
    server.ari.event_queue_size = 4
    async with http.ws_connect("/ari/events?app=flood") as ws:
        app = server.stasis.get("flood")
        assert app is not None
        # Published in one go: the writer gets no chance to drain the queue.
        for i in range(50):
            app.send(ev.ChannelUserevent(eventname=str(i)))
        while True:
            msg = await ws.receive(timeout=5)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
            assert msg.type == aiohttp.WSMsgType.TEXT
        assert ws.close_code == 1013
    assert server.stasis.get("flood") is None
    assert not server.ari.sessions or all(s.closed for s in server.ari.sessions)
