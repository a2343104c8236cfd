"""http.conf's static content (``enablestatic``): ``/static/...`` from
``<astdatadir>/static-http`` then the pages pyari ships (the WebRTC softphone), on
whichever HTTP core runs; the routing of ``/ws`` and ``/static``; the softphone's
vendored JsSIP bundle is the one the lockfile pins."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from conftest import make_server
from pyari.http.routing import NOT_FOUND, SIP, STATIC, Router
from pyari.http.static import PACKAGED, static_answer
from pyari.server import Server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = make_server(enablestatic=True)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def get(server: Server, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """``method path`` with the path sent as written (not normalised by the client)."""
    url = URL(f"http://127.0.0.1:{server.http_port}{path}", encoded=True)
    async with aiohttp.ClientSession() as s, s.request(method, url) as r:
        return r.status, dict(r.headers), await r.read()


async def test_the_softphone_page_is_served(server: Server) -> None:
    status, headers, body = await get(server, "/static/softphone/index.html")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b'<script src="vendor/jssip.min.js"></script>' in body
    status, headers, body = await get(server, "/static/softphone/softphone.js")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    assert b"window.softphone" in body
    status, _, body = await get(server, "/static/softphone/vendor/jssip.min.js")
    assert status == 200 and body.startswith(b"/* JsSIP ")
    status, _, body = await get(server, "/static/softphone/vendor/LICENSES.txt")
    assert status == 200 and b"MIT" in body


async def test_a_folder_is_its_index(server: Server) -> None:
    status, headers, body = await get(server, "/static/softphone/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body == (PACKAGED / "softphone" / "index.html").read_bytes()


async def test_astdatadir_static_http_comes_first(tmp_path: Path) -> None:
    srv = make_server(enablestatic=True)
    data = tmp_path / "data"
    (data / "static-http" / "softphone").mkdir(parents=True)
    (data / "static-http" / "softphone" / "index.html").write_text("mine")
    (data / "static-http" / "hello.txt").write_text("hello")
    srv.config = dataclasses.replace(
        srv.config, asterisk=dataclasses.replace(srv.config.asterisk, astdatadir=data)
    )
    srv.http.static_roots = (data / "static-http", PACKAGED)
    await srv.start()
    try:
        assert (await get(srv, "/static/softphone/index.html"))[2] == b"mine"
        status, headers, body = await get(srv, "/static/hello.txt")
        assert (status, body) == (200, b"hello")
        assert headers["Content-Type"].startswith("text/plain")
        assert (await get(srv, "/static/softphone/softphone.js"))[0] == 200  # pyari's
    finally:
        await srv.stop()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/static/softphone/../../../etc/passwd", 403),
        ("/static/softphone/%2e%2e/%2e%2e/config/defaults/http.conf", 403),
        ("/static/softphone/%00", 403),
        ("/static/softphone", 404),  # a folder
        ("/static/softphone/vendor/", 404),  # a folder without index.html
        ("/static/nothing.html", 404),
        ("/static/softphone/%ff", 404),
    ],
)
async def test_bad_paths(server: Server, path: str, status: int) -> None:
    got, _, body = await get(server, path)
    assert got == status
    assert b"defaults" not in body and str(PACKAGED).encode() not in body


async def test_only_get_and_head(server: Server) -> None:
    status, _, body = await get(server, "/static/softphone/index.html", "HEAD")
    assert status == 200 and body == b""
    status, _, _ = await get(server, "/static/softphone/index.html", "POST")
    assert status == 501


async def test_enablestatic_no_refuses() -> None:
    srv = make_server(enablestatic=False)
    await srv.start()
    try:
        status, _, body = await get(srv, "/static/softphone/index.html")
        assert status == 403
        assert b"Access Denied" in body
    finally:
        await srv.stop()


def test_answer_without_a_server(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    answer = static_answer([tmp_path], "a.wav", "GET", True)
    assert answer == (200, {"Content-Type": "audio/wav"}, b"RIFF")
    assert static_answer([tmp_path], "a.wav", "GET", False)[0] == 403
    assert static_answer([tmp_path], "b/../a.wav", "GET", True)[0] == 403
    assert static_answer([tmp_path], "..%2Fa.wav", "GET", True)[0] == 403
    assert static_answer([], "a.wav", "GET", True)[0] == 404


class _Service:
    socket_paths = frozenset({"/events"})


class _Sip:
    def serves(self, secure: bool) -> bool:
        return True

    def open(self, *args: Any) -> None:
        return None


def test_routes_of_ws_and_static() -> None:
    r = Router(_Service(), None, _Sip())  # type: ignore[arg-type]
    assert r.route("", "/ws", "GET") == (SIP, "")
    assert r.route("/asterisk", "/asterisk/ws", "GET") == (SIP, "")
    assert r.route("", "/ws/x", "GET") == (NOT_FOUND, "")
    assert r.route("", "/static/a/b.js", "GET") == (STATIC, "a/b.js")
    assert r.route("", "/static", "GET") == (NOT_FOUND, "")
    assert Router(_Service(), None).route("", "/ws", "GET") == (NOT_FOUND, "")  # type: ignore[arg-type]


def test_vendored_jssip_is_the_locked_version() -> None:
    lock = json.loads((ROOT / "web" / "softphone" / "package-lock.json").read_text())
    version = lock["packages"]["node_modules/jssip"]["version"]
    pinned = json.loads((ROOT / "web" / "softphone" / "package.json").read_text())
    assert pinned["dependencies"]["jssip"] == version  # exact pin
    head = (PACKAGED / "softphone" / "vendor" / "jssip.min.js").read_bytes()[:200].decode()
    assert re.match(rf"/\* JsSIP {re.escape(version)} ", head)
    licenses = (PACKAGED / "softphone" / "vendor" / "LICENSES.txt").read_text()
    assert f"==== jssip {version} ====" in licenses
