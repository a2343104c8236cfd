"""How ARI reads a request body over HTTP, as Asterisk's res_ari and main/http.c do
(issue #15 parity): JSON only when sent as ``application/json`` (any other type is
not read), a form only as ``application/x-www-form-urlencoded``, either at most 40960
bytes (``413 Request body too large`` beyond); a parameter that takes several values,
given as one string in a JSON body, is one value (only a query string is split on
commas). Over real HTTP, on the core ``PYARI_HTTP_BACKEND`` picks."""

from __future__ import annotations

import json

import aiohttp
import pytest

from conftest import auth_headers
from pyari.ari import spec
from pyari.ari.args import ApplicationsSubscribeArgs, BridgesAddChannelArgs
from pyari.ari.params import parse_params
from pyari.ari.service import HTTP_MAX_BODY, MAX_BODY, AriRequest, AriService
from pyari.server import Server

NO_ENDPOINT = {"message": "Endpoint must be specified"}


async def _post(
    http: aiohttp.ClientSession, path: str, body: bytes, content_type: str | None
) -> tuple[int, object]:
    headers = {"Content-Type": content_type} if content_type else {}
    async with http.post(path, data=body, headers=headers) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/octet-stream", "application/jsonx", None]
)
async def test_a_body_not_sent_as_json_is_not_read(
    http: aiohttp.ClientSession, content_type: str | None
) -> None:
    # not JSON at all: ignored, so the handler's own check answers
    assert await _post(http, "/ari/channels", b"{bad", content_type) == (400, NO_ENDPOINT)
    # good JSON under another type: ignored too (the endpoint in it is not seen)
    body = json.dumps({"endpoint": "Local/s@default", "app": "a"}).encode()
    assert await _post(http, "/ari/channels", body, content_type) == (400, NO_ENDPOINT)


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
async def test_json_is_read_under_its_type_in_any_case_with_parameters(
    http: aiohttp.ClientSession, content_type: str
) -> None:
    assert await _post(http, "/ari/channels", b"{bad", content_type) == (
        400,
        {"message": "Error parsing request body"},
    )
    body = json.dumps({"variable": "FROM_BODY", "value": "1"}).encode()
    status, _ = await _post(http, "/ari/asterisk/variable", body, content_type)
    assert status == 204
    async with http.get("/ari/asterisk/variable", params={"variable": "FROM_BODY"}) as r:
        assert await r.json() == {"value": "1"}


@pytest.mark.parametrize(
    ("content_type", "filler"),
    [("application/json", b" "), ("application/x-www-form-urlencoded", b"a")],
)
async def test_json_or_form_over_40960_bytes_is_413(
    http: aiohttp.ClientSession, content_type: str, filler: bytes
) -> None:
    assert HTTP_MAX_BODY == 40960
    if content_type == "application/json":
        fits = b'{"variable": "BIG", "value": "x"}'
    else:
        fits = b"variable=BIG&value=x&pad="
    fits += filler * (HTTP_MAX_BODY - len(fits))
    assert len(fits) == HTTP_MAX_BODY
    status, _ = await _post(http, "/ari/asterisk/variable", fits, content_type)
    assert status == 204
    too_big = fits + filler
    assert await _post(http, "/ari/asterisk/variable", too_big, content_type) == (
        413,
        {"message": "Request body too large"},
    )


async def test_a_big_body_of_another_type_is_ignored(http: aiohttp.ClientSession) -> None:
    body = b"x" * (HTTP_MAX_BODY * 4)
    assert await _post(http, "/ari/channels", body, "text/plain") == (400, NO_ENDPOINT)


async def test_other_callers_keep_the_larger_limit_and_need_no_content_type(
    server: Server,
) -> None:
    """A RESTRequest's JSON ``message_body`` or a forwarded request is not an HTTP
    body: no Content-Type is needed and Asterisk's HTTP limit does not apply."""
    service: AriService = server.ari
    pad = " " * (HTTP_MAX_BODY + 10)
    body = (json.dumps({"variable": "INNER", "value": "2"}) + pad).encode()
    assert len(body) <= MAX_BODY
    resp = await service.handle(AriRequest("POST", "/asterisk/variable", [], auth_headers(), body))
    assert resp.status == 204


async def test_one_string_in_a_json_body_is_one_value(http: aiohttp.ClientSession) -> None:
    for bridge in ("b1", "b2"):
        async with http.post("/ari/bridges", params={"bridgeId": bridge}) as r:
            assert r.status == 200
    both = "bridge:b1,bridge:b2"
    async with http.ws_connect("/ari/events?app=bodies"):
        path = "/ari/applications/bodies/subscription"
        # the query's value is two event sources, both there
        async with http.post(path, params={"eventSource": both}) as r:
            assert r.status == 200
            assert sorted((await r.json())["bridge_ids"]) == ["b1", "b2"]
        # the body's is one (bridge "b1,bridge:b2"), which is not
        async with http.delete(path, params={"eventSource": both}) as r:
            assert r.status == 200
        async with http.post(path, json={"eventSource": both}) as r:
            assert r.status == 422
            assert await r.json() == {"message": "Event source does not exist"}
        async with http.post(path, json={"eventSource": ["bridge:b1", "bridge:b2"]}) as r:
            assert r.status == 200
            assert sorted((await r.json())["bridge_ids"]) == ["b1", "b2"]


def test_parse_params_splits_a_query_but_not_a_body_string() -> None:
    op = spec.operation(*BridgesAddChannelArgs.OPERATION.split("."))
    query = parse_params(op, {}, {"channel": "x, y"}, None, args_type=BridgesAddChannelArgs)
    assert query.channel == ["x", "y"]
    body = parse_params(op, {}, {}, {"channel": "x,y"}, args_type=BridgesAddChannelArgs)
    assert body.channel == ["x,y"]
    listed = parse_params(op, {}, {}, {"channel": ["x", "y"]}, args_type=BridgesAddChannelArgs)
    assert listed.channel == ["x", "y"]
    op = spec.operation(*ApplicationsSubscribeArgs.OPERATION.split("."))
    sub = parse_params(
        op, {}, {}, {"eventSource": "channel:a,channel:b"}, args_type=ApplicationsSubscribeArgs
    )
    assert sub.eventSource == ["channel:a,channel:b"]
