"""The generated api-docs load in real ARI clients; the OpenAPI document is valid."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aioari
import aioswagger11
import pytest
from aioswagger11.client import ClientProcessor
from aioswagger11.processors import WebsocketProcessor
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from pyari.ari import spec
from pyari.ari.apidocs import api_declaration, openapi, resource_listing

HOST = "http://pyari.test:8088"
BASE = f"{HOST}/ari"
LISTING_URL = f"{BASE}/api-docs/resources.json"

Json = dict[str, Any]


class FakeResponse:
    def __init__(self, status: int, body: str) -> None:
        self.status = status
        self._body = body

    async def text(self) -> str:
        return self._body

    async def json(self) -> Any:
        return json.loads(self._body)


class ApiDocsHttpClient:
    """Transport stub: serves pyari's generated api-docs by URL, records other calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Json]] = []

    async def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        path = urlsplit(url).path
        if method == "GET" and path.startswith("/ari/api-docs/"):
            name = path.rsplit("/", 1)[1].removesuffix(".json")
            if name == "resources":
                doc = resource_listing(BASE)
            else:
                try:
                    doc = api_declaration(name, BASE)
                except KeyError:
                    return FakeResponse(404, '{"message": "Not found"}')
            # Through JSON text, exactly as a client gets it off the wire.
            return FakeResponse(200, json.dumps(doc))
        self.calls.append((method, url, kwargs))
        return FakeResponse(204, "")

    async def ws_connect(self, url: str, params: Any = None) -> None:
        self.calls.append(("WS", url, {"params": params}))

    async def close(self) -> None:
        pass


# -- Swagger 1.1 -------------------------------------------------------------


def test_resource_listing_shape() -> None:
    listing = resource_listing(BASE)
    assert listing["swaggerVersion"] == "1.1"
    assert listing["basePath"] == BASE
    assert listing["_generator"] == "pyari"
    assert [a["path"] for a in listing["apis"]] == [
        f"/api-docs/{r.name}.{{format}}" for r in spec.resources()
    ]
    assert all(a["description"] for a in listing["apis"])


def test_unknown_resource_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        api_declaration("nope", BASE)


@pytest.mark.parametrize("name", [r.name for r in spec.resources()])
def test_declaration_round_trips(name: str) -> None:
    doc = api_declaration(name, BASE)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["resourcePath"] == f"/api-docs/{name}.{{format}}"
    res = spec.resource(name)
    nicknames = [op["nickname"] for api in doc["apis"] for op in api["operations"]]
    assert nicknames == [op.nickname for op in res.operations]
    assert list(doc["models"]) == [m.id for m in res.models]
    for model in doc["models"].values():
        for prop in model["properties"].values():
            assert prop["type"], model["id"]


def _includes(loaded: Any, generated: Any) -> bool:
    if isinstance(generated, dict):
        return isinstance(loaded, dict) and all(
            k in loaded and _includes(loaded[k], v) for k, v in generated.items()
        )
    if isinstance(generated, list):
        return (
            isinstance(loaded, list)
            and len(loaded) == len(generated)
            and all(_includes(a, b) for a, b in zip(loaded, generated, strict=True))
        )
    return bool(loaded == generated)


async def test_aioswagger11_loader_accepts_every_resource() -> None:
    http = ApiDocsHttpClient()
    loader = aioswagger11.Loader(http, [WebsocketProcessor(), ClientProcessor()])
    docs = await loader.load_resource_listing(LISTING_URL)
    names = [api["name"] for api in docs["apis"]]
    assert names == [r.name for r in spec.resources()]
    loaded_ops = 0
    for api in docs["apis"]:
        decl = api["api_declaration"]
        assert api["url"] == f"{BASE}/api-docs/{api['name']}.json"
        # The processors add keys (is_websocket, a property's name ...) and change none.
        assert _includes(decl, api_declaration(api["name"], BASE))
        loaded_ops += sum(len(a["operations"]) for a in decl["apis"])
    assert loaded_ops == len(spec.operations())
    events = next(a["api_declaration"] for a in docs["apis"] if a["name"] == "events")
    (ws_api,) = [a for a in events["apis"] if a["path"] == "/events"]
    assert ws_api["has_websocket"] is True
    assert ws_api["operations"][0]["is_websocket"] is True


