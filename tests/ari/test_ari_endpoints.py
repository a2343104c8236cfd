"""/endpoints over real HTTP: Sim endpoints, their channels, messages and REFERs."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from ari.ari_helpers import call, next_event
from pyari.core.endpoint import Refer, TextMessage
from pyari.server import Server


async def test_no_endpoints_at_first(http: aiohttp.ClientSession) -> None:
    # Only the PJSIP endpoints of the embedded pjsip.conf, offline until they register.
    assert await call(http, "GET", "/ari/endpoints") == (
        200,
        [
            {"technology": "PJSIP", "resource": "2222", "state": "offline", "channel_ids": []},
            {"technology": "PJSIP", "resource": "webrtc", "state": "offline", "channel_ids": []},
        ],
    )
    # Local channels have no endpoint.
    assert await call(http, "GET", "/ari/endpoints/Local") == (
        404,
        {"message": "No Endpoints found - invalid tech Local"},
    )


async def test_sim_phones_are_endpoints(server: Server, http: aiohttp.ClientSession) -> None:
    server.sim.phone("alice")
    server.sim.phone("bob")
    status, body = await call(http, "GET", "/ari/endpoints")
    assert status == 200
    assert [e for e in body if e["technology"] == "Sim"] == [
        {"technology": "Sim", "resource": "alice", "state": "online", "channel_ids": []},
        {"technology": "Sim", "resource": "bob", "state": "online", "channel_ids": []},
    ]
    status, body = await call(http, "GET", "/ari/endpoints/Sim")
    assert [e["resource"] for e in body] == ["alice", "bob"]
    assert (await call(http, "GET", "/ari/endpoints/Sim/bob"))[1]["resource"] == "bob"
    # The technology is matched in any case for one endpoint.
    assert (await call(http, "GET", "/ari/endpoints/SIM/bob"))[0] == 200
    assert await call(http, "GET", "/ari/endpoints/Sim/nobody") == (
        404,
        {"message": "Endpoint not found"},
    )
    assert await call(http, "GET", "/ari/endpoints/PJSIP/alice") == (
        404,
        {"message": "Endpoint not found"},
    )


async def test_channels_come_and_go(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.ws_connect("/ari/events?app=watch") as ws:
        server.sim.phone("alice")
        status, _ = await call(
            http,
            "POST",
            "/ari/applications/watch/subscription",
            params={"eventSource": "endpoint:Sim/alice"},
        )
        assert status == 200
        status, chan = await call(
            http,
            "POST",
            "/ari/channels",
            params={"endpoint": "Sim/alice", "app": "watch"},
        )
        assert status == 200, chan
        added = await next_event(ws)
        assert added["type"] == "EndpointStateChange"
        assert added["endpoint"]["channel_ids"] == [chan["id"]]
        # The endpoint's channels' events come with it.
        created = await next_event(ws)
        assert (created["type"], created["channel"]["id"]) == ("ChannelCreated", chan["id"])
        _, ep = await call(http, "GET", "/ari/endpoints/Sim/alice")
        assert ep["channel_ids"] == [chan["id"]]
        await call(http, "DELETE", f"/ari/channels/{chan['id']}")
        removed = await next_event(ws, "EndpointStateChange")
        assert removed["endpoint"]["channel_ids"] == []
        _, ep = await call(http, "GET", "/ari/endpoints/Sim/alice")
        assert ep["channel_ids"] == []


async def test_state_change_reaches_subscribe_all(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect("/ari/events?app=all&subscribeAll=yes") as ws:
        server.sim.phone("dora").set_online(False)
        first = await next_event(ws)
        # Announced online when the phone is made, then taken offline.
        assert first["type"] == "EndpointStateChange"
        assert first["endpoint"]["state"] == "online"
        second = await next_event(ws)
        assert second["endpoint"]["state"] == "offline"
        _, ep = await call(http, "GET", "/ari/endpoints/Sim/dora")
        assert ep["state"] == "offline"


# -- messages ----------------------------------------------------------------------------


async def test_send_message_to_uri_and_endpoint(
    server: Server, http: aiohttp.ClientSession
) -> None:
    alice = server.sim.phone("alice")
    status, body = await call(
        http,
        "PUT",
        "/ari/endpoints/sendMessage",
        params={"to": "sim:alice", "from": "sim:pyari", "body": "hello"},
        json={"variables": {"X-Tag": "1"}},
    )
    assert (status, body) == (202, None)
    assert alice.messages == [
        TextMessage(to="sim:alice", sender="sim:pyari", body="hello", variables={"X-Tag": "1"})
    ]
    status, _ = await call(
        http,
        "PUT",
        "/ari/endpoints/Sim/alice/sendMessage",
        params={"from": "ari", "body": "again"},
    )
    assert status == 202
    assert alice.messages[-1] == TextMessage(to="sim:alice", sender="ari", body="again")


@pytest.mark.parametrize(
    ("path", "params", "body", "status", "message"),
    [
        ("/ari/endpoints/sendMessage", {"from": "x"}, None, 400, "To must be specified"),
        (
            "/ari/endpoints/sendMessage",
            {"to": "sim:nobody", "from": "x"},
            None,
            404,
            "Endpoint not found",
        ),
        (
            "/ari/endpoints/sendMessage",
            {"to": "xmpp:a@b", "from": "x"},
            None,
            404,
            "Endpoint not found",
        ),
        (
            "/ari/endpoints/sendMessage",
            {"to": "alice", "from": "x"},
            None,
            404,
            "Endpoint not found",
        ),
        (
            "/ari/endpoints/sendMessage",
            {"to": "sim:alice", "from": "x"},
            {"variables": {"n": 1}},
            400,
            "Only string values in the 'variables' object allowed",
        ),
        ("/ari/endpoints/Sim/nobody/sendMessage", {"from": "x"}, None, 404, "Endpoint not found"),
        ("/ari/endpoints/Bogus/alice/sendMessage", {"from": "x"}, None, 404, "Endpoint not found"),
    ],
)
async def test_send_message_errors(
    server: Server,
    http: aiohttp.ClientSession,
    path: str,
    params: dict[str, str],
    body: Any,
    status: int,
    message: str,
) -> None:
    alice = server.sim.phone("alice")
    got = await call(http, "PUT", path, params=params, json=body)
    assert got == (status, {"message": message})
    assert alice.messages == []


async def test_sim_phone_message_reaches_subscribed_apps(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob = server.sim.phone("bob")
    server.sim.phone("carol")
    async with (
        http.ws_connect("/ari/events?app=one") as one,
        http.ws_connect("/ari/events?app=tech") as tech,
    ):
        for app, source in (("one", "endpoint:Sim/bob"), ("tech", "endpoint:Sim")):
            status, _ = await call(
                http,
                "POST",
                f"/ari/applications/{app}/subscription",
                params={"eventSource": source},
            )
            assert status == 200
        bob.send_message("hi there", to="sim:pyari", variables={"k": "v"})
        for ws in (one, tech):
            got = await next_event(ws)
            assert got["type"] == "TextMessageReceived"
            assert got["message"] == {
                "from": "sim:bob",
                "to": "sim:pyari",
                "body": "hi there",
                "variables": {"k": "v"},
            }
            assert got["endpoint"]["resource"] == "bob"
        server.sim.phone("carol").send_message("from carol")
        assert (await next_event(tech))["endpoint"]["resource"] == "carol"
        # "one" follows bob only: its next event is a later marker.
        await call(http, "POST", "/ari/events/user/M", params={"application": "one"})
        assert (await next_event(one))["type"] == "ChannelUserevent"


# -- refer ---------------------------------------------------------------------------------


async def test_refer(server: Server, http: aiohttp.ClientSession) -> None:
    alice = server.sim.phone("alice")
    status, body = await call(
        http,
        "POST",
        "/ari/endpoints/refer",
        params={"to": "sim:alice", "from": "sim:pyari", "refer_to": "sim:bob", "to_self": "yes"},
        json={"variables": {"display_name": "Bob"}},
    )
    assert (status, body) == (202, None)
    status, _ = await call(
        http,
        "POST",
        "/ari/endpoints/Sim/alice/refer",
        params={"from": "sim:pyari", "refer_to": "sim:carol"},
    )
    assert status == 202
    assert alice.refers == [
        Refer(
            to="sim:alice",
            sender="sim:pyari",
            refer_to="sim:bob",
            to_self=True,
            variables={"display_name": "Bob"},
        ),
        Refer(to="sim:alice", sender="sim:pyari", refer_to="sim:carol"),
    ]


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/ari/endpoints/refer", {"from": "a", "refer_to": "b"}, 400, "To must be specified"),
        (
            "/ari/endpoints/refer",
            {"to": "sim:nobody", "from": "a", "refer_to": "b"},
            404,
            "Endpoint not found",
        ),
        (
            "/ari/endpoints/refer",
            {"to": "nope:alice", "from": "a", "refer_to": "b"},
            404,
            "Endpoint not found",
        ),
        ("/ari/endpoints/refer", {"to": "sim:alice", "from": "a"}, 404, "Endpoint not found"),
        (
            "/ari/endpoints/Sim/ghost/refer",
            {"from": "a", "refer_to": "b"},
            404,
            "Endpoint not found",
        ),
        (
            "/ari/endpoints/refer",
            {"to": "sim:alice", "from": "a", "refer_to": "b", "to_self": "maybe"},
            400,
            "Invalid value for parameter to_self",
        ),
    ],
)
async def test_refer_errors(
    server: Server,
    http: aiohttp.ClientSession,
    path: str,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    alice = server.sim.phone("alice")
    got = await call(http, "POST", path, params=params)
    assert got == (status, {"message": message})
    assert alice.refers == []


async def test_endpoint_removed_with_its_topic(server: Server) -> None:
    endpoints = server.core.endpoints
    ep = endpoints.create("Test", "x")
    assert endpoints.find("Test/x") is ep
    endpoints.remove(ep)
    assert endpoints.find("Test/x") is None
    assert server.core.bus.get("endpoint:Test/x") is None
