"""/events over real HTTP: user events, and broadcast calls claimed by applications."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ari.ari_helpers import call, next_event
from conftest import auth_headers, make_server, wait_for
from pyari.config.embedded import write_samples
from pyari.server import Server
from pyari.stasis.broadcast import safe_filter

# -- user events -------------------------------------------------------------------------


async def test_user_event_with_sources_and_variables(
    server: Server, http: aiohttp.ClientSession
) -> None:
    chan = server.core.request("Sim/alice")
    await call(http, "POST", "/ari/bridges", params={"bridgeId": "room"})
    async with http.ws_connect("/ari/events?app=hello") as ws:
        status, body = await call(
            http,
            "POST",
            "/ari/events/user/Ping",
            params={
                "application": "hello",
                "source": f"channel:{chan.id},bridge:room,endpoint:Sim/alice",
            },
            json={"variables": {"key": "value", "n": 1}},
        )
        assert (status, body) == (204, None)
        event = await next_event(ws)
    assert event["type"] == "ChannelUserevent"
    assert event["application"] == "hello"
    assert event["eventname"] == "Ping"
    assert event["userevent"] == {"key": "value", "n": 1, "eventname": "Ping"}
    assert event["channel"]["id"] == chan.id
    assert event["bridge"]["id"] == "room"
    assert event["endpoint"]["technology"] == "Sim"
    assert event["endpoint"]["resource"] == "alice"
    assert event["endpoint"]["channel_ids"] == [chan.id]


async def test_user_event_without_sources(http: aiohttp.ClientSession) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        status, _ = await call(
            http, "POST", "/ari/events/user/Bare", params={"application": "hello"}
        )
        assert status == 204
        event = await next_event(ws)
    assert event["userevent"] == {"eventname": "Bare"}
    assert not {"channel", "bridge", "endpoint"} & set(event)


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({}, 400, "Missing parameter application"),
        ({"application": "ghost"}, 404, "Application not found"),
        ({"application": "hello", "source": "channel:nope"}, 422, "Event source was not found"),
        ({"application": "hello", "source": "bridge:nope"}, 422, "Event source was not found"),
        (
            {"application": "hello", "source": "endpoint:Sim/nobody"},
            422,
            "Event source was not found",
        ),
        ({"application": "hello", "source": "endpoint:Sim"}, 422, "Event source was not found"),
        (
            {"application": "hello", "source": "deviceState:x"},
            400,
            "Invalid event source URI scheme",
        ),
        ({"application": "hello", "source": "nonsense"}, 400, "Invalid event source URI scheme"),
    ],
)
async def test_user_event_errors(
    http: aiohttp.ClientSession, params: dict[str, str], status: int, message: str
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        got = await call(http, "POST", "/ari/events/user/E", params=params)
        assert got == (status, {"message": message})
        # Nothing was sent: the next event is a later, good one.
        await call(http, "POST", "/ari/events/user/Good", params={"application": "hello"})
        assert (await next_event(ws))["eventname"] == "Good"


# -- broadcast ----------------------------------------------------------------------------

BROADCAST_PLAN = """
[bcast]
exten => 100,1,StasisBroadcast(5000,^ivr-,sales:vip,yes)
same => n,Set(GLOBAL(RESULT100)=${STASISSTATUS})
same => n,Wait(30)

exten => 200,1,StasisBroadcast(0)
same => n,Set(GLOBAL(RESULT200)=${STASISSTATUS})
same => n,Wait(30)

