"""/applications over real HTTP: subscriptions to event sources and event filters."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from conftest import wait_for
from pyari.server import Server

SUB = "/ari/applications/{}/subscription"


async def next_event(ws: aiohttp.ClientWebSocketResponse, etype: str | None = None) -> Any:
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if etype is None or data["type"] == etype:
            return data


@pytest.fixture
async def ws(http: aiohttp.ClientSession) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.ws_connect("/ari/events?app=watcher") as sock:
        yield sock


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kw) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


async def marker(http: aiohttp.ClientSession, name: str) -> None:
    status, body = await call(
        http, "POST", f"/ari/events/user/{name}", params={"application": "watcher"}
    )
    assert status == 204, body


def parked_channel(server: Server) -> str:
    """A Sim channel, Down and in no application."""
    return server.core.request("Sim/carol").id


async def test_application_model(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, "GET", "/ari/applications/watcher")
    assert status == 200
    assert body == {
        "name": "watcher",
        "channel_ids": [],
        "bridge_ids": [],
        "endpoint_ids": [],
        "device_names": [],
        "events_allowed": [],
        "events_disallowed": [],
    }
    status, body = await call(http, "GET", "/ari/applications/ghost")
    assert (status, body) == (404, {"message": "Application not found"})


async def test_subscribe_to_a_bridge_and_receive_its_events(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    status, _ = await call(http, "POST", "/ari/bridges", params={"bridgeId": "conf"})
    assert status == 200
    status, body = await call(
        http, "POST", SUB.format("watcher"), params={"eventSource": "bridge:conf"}
    )
    assert status == 200
    assert body["bridge_ids"] == ["conf"]
    status, _ = await call(http, "DELETE", "/ari/bridges/conf")
    assert status == 204
    destroyed = await next_event(ws)
    assert destroyed["type"] == "BridgeDestroyed"
    assert destroyed["bridge"]["id"] == "conf"
    # The subscription ends with the bridge.
    status, body = await call(http, "GET", "/ari/applications/watcher")
    assert body["bridge_ids"] == []


async def test_subscribe_and_unsubscribe_a_channel(
    server: Server, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    chan_id = parked_channel(server)
    chan = server.core.channels[chan_id]
    # By name works as well as by id; the id is what is listed.
    status, body = await call(
        http, "POST", SUB.format("watcher"), params={"eventSource": f"channel:{chan.name}"}
    )
    assert status == 200, body
    assert body["channel_ids"] == [chan_id]
    chan.set_var("SEEN", "1")
    varset = await next_event(ws)
    assert (varset["type"], varset["variable"], varset["channel"]["id"]) == (
        "ChannelVarset",
        "SEEN",
        chan_id,
    )
    status, body = await call(
        http, "DELETE", SUB.format("watcher"), params={"eventSource": f"channel:{chan_id}"}
    )
    assert status == 200
    assert body["channel_ids"] == []
    chan.set_var("UNSEEN", "1")
    await marker(http, "after")
    assert (await next_event(ws))["type"] == "ChannelUserevent"
    status, body = await call(
        http, "DELETE", SUB.format("watcher"), params={"eventSource": f"channel:{chan_id}"}
    )
    assert (status, body) == (422, {"message": "Event source was not subscribed to"})


async def test_subscriptions_are_counted(
    server: Server, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    chan_id = parked_channel(server)
    src = {"eventSource": f"channel:{chan_id}"}
    for _ in range(2):
        status, _ = await call(http, "POST", SUB.format("watcher"), params=src)
        assert status == 200
    status, body = await call(http, "DELETE", SUB.format("watcher"), params=src)
    assert body["channel_ids"] == [chan_id]
    status, body = await call(http, "DELETE", SUB.format("watcher"), params=src)
    assert body["channel_ids"] == []


async def test_subscribe_endpoint_tech_and_device(
    server: Server, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    server.sim.phone("alice")
    status, body = await call(
        http,
        "POST",
        SUB.format("watcher"),
        params={"eventSource": "endpoint:Sim/alice,deviceState:Stasis:lamp"},
    )
    assert status == 200, body
    assert body["endpoint_ids"] == ["Sim/alice"]
    assert body["device_names"] == ["Stasis:lamp"]
    server.sim.phone("alice").set_online(False)
    change = await next_event(ws)
    assert change["type"] == "EndpointStateChange"
    assert change["endpoint"] == {
        "technology": "Sim",
        "resource": "alice",
        "state": "offline",
        "channel_ids": [],
    }
    status, _ = await call(
        http, "PUT", "/ari/deviceStates/Stasis:lamp", params={"deviceState": "BUSY"}
    )
    assert status == 204
    dev = await next_event(ws, "DeviceStateChanged")
    assert dev["device_state"]["name"] == "Stasis:lamp"
    # A whole technology: every Sim endpoint.
    status, body = await call(
        http, "POST", SUB.format("watcher"), params={"eventSource": "endpoint:Sim"}
    )
    assert status == 200
    assert body["endpoint_ids"] == ["Sim/alice", "Sim"]
    server.sim.phone("bob").set_online(False)
    change = await next_event(ws, "EndpointStateChange")
    assert change["endpoint"]["resource"] == "bob"
    status, body = await call(
        http,
        "DELETE",
        SUB.format("watcher"),
        params={"eventSource": "endpoint:Sim,endpoint:Sim/alice,deviceState:Stasis:lamp"},
    )
    assert status == 200
    assert (body["endpoint_ids"], body["device_names"]) == ([], [])


@pytest.mark.parametrize(
    ("method", "params", "status", "message"),
    [
        ("POST", {}, 400, "Missing parameter eventSource"),
        ("DELETE", {}, 400, "Missing parameter eventSource"),
        ("POST", {"eventSource": "sip:alice"}, 400, "Invalid event source URI scheme"),
        ("POST", {"eventSource": "nocolon"}, 400, "Invalid event source URI scheme"),
        ("DELETE", {"eventSource": "mailbox:1"}, 400, "Invalid event source URI scheme"),
        ("POST", {"eventSource": "channel:nope"}, 422, "Event source does not exist"),
        ("POST", {"eventSource": "bridge:nope"}, 422, "Event source does not exist"),
        ("POST", {"eventSource": "endpoint:Sim/nobody"}, 422, "Event source does not exist"),
        ("POST", {"eventSource": "endpoint:Local"}, 422, "Event source does not exist"),
        ("DELETE", {"eventSource": "channel:nope"}, 422, "Event source was not subscribed to"),
        ("DELETE", {"eventSource": "deviceState:x"}, 422, "Event source was not subscribed to"),
    ],
)
async def test_subscription_errors(
    ws: aiohttp.ClientWebSocketResponse,
    http: aiohttp.ClientSession,
    method: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    got = await call(http, method, SUB.format("watcher"), params=params)
    assert got == (status, {"message": message})


async def test_bad_source_in_a_list_changes_nothing(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    await call(http, "POST", "/ari/bridges", params={"bridgeId": "b"})
    got = await call(
        http, "POST", SUB.format("watcher"), params={"eventSource": "bridge:b,channel:nope"}
    )
    assert got == (422, {"message": "Event source does not exist"})
    _, body = await call(http, "GET", "/ari/applications/watcher")
    assert body["bridge_ids"] == []


async def test_subscription_to_unknown_app(http: aiohttp.ClientSession) -> None:
    for method in ("POST", "DELETE"):
        got = await call(http, method, SUB.format("ghost"), params={"eventSource": "bridge:x"})
        assert got == (404, {"message": "Application not found"})


async def test_inactive_app_is_kept_by_its_subscriptions(
    server: Server, http: aiohttp.ClientSession
) -> None:
    await call(http, "POST", "/ari/bridges", params={"bridgeId": "keep"})
    async with http.ws_connect("/ari/events?app=sticky"):
        status, _ = await call(
            http, "POST", SUB.format("sticky"), params={"eventSource": "bridge:keep"}
        )
        assert status == 200
    app = server.stasis.get("sticky")
    assert app is not None
    await wait_for(lambda: not app.active)
    status, body = await call(http, "GET", "/ari/applications/sticky")
    assert (status, body["bridge_ids"]) == (200, ["keep"])
    status, _ = await call(
        http, "DELETE", SUB.format("sticky"), params={"eventSource": "bridge:keep"}
    )
    assert status == 200
    assert (await call(http, "GET", "/ari/applications/sticky"))[0] == 404


# -- event filters -------------------------------------------------------------------


FILTER = "/ari/applications/watcher/eventFilter"


async def test_event_filter_lists(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    allowed = [{"type": "ChannelUserevent"}, {"type": "StasisStart"}]
    status, body = await call(http, "PUT", FILTER, json={"allowed": allowed})
    assert status == 200
    assert (body["events_allowed"], body["events_disallowed"]) == (allowed, [])
    # One list given leaves the other.
    status, body = await call(
        http, "PUT", FILTER, json={"disallowed": [{"type": "ChannelUserevent"}]}
    )
    assert body["events_allowed"] == allowed
    assert body["events_disallowed"] == [{"type": "ChannelUserevent"}]
    # {} resets both.
    status, body = await call(http, "PUT", FILTER, json={})
    assert (status, body["events_allowed"], body["events_disallowed"]) == (200, [], [])
    status, body = await call(http, "PUT", FILTER)
    assert status == 200


async def test_event_filter_applies_and_disallowed_wins(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession
) -> None:
    await call(http, "POST", "/ari/bridges", params={"bridgeId": "f"})
    await call(http, "POST", SUB.format("watcher"), params={"eventSource": "bridge:f"})
    status, _ = await call(
        http,
        "PUT",
        FILTER,
        json={
            "allowed": [{"type": "ChannelUserevent"}, {"type": "BridgeDestroyed"}],
            "disallowed": [{"type": "BridgeDestroyed"}],
        },
    )
    assert status == 200
    await call(http, "DELETE", "/ari/bridges/f")
    await marker(http, "after-destroy")
    got = await next_event(ws)
    assert (got["type"], got["eventname"]) == ("ChannelUserevent", "after-destroy")


@pytest.mark.parametrize(
    "body",
    [
        {"allowed": "ChannelUserevent"},
        {"allowed": [{"kind": "x"}]},
        {"disallowed": [{"type": ""}]},
        {"allowed": [{"type": "X"}], "disallowed": ["StasisStart"]},
        {"allowed": None},
    ],
)
async def test_event_filter_bad_shape(
    ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession, body: dict[str, Any]
) -> None:
    await call(http, "PUT", FILTER, json={"allowed": [{"type": "Keep"}]})
    got = await call(http, "PUT", FILTER, json=body)
    assert got == (400, {"message": "Invalid format definition"})
    _, app = await call(http, "GET", "/ari/applications/watcher")
    assert app["events_allowed"] == [{"type": "Keep"}]
    assert app["events_disallowed"] == []


async def test_event_filter_unknown_app(http: aiohttp.ClientSession) -> None:
    got = await call(http, "PUT", "/ari/applications/ghost/eventFilter", json={})
    assert got == (404, {"message": "Application not found"})
