"""Channel operations over real HTTP: indications, mute, DTMF, redirect, move,
dial, originate extras, bulk variables, RTP statistics, transfer progress."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from ari.ari_ops_helpers import Events, app_events, call, stasis_channel
from conftest import wait_for
from pyari.server import Server

CHAN_OPS = [
    ("POST", "ring"),
    ("DELETE", "ring"),
    ("POST", "progress"),
    ("POST", "hold"),
    ("DELETE", "hold"),
    ("POST", "mute"),
    ("DELETE", "mute"),
    ("POST", "dtmf?dtmf=1"),
    ("POST", "redirect?endpoint=Sim/bob"),
    ("POST", "answer"),
    ("POST", "continue"),
]


@pytest.mark.parametrize(("method", "op"), CHAN_OPS)
async def test_unknown_channel_and_not_in_stasis(
    server: Server, http: aiohttp.ClientSession, method: str, op: str
) -> None:
    status, body = await call(http, method, f"/channels/nope/{op}")
    assert (status, body) == (404, {"message": "Channel not found"})
    # A phone that never answers: its channel rings, outside any application.
    server.sim.phone("ringing", answer_after=None)
    status, chan = await call(
        http,
        "POST",
        "/channels",
        params={"endpoint": "Sim/ringing", "extension": "1000", "context": "ARI-test"},
    )
    assert status == 200
    status, body = await call(http, method, f"/channels/{chan['id']}/{op}")
    assert (status, body) == (409, {"message": "Channel not in Stasis application"})


@pytest.mark.parametrize(("method", "op"), CHAN_OPS)
async def test_invalid_state_before_arguments(
    server: Server, http: aiohttp.ClientSession, method: str, op: str
) -> None:
    async with app_events(http, "t") as events:
        # A created channel is Down and in Stasis: 412 before any argument check.
        status, chan = await call(
            http, "POST", "/channels/create", params={"endpoint": "Sim/x", "app": "t"}
        )
        await events.wait("StasisStart", chan["id"])
        bare = op.split("?")[0]
        status, body = await call(http, method, f"/channels/{chan['id']}/{bare}")
        assert (status, body) == (412, {"message": "Channel in invalid state"})


async def test_indications_reach_a_sim_phone(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        for method, op in [
            ("POST", "ring"),
            ("DELETE", "ring"),
            ("POST", "progress"),
            ("POST", "hold"),
            ("DELETE", "hold"),
        ]:
            status, _ = await call(http, method, f"/channels/{cid}/{op}")
            assert status == 204
        await wait_for(lambda: len(phone.indications) == 5)
        assert phone.indications == ["ringing", "stop", "progress", "hold", "unhold"]
        status, chan = await call(http, "GET", f"/channels/{cid}")
        assert chan["state"] == "Up"  # ringing indicates; it does not change the state


async def local_pair(http: aiohttp.ClientSession, events: Events, hello: Events) -> tuple[str, str]:
    """;1 made by create in app t and dialed; ;2 ("half2") answers and enters hello."""
    status, one = await call(
        http,
        "POST",
        "/channels/create",
        params={"endpoint": "Local/1000@ARI-test", "app": "t", "otherChannelId": "half2"},
    )
    assert status == 200
    await events.wait("StasisStart", one["id"])
    status, _ = await call(http, "POST", f"/channels/{one['id']}/dial")
    assert status == 204
    await hello.wait("StasisStart", "half2")
    return str(one["id"]), "half2"


async def test_hold_from_local_half_announced_in_bridge(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events, app_events(http, "hello") as hello:
        one, two = await local_pair(http, events, hello)
        # Not bridged: the far end reads the hold, nobody announces it.
        status, _ = await call(http, "POST", f"/channels/{one}/hold")
        assert status == 204
        status, bridge = await call(http, "POST", "/bridges")
        status, _ = await call(http, "POST", f"/bridges/{bridge['id']}/addChannel?channel={two}")
        await hello.wait("ChannelEnteredBridge", two)
        assert hello.of("ChannelHold") == []
        status, _ = await call(http, "POST", f"/channels/{one}/hold")
        held = await hello.wait("ChannelHold", two)
        assert "musicclass" not in held
        status, _ = await call(http, "DELETE", f"/channels/{one}/hold")
        await hello.wait("ChannelUnhold", two)
        assert len(hello.of("ChannelHold")) == 1


async def test_mute_direction_checks(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        chan = server.core.channels[cid]
        status, body = await call(http, "POST", f"/channels/{cid}/mute?direction=")
        assert (status, body) == (400, {"message": "Direction is required"})
        status, body = await call(http, "POST", f"/channels/{cid}/mute?direction=up")
        assert (status, body) == (400, {"message": "Invalid direction specified"})
        assert chan.muted == set()
        status, _ = await call(http, "POST", f"/channels/{cid}/mute?direction=in")
        assert status == 204
        await wait_for(lambda: chan.muted == {"in"})
        status, _ = await call(http, "POST", f"/channels/{cid}/mute")
        await wait_for(lambda: chan.muted == {"in", "out"})
        status, _ = await call(http, "DELETE", f"/channels/{cid}/mute?direction=out")
        assert status == 204
        await wait_for(lambda: chan.muted == {"in"})
        status, body = await call(http, "DELETE", f"/channels/{cid}/mute?direction=x")
        assert (status, body) == (400, {"message": "Invalid direction specified"})


async def test_dtmf_to_sim_phone(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body = await call(http, "POST", f"/channels/{cid}/dtmf")
        assert (status, body) == (400, {"message": "DTMF is required"})
        status, body = await call(http, "POST", f"/channels/{cid}/dtmf?dtmf=1&between=-1")
        assert (status, body) == (400, {"message": "Invalid value for parameter between"})
        status, _ = await call(
            http, "POST", f"/channels/{cid}/dtmf?dtmf=1x2%23a&between=0&duration=1"
        )
        assert status == 204
        await wait_for(lambda: len(phone.received_dtmf) == 4)
        assert phone.received_dtmf == ["1", "2", "#", "A"]
        # The sending channel does not report the digits as received.
        assert events.of("ChannelDtmfReceived") == []


async def test_dtmf_on_local_reaches_other_half(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events, app_events(http, "hello") as hello:
        # ;2 runs [ARI-test] 1000: Answer (answers ;1 too), then Stasis(hello).
        one_id, _ = await local_pair(http, events, hello)
        one = {"id": one_id}
        assert server.core.channels[one_id].up
        status, _ = await call(
            http, "POST", f"/channels/{one_id}/dtmf?dtmf=59&duration=40&between=0"
        )
        assert status == 204
        # The app that has ;2 sees the digits it received.
        got = await hello.wait("ChannelDtmfReceived", "half2", count=2)
        digits = [e["digit"] for e in hello.of("ChannelDtmfReceived")]
        assert digits == ["5", "9"]
        assert got["duration_ms"] == 40
        assert events.of("ChannelDtmfReceived", one["id"]) == []


async def test_redirect_checks(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        cases: list[tuple[str, int, str]] = [
            ("", 400, "Required parameter 'endpoint' not provided."),
            ("bob", 422, "Endpoint parameter 'bob' does not contain tech/resource"),
            ("/bob", 422, "Endpoint parameter '/bob' does not contain tech/resource"),
            ("Sim/", 422, "No resource provided in endpoint parameter 'Sim/'"),
            (
                "PJSIP/bob",
                422,
                "Endpoint technology 'PJSIP' does not match channel technology 'Sim'",
            ),
        ]
        for endpoint, code, message in cases:
            status, body = await call(
                http, "POST", f"/channels/{cid}/redirect", params={"endpoint": endpoint}
            )
            assert (status, body) == (code, {"message": message}), endpoint
        # Same technology: accepted; Sim cannot transfer, so nothing happens (as Asterisk).
        status, _ = await call(http, "POST", f"/channels/{cid}/redirect?endpoint=sim/bob")
        assert status == 204
        assert server.core.channels[cid].control is not None


async def test_move_between_apps(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events, app_events(http, "other") as other:
        cid = await stasis_channel(http, events)
        status, body = await call(http, "POST", f"/channels/{cid}/move")
        assert (status, body) == (400, {"message": "Missing parameter app"})
        status, _ = await call(http, "POST", f"/channels/{cid}/move?app=ghost&appArgs=a,b")
        assert status == 204
        failed = await events.wait("ApplicationMoveFailed", cid)
        assert failed["destination"] == "ghost"
        assert failed["args"] == ["a", "b"]
        assert server.core.channels[cid].stasis_app == "t"
        status, _ = await call(http, "POST", f"/channels/{cid}/move?app=other&appArgs=x")
        assert status == 204
        await events.wait("StasisEnd", cid)
        start = await other.wait("StasisStart", cid)
        assert start["args"] == ["x"]
        assert server.core.channels[cid].stasis_app == "other"


async def test_dial_created_channel(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        caller = await stasis_channel(http, events, "Sim/carol")
        status, chan = await call(
            http, "POST", "/channels/create", params={"endpoint": "Sim/dave", "app": "t"}
        )
        cid = chan["id"]
        await events.wait("StasisStart", cid)
        server.core.channels[caller].language = "fr"
        server.core.channels[caller].set_caller("Carol", "100")
        status, _ = await call(http, "POST", f"/channels/{cid}/dial?caller={caller}&timeout=5")
        assert status == 204
        status, body = await call(http, "POST", f"/channels/{cid}/dial")
        assert (status, body) == (409, {"message": "Channel is not in the 'Down' state"})

        def dials() -> list[dict[str, Any]]:
            return [d for d in events.of("Dial") if d["peer"]["id"] == cid]

        await wait_for(lambda: len(dials()) == 2)
        assert [d["dialstring"] for d in dials()] == ["dave", "dave"]
        assert [d.get("dialstatus", "") for d in dials()] == ["", "ANSWER"]
        status, chan = await call(http, "GET", f"/channels/{cid}")
        assert chan["state"] == "Up"
        assert chan["language"] == "fr"
        assert chan["connected"] == {"name": "Carol", "number": "100"}


async def test_dial_timeout_hangs_up(server: Server, http: aiohttp.ClientSession) -> None:
    server.sim.phone("slow", answer_after=None)
    async with app_events(http, "t") as events:
        status, chan = await call(
            http, "POST", "/channels/create", params={"endpoint": "Sim/slow", "app": "t"}
        )
        await events.wait("StasisStart", chan["id"])
        status, _ = await call(http, "POST", f"/channels/{chan['id']}/dial?timeout=1")
        assert status == 204
        destroyed = await events.wait("ChannelDestroyed", chan["id"])
        assert destroyed["cause"] == 19
        statuses = [
            e.get("dialstatus", "") for e in events.of("Dial") if e["peer"]["id"] == chan["id"]
        ]
        assert statuses == ["", "NOANSWER"]


async def test_dial_channel_not_created_by_ari(server: Server, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "POST", "/channels/nope/dial")
    assert (status, body) == (404, {"message": "Channel not found"})
    async with app_events(http, "t") as events:
        status, chan = await call(
            http, "POST", "/channels", params={"endpoint": "Sim/eve", "app": "t"}
        )
        await events.wait("StasisStart", chan["id"])
        status, body = await call(http, "POST", f"/channels/{chan['id']}/dial")
        assert (status, body) == (409, {"message": "Channel is not in the 'Down' state"})


async def test_originate_checks(server: Server, http: aiohttp.ClientSession) -> None:
    base = {"endpoint": "Sim/alice", "app": "t"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**base, "channelId": "x" * 129}, 400, "Uniqueid length exceeds maximum of 128"),
        (
            {**base, "originator": "a", "formats": "ulaw"},
            400,
            "Originator and formats can't both be specified",
        ),
        ({"endpoint": "Sim/"}, 400, "Invalid endpoint specified"),
        ({**base, "originator": "nope"}, 400, "Provided originator channel was not found"),
        ({**base, "formats": "ulaw,mp3"}, 400, "Provided format (mp3) was not found"),
        (
            {
                "endpoint": "Local/1@ARI-test",
                "extension": "1000",
                "context": "ARI-test",
                "label": "nolabel",
            },
            404,
            "Requested label can not be found",
        ),
    ]
    for params, code, message in cases:
        status, body = await call(http, "POST", "/channels", params=params)
        assert (status, body) == (code, {"message": message}), params
    assert server.core.channels == {}
    status, body = await call(
        http, "POST", "/channels", json={"endpoint": "Sim/a", "app": "t", "variables": {"A": 1}}
    )
    assert status == 400
    assert body["message"].startswith("Each value in 'variables' must be a string")


async def test_originate_extras(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        first = await stasis_channel(http, events, "Sim/alice")
        status, chan = await call(
            http,
            "POST",
            "/channels",
            params={
                "endpoint": "Sim/bob",
                "app": "t",
                "originator": first,
                "callerId": '"Bob B" <555>',
                "channelId": first[:-1],  # a prefix of a live id is not a duplicate
            },
            json={
                "variables": {
                    "PLAIN": "1",
                    "CALLERID(name)": "Robert",
                    "OBJ": {"value": "v", "report_events": True},
                }
            },
        )
        assert status == 200, chan
        assert chan["id"] == first[:-1]
        assert chan["caller"] == {"name": "Robert", "number": "555"}
        await events.wait("StasisStart", chan["id"])
        status, got = await call(
            http,
            "GET",
            f"/channels/{chan['id']}/variables?variables=PLAIN,OBJ,CHANNEL(linkedid)",
        )
        assert status == 200
        assert got == {
            "variables": {
                "PLAIN": "1",
                "OBJ": "v",
                "CHANNEL(linkedid)": server.core.channels[first].linkedid,
            }
        }
        # Variables were set before the app subscribed: no ChannelVarset for them.
        assert not [e for e in events.of("ChannelVarset") if e["variable"] == "PLAIN"]


async def test_originate_to_extension_label_and_priority(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "hello") as events:
        status, chan = await call(
            http,
            "POST",
            "/channels",
            params={
                "endpoint": "Sim/alice",
                "extension": "1000",
                "context": "ARI-test",
                "priority": 3,
            },
        )
        assert status == 200
        start = await events.wait("StasisStart")
        assert start["channel"]["id"] == chan["id"]
        # Priority 3 is Stasis(hello): NoOp and Answer (1, 2) were skipped.
        assert start["channel"]["state"] == "Up"


async def test_bulk_variables(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body = await call(http, "GET", f"/channels/{cid}/variables")
        assert (status, body) == (400, {"message": "At least one variable name is required"})
        status, body = await call(http, "GET", "/channels/nope/variables?variables=A")
        assert (status, body) == (404, {"message": "Provided channel was not found"})
        status, body = await call(http, "POST", f"/channels/{cid}/variables")
        assert (status, body) == (400, {"message": "The 'variables' field is required"})
        status, body = await call(
            http, "POST", "/channels/nope/variables", json={"variables": {"A": "1"}}
        )
        assert (status, body) == (404, {"message": "Provided channel was not found"})
        status, body = await call(
            http, "POST", f"/channels/{cid}/variables", json={"variables": {"A": {"x": 1}}}
        )
        assert status == 400
        assert body == {
            "message": "Each object value in 'variables' must include string field 'value'"
        }
        status, _ = await call(
            http,
            "POST",
            f"/channels/{cid}/variables",
            json={"variables": {"A": "1", "B": {"value": "2"}, "CALLERID(num)": "77"}},
        )
        assert status == 204
        status, got = await call(
            http, "GET", f"/channels/{cid}/variables?variables=A,B,CALLERID(num)"
        )
        assert got == {"variables": {"A": "1", "B": "2", "CALLERID(num)": "77"}}
        status, body = await call(http, "GET", f"/channels/{cid}/variables?variables=A,ZZ")
        assert (status, body) == (404, {"message": "Provided variable was not found"})
        await events.wait("ChannelCallerId", cid)


async def test_rtp_statistics_and_transfer_progress(
    server: Server, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, "GET", "/channels/nope/rtp_statistics")
    assert (status, body) == (404, {"message": "Channel not found"})
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body = await call(http, "GET", f"/channels/{cid}/rtp_statistics")
        assert (status, body) == (403, {"message": "Unsupported channel type"})
        status, body = await call(http, "POST", f"/channels/{cid}/transfer_progress")
        assert (status, body) == (400, {"message": "states must not be empty"})
        status, body = await call(http, "POST", f"/channels/{cid}/transfer_progress?states=bogus")
        assert (status, body) == (400, {"message": "Invalid states value"})
        status, _ = await call(
            http, "POST", f"/channels/{cid}/transfer_progress?states=channel_answered"
        )
        assert status == 204
        assert server.sim.phone("alice").indications[-1] == "transfer"
