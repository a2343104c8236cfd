"""ari.conf per-user ``permit``/``deny``/``acl`` over real sockets, on both HTTP cores.

The client picks its source address inside loopback (127.0.0.1 or 127.0.0.2) to be
refused or let in; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import auth_headers, make_server
from pyari.server import Server

PASSWORD = "s3cret-acl"
HTTP_CONF = "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = 8088\n"
REFUSED = {"message": "Access denied by ACL"}
ACL_CONF = "[only_two]\ndeny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.2\n"


def ari_conf(user_lines: str) -> str:
    return (
        "[general]\nenabled = yes\n\n[open]\ntype = user\npassword = "
        f"{PASSWORD}\n\n[guarded]\ntype = user\npassword = {PASSWORD}\n{user_lines}"
    )


@pytest.fixture(params=["httptools", "aiohttp"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    return str(request.param)


def write_conf(conf: Path, user_lines: str, acl_conf: str = ACL_CONF) -> None:
    conf.mkdir(exist_ok=True)
    (conf / "http.conf").write_text(HTTP_CONF)
    (conf / "ari.conf").write_text(ari_conf(user_lines))
    (conf / "acl.conf").write_text(acl_conf)


async def started(conf: Path) -> AsyncIterator[Server]:
    srv = make_server(conf)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def get(srv: Server, user: str, source: str) -> tuple[int, str]:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as s:
        url = f"http://127.0.0.1:{srv.http_port}/ari/asterisk/ping"
        async with s.get(url, headers=auth_headers(user, PASSWORD)) as r:
            return r.status, await r.text()


async def upgrade(srv: Server, user: str, source: str) -> tuple[int, bytes]:
    """The events socket's upgrade from ``source``: the status and the body."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", srv.http_port, local_addr=(source, 0)
    )
    try:
        auth = auth_headers(user, PASSWORD)["Authorization"]
        writer.write(
            (
                "GET /ari/events?app=guard HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {auth}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await asyncio.wait_for(reader.readexactly(length), 5) if length else b""
        return status, body
    finally:
        writer.close()


async def test_deny_all_then_permit_one_address(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conf = tmp_path / "conf"
    write_conf(conf, "deny = 0.0.0.0/0.0.0.0\npermit = 127.0.0.2\n")
    caplog.set_level(logging.INFO, logger="pyari.security")
    caplog.set_level(logging.INFO, logger="pyari.ari")
    async for srv in started(conf):
        status, text = await get(srv, "guarded", "127.0.0.1")
        assert (status, json.loads(text)) == (403, REFUSED)
        assert (await get(srv, "guarded", "127.0.0.2"))[0] == 200
        assert (await get(srv, "open", "127.0.0.1"))[0] == 200  # a user without rules
        # a wrong password is still a 401: credentials are checked first
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.1", 0))
        async with aiohttp.ClientSession(connector=connector) as s:
            url = f"http://127.0.0.1:{srv.http_port}/ari/asterisk/ping"
            async with s.get(url, headers=auth_headers("guarded", "wrong")) as r:
                assert r.status == 401
        # the events socket: refused before the upgrade, the same JSON answer
        status, body = await upgrade(srv, "guarded", "127.0.0.1")
        assert (status, json.loads(body)) == (403, REFUSED)
        assert (await upgrade(srv, "guarded", "127.0.0.2"))[0] == 101
    events = [r.getMessage() for r in caplog.records if r.name == "pyari.security"]
    refused = [e for e in events if e.startswith('SecurityEvent="FailedACL"')]
    assert len(refused) == 2, events
    assert 'Service="ARI"' in refused[0] and 'AccountID="guarded"' in refused[0]
    assert 'RemoteAddress="IPV4/TCP/127.0.0.1/' in refused[0]
    assert refused[0].endswith('ACLName="(BASELINE)"')
    notices = [r.getMessage() for r in caplog.records if r.name == "pyari.ari"]
    assert "ARI User ACLRejecting '127.0.0.1' due to a failure to pass ACL '(BASELINE)'" in notices


async def test_named_acl_from_acl_conf_and_reload(backend: str, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    write_conf(conf, "acl = only_two\n")
    async for srv in started(conf):
        assert (await get(srv, "guarded", "127.0.0.1"))[0] == 403
        assert (await get(srv, "guarded", "127.0.0.2"))[0] == 200
        # acl.conf changes: after a reload 127.0.0.1 is in and 127.0.0.2 out
        write_conf(conf, "acl = only_two\n", "[only_two]\npermit = 0.0.0.0/0\ndeny = 127.0.0.2\n")
        assert srv.reload_ari() == "Module 'res_ari.so' reloaded successfully."
        assert (await get(srv, "guarded", "127.0.0.1"))[0] == 200
        assert (await get(srv, "guarded", "127.0.0.2"))[0] == 403
        # an ACL acl.conf does not define refuses everyone
        write_conf(conf, "acl = nowhere\n")
        assert srv.reload_ari() == "Module 'res_ari.so' reloaded successfully."
        assert (await get(srv, "guarded", "127.0.0.2"))[0] == 403
        # rules gone: everyone in again
        write_conf(conf, "")
        srv.reload_ari()
        assert (await get(srv, "guarded", "127.0.0.1"))[0] == 200


async def test_a_bad_rule_keeps_the_running_acl(backend: str, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    write_conf(conf, "deny = 0.0.0.0/0\npermit = 127.0.0.2\n")
    async for srv in started(conf):
        write_conf(conf, "permit = 127.0.0.300\n")
        answer = srv.reload_ari()
        assert answer.startswith("Module 'res_ari.so' reload failed:")
        assert "Invalid IP address: 127.0.0.300" in answer
        assert (await get(srv, "guarded", "127.0.0.1"))[0] == 403
