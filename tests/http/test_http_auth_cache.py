"""The cache of verified credentials: a speed-up that never changes who is let in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import PASSWORD, USER, auth_headers, make_server
from pyari.ari import service as service_mod
from pyari.config import write_samples
from pyari.server import Server


@pytest.fixture
async def conf_server(tmp_path: Path) -> AsyncIterator[tuple[Server, Path]]:
    etc = tmp_path / "etc"
    write_samples(etc)
    srv = make_server(etc)
    await srv.start()
    try:
        yield srv, etc
    finally:
        await srv.stop()


async def test_reload_forgets_verified_password(conf_server: tuple[Server, Path]) -> None:
    srv, etc = conf_server
    base = f"http://127.0.0.1:{srv.http_port}"
    async with aiohttp.ClientSession(base) as http:
        async with http.get("/ari/asterisk/info", headers=auth_headers()) as r:
            assert r.status == 200  # now cached
        conf = etc / "ari.conf"
        text = conf.read_text()
        assert re.search(rf"(?m)^password *= *{re.escape(PASSWORD)}", text)
        conf.write_text(re.sub(r"(?m)^password *=.*$", "password = changed", text))
        assert "successfully" in srv.reload_ari()
        async with http.get("/ari/asterisk/info", headers=auth_headers()) as r:
            assert r.status == 401
        async with http.get("/ari/asterisk/info", headers=auth_headers(USER, "changed")) as r:
            assert r.status == 200


async def test_wrong_password_never_cached(http: aiohttp.ClientSession, base_url: str) -> None:
    bad = auth_headers(USER, "nope")
    async with aiohttp.ClientSession(base_url) as anon:
        for _ in range(2):
            async with anon.get("/ari/asterisk/info", headers=bad) as r:
                assert r.status == 401
    async with http.get("/ari/asterisk/info") as r:
        assert r.status == 200


async def test_cached_header_does_not_vouch_for_api_key(base_url: str) -> None:
    async with aiohttp.ClientSession(base_url) as http:
        async with http.get("/ari/asterisk/info", headers=auth_headers()) as r:
            assert r.status == 200
        # Same session, no header now: a wrong api_key is still refused.
        async with http.get("/ari/asterisk/info", params={"api_key": f"{USER}:bad"}) as r:
            assert r.status == 401
        async with http.get("/ari/asterisk/info", params={"api_key": f"{USER}:{PASSWORD}"}) as r:
            assert r.status == 200
        # A non-Basic Authorization header falls back to api_key, uncached by the header.
        async with http.get(
            "/ari/asterisk/info",
            headers={"Authorization": "Bearer x"},
            params={"api_key": f"{USER}:bad"},
        ) as r:
            assert r.status == 401


async def test_cache_is_bounded(
    server: Server, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_mod, "AUTH_CACHE_SIZE", 2)
    async with aiohttp.ClientSession(base_url) as http:
        for i in range(5):
            # Distinct spellings of the same credentials (padding-free base64 variants
            # are not allowed, so vary the api_key route and the header's case).
            async with http.get(
                "/ari/asterisk/info", params={"api_key": f"{USER}:{PASSWORD}", "x": str(i)}
            ) as r:
                assert r.status == 200
            hdr = {
                "Authorization": ("basic " if i % 2 else "BASIC ")
                + auth_headers()["Authorization"][6:]
                + " " * i
            }
            async with http.get("/ari/asterisk/info", headers=hdr) as r:
                assert r.status == 200
    assert 0 < len(server.ari._auth_cache) <= 2
