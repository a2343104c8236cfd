"""Bridge operations over real HTTP: types, variables, video source, membership
options, moving between bridges, DTMF through a bridge."""

from __future__ import annotations

import aiohttp
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from conftest import wait_for
from pyari.server import Server


@pytest.mark.parametrize(
    ("kind", "bridge_type", "technology", "video_mode"),
    [
        ("", "mixing", "simple_bridge", "talker"),
        ("mixing,dtmf_events,proxy_media", "mixing", "simple_bridge", "talker"),
        ("holding", "holding", "holding_bridge", "talker"),
        ("mixing,video_single", "mixing", "simple_bridge", "single"),
        ("video_sfu", "mixing", "softmix", "sfu"),
        ("mixing,sdp_label", "mixing", "simple_bridge", "talker"),
    ],
)
async def test_bridge_types(
    server: Server,
    http: aiohttp.ClientSession,
    kind: str,
    bridge_type: str,
    technology: str,
    video_mode: str,
) -> None:
    status, bridge = await call(http, "POST", "/bridges", params={"type": kind} if kind else {})
    assert status == 200
    assert (bridge["bridge_type"], bridge["technology"], bridge["video_mode"]) == (
        bridge_type,
        technology,
        video_mode,
    )


@pytest.mark.parametrize("kind", ["holding,mixing", "dtmf_events", "video_single"])
async def test_bridge_types_asterisk_cannot_make(
    server: Server, http: aiohttp.ClientSession, kind: str
) -> None:
    status, body = await call(http, "POST", "/bridges", params={"type": kind})
    refused = "Unable to create bridge. Possible duplicate bridge id '(null)'"
    assert (status, body) == (400, {"message": refused})  # Asterisk's text, decision 0003's status
    status, body = await call(http, "POST", "/bridges/b9", params={"type": kind})
    assert body == {"message": "Unable to create bridge. Possible duplicate bridge id 'b9'"}
    assert server.core.bridges == {}


async def test_create_with_existing_id_conflicts(
    server: Server, http: aiohttp.ClientSession
) -> None:
    status, _ = await call(http, "POST", "/bridges/b1", params={"name": "one"})
    assert status == 200
    status, body = await call(http, "POST", "/bridges/b1", params={"name": "two"})
    assert (status, body) == (409, {"message": "Bridge with id 'b1' already exists"})
    status, bridge = await call(http, "GET", "/bridges/b1")
    assert bridge["name"] == "one"


async def test_bridge_variables(server: Server, http: aiohttp.ClientSession) -> None:
    status, bridge = await call(
        http, "POST", "/bridges/bv", json={"variables": {"A": "1", "B": {"value": "2"}}}
    )
    assert (status, bridge["id"]) == (200, "bv")
    status, body = await call(http, "GET", "/bridges/bv/variable")
    assert (status, body) == (400, {"message": "Variable name is required"})
    status, body = await call(http, "GET", "/bridges/nope/variable?variable=A")
    assert (status, body) == (404, {"message": "Bridge not found"})
    status, body = await call(http, "GET", "/bridges/bv/variable?variable=A")
    assert (status, body) == (200, {"value": "1"})
    status, body = await call(http, "GET", "/bridges/bv/variable?variable=Z")
    assert (status, body) == (404, {"message": "Provided variable was not found"})
    status, _ = await call(http, "POST", "/bridges/bv/variable?variable=Z&value=26")
    assert status == 204
    status, body = await call(http, "GET", "/bridges/bv/variables?variables=A,B,Z")
    assert (status, body) == (200, {"variables": {"A": "1", "B": "2", "Z": "26"}})
    status, body = await call(http, "GET", "/bridges/bv/variables")
    assert (status, body) == (400, {"message": "At least one variable name is required"})
    status, body = await call(http, "GET", "/bridges/nope/variables?variables=A")
    assert (status, body) == (404, {"message": "Provided bridge was not found"})
    status, body = await call(http, "POST", "/bridges/bv/variables")
    assert (status, body) == (400, {"message": "The 'variables' field is required"})
    status, body = await call(
        http, "POST", "/bridges/nope/variables", json={"variables": {"A": "x"}}
    )
    assert (status, body) == (404, {"message": "Provided bridge was not found"})
    status, _ = await call(http, "POST", "/bridges/bv/variables", json={"variables": {"A": "9"}})
    assert status == 204
    status, body = await call(http, "GET", "/bridges/bv/variable?variable=A")
    assert body == {"value": "9"}


