"""REST over the events WebSocket (RESTRequest / RESTResponse), over real sockets on both cores.

The messages and their checks are Asterisk's (res/ari/ari_websocket_requests.c); the
requests run through the same pipeline as HTTP, so the answers are HTTP's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from conftest import PASSWORD, USER, auth_headers, make_server
from pyari.config import AriUser
from pyari.http import BACKENDS
from pyari.server import Server

WAIT = 5.0


@pytest.fixture(params=BACKENDS)
async def srv(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    server = make_server()
    ari = server.config.ari
    users = {**ari.users, "ro": AriUser("ro", read_only=True, password="ro-pass")}
    server.config = dataclasses.replace(server.config, ari=dataclasses.replace(ari, users=users))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def http(srv: Server) -> AsyncIterator[aiohttp.ClientSession]:
    base = f"http://127.0.0.1:{srv.http_port}"
    async with aiohttp.ClientSession(base_url=base, headers=auth_headers()) as session:
        yield session


@pytest.fixture
async def ws(http: aiohttp.ClientSession) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with http.ws_connect("/ari/events?app=hello") as sock:
        yield sock


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data = json.loads(msg.data)
    assert isinstance(data, dict)
    return data


async def ask(ws: aiohttp.ClientWebSocketResponse, **fields: Any) -> dict[str, Any]:
    """Send a RESTRequest (``type`` unless given) and return the next message (its answer)."""
    await ws.send_str(json.dumps({"type": "RESTRequest", **fields}))
    return await receive(ws)


def body(resp: dict[str, Any]) -> Any:
    """The decoded ``message_body`` (None when the response has none)."""
    if "message_body" not in resp:
        assert "content_type" not in resp
        return None
    assert resp["content_type"] == "application/json"
    text = resp["message_body"]
    assert isinstance(text, str)
    return json.loads(text)


# -- every method, with query, form and JSON parameters ----------------------------------------


async def test_get_answers_with_the_response_envelope(
    srv: Server, ws: aiohttp.ClientWebSocketResponse
) -> None:
    resp = await ask(ws, transaction_id="t-1", request_id="r-1", method="GET", uri="channels")
    assert list(resp)[:6] == [
        "type",
        "transaction_id",
        "request_id",
        "status_code",
        "reason_phrase",
        "uri",
    ]
    assert resp["type"] == "RESTResponse"
    assert (resp["transaction_id"], resp["request_id"]) == ("t-1", "r-1")
    assert (resp["status_code"], resp["reason_phrase"], resp["uri"]) == (200, "OK", "channels")
    assert resp["message_body"] == "[]" and body(resp) == []
    assert resp["application"] == "hello"
    assert resp["asterisk_id"] == srv.core.entity_id
    assert resp["timestamp"][:2] == "20" and resp["timestamp"].endswith("+0000")


async def test_query_in_uri_and_query_strings(ws: aiohttp.ClientWebSocketResponse) -> None:
    resp = await ask(ws, method="GET", uri="asterisk/info?only=build")
    assert resp["uri"] == "asterisk/info"  # without its query string
    assert list(body(resp)) == ["build"]
    resp = await ask(
        ws, method="GET", uri="asterisk/info", query_strings=[{"name": "only", "value": "system"}]
    )
    assert list(body(resp)) == ["system"]
    # Both together: the uri's pairs first, then the list's (the last one wins).
    resp = await ask(
        ws,
        method="GET",
        uri="asterisk/info?only=build",
        query_strings=[{"name": "only", "value": "config"}],
    )
    assert list(body(resp)) == ["config"]


async def test_post_form_body_then_get_with_query_strings(
    ws: aiohttp.ClientWebSocketResponse,
) -> None:
    resp = await ask(
        ws,
        method="POST",
        uri="asterisk/variable",
        content_type="application/x-www-form-urlencoded",
        message_body="variable=WS_VAR&value=a+b%26c",
    )
    assert (resp["status_code"], resp["reason_phrase"]) == (204, "No Content")
    assert body(resp) is None
    resp = await ask(
        ws,
        method="GET",
        uri="asterisk/variable",
        query_strings=[{"name": "variable", "value": "WS_VAR"}],
    )
    assert (resp["status_code"], body(resp)) == (200, {"value": "a b&c"})


async def test_post_json_put_and_delete(ws: aiohttp.ClientWebSocketResponse) -> None:
    resp = await ask(
        ws,
        method="POST",
        uri="bridges",
        content_type="application/json",
        message_body=json.dumps({"bridgeId": "ws-bridge", "type": "mixing"}),
    )
    assert resp["status_code"] == 200 and body(resp)["id"] == "ws-bridge"
    assert resp["message_body"].startswith('{"id":"ws-bridge","')  # compact JSON
    resp = await ask(
        ws,
        method="PUT",
        uri="deviceStates/Stasis:ws",
        content_type="application/x-www-form-urlencoded",
        message_body="deviceState=BUSY",
    )
    assert resp["status_code"] == 204
    resp = await ask(ws, method="GET", uri="deviceStates/Stasis:ws")
    assert body(resp) == {"name": "Stasis:ws", "state": "BUSY"}
    resp = await ask(
        ws,
        method="PUT",
        uri="applications/hello/eventFilter",
        content_type="application/json",
        message_body=json.dumps({"allowed": [{"type": "StasisStart"}]}),
    )
    assert resp["status_code"] == 200
    assert body(resp)["events_allowed"] == [{"type": "StasisStart"}]
    resp = await ask(ws, method="DELETE", uri="bridges/ws-bridge")
    assert (resp["status_code"], resp["uri"]) == (204, "bridges/ws-bridge")
    resp = await ask(ws, method="DELETE", uri="bridges/ws-bridge")
    assert (resp["status_code"], resp["reason_phrase"]) == (404, "Not Found")
    assert body(resp) == {"message": "Bridge not found"}


async def test_the_answers_are_the_pipelines(
    http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    """Routing and parameter errors are HTTP's, status and message."""
    cases = [
        ("GET", "nothing/here"),
        ("PUT", "channels"),
        ("HEAD", "channels"),
        ("GET", "channels/"),
        ("POST", "channels"),  # no endpoint
        ("GET", "channels/nope"),
    ]
    for method, uri in cases:
        resp = await ask(ws, method=method, uri=uri)
        async with http.request(method, f"/ari/{uri}") as over_http:
            expected = await over_http.json() if method != "HEAD" else None
            assert resp["status_code"] == over_http.status, (method, uri)
            assert resp["reason_phrase"] == over_http.reason
        if expected is not None:
            assert body(resp) == expected, (method, uri)
    # A uri is relative to /ari/: one that starts with "/" names the root (no methods).
    resp = await ask(ws, method="GET", uri="/channels")
    assert (resp["status_code"], body(resp)) == (405, {"message": "Invalid method"})
    resp = await ask(ws, method="OPTIONS", uri="channels")
    assert (resp["status_code"], body(resp)) == (204, None)


