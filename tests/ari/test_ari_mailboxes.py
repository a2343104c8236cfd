"""/mailboxes over real HTTP: counts set from outside, kept in the astdb."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server
from pyari.server import Server


async def put(http: aiohttp.ClientSession, name: str, **params: Any) -> tuple[int, Any]:
    async with http.put(f"/ari/mailboxes/{name}", params=params) as r:
        return r.status, (await r.json() if r.content_length else None)


async def test_update_get_list_delete(http: aiohttp.ClientSession) -> None:
    async with http.get("/ari/mailboxes") as r:
        assert r.status == 200
        assert await r.json() == []
    assert await put(http, "1000@default", oldMessages=1, newMessages=2) == (204, None)
    assert await put(http, "2000", oldMessages=0, newMessages=0) == (204, None)
    async with http.get("/ari/mailboxes/1000@default") as r:
        assert r.status == 200
        assert await r.json() == {"name": "1000@default", "old_messages": 1, "new_messages": 2}
    # Updating replaces the counts.
    assert await put(http, "1000@default", oldMessages=5, newMessages=0) == (204, None)
    async with http.get("/ari/mailboxes") as r:
        assert await r.json() == [
            {"name": "1000@default", "old_messages": 5, "new_messages": 0},
            {"name": "2000", "old_messages": 0, "new_messages": 0},
        ]
    async with http.delete("/ari/mailboxes/1000@default") as r:
        assert r.status == 204
    async with http.get("/ari/mailboxes/1000@default") as r:
        assert r.status == 404
        assert await r.json() == {"message": "Mailbox is does not exist"}
    async with http.delete("/ari/mailboxes/1000@default") as r:
        assert r.status == 404
        assert await r.json() == {"message": "Mailbox does not exist"}
    async with http.get("/ari/mailboxes") as r:
        assert [m["name"] for m in await r.json()] == ["2000"]


async def test_body_parameters(http: aiohttp.ClientSession) -> None:
    async with http.put("/ari/mailboxes/json", json={"oldMessages": 3, "newMessages": 4}) as r:
        assert r.status == 204
    async with http.get("/ari/mailboxes/json") as r:
        assert await r.json() == {"name": "json", "old_messages": 3, "new_messages": 4}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"newMessages": 1}, "Missing parameter oldMessages"),
        ({"oldMessages": 1}, "Missing parameter newMessages"),
        ({}, "Missing parameter oldMessages"),
        ({"oldMessages": "x", "newMessages": 1}, "Invalid value for parameter oldMessages"),
        ({"oldMessages": 1, "newMessages": "1.5"}, "Invalid value for parameter newMessages"),
        ({"oldMessages": -1, "newMessages": 1}, "Invalid value for parameter oldMessages"),
        ({"oldMessages": 1, "newMessages": 2**32}, "Invalid value for parameter newMessages"),
    ],
)
async def test_bad_updates_change_nothing(
    http: aiohttp.ClientSession, params: dict[str, Any], message: str
) -> None:
    assert await put(http, "box", oldMessages=7, newMessages=8) == (204, None)
    assert await put(http, "box", **params) == (400, {"message": message})
    async with http.get("/ari/mailboxes") as r:
        assert await r.json() == [{"name": "box", "old_messages": 7, "new_messages": 8}]


async def test_stored_as_asterisk_stores_them(http: aiohttp.ClientSession, server: Server) -> None:
    assert await put(http, "stored", oldMessages=1, newMessages=9) == (204, None)
    raw = server.astdb.get("mwi_external/mailboxes", "stored")
    assert raw is not None
    import json

    assert json.loads(raw) == {"msgs_new": "9", "msgs_old": "1"}


async def test_mailboxes_survive_restart() -> None:
    first = make_server()
    await first.start(control_socket=False)
    try:
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{first.http_port}", headers=auth_headers()
        ) as http:
            assert await put(http, "kept", oldMessages=2, newMessages=3) == (204, None)
    finally:
        await first.stop()
    second = make_server()
    await second.start(control_socket=False)
    try:
        async with (
            aiohttp.ClientSession(
                f"http://127.0.0.1:{second.http_port}", headers=auth_headers()
            ) as http,
            http.get("/ari/mailboxes/kept") as r,
        ):
            assert r.status == 200
            assert await r.json() == {"name": "kept", "old_messages": 2, "new_messages": 3}
    finally:
        await second.stop()