async def test_video_source(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        a = await stasis_channel(http, events, "Sim/alice")
        b = await stasis_channel(http, events, "Sim/bob")
        status, bridge = await call(http, "POST", "/bridges/v")
        assert (status, bridge["id"]) == (200, "v")
        status, _ = await call(http, "POST", f"/bridges/v/addChannel?channel={a}")
        await events.wait("ChannelEnteredBridge", a)
        status, body = await call(http, "POST", f"/bridges/nope/videoSource/{a}")
        assert (status, body) == (404, {"message": "Bridge not found"})
        status, body = await call(http, "POST", "/bridges/v/videoSource/nope")
        assert (status, body) == (400, {"message": "Channel not found"})
        status, body = await call(http, "POST", f"/bridges/v/videoSource/{b}")
        assert (status, body) == (422, {"message": "Channel not in this bridge"})
        status, _ = await call(http, "POST", f"/bridges/v/videoSource/{a}")
        assert status == 204
        changed = await events.wait("BridgeVideoSourceChanged")
        assert changed["bridge"]["video_mode"] == "single"
        assert changed["bridge"]["video_source_id"] == a
        assert "old_video_source_id" not in changed
        status, got = await call(http, "GET", "/bridges/v")
        assert (got["video_mode"], got["video_source_id"]) == ("single", a)
        status, _ = await call(http, "DELETE", "/bridges/v/videoSource")
        assert status == 204
        status, got = await call(http, "GET", "/bridges/v")
        assert got["video_mode"] == "talker"
        assert "video_source_id" not in got
        assert len(events.of("BridgeVideoSourceChanged")) == 1
        status, body = await call(http, "DELETE", "/bridges/nope/videoSource")
        assert (status, body) == (404, {"message": "Bridge not found"})


async def test_membership_options_and_moving(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        a = await stasis_channel(http, events, "Sim/alice")
        status, _ = await call(http, "POST", "/bridges/one", params={"type": "holding"})
        status, _ = await call(http, "POST", "/bridges/two")
        status, _ = await call(
            http,
            "POST",
            f"/bridges/one/addChannel?channel={a}&role=announcer&absorbDTMF=yes&mute=true"
            "&inhibitConnectedLineUpdates=1",
        )
        assert status == 204
        await events.wait("ChannelEnteredBridge", a)
        member = server.core.bridges["one"].members[a]
        assert (member.role, member.absorb_dtmf, member.mute) == ("announcer", True, True)
        assert member.inhibit_connected_line_updates
        status, _ = await call(http, "POST", f"/bridges/two/addChannel?channel={a}")
        assert status == 204
        left = await events.wait("ChannelLeftBridge", a)
        assert left["bridge"]["id"] == "one"
        entered = await events.wait("ChannelEnteredBridge", a, count=2)
        assert entered["bridge"]["id"] == "two"
        assert a not in server.core.bridges["one"].members
        assert server.core.bridges["two"].members[a].role == ""
        status, got = await call(http, "GET", "/bridges/one")
        assert got["channels"] == []


async def test_dtmf_passes_through_bridge_unless_absorbed(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob = server.sim.phone("bob")
    async with app_events(http, "t") as events, app_events(http, "hello") as hello:
        status, one = await call(
            http,
            "POST",
            "/channels/create",
            params={"endpoint": "Local/1000@ARI-test", "app": "t", "otherChannelId": "h2"},
        )
        await events.wait("StasisStart", one["id"])
        status, _ = await call(http, "POST", f"/channels/{one['id']}/dial")
        await hello.wait("StasisStart", "h2")
        b = await stasis_channel(http, events, "Sim/bob")
        status, _ = await call(http, "POST", "/bridges/d")
        status, _ = await call(http, "POST", f"/bridges/d/addChannel?channel=h2,{b}")
        await hello.wait("ChannelEnteredBridge", "h2")
        await events.wait("ChannelEnteredBridge", b)
        status, _ = await call(
            http, "POST", f"/channels/{one['id']}/dtmf?dtmf=7&duration=1&between=0"
        )
        await wait_for(lambda: bob.received_dtmf == ["7"])
        # Absorbed: h2 still reports the digit, the bridge keeps it from bob.
        status, _ = await call(http, "POST", "/bridges/d/addChannel?channel=h2&absorbDTMF=yes")
        await wait_for(lambda: server.core.bridges["d"].members["h2"].absorb_dtmf)
        status, _ = await call(
            http, "POST", f"/channels/{one['id']}/dtmf?dtmf=8&duration=1&between=0"
        )
        assert status == 204
        await hello.wait("ChannelDtmfReceived", "h2", count=2)
        assert bob.received_dtmf == ["7"]