async def test_a_form_body_over_http_is_read_as_on_the_socket(
    srv: Server, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
) -> None:
    """Asterisk's HTTP server reads an application/x-www-form-urlencoded body as POST
    variables (curl -d sends one): the same parameters as the socket's form message_body."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(
        "/ari/asterisk/variable", data=b"variable=HTTP_VAR&value=a+b%26c", headers=form
    ) as r:
        assert r.status == 204
    resp = await ask(ws, method="GET", uri="asterisk/variable?variable=HTTP_VAR")
    assert (resp["status_code"], body(resp)) == (200, {"value": "a b&c"})
    # the query's value wins over the form's, as Asterisk puts the query after the form
    form = {"Content-Type": "Application/X-WWW-Form-Urlencoded; charset=utf-8"}
    async with http.post(
        "/ari/asterisk/variable?value=q",
        data=b"variable=HTTP_VAR&value=f",
        headers=form,
    ) as r:
        assert r.status == 204
    resp = await ask(ws, method="GET", uri="asterisk/variable?variable=HTTP_VAR")
    assert body(resp) == {"value": "q"}
    # a form's api_key logs in, as a query's does
    base = f"http://127.0.0.1:{srv.http_port}"
    async with aiohttp.ClientSession(base_url=base) as anonymous:
        async with anonymous.post(
            "/ari/asterisk/variable", data={"api_key": f"{USER}:{PASSWORD}", "variable": "V2"}
        ) as r:
            assert r.status == 204
        async with anonymous.post("/ari/asterisk/variable", data={"variable": "V3"}) as r:
            assert r.status == 401
    # a missing parameter: the same answer on both transports
    async with http.post("/ari/channels", data={"app": "hello"}) as r:
        over_http = (r.status, await r.json())
    resp = await ask(
        ws,
        method="POST",
        uri="channels",
        content_type="application/x-www-form-urlencoded",
        message_body="app=hello",
    )
    assert (resp["status_code"], body(resp)) == over_http


# -- credentials ------------------------------------------------------------------------------


async def test_read_only_user_reads_but_may_not_write(srv: Server) -> None:
    base = f"http://127.0.0.1:{srv.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth_headers("ro", "ro-pass")) as http,
        http.ws_connect("/ari/events?app=watch") as ws,
    ):
        resp = await ask(ws, method="GET", uri="channels")
        assert resp["status_code"] == 200
        resp = await ask(ws, method="POST", uri="bridges")
        assert (resp["status_code"], resp["reason_phrase"]) == (403, "Forbidden")
        assert body(resp) == {"message": "Write access denied"}
        assert not srv.core.bridges


async def test_api_key_of_the_socket_and_of_the_request(srv: Server) -> None:
    base = f"http://127.0.0.1:{srv.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base) as http,
        http.ws_connect(f"/ari/events?app=keyed&api_key={USER}:{PASSWORD}") as ws,
    ):
        resp = await ask(ws, method="GET", uri="channels")
        assert resp["status_code"] == 200
        # A request that names its own api_key is judged by it.
        resp = await ask(
            ws, method="GET", uri="channels", query_strings=[{"name": "api_key", "value": "x:y"}]
        )
        assert (resp["status_code"], resp["reason_phrase"]) == (401, "Unauthorized")
        assert body(resp) == {"message": "Authentication required"}
        resp = await ask(ws, method="POST", uri="bridges?api_key=ro:ro-pass")
        assert (resp["status_code"], body(resp)) == (403, {"message": "Write access denied"})


# -- messages Asterisk does not run -----------------------------------------------------------

BAD_MESSAGES: list[tuple[dict[str, Any], str, str]] = [
    ({"type": None, "method": "GET", "uri": "channels"}, "No 'type' property.", ""),
    ({"type": "", "method": "GET", "uri": "channels"}, "No 'type' property.", ""),
    ({"type": "RESTResponse", "method": "GET", "uri": "channels"}, "Unknown request type.", ""),
    ({"method": "GET"}, "Empty or missing 'uri' property.", ""),
    ({"method": "GET", "uri": ""}, "Empty or missing 'uri' property.", ""),
    ({"uri": "channels?x=1"}, "Unknown or missing 'method' property.", "channels"),
    ({"method": "get", "uri": "channels"}, "Unknown or missing 'method' property.", "channels"),
    ({"method": "PATCH", "uri": "channels"}, "Unknown or missing 'method' property.", "channels"),
    (
        {"method": "GET", "uri": "channels", "query_strings": [{"name": "a"}]},
        "Unable to parse 'query_strings' array.",
        "channels",
    ),
    (
        {"method": "GET", "uri": "channels", "query_strings": [["a", "b"]]},
        "Unable to parse 'query_strings' array.",
        "channels",
    ),
    (
        {"method": "POST", "uri": "bridges", "message_body": "{}"},
        "No 'content_type' for 'message_body'.",
        "bridges",
    ),
    (
        {"method": "POST", "uri": "bridges", "content_type": "text/plain", "message_body": "x"},
        "Unknown content type.",
        "bridges",
    ),
    (
        {
            "method": "POST",
            "uri": "bridges",
            "content_type": "application/json; charset=utf-8",
            "message_body": "{}",
        },
        "Unknown content type.",
        "bridges",
    ),
    (
        {
            "method": "POST",
            "uri": "bridges",
            "content_type": "application/json",
            "message_body": "{nope",
        },
        "Unable to parse 'message_body' as 'application/json'.",
        "bridges",
    ),
    ({"method": "GET", "uri": "events"}, "Can't upgrade to websocket from a websocket", "events"),
]


async def test_each_refused_message(srv: Server, ws: aiohttp.ClientWebSocketResponse) -> None:
    for fields, message, uri in BAD_MESSAGES:
        sent = {"type": "RESTRequest", "transaction_id": "t", "request_id": "r", **fields}
        await ws.send_str(json.dumps(sent))
        resp = await receive(ws)
        assert (resp["status_code"], resp["reason_phrase"]) == (400, "Bad request"), fields
        assert body(resp) == {"message": message}, fields
        assert (resp["transaction_id"], resp["request_id"], resp["uri"]) == ("t", "r", uri)
    assert not srv.core.bridges
    # Ignored: an empty or non-string body needs no content type.
    resp = await ask(ws, method="GET", uri="channels", message_body="")
    assert resp["status_code"] == 200


async def test_unreadable_json_and_a_non_object(ws: aiohttp.ClientWebSocketResponse) -> None:
    await ws.send_str('{"type": "RESTRequest",')
    resp = await receive(ws)
    assert resp == {
        "type": "RESTResponse",
        "transaction_id": "",
        "request_id": "",
        "status_code": 400,
        "reason_phrase": "Failed to parse request message JSON",
        "uri": "",
        "application": "hello",
        "timestamp": resp["timestamp"],
        "asterisk_id": resp["asterisk_id"],
    }
    await ws.send_str("[1, 2]")
    resp = await receive(ws)
    assert body(resp) == {"message": "No 'type' property."}
    await ws.send_bytes(b'{"type": "RESTRequest"}')  # binary frames are not requests
    resp = await ask(ws, method="GET", uri="channels", request_id="after")
    assert resp["request_id"] == "after"


# -- order with events ------------------------------------------------------------------------


async def test_events_published_by_the_request_come_before_its_response(
    ws: aiohttp.ClientWebSocketResponse,
) -> None:
    await ws.send_str(
        json.dumps(
            {
                "type": "RESTRequest",
                "request_id": "ping",
                "method": "POST",
                "uri": "events/user/Ping",
                "query_strings": [{"name": "application", "value": "hello"}],
            }
        )
    )
    first, second = await receive(ws), await receive(ws)
    assert (first["type"], first["eventname"]) == ("ChannelUserevent", "Ping")
    assert (second["type"], second["request_id"], second["status_code"]) == (
        "RESTResponse",
        "ping",
        204,
    )


async def test_originate_answers_before_the_call_enters_the_app(
    ws: aiohttp.ClientWebSocketResponse,
) -> None:
    resp = await ask(
        ws,
        request_id="orig",
        method="POST",
        uri="channels",
        query_strings=[
            {"name": "endpoint", "value": "Sim/alice"},
            {"name": "app", "value": "hello"},
        ],
    )
    assert (resp["type"], resp["request_id"], resp["status_code"]) == ("RESTResponse", "orig", 200)
    chan = body(resp)["id"]
    event = await receive(ws)
    while event["type"] != "StasisStart":
        event = await receive(ws)
    assert event["channel"]["id"] == chan
    resp = await ask(ws, method="DELETE", uri=f"channels/{chan}", request_id="hang")
    types = [resp["type"]]
    while resp.get("request_id") != "hang":
        resp = await receive(ws)
        types.append(resp["type"])
    assert resp["status_code"] == 204
    # Requests are answered in the order they were sent, each once.
    assert types.count("RESTResponse") == 1


async def test_requests_are_answered_in_order(ws: aiohttp.ClientWebSocketResponse) -> None:
    for i in range(20):
        await ws.send_str(
            json.dumps(
                {"type": "RESTRequest", "request_id": str(i), "method": "GET", "uri": "channels"}
            )
        )
    ids = [(await receive(ws))["request_id"] for _ in range(20)]
    assert ids == [str(i) for i in range(20)]


async def test_a_file_answer_is_only_for_http(
    srv: Server, ws: aiohttp.ClientWebSocketResponse
) -> None:
    """A recording's audio: HTTP sends the file, the socket says 406 (as Asterisk)."""
    recdir = srv.config.asterisk.astspooldir / "recording"
    recdir.mkdir(parents=True, exist_ok=True)
    (recdir / "hello.wav").write_bytes(b"RIFFdata")
    resp = await ask(ws, method="GET", uri="recordings/stored/hello/file")
    assert (resp["status_code"], resp["reason_phrase"]) == (406, "Not Acceptable.  Use HTTP GET")
    assert body(resp) is None
    resp = await ask(ws, method="GET", uri="recordings/stored/hello")
    assert body(resp) == {"name": "hello", "format": "wav"}
