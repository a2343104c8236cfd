"""Error answers whose text pyari took from Asterisk's res/ari sources (issue #15 item 5):
each over real HTTP, where it used to say something else. The whole list of texts is
checked in tests/ari/test_error_messages.py."""

from __future__ import annotations

import aiohttp

from ari.ari_ops_helpers import app_events, call, stasis_channel
from pyari.server import Server


async def test_bridge_media_channel_formats(server: Server, http: aiohttp.ClientSession) -> None:
    status, _ = await call(http, "POST", "/bridges/f1")
    assert status == 200
    status, body = await call(
        http,
        "POST",
        "/bridges/f1/play",
        params={"media": "sound:tt-monkeys", "announcer_format": "nosuch"},
    )
    assert (status, body) == (
        422,
        {"message": "specified announcer_format is unknown on this system"},
    )
    status, body = await call(
        http,
        "POST",
        "/bridges/f1/record",
        params={"name": "r1", "format": "wav", "recorder_format": "nosuch"},
    )
    assert (status, body) == (
        422,
        {"message": "specified recorder_format is unknown on this system"},
    )
    # the file format is checked before the channel's
    status, body = await call(
        http,
        "POST",
        "/bridges/f1/record",
        params={"name": "r1", "format": "nosuch", "recorder_format": "nosuch"},
    )
    assert body == {"message": "specified format is unknown on this system"}
    status, _ = await call(http, "GET", "/recordings/live/r1")
    assert status == 404  # nothing was started


async def test_channel_record_negative_limits_first(
    server: Server, http: aiohttp.ClientSession
) -> None:
    # Asterisk checks them before it looks the channel up
    for param, text in (
        ("maxDurationSeconds", "max_duration_seconds cannot be negative"),
        ("maxSilenceSeconds", "max_silence_seconds cannot be negative"),
    ):
        status, body = await call(
            http,
            "POST",
            "/channels/nope/record",
            params={"name": "r", "format": "wav", param: "-1"},
        )
        assert (status, body) == (400, {"message": text})
    # a bridge's go through the declared range (decision 0003)
    await call(http, "POST", "/bridges/n1")
    status, body = await call(
        http,
        "POST",
        "/bridges/n1/record",
        params={"name": "r", "format": "wav", "maxDurationSeconds": "-1"},
    )
    assert (status, body) == (400, {"message": "Invalid value for parameter maxDurationSeconds"})


async def test_variables_that_are_not_an_object(
    server: Server, http: aiohttp.ClientSession
) -> None:
    await call(http, "POST", "/bridges/v1")
    status, body = await call(http, "POST", "/bridges/v1/variables", json={"variables": "x=1"})
    assert (status, body) == (400, {"message": "The 'variables' field must be a JSON object"})
    async with app_events(http, "t") as events:
        chan = await stasis_channel(http, events)
        status, body = await call(
            http, "POST", f"/channels/{chan}/variables", json={"variables": ["x"]}
        )
        assert (status, body) == (400, {"message": "The 'variables' field must be a JSON object"})
        # a function that cannot be read: Asterisk's text (its status 500 becomes 400)
        for name in ("NOSUCHFUNCTION(x)", "BROKEN)"):
            status, body = await call(
                http, "GET", f"/channels/{chan}/variable", params={"variable": name}
            )
            assert (status, body) == (400, {"message": "Unable to read provided function"})
        status, body = await call(
            http, "GET", f"/channels/{chan}/variable", params={"variable": "CHANNEL(name)"}
        )
        assert status == 200 and body["value"].startswith("Sim/alice")


async def test_api_docs_other_methods(server: Server, http: aiohttp.ClientSession) -> None:
    async with http.post("/ari/api-docs/resources.json") as r:
        assert (r.status, await r.json()) == (405, {"message": "Unsupported method"})
        assert "Allow" not in r.headers  # Asterisk sends none here


async def test_no_sounds_match(server: Server, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "GET", "/sounds", params={"lang": "xx"})
    assert (status, body) == (404, {"message": "No sounds found that matched the query"})


async def test_hangup_reason_code_not_a_number(server: Server, http: aiohttp.ClientSession) -> None:
    chan = server.core.request("Sim/carol")
    status, body = await call(http, "DELETE", f"/channels/{chan.id}", params={"reason_code": "x"})
    assert (status, body) == (400, {"message": "Invalid reason for hangup reason code provided"})
    assert not chan.destroyed
    # read as C's sscanf("%d") reads it: the leading number counts
    status, _ = await call(http, "DELETE", f"/channels/{chan.id}", params={"reason_code": "17x"})
    assert status == 204


async def test_too_many_values_for_a_parameter(server: Server, http: aiohttp.ClientSession) -> None:
    # Asterisk's generated handlers take at most 127 values of a comma list; 128 is a 400
    # named by the C argument (eventSource: event_source).
    await call(http, "POST", "/bridges/m1")
    many = ",".join(f"c{i}" for i in range(128))
    status, body = await call(http, "POST", "/bridges/m1/addChannel", params={"channel": many})
    assert (status, body) == (400, {"message": "Too many values for channel"})
    status, body = await call(http, "POST", "/bridges/m1/addChannel", params={"channel": many[3:]})
    assert body != {"message": "Too many values for channel"}  # 127: on to the lookup
    sources = ",".join(f"channel:x{i}" for i in range(200))
    status, body = await call(
        http, "POST", "/applications/t/subscription", params={"eventSource": sources}
    )
    assert (status, body) == (400, {"message": "Too many values for event_source"})
    # a trailing comma is one more value
    status, body = await call(
        http, "POST", "/bridges/m1/play", params={"media": ",".join(["sound:x"] * 127) + ","}
    )
    assert (status, body) == (400, {"message": "Too many values for media"})
    status, body = await call(http, "GET", "/asterisk/info", params={"only": "build," * 128})
    assert (status, body) == (400, {"message": "Too many values for only"})


def test_commas_that_do_not_separate() -> None:
    from pyari.ari.params import MAX_VALS, _too_many

    assert not _too_many(",".join(["a"] * (MAX_VALS - 1)))
    assert _too_many(",".join(["a"] * MAX_VALS))
    assert _too_many("," * (MAX_VALS - 1))  # 128 empty values
    for inside in ("(", "[", '"'):
        close = {"(": ")", "[": "]"}.get(inside, inside)
        assert not _too_many(f"a{inside}{',' * 200}{close}")
    assert not _too_many("\\," * 200)  # escaped
    assert _too_many("x)" + "," * 127)  # an unmatched closing one changes nothing
