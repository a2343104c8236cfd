"""ARI over real HTTP on loopback: auth, routing, errors, CORS, api-docs."""

from __future__ import annotations

import base64
import json

import aiohttp
import pytest

from conftest import PASSWORD, USER, auth_headers
from pyari.server import Server


async def test_info_and_headers(http: aiohttp.ClientSession) -> None:
    async with http.get("/ari/asterisk/info") as r:
        assert r.status == 200
        assert r.headers["Server"] == "Asterisk"
        assert r.headers["Cache-Control"] == "no-cache, no-store"
        assert r.content_type == "application/json"
        text = await r.text()
        assert text.startswith('{\n  "build"')  # pretty = yes in the defaults
        body = json.loads(text)
    assert set(body) == {"build", "system", "config", "status"}
    async with http.get("/ari/asterisk/info?only=system,status") as r:
        assert set(await r.json()) == {"system", "status"}


async def test_ping(http: aiohttp.ClientSession, server: Server) -> None:
    async with http.get("/ari/asterisk/ping") as r:
        body = await r.json()
    assert body["ping"] == "pong"
    assert body["asterisk_id"] == server.core.entity_id
    assert len(body["timestamp"]) == len("2026-11-26T03:35:43.153+0000")


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({}, ""),
        ({"Authorization": "Basic " + base64.b64encode(b"testARI:wrong").decode()}, ""),
        ({}, "?api_key=testARI:wrong"),
        ({}, "?api_key=nocolon"),
        ({"Authorization": "Basic !!!notbase64"}, ""),
        ({"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, ""),
    ],
)
async def test_auth_required(base_url: str, headers: dict[str, str], query: str) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{base_url}/ari/asterisk/info{query}", headers=headers) as r,
    ):
        assert r.status == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'
        assert await r.json() == {"message": "Authentication required"}


async def test_api_key_and_basic_precedence(base_url: str) -> None:
    good = f"{USER}:{PASSWORD}".replace("$", "%24")
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base_url}/ari/asterisk/ping?api_key={good}") as r:
            assert r.status == 200
        # Basic wins when both are sent: a bad Basic fails despite a good key.
        bad = {"Authorization": "Basic " + base64.b64encode(b"testARI:nope").decode()}
        async with s.get(f"{base_url}/ari/asterisk/ping?api_key={good}", headers=bad) as r:
            assert r.status == 401


async def test_auth_before_api_docs_and_websocket(base_url: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{base_url}/ari/api-docs/resources.json") as r:
            assert r.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await s.ws_connect(f"{base_url}/ari/events?app=hello")
        assert exc.value.status == 401


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/ari/nosuchthing", 404, "Resource not found"),
        ("GET", "/ari/asterisk/nosuch", 404, "Resource not found"),
        ("GET", "/ari/channels/doesnotexist", 404, "Channel not found"),
        ("GET", "/ari/channels/", 404, "ARI URLs do not end with a slash. Try /ari/channels"),
        ("DELETE", "/ari/asterisk/info", 405, "Invalid method"),
        ("POST", "/ari/channels", 400, "Endpoint must be specified"),
        (
            "POST",
            "/ari/channels?endpoint=Local/1000@ARI-test",
            400,
            "Application or extension must be specified",
        ),
        ("POST", "/ari/channels?endpoint=nonsense&app=hello", 400, "Invalid endpoint specified"),
        ("POST", "/ari/channels?endpoint=Bogus/123&app=hello", 400, "Invalid endpoint specified"),
        ("GET", "/ari/asterisk/variable", 400, "Variable name is required"),
        ("GET", "/ari/applications/nosuchapp", 404, "Application not found"),
        ("POST", "/ari/channels/nope/answer", 404, "Channel not found"),
        ("DELETE", "/ari/channels/nope", 404, "Channel not found"),
        ("POST", "/ari/channels/nope/continue", 404, "Channel not found"),
        ("GET", "/ari/channels/nope/variable?variable=X", 404, "Provided channel was not found"),
        ("GET", "/ari/channels/nope/variable", 400, "Variable name is required"),
        (
            "POST",
            "/ari/channels/create?endpoint=Local/1000@ARI-test",
            400,
            "Application must be specified",
        ),
    ],
)
async def test_errors(
    http: aiohttp.ClientSession, method: str, path: str, status: int, message: str
) -> None:
    async with http.request(method, path) as r:
        assert r.status == status
        assert await r.json() == {"message": message}
        if status == 405:
            assert r.headers["Allow"] == "OPTIONS,GET"


