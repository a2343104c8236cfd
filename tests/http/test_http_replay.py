"""Static answers replayed by their exact request bytes: faster, never stale.

``GET /asterisk/info`` and the API docs change only with a reload or a module
change; the httptools core keeps their encoded answer by request bytes and
checks the epoch they depend on before every replay.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from conftest import PASSWORD, make_server
from pyari.config import write_samples
from pyari.http.httptools_core import HttptoolsServer
from pyari.server import Server
from rawhttp import at_eof, read_reply, request

INFO = request("GET", "/ari/asterisk/info")


@pytest.fixture(autouse=True)
def fast_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", "httptools")


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Server]:
    etc = tmp_path / "etc"
    write_samples(etc)
    server = make_server(etc)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def kept(srv: Server) -> dict[bytes, object]:
    assert isinstance(srv.http, HttptoolsServer)
    return dict(srv.http.replays["http"])


async def ask(srv: Server, data: bytes, count: int = 1) -> list[tuple[int, dict[str, str], bytes]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.http_port)
    try:
        writer.write(data)
        replies = [await read_reply(reader) for _ in range(count)]
        return [(r.status, r.headers, r.body) for r in replies]
    finally:
        writer.close()


async def test_repeated_request_gets_the_same_answer(srv: Server) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.http_port)
    replies = []
    for _ in range(3):
        writer.write(INFO)
        replies.append(await read_reply(reader))
    writer.close()
    assert list(kept(srv)) == [INFO]
    first = replies[0]
    assert first.status == 200 and json.loads(first.body)["system"]["version"]
    for other in replies[1:]:
        assert (other.status, other.body) == (first.status, first.body)
        same = {k: v for k, v in other.headers.items() if k != "Date"}
        assert same == {k: v for k, v in first.headers.items() if k != "Date"}
        assert other.headers["Date"].endswith("GMT")


async def test_reload_changes_the_answer(srv: Server) -> None:
    [(_, _, body)] = await ask(srv, INFO)
    before = json.loads(body)["status"]["last_reload_time"]
    srv.core.last_reload += 5  # as every reload does (a later time)
    [(status, _, body)] = await ask(srv, INFO)
    assert status == 200
    assert json.loads(body)["status"]["last_reload_time"] != before


async def test_unloaded_module_is_not_replayed(srv: Server) -> None:
    await ask(srv, INFO)
    assert kept(srv)
    srv.modules.unload("res_ari_asterisk.so")
    [(status, _, body)] = await ask(srv, INFO)
    assert status == 404 and json.loads(body) == {"message": "Resource not found"}
    srv.modules.load("res_ari_asterisk.so")
    [(status, _, _)] = await ask(srv, INFO)
    assert status == 200


async def test_changed_password_is_not_replayed(srv: Server, tmp_path: Path) -> None:
    await ask(srv, INFO)
    conf = tmp_path / "etc" / "ari.conf"
    text = conf.read_text()
    assert re.search(rf"(?m)^password *= *{re.escape(PASSWORD)}", text)
    conf.write_text(re.sub(r"(?m)^password *=.*$", "password = changed", text))
    assert "successfully" in srv.reload_ari()
    [(status, _, _)] = await ask(srv, INFO)
    assert status == 401


async def test_pretty_setting_follows_reload(srv: Server, tmp_path: Path) -> None:
    [(_, _, body)] = await ask(srv, INFO)
    assert b"\n" in body  # the samples say pretty = yes
    conf = tmp_path / "etc" / "ari.conf"
    conf.write_text(re.sub(r"(?m)^pretty *=.*$", "pretty = no", conf.read_text()))
    assert "successfully" in srv.reload_ari()
    [(_, _, body)] = await ask(srv, INFO)
    assert b"\n" not in body and json.loads(body)["system"]


async def test_pipelined_and_split_requests_are_answered_normally(srv: Server) -> None:
    replies = await ask(srv, INFO + INFO, count=2)
    assert [r[0] for r in replies] == [200, 200]
    assert not kept(srv)  # two requests in one read: neither is kept
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.http_port)
    writer.write(INFO[:20])
    await writer.drain()
    await asyncio.sleep(0)
    writer.write(INFO[20:])
    assert (await read_reply(reader)).status == 200
    writer.close()
    [(status, _, body)] = await ask(srv, INFO)
    assert status == 200 and body == replies[0][2]


async def test_only_static_answers_of_kept_alive_gets_are_kept(srv: Server) -> None:
    [(status, _, _)] = await ask(srv, request("GET", "/ari/asterisk/ping"))
    assert status == 200
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.http_port)
    writer.write(request("GET", "/ari/asterisk/info", version="1.0"))
    assert (await read_reply(reader)).status == 200
    assert await at_eof(reader)
    writer.close()
    [(status, _, _)] = await ask(srv, request("GET", "/ari/asterisk/info", auth=False))
    assert status == 401
    assert not kept(srv)


async def test_other_query_and_host_are_other_requests(srv: Server) -> None:
    await ask(srv, INFO)
    [(_, _, body)] = await ask(srv, request("GET", "/ari/asterisk/info?only=build"))
    assert list(json.loads(body)) == ["build"]
    [(_, _, docs)] = await ask(srv, request("GET", "/ari/api-docs/resources.json"))
    other_host = request("GET", "/ari/api-docs/resources.json").replace(
        b"Host: 127.0.0.1", b"Host: pbx.example"
    )
    [(_, _, docs2)] = await ask(srv, other_host)
    assert json.loads(docs)["basePath"] == "http://127.0.0.1/ari"
    assert json.loads(docs2)["basePath"] == "http://pbx.example/ari"
    assert len(kept(srv)) == 4
