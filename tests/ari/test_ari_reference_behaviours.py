"""Behaviours observed on Asterisk 23 that no other test pinned down, grouped
like the reference notes: HTTP, channels, bridges, events and the three
captured event traces (ARI originate of Local/1000@ARI-test and of
Local/s@default, and a CLI-originated Local channel bridged and played to).

``docs/behaviours-coverage.md`` maps every behaviour to its test(s).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import aiohttp
import pytest

from ari.ari_ops_helpers import Events, app_events, call, stasis_channel
from conftest import wait_for
from pyari.cli.commands import run_command
from pyari.server import Server

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
ENTITY_ID = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

COMMON = {"type", "timestamp", "asterisk_id", "application"}
CHANNEL_KEYS = {
    "id",
    "name",
    "state",
    "protocol_id",
    "caller",
    "connected",
    "accountcode",
    "dialplan",
    "creationtime",
    "language",
}
DIALPLAN_KEYS = {"context", "exten", "priority", "app_name", "app_data"}
BRIDGE_KEYS = {
    "id",
    "technology",
    "bridge_type",
    "bridge_class",
    "creator",
    "name",
    "channels",
    "creationtime",
    "video_mode",
}
PLAYBACK_KEYS = {"id", "media_uri", "target_uri", "language", "state"}

# Keys of each event type besides COMMON (optional ones in the second set).
EVENT_KEYS: dict[str, tuple[set[str], set[str]]] = {
    "StasisStart": ({"args", "channel"}, {"replace_channel"}),
    "StasisEnd": ({"channel"}, set()),
    "ChannelDialplan": ({"channel", "dialplan_app", "dialplan_app_data"}, set()),
    "ChannelVarset": ({"channel", "variable", "value"}, set()),
    "ChannelStateChange": ({"channel"}, set()),
    "ChannelHangupRequest": ({"channel", "cause"}, {"soft"}),
    "ChannelDestroyed": ({"channel", "cause", "cause_txt"}, set()),
    "Dial": ({"peer", "dialstatus", "forward", "dialstring"}, {"caller"}),
    "PlaybackStarted": ({"playback"}, set()),
    "PlaybackFinished": ({"playback"}, set()),
    "ChannelEnteredBridge": ({"bridge", "channel"}, set()),
    "ChannelLeftBridge": ({"bridge", "channel"}, set()),
    "BridgeDestroyed": ({"bridge"}, set()),
}


def local_name(exten_at_context: str, half: int) -> re.Pattern[str]:
    return re.compile(rf"^Local/{re.escape(exten_at_context)}-[0-9a-f]{{8}};{half}$")


def check_shape(event: dict[str, Any], app: str) -> None:
    """Every event: the common fields in their formats, and its own field set."""
    assert set(event) >= COMMON, event
    assert TIMESTAMP.match(event["timestamp"]), event["timestamp"]
    assert ENTITY_ID.match(event["asterisk_id"]), event["asterisk_id"]
    assert event["application"] == app
    required, optional = EVENT_KEYS[event["type"]]
    extra = set(event) - COMMON
    assert required <= extra <= required | optional, (event["type"], sorted(extra))
    for key in ("channel", "peer", "replace_channel"):
        if key in event:
            assert set(event[key]) == CHANNEL_KEYS, sorted(event[key])
            assert set(event[key]["dialplan"]) == DIALPLAN_KEYS
            assert TIMESTAMP.match(event[key]["creationtime"])
    if "bridge" in event:
        assert set(event["bridge"]) == BRIDGE_KEYS, sorted(event["bridge"])
    if "playback" in event:
        assert set(event["playback"]) == PLAYBACK_KEYS, sorted(event["playback"])


def about(events: Iterable[dict[str, Any]], chan_id: str) -> list[dict[str, Any]]:
    """The events whose channel (or Dial peer) is ``chan_id``, in order."""
    return [
        e
        for e in events
        if (e.get("channel") or {}).get("id") == chan_id
        or (e.get("peer") or {}).get("id") == chan_id
    ]


def kinds(events: Iterable[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def marker(http: aiohttp.ClientSession, events: Events, app: str, name: str) -> None:
    """Send a user event and wait for it: everything published before it has arrived."""
    status, _ = await call(http, "POST", f"/events/user/{name}", params={"application": app})
    assert status == 204
    await wait_for(lambda: any(e.get("eventname") == name for e in events.items))


# -- HTTP, auth, routing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "auth", "status"),
    [
        ("GET", "/ari/asterisk/info", False, 401),
        ("GET", "/ari/nosuchthing", True, 404),
        ("DELETE", "/ari/asterisk/info", True, 405),
        ("POST", "/ari/channels", True, 400),
        ("GET", "/ari/asterisk/ping", True, 200),
    ],
)
async def test_every_reply_carries_server_and_cache_headers(
    http: aiohttp.ClientSession, base_url: str, method: str, path: str, auth: bool, status: int
) -> None:
    """Success and error replies alike name the server and forbid caching;
    errors are JSON objects with a single message."""
    if auth:
        ctx = http.request(method, path)
    else:
        session = aiohttp.ClientSession()
        ctx = session.request(method, f"{base_url}{path}")
    try:
        async with ctx as r:
            assert r.status == status
            assert r.headers["Server"] == "Asterisk"
            assert r.headers["Cache-Control"] == "no-cache, no-store"
            assert r.content_type == "application/json"
            body = await r.json()
            if status >= 400:
                assert list(body) == ["message"]
                assert isinstance(body["message"], str) and body["message"]
    finally:
        if not auth:
            await session.close()


async def test_no_content_reply_has_an_empty_body(http: aiohttp.ClientSession) -> None:
    """A 204 has no body at all (length 0) but the usual headers."""
    status, _ = await call(http, "POST", "/bridges/gone")
    assert status == 200
    async with http.delete("/ari/bridges/gone") as r:
        assert r.status == 204
        assert r.headers.get("Content-Length", "0") == "0"
        assert r.headers["Server"] == "Asterisk"
        assert r.headers["Cache-Control"] == "no-cache, no-store"
        assert await r.read() == b""


async def test_repeated_query_key_uses_the_last_value(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """The same query key twice: the last occurrence is the value used."""
    async with http.post("/ari/bridges?bridgeId=rq&name=first&name=second") as r:
        assert r.status == 200
        assert (await r.json())["name"] == "second"
    assert server.core.bridges["rq"].name == "second"


async def test_events_socket_without_app_is_refused_before_upgrade(
    http: aiohttp.ClientSession,
) -> None:
    """An upgrade request for the events socket naming no app is a plain 400
    HTML page that says which parameter is missing; nothing is upgraded."""
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with http.get("/ari/events", headers=headers) as r:
        assert r.status == 400
        assert r.content_type == "text/html"
        assert "missing param: [app]" in await r.text()


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (
            "/channels?endpoint=Local/1000@ARI-test&app=hello&timeout=abc",
            400,
            "Invalid value for parameter timeout",
        ),
        ("/bridges?type=bogus", 400, "Invalid bridge type 'bogus'"),
        ("/channels/nope/play", 404, "Channel not found"),
    ],
)
async def test_bad_values_are_refused_without_changes(
    server: Server, http: aiohttp.ClientSession, path: str, status: int, message: str
) -> None:
    """Values of the wrong type or outside the allowed set are a 400 that creates
    nothing (decision 0003: Asterisk coerces or fails with 500); a required
    parameter that is missing is reported only after the object lookup."""
    assert await call(http, "POST", path) == (status, {"message": message})
    assert server.core.channels == {}
    assert server.core.bridges == {}


# -- channels -----------------------------------------------------------------------------


async def test_variable_of_a_channel_outside_stasis(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Reading a channel variable needs no Stasis: unknown variable 404, empty name 400."""
    chan = server.core.request("Sim/carol")
    chan.set_var("KNOWN", "yes")
    status, body = await call(http, "GET", f"/channels/{chan.id}/variable?variable=KNOWN")
    assert (status, body) == (200, {"value": "yes"})
    status, body = await call(http, "GET", f"/channels/{chan.id}/variable?variable=NOPE")
    assert (status, body) == (404, {"message": "Provided variable was not found"})
    status, body = await call(http, "GET", f"/channels/{chan.id}/variable")
    assert (status, body) == (400, {"message": "Variable name is required"})