async def test_malformed_json_body(http: aiohttp.ClientSession) -> None:
    async with http.post(
        "/ari/channels", data=b"{bad", headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        assert await r.json() == {"message": "Error parsing request body"}


async def test_json_body_fields_work_like_query(
    http: aiohttp.ClientSession, server: Server
) -> None:
    async with http.post("/ari/channels", json={"app": "hello"}) as r:
        assert r.status == 400
        assert await r.json() == {"message": "Endpoint must be specified"}
    async with http.post(
        "/ari/channels",
        json={
            "endpoint": "Local/s@default",
            "extension": "s",
            "context": "default",
            "variables": {"FOO": "bar", "CALLERID(name)": "Alice"},
        },
    ) as r:
        assert r.status == 200
        chan = await r.json()
    live = server.core.channels[chan["id"]]
    assert live.get_var("FOO") == "bar"
    assert live.caller.name == "Alice"
    async with http.get(f"/ari/channels/{chan['id']}/variable?variable=FOO") as r:
        assert await r.json() == {"value": "bar"}
    async with http.delete(f"/ari/channels/{chan['id']}") as r:
        assert r.status == 204


async def test_read_only_user(server: Server, base_url: str) -> None:
    import dataclasses

    from pyari.config import AriUser

    ari = server.config.ari
    users = dict(ari.users)
    users["ro"] = AriUser("ro", read_only=True, password="pw")
    server.config = dataclasses.replace(server.config, ari=dataclasses.replace(ari, users=users))
    async with aiohttp.ClientSession(headers=auth_headers("ro", "pw")) as s:
        async with s.post(f"{base_url}/ari/channels?endpoint=Local/1@x&app=a") as r:
            assert r.status == 403
            assert await r.json() == {"message": "Write access denied"}
        async with s.get(f"{base_url}/ari/channels") as r:
            assert r.status == 200
            assert await r.json() == []


async def test_events_socket_errors(base_url: str) -> None:
    async with aiohttp.ClientSession(headers=auth_headers()) as s:
        async with s.get(f"{base_url}/ari/events?app=hello") as r:
            assert r.status == 426
            assert "<title>426 Upgrade Required</title>" in await r.text()
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await s.ws_connect(f"{base_url}/ari/events")
        assert exc.value.status == 400


async def test_root_is_html_404(base_url: str) -> None:
    async with aiohttp.ClientSession() as s, s.get(f"{base_url}/") as r:
        assert r.status == 404
        assert "The requested URL was not found on this server." in await r.text()


async def test_cors(server: Server, base_url: str) -> None:
    import dataclasses

    server.config = dataclasses.replace(
        server.config,
        ari=dataclasses.replace(server.config.ari, allowed_origins=("http://ari.asterisk.org",)),
    )
    async with aiohttp.ClientSession(headers=auth_headers()) as s:
        origin = {"Origin": "http://ari.asterisk.org"}
        async with s.get(f"{base_url}/ari/asterisk/ping", headers=origin) as r:
            assert r.headers["Access-Control-Allow-Origin"] == "http://ari.asterisk.org"
            assert r.headers["Access-Control-Allow-Credentials"] == "true"
        async with s.get(
            f"{base_url}/ari/asterisk/ping", headers={"Origin": "http://evil.example"}
        ) as r:
            assert "Access-Control-Allow-Origin" not in r.headers
        pre = {**origin, "Access-Control-Request-Method": "POST"}
        async with s.options(f"{base_url}/ari/channels", headers=pre) as r:
            assert r.status == 204
            assert r.headers["Access-Control-Allow-Origin"] == "http://ari.asterisk.org"
            assert "POST" in r.headers["Access-Control-Allow-Methods"]


async def test_api_docs_base_path_from_host(http: aiohttp.ClientSession) -> None:
    async with http.get("/ari/api-docs/resources.json", headers={"Host": "pbx.example:8088"}) as r:
        doc = await r.json()
    assert doc["basePath"] == "http://pbx.example:8088/ari"
    assert doc["swaggerVersion"] == "1.1"
    names = [a["path"] for a in doc["apis"]]
    assert "/api-docs/channels.{format}" in names
    async with http.get("/ari/api-docs/channels.json") as r:
        chans = await r.json()
    assert chans["resourcePath"] == "/api-docs/channels.{format}"
    async with http.get("/ari/api-docs/nosuch.json") as r:
        assert r.status == 404


async def test_bad_input_never_500_and_server_lives(http: aiohttp.ClientSession) -> None:
    bad = [
        ("POST", "/ari/channels?endpoint=" + "x" * 70000 + "&app=a"),
        ("POST", "/ari/channels?endpoint=Local/1@x&app=a&timeout=1e999"),
        ("POST", "/ari/channels?endpoint=Local/1@x&app=a&timeout=99999999999999999999999"),
        ("GET", "/ari/channels/%00%ff"),
        ("GET", "/ari/asterisk/info?only=nonsense"),
        ("GET", "/ari/" + "a/" * 500),
        ("GET", "/ari/channels?" + "&".join(f"k{i}=v" for i in range(2000))),
    ]
    for method, path in bad:
        async with http.request(method, path) as r:
            assert 400 <= r.status < 500, (path[:60], r.status)
    for body in (b"[1,2", b"\xff\xfe", b'"just a string"', b"[]", b"1" * 100):
        async with http.post(
            "/ari/channels", data=body, headers={"Content-Type": "application/json"}
        ) as r:
            assert 400 <= r.status < 500
    async with http.get("/ari/asterisk/ping") as r:
        assert r.status == 200


async def test_openapi_document_validates(http: aiohttp.ClientSession) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    async with http.get("/ari/openapi.json", headers={"Host": "pbx.example:8088"}) as r:
        assert r.status == 200
        doc = await r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"][0]["url"] == "http://pbx.example:8088/ari"
    validate(doc, cls=OpenAPIV31SpecValidator)
    ops = [op for path in doc["paths"].values() for op in path.values() if "operationId" in op]
    assert len(ops) == 109
