"""``AriService.open_events``: the events socket's checks and session, without HTTP.

Both HTTP cores only carry what it decides (tests/http and tests/security run the
same over real sockets on each core).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from multidict import CIMultiDict

from conftest import auth_headers, make_server
from pyari.ari.events_ws import EventSession
from pyari.ari.service import AriRequest, AriResponse
from pyari.config import AriUser
from pyari.core import events as ev
from pyari.server import Server

UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade"}


@pytest.fixture
async def srv() -> AsyncIterator[Server]:
    server = make_server()
    ari = server.config.ari
    users = {**ari.users, "ro": AriUser("ro", read_only=True, password="ro-pass")}
    server.config = dataclasses.replace(server.config, ari=dataclasses.replace(ari, users=users))
    try:
        yield server
    finally:
        server.ari.close_event_sessions()


def request(query: str = "app=a", headers: dict[str, str] | None = None) -> AriRequest:
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    h = CIMultiDict(auth_headers() if headers is None else headers)
    return AriRequest("GET", "/events", pairs, h, peer=("127.0.0.1", 40000))  # type: ignore[arg-type]


async def _nothing(data: bytes) -> None:
    raise AssertionError("nothing is sent")


def test_the_socket_paths_come_from_the_declarations(srv: Server) -> None:
    assert srv.ari.socket_paths == {"/events"}


async def test_no_credentials_is_401_json_and_opens_nothing(srv: Server) -> None:
    resp = srv.ari.open_events(request(headers=UPGRADE), _nothing)
    assert isinstance(resp, AriResponse)
    assert resp.status == 401 and resp.page is None
    assert resp.body == b'{"message": "Authentication required"}'
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="Asterisk REST Interface"'
    assert srv.stasis.get("a") is None and not srv.ari.sessions


async def test_no_upgrade_is_the_426_page_then_no_app_the_400_page(srv: Server) -> None:
    resp = srv.ari.open_events(request(), _nothing)
    assert isinstance(resp, AriResponse) and (resp.status, resp.page) == (426, "")
    resp = srv.ari.open_events(request("app=,", {**auth_headers(), **UPGRADE}), _nothing)
    assert isinstance(resp, AriResponse)
    assert (resp.status, resp.page) == (400, "HTTP request is missing param: [app]")
    assert not srv.ari.sessions


async def test_the_pipeline_limits_apply_as_to_rest_requests(srv: Server) -> None:
    query = "&".join(f"k{i}=v" for i in range(600)) + "&app=a"
    resp = srv.ari.open_events(request(query, {**auth_headers(), **UPGRADE}), _nothing)
    assert isinstance(resp, AriResponse) and resp.status == 400 and resp.page is None
    assert b"Too many query parameters" in resp.body
    assert srv.stasis.get("a") is None


async def test_a_session_registers_its_apps_and_forgets_itself_on_close(srv: Server) -> None:
    srv.config = dataclasses.replace(
        srv.config, ari=dataclasses.replace(srv.config.ari, websocket_write_timeout=250)
    )
    session = srv.ari.open_events(
        request("app=a,b&subscribeAll=yes", {**auth_headers(), **UPGRADE}), _nothing
    )
    assert isinstance(session, EventSession)
    assert session.apps == ["a", "b"] and session.subscribe_all and not session.read_only
    assert session.write_timeout == 0.25
    assert srv.ari.sessions == {session}
    assert srv.stasis.get("a") is not None and srv.stasis.get("b") is not None
    session.close()
    assert not srv.ari.sessions


async def test_a_refused_handshake_leaves_the_apps_alone(srv: Server) -> None:
    first = srv.ari.open_events(request("app=a", {**auth_headers(), **UPGRADE}), _nothing)
    assert isinstance(first, EventSession)
    asked: list[bool] = []

    def handshake() -> bool:
        asked.append(True)
        return False

    resp = srv.ari.open_events(request("app=a", {**auth_headers(), **UPGRADE}), _nothing, handshake)
    assert resp is None and asked == [True]
    assert srv.ari.sessions == {first}
    assert first.queue.empty()  # no ApplicationReplaced: the first socket still holds "a"


async def test_read_only_user_cannot_replace_a_writer_but_is_checked_first(srv: Server) -> None:
    first = srv.ari.open_events(request("app=a", {**auth_headers(), **UPGRADE}), _nothing)
    assert isinstance(first, EventSession)
    ro = {**auth_headers("ro", "ro-pass"), **UPGRADE}
    calls: list[bool] = []

    def handshake() -> bool:
        calls.append(True)
        return True

    resp = srv.ari.open_events(request("app=a", ro), _nothing, handshake)
    assert isinstance(resp, AriResponse) and resp.status == 403 and not calls
    assert resp.body == b'{"message": "Application \'a\' is held by a read-write user"}'
    app = srv.stasis.get("a")
    assert app is not None
    app.send(ev.ChannelUserevent(eventname="still-mine"))
    assert not first.queue.empty()