async def test_hangup_reason_checks_change_nothing(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """An unknown hangup reason, or a reason together with a code, is refused
    and the channel (not in any app) stays up, with Asterisk's messages."""
    chan = server.core.request("Sim/carol")
    status, body = await call(http, "DELETE", f"/channels/{chan.id}?reason=grumpy")
    assert (status, body) == (400, {"message": "Invalid reason for hangup reason provided"})
    status, body = await call(http, "DELETE", f"/channels/{chan.id}?reason=busy&reason_code=17")
    assert (status, body) == (
        400,
        {"message": "The reason and reason_code can't both be specified"},
    )
    assert chan.id in server.core.channels and not chan.hungup
    status, _ = await call(http, "DELETE", f"/channels/{chan.id}")
    assert status == 204
    await wait_for(lambda: chan.id not in server.core.channels)


@pytest.mark.parametrize(
    ("query", "cause", "cause_txt"),
    [("reason=busy", 17, "User busy"), ("reason_code=21", 21, "Call Rejected")],
)
async def test_hangup_reason_becomes_the_destroy_cause(
    server: Server, http: aiohttp.ClientSession, query: str, cause: int, cause_txt: str
) -> None:
    """The hangup reason (named or numeric) is the cause the app sees when the channel goes."""
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _ = await call(http, "DELETE", f"/channels/{cid}?{query}")
        assert status == 204
        destroyed = await events.wait("ChannelDestroyed", cid)
    assert (destroyed["cause"], destroyed["cause_txt"]) == (cause, cause_txt)


async def test_originate_with_an_id_in_use_conflicts(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """channelId or otherChannelId naming a live channel is 409; an id that is
    merely a prefix of a live one is not a duplicate."""
    async with app_events(http, "t") as events:
        status, _ = await call(
            http,
            "POST",
            "/channels",
            params={"endpoint": "Sim/alice", "app": "t", "channelId": "call-1"},
        )
        assert status == 200
        await events.wait("StasisStart", "call-1")
        for key in ("channelId", "otherChannelId"):
            status, body = await call(
                http,
                "POST",
                "/channels",
                params={"endpoint": "Local/1000@ARI-test", "app": "t", key: "call-1"},
            )
            assert (status, body) == (
                409,
                {"message": "Channel with given unique ID already exists"},
            ), key
        assert sorted(server.core.channels) == ["call-1"]
        status, second = await call(
            http,
            "POST",
            "/channels",
            params={"endpoint": "Sim/bob", "app": "t", "channelId": "call-"},
        )
        assert status == 200, second
        assert second["id"] == "call-"
        await events.wait("StasisStart", "call-")


async def test_continue_to_an_unknown_label_keeps_the_channel(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Continue to a label the extension lacks is 404 and the channel stays in the app."""
    async with app_events(http, "hello") as events:
        chan = server.sim.phone("alice").call("1000", "ARI-test")
        await events.wait("StasisStart", chan.id)
        status, body = await call(http, "POST", f"/channels/{chan.id}/continue?label=nolabel")
        assert (status, body) == (404, {"message": "Requested label can not be found"})
        assert chan.stasis_app == "hello"
        assert events.of("StasisEnd") == []


async def test_continue_without_arguments_runs_the_next_priority(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Continue with no place given resumes the dialplan at the next priority."""
    async with app_events(http, "hello") as events:
        chan = server.sim.phone("alice").call("1000", "ARI-test")
        start = await events.wait("StasisStart", chan.id)
        assert start["channel"]["dialplan"]["priority"] == 3
        # Keep hearing about the channel after it leaves the app.
        status, _ = await call(
            http,
            "POST",
            "/applications/hello/subscription",
            params={"eventSource": f"channel:{chan.id}"},
        )
        assert status == 200
        status, _ = await call(http, "POST", f"/channels/{chan.id}/continue")
        assert status == 204
        step = await events.wait("ChannelDialplan", chan.id)
        await events.wait("ChannelDestroyed", chan.id)
    assert (step["dialplan_app"], step["channel"]["dialplan"]["priority"]) == ("Hangup", 4)
    assert kinds(about(events.items, chan.id)).index("StasisEnd") < kinds(
        about(events.items, chan.id)
    ).index("ChannelDialplan")


async def test_channel_stays_controllable_after_its_socket_closes(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """When the app's only socket goes away the channel is still in the app and
    operations that need Stasis keep working."""
    async with app_events(http, "hello") as events:
        chan = server.sim.phone("alice").call("1000", "ARI-test")
        await events.wait("StasisStart", chan.id)
    app = server.stasis.get("hello")
    assert app is not None
    await wait_for(lambda: not app.active)
    status, body = await call(http, "POST", f"/channels/{chan.id}/hold")
    assert status == 204, body
    status, body = await call(http, "DELETE", f"/channels/{chan.id}/hold")
    assert status == 204, body
    assert chan.stasis_app == "hello"
    status, _ = await call(http, "DELETE", f"/channels/{chan.id}")
    assert status == 204
    await wait_for(lambda: server.stasis.get("hello") is None)


# -- bridges ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "bridge_type"), [("mixing", "mixing"), ("holding", "holding")])
async def test_new_bridge_object(http: aiohttp.ClientSession, kind: str, bridge_type: str) -> None:
    """A bridge made over ARI: Stasis class and creator, talker video, the asked type,
    no name, no channels, and exactly the bridge fields."""
    status, bridge = await call(http, "POST", "/bridges", params={"type": kind})
    assert status == 200
    assert set(bridge) == BRIDGE_KEYS
    assert bridge["bridge_class"] == "stasis"
    assert bridge["creator"] == "Stasis"
    assert bridge["video_mode"] == "talker"
    assert bridge["bridge_type"] == bridge_type
    assert (bridge["name"], bridge["channels"]) == ("", [])
    assert TIMESTAMP.match(bridge["creationtime"])


async def test_bridge_membership_needs_a_channel_in_stasis(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Adding or removing a channel that exists but is in no app is 422."""
    chan = server.core.request("Sim/carol")
    status, bridge = await call(http, "POST", "/bridges")
    for op in ("addChannel", "removeChannel"):
        status, body = await call(
            http, "POST", f"/bridges/{bridge['id']}/{op}", params={"channel": chan.id}
        )
        assert (status, body) == (422, {"message": "Channel not in Stasis application"}), op
    assert server.core.bridges[bridge["id"]].snapshot().channels == []


async def test_bridge_outside_stasis_conflicts(server: Server, http: aiohttp.ClientSession) -> None:
    """A bridge that exists but was not made by Stasis cannot be driven over ARI (409)."""
    server.core.new_bridge("basic-1", bridge_class="basic", creator="")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body = await call(http, "POST", f"/bridges/basic-1/addChannel?channel={cid}")
    assert (status, body) == (409, {"message": "Bridge not in Stasis application"})


# -- events: the ARI originate traces -----------------------------------------------------


async def originate_local(
    http: aiohttp.ClientSession, events: Events, params: dict[str, str], in_app: int
) -> dict[str, Any]:
    status, one = await call(http, "POST", "/channels", params=params)
    assert status == 200, one
    await wait_for(lambda: len(events.of("StasisStart")) == in_app)
    return dict(one)


async def test_originated_local_halves_both_in_the_app(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Originate Local/1000@ARI-test into an app: ;1 starts Down, ;2 Ring; both
    halves reach the app; per channel the events come in the captured order with
    the captured values, the app keeps seeing both until they are destroyed, and
    every event has the common fields in their formats and its own field set."""
    async with app_events(http, "hello") as events:
        one = await originate_local(
            http, events, {"endpoint": "Local/1000@ARI-test", "app": "hello"}, in_app=2
        )
        assert local_name("1000@ARI-test", 1).match(one["name"])
        assert one["state"] == "Down"
        assert one["dialplan"] == {
            "context": "ARI-test",
            "exten": "1000",
            "priority": 1,
            "app_name": "AppDial2",
            "app_data": "(Outgoing Line)",
        }
        two_id = next(e["channel"]["id"] for e in events.of("ChannelDialplan"))
        status, _ = await call(http, "DELETE", f"/channels/{one['id']}")
        assert status == 204
        await wait_for(lambda: len(events.of("ChannelDestroyed")) == 2)
    for event in events.items:
        check_shape(event, "hello")

    mine = about(events.items, one["id"])
    assert kinds(mine) == [
        "Dial",
        "ChannelStateChange",
        "Dial",
        "ChannelVarset",
        "StasisStart",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelVarset",
        "ChannelDestroyed",
    ]
    dial, up, answered, reset, start, request, _end, done, destroyed = mine
    assert (dial["dialstatus"], dial["forward"], dial["dialstring"]) == ("", "", "1000@ARI-test")
    assert dial["peer"]["state"] == "Down"
    assert up["channel"]["state"] == "Up"
    assert (answered["dialstatus"], answered["peer"]["state"]) == ("ANSWER", "Up")
    assert (reset["variable"], reset["value"]) == ("STASISSTATUS", "")
    assert start["args"] == []
    assert (start["channel"]["dialplan"]["app_name"], start["channel"]["dialplan"]["app_data"]) == (
        "Stasis",
        "hello",
    )
    # Hung up over ARI: an explicit soft hangup.
    assert (request["cause"], request.get("soft")) == (32, True)
    assert (done["variable"], done["value"]) == ("STASISSTATUS", "SUCCESS")
    assert (destroyed["cause"], destroyed["cause_txt"]) == (16, "Normal Clearing")

    other = about(events.items, two_id)
    assert local_name("1000@ARI-test", 2).match(other[0]["channel"]["name"])
    assert kinds(other) == [
        "ChannelDialplan",
        "ChannelDialplan",
        "ChannelStateChange",
        "ChannelDialplan",
        "ChannelVarset",
        "StasisStart",
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelVarset",
        "ChannelHangupRequest",
        "ChannelDestroyed",
    ]
    noop, answer, up2, stasis, reset2, start2, far_end, _end2, done2, app_end, gone = other
    assert [(e["dialplan_app"], e["dialplan_app_data"]) for e in (noop, answer, stasis)] == [
        ("NoOp", ""),
        ("Answer", ""),
        ("Stasis", "hello"),
    ]
    assert [e["channel"]["state"] for e in (noop, answer, up2)] == ["Ring", "Ring", "Up"]
    assert [e["channel"]["dialplan"]["priority"] for e in (noop, answer, stasis)] == [1, 2, 3]
    assert (reset2["value"], done2["value"]) == ("", "SUCCESS")
    assert start2["args"] == []
    # The far end hung up (not soft), then the dialplan ended (soft).
    assert (far_end["cause"], "soft" in far_end) == (16, False)
    assert (app_end["cause"], app_end.get("soft")) == (16, True)
    assert (gone["cause"], gone["cause_txt"]) == (16, "Normal Clearing")


async def test_originated_local_half_in_the_dialplan_stays_watched(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Originate Local/s@default into an app with arguments: only ;1 enters the
    app (with the arguments); the app still follows ;2 through the dialplan
    until both halves are destroyed."""
    async with app_events(http, "hello") as events:
        one = await originate_local(
            http,
            events,
            {"endpoint": "Local/s@default", "app": "hello", "appArgs": "b-test"},
            in_app=1,
        )
        assert local_name("s@default", 1).match(one["name"])
        start = events.of("StasisStart")[0]
        assert (start["channel"]["id"], start["args"]) == (one["id"], ["b-test"])
        two_id = next(e["channel"]["id"] for e in events.of("ChannelDialplan"))
        await wait_for(lambda: len(events.of("ChannelDialplan", two_id)) == 3)
        status, _ = await call(http, "DELETE", f"/channels/{one['id']}")
        assert status == 204
        await wait_for(lambda: len(events.of("ChannelDestroyed")) == 2)
    for event in events.items:
        check_shape(event, "hello")
    assert kinds(about(events.items, one["id"]))[-4:] == [
        "ChannelHangupRequest",
        "StasisEnd",
        "ChannelVarset",
        "ChannelDestroyed",
    ]
    other = about(events.items, two_id)
    assert local_name("s@default", 2).match(other[0]["channel"]["name"])
    assert kinds(other) == [
        "ChannelDialplan",
        "ChannelDialplan",
        "ChannelStateChange",
        "ChannelDialplan",
        "ChannelHangupRequest",
        "ChannelHangupRequest",
        "ChannelDestroyed",
    ]
    assert [(e["dialplan_app"], e["dialplan_app_data"]) for e in other[:2] + other[3:4]] == [
        ("NoOp", ""),
        ("Answer", ""),
        ("Wait", "30"),
    ]
    assert other[0]["channel"]["state"] == "Ring"
    assert [(e["cause"], e.get("soft")) for e in other[4:6]] == [(16, None), (16, True)]
    assert "StasisStart" not in kinds(other)


async def test_destroyed_snapshot_shows_the_app_before_the_last_one(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """Once an app returns, the channel's dialplan position shows what it showed
    before that app ran: the originated half goes back to its outgoing-line
    placeholder, the dialplan half to no app at all."""
    async with app_events(http, "hello") as events:
        one = await originate_local(
            http, events, {"endpoint": "Local/1000@ARI-test", "app": "hello"}, in_app=2
        )
        status, _ = await call(http, "DELETE", f"/channels/{one['id']}")
        assert status == 204
        await wait_for(lambda: len(events.of("ChannelDestroyed")) == 2)
    plans = {
        e["channel"]["name"][-2:]: e["channel"]["dialplan"] for e in events.of("ChannelDestroyed")
    }
    assert (plans[";1"]["app_name"], plans[";1"]["app_data"]) == ("AppDial2", "(Outgoing Line)")
    assert (plans[";2"]["app_name"], plans[";2"]["app_data"], plans[";2"]["priority"]) == (
        "",
        "",
        3,
    )


# -- events: a CLI-originated Local channel, bridged and played to ------------------------


async def cli_local_into_hello(server: Server, http: aiohttp.ClientSession, events: Events) -> str:
    out = await run_command(server, "channel originate Local/1000@ARI-test application Wait 20")
    assert out == ""
    start = await events.wait("StasisStart")
    return str(start["channel"]["id"])


async def test_cli_local_bridged_and_played_to(server: Server, http: aiohttp.ClientSession) -> None:
    """The dialplan half of a CLI-originated Local call enters the app; the app
    bridges it, plays a sound to it, hangs it up and destroys the bridge. The app
    sees exactly start, enter, playback start and end, hangup request, leave,
    end and bridge destruction, and nothing once the channel left the app (it
    came from the dialplan, so its subscription ends there)."""
    async with app_events(http, "hello") as events:
        cid = await cli_local_into_hello(server, http, events)
        status, bridge = await call(http, "POST", "/bridges")
        assert status == 200
        status, _ = await call(http, "POST", f"/bridges/{bridge['id']}/addChannel?channel={cid}")
        assert status == 204
        await events.wait("ChannelEnteredBridge", cid)
        status, playback = await call(http, "POST", f"/channels/{cid}/play?media=sound:beep")
        assert status == 201
        await wait_for(lambda: bool(events.of("PlaybackFinished")))
        status, _ = await call(http, "DELETE", f"/channels/{cid}")
        assert status == 204
        await events.wait("StasisEnd", cid)
        status, _ = await call(http, "DELETE", f"/bridges/{bridge['id']}")
        assert status == 204
        await wait_for(lambda: not server.core.channels)
        await marker(http, events, "hello", "after")
    got = [e for e in events.items if e["type"] != "ChannelUserevent"]
    for event in got:
        check_shape(event, "hello")
    tail = kinds(got)[kinds(got).index("StasisStart") :]
    assert tail == [
        "StasisStart",
        "ChannelEnteredBridge",
        "PlaybackStarted",
        "PlaybackFinished",
        "ChannelHangupRequest",
        "ChannelLeftBridge",
        "StasisEnd",
        "BridgeDestroyed",
    ]
    start, entered, started, finished, request, left, _end, destroyed = got[-8:]
    assert local_name("1000@ARI-test", 2).match(start["channel"]["name"])
    assert start["args"] == []
    assert start["channel"]["state"] == "Up"
    assert start["channel"]["dialplan"]["priority"] == 3
    assert entered["bridge"]["channels"] == [cid]
    assert entered["bridge"]["bridge_class"] == "stasis"
    base = {
        "id": playback["id"],
        "media_uri": "sound:beep",
        "target_uri": f"channel:{cid}",
        "language": "en",
    }
    assert started["playback"] == {**base, "state": "playing"}
    assert finished["playback"] == {**base, "state": "done"}
    assert (request["cause"], request.get("soft")) == (32, True)
    assert left["bridge"]["channels"] == []
    assert destroyed["bridge"]["id"] == bridge["id"]
    assert destroyed["bridge"]["channels"] == []
    # Unsubscribed at StasisEnd: no destruction, no STASISSTATUS after it.
    mine = kinds(about(got, cid))
    assert mine[mine.index("StasisEnd") + 1 :] == []
    assert not events.of("ChannelDestroyed")


async def test_dialplan_channel_is_first_seen_at_stasis_start(
    server: Server, http: aiohttp.ClientSession
) -> None:
    """An app that was not following a dialplan channel hears of it first through
    StasisStart: what the channel did before entering the app is not sent."""
    async with app_events(http, "hello") as events:
        cid = await cli_local_into_hello(server, http, events)
        await marker(http, events, "hello", "after-start")
        status, _ = await call(http, "DELETE", f"/channels/{cid}")
        assert status == 204
        await wait_for(lambda: not server.core.channels)
    assert events.items[0]["type"] == "StasisStart"