exten => 300,1,StasisBroadcast(5000)
same => n,Set(GLOBAL(RESULT300)=${STASISSTATUS})
same => n,Wait(30)
"""


@pytest.fixture
async def bserver(tmp_path: Path) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    write_samples(conf)
    ext = conf / "extensions.conf"
    ext.write_text(ext.read_text() + BROADCAST_PLAN)
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def bhttp(bserver: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{bserver.http_port}", headers=auth_headers()
    ) as session:
        yield session


async def claim(http: aiohttp.ClientSession, channel_id: str, app: str) -> tuple[int, Any]:
    return await call(
        http, "POST", "/ari/events/claim", params={"channelId": channel_id, "application": app}
    )


async def test_first_claim_wins_the_broadcast_call(
    bserver: Server, bhttp: aiohttp.ClientSession
) -> None:
    a = await bhttp.ws_connect("/ari/events?app=ivr-a")
    b = await bhttp.ws_connect("/ari/events?app=ivr-b")
    other = await bhttp.ws_connect("/ari/events?app=other")
    try:
        chan = bserver.sim.phone("alice").call("100", "bcast")
        offer_a = await next_event(a)
        offer_b = await next_event(b)
        for offer in (offer_a, offer_b):
            assert offer["type"] == "CallBroadcast"
            assert offer["channel"]["id"] == chan.id
            assert offer["caller"] == "alice"
            assert offer["called"] == "100"
        assert await claim(bhttp, chan.id, "ivr-b") == (204, None)
        assert await claim(bhttp, chan.id, "ivr-a") == (
            409,
            {"message": "Channel has already been claimed by another application"},
        )
        # notify_claimed=yes: every app matching the filter hears who won.
        for ws in (a, b):
            claimed = await next_event(ws, "CallClaimed")
            assert claimed["winner_app"] == "ivr-b"
            assert claimed["channel"]["id"] == chan.id
        start = await next_event(b, "StasisStart")
        assert start["args"] == ["sales", "vip"]
        assert start["channel"]["id"] == chan.id
        # "other" did not match ^ivr-: its first event is this marker.
        await call(bhttp, "POST", "/ari/events/user/M", params={"application": "other"})
        assert (await next_event(other))["type"] == "ChannelUserevent"
        # Still 409 while the winner has the call.
        assert (await claim(bhttp, chan.id, "other"))[0] == 409
        status, _ = await call(bhttp, "POST", f"/ari/channels/{chan.id}/continue")
        assert status == 204
        await wait_for(lambda: bserver.core.globals.get("RESULT100") == "SUCCESS")
        assert await claim(bhttp, chan.id, "ivr-a") == (
            404,
            {"message": "Channel not found or not in broadcast state"},
        )
    finally:
        for ws in (a, b, other):
            await ws.close()


async def test_unclaimed_broadcast_times_out(bserver: Server, bhttp: aiohttp.ClientSession) -> None:
    async with bhttp.ws_connect("/ari/events?app=late") as ws:
        chan = bserver.sim.phone("bob").call("200", "bcast")
        offer = await next_event(ws)
        assert offer["type"] == "CallBroadcast"
        await wait_for(lambda: bserver.core.globals.get("RESULT200") == "TIMEOUT")
        assert await claim(bhttp, chan.id, "late") == (
            404,
            {"message": "Channel not found or not in broadcast state"},
        )


async def test_claim_without_notify_and_claimer_not_registered(
    bserver: Server, bhttp: aiohttp.ClientSession
) -> None:
    async with bhttp.ws_connect("/ari/events?app=desk") as ws:
        chan = bserver.sim.phone("carol").call("300", "bcast")
        await next_event(ws, "CallBroadcast")
        # Anyone may claim; the winner must then be a registered app.
        assert await claim(bhttp, chan.id, "ghost") == (204, None)
        await wait_for(lambda: bserver.core.globals.get("RESULT300") == "FAILED")
        await call(bhttp, "POST", "/ari/events/user/M", params={"application": "desk"})
        # No CallClaimed (notify_claimed defaults to no), no StasisStart.
        assert (await next_event(ws))["type"] == "ChannelUserevent"


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"application": "x"}, 400, "channelId parameter is required"),
        ({"channelId": "x"}, 400, "application parameter is required"),
        (
            {"channelId": "nope", "application": "x"},
            404,
            "Channel not found or not in broadcast state",
        ),
    ],
)
async def test_claim_errors(
    http: aiohttp.ClientSession, params: dict[str, str], status: int, message: str
) -> None:
    got = await call(http, "POST", "/ari/events/claim", params=params)
    assert got == (status, {"message": message})


def test_app_filter_safety() -> None:
    assert safe_filter("^ivr-.*") is not None
    assert safe_filter("x" * 257) is None
    assert safe_filter("(a)+(b)+(c)*(d)?") is None
    assert safe_filter("(" * 11 + ")" * 11) is None
    assert safe_filter("[") is None
    assert safe_filter(r"\(a\)+\(b\)+\(c\)+\(d\)+") is not None