async def test_aioari_client_initialises_and_calls() -> None:
    http = ApiDocsHttpClient()
    client = aioari.Client(f"{HOST}/", http)
    await client.init()
    try:
        assert set(client.repositories) == {r.name for r in spec.resources()}
        # aioari reads event models from the events resource.
        assert client.event_models["StasisStart"]["properties"]["channel"]["type"] == "Channel"
        # Registering object listeners validates the models' typed fields.
        client.on_channel_event("StasisStart", lambda channel, event: None)
        client.on_bridge_event("BridgeCreated", lambda bridge, event: None)
        client.on_playback_event("PlaybackFinished", lambda playback, event: None)
        client.on_live_recording_event("RecordingFinished", lambda rec, event: None)
        client.on_endpoint_event("EndpointStateChange", lambda endpoint, event: None)
        client.on_device_state_event("DeviceStateChanged", lambda state, event: None)

        swagger = client.swagger
        originate = swagger.resources["channels"].operations["originate"]
        await originate(endpoint="PJSIP/alice", app="hello", variables={"A": "1"})
        method, url, kwargs = http.calls[-1]
        assert (method, url) == ("POST", f"{BASE}/channels")
        assert kwargs["params"] == {"endpoint": "PJSIP/alice", "app": "hello"}
        assert json.loads(kwargs["data"]) == {"variables": {"A": "1"}}

        hangup = swagger.resources["channels"].operations["hangup"]
        await hangup(channelId="c1", reason="busy")
        assert http.calls[-1][:2] == ("DELETE", f"{BASE}/channels/c1")

        with pytest.raises(TypeError):
            await originate(app="hello")  # endpoint is required

        websocket = swagger.resources["events"].operations["eventWebsocket"]
        await websocket(app="hello")
        assert http.calls[-1] == (
            "WS",
            "ws://pyari.test:8088/ari/events",
            {"params": {"app": "hello"}},
        )
    finally:
        await client.close()


# -- OpenAPI 3.1 -------------------------------------------------------------


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def test_openapi_validates() -> None:
    doc = openapi(BASE)
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_openapi_covers_the_contract() -> None:
    doc = openapi(BASE)
    assert doc["openapi"].startswith("3.1")
    assert doc["servers"] == [{"url": BASE}]
    ops = {
        body["operationId"]: (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, body in item.items()
        if isinstance(body, dict) and "operationId" in body
    }
    assert len(ops) == len(spec.operations()) == 109
    for op in spec.operations():
        assert ops[f"{op.resource}_{op.nickname}"] == (op.method, op.path)
    schemas = doc["components"]["schemas"]
    assert set(spec.models()) <= set(schemas)
    assert len(spec.models()) == 85
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert set(doc["components"]["securitySchemes"]) == {"basicAuth", "apiKey"}
    assert doc["components"]["securitySchemes"]["apiKey"]["name"] == "api_key"


def test_openapi_details() -> None:
    doc = openapi(BASE)
    originate = doc["paths"]["/channels"]["post"]
    params = {p["name"]: p for p in originate["parameters"]}
    assert params["endpoint"]["required"] is True
    assert params["timeout"]["schema"] == {"type": "integer", "format": "int32", "default": 30}
    body = originate["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["variables"]["type"] == ["object", "null"]  # null: left out
    assert originate["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Channel"
    }
    assert set(originate["responses"]) == {"200", "400", "401", "403", "404", "409", "413"}

    ws = doc["paths"]["/events"]["get"]
    app = {p["name"]: p for p in ws["parameters"]}["app"]
    # Required: an empty list or name counts as left out (400).
    assert app["schema"] == {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
    }
    assert (app["style"], app["explode"]) == ("form", False)
    assert "WebSocket" in ws["description"]

    hangup = doc["paths"]["/channels/{channelId}"]["delete"]
    assert "204" in hangup["responses"]
    reason = {p["name"]: p for p in hangup["parameters"]}["reason"]
    assert "busy" in reason["schema"]["enum"]

    stasis_start = doc["components"]["schemas"]["StasisStart"]
    assert stasis_start["allOf"][0] == {"$ref": "#/components/schemas/Event"}
    event = doc["components"]["schemas"]["Event"]
    assert event["allOf"][0] == {"$ref": "#/components/schemas/Message"}
    assert doc["components"]["schemas"]["Message"]["discriminator"] == {"propertyName": "type"}
    channel = doc["components"]["schemas"]["Channel"]["properties"]
    # Asterisk's timestamps are not RFC 3339 date-times: a pattern says what is sent.
    assert "format" not in channel["creationtime"]
    assert channel["creationtime"]["pattern"].startswith("^")
    assert "Up" in channel["state"]["enum"]
