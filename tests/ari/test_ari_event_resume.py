"""Event streams over real sockets on both cores (docs/event-streams.md).

An unmodified client (a plain WebSocket, as aioari's) reconnects and gets the events
of the gap; sequenced sockets resume after a named sequence and acknowledge; events
that fell out of retention are reported; Stasis() waits ``stasis_grace`` for an away
application. With the defaults, Asterisk's behaviour.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from conftest import auth_headers, make_server, wait_for
from pyari.ari.events_ws import EventSession
from pyari.ari.service import AriRequest
from pyari.config.event_streams import EventStreamSettings
from pyari.core import events as ev
from pyari.http import BACKENDS
from pyari.server import Server

WAIT = 5.0


def configure(server: Server, **streams: Any) -> None:
    settings = EventStreamSettings(**streams)
    ari = dataclasses.replace(server.config.ari, event_streams=settings)
    server.config = dataclasses.replace(server.config, ari=ari)
    server.stasis.configure(settings)


@pytest.fixture(params=BACKENDS)
async def srv(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    monkeypatch.setenv("PYARI_HTTP_BACKEND", request.param)
    server = make_server()
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


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data = json.loads(msg.data)
    assert isinstance(data, dict)
    return data


async def until(ws: aiohttp.ClientWebSocketResponse, etype: str) -> dict[str, Any]:
    while True:
        event = await receive(ws)
        if event["type"] == etype:
            return event


async def in_stasis(http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> str:
    """A channel originated into ``hello``; its id once StasisStart arrived."""
    async with http.post("/ari/channels", params={"endpoint": "Sim/alice", "app": "hello"}) as r:
        assert r.status == 200
        chan = await r.json()
    start = await until(ws, "StasisStart")
    assert start["channel"]["id"] == chan["id"]
    return str(chan["id"])


async def set_vars(http: aiohttp.ClientSession, chan: str, values: range) -> None:
    for i in values:
        params = {"variable": "n", "value": str(i)}
        async with http.post(f"/ari/channels/{chan}/variable", params=params) as r:
            assert r.status == 204


async def varsets(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    return [await until(ws, "ChannelVarset") for _ in range(count)]


async def away(srv: Server) -> None:
    await wait_for(lambda: (app := srv.stasis.get("hello")) is None or not app.active)


async def test_a_plain_client_reconnecting_gets_the_events_of_the_gap(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    configure(srv, retention=60)
    async with http.ws_connect("/ari/events?app=hello") as ws:
        chan = await in_stasis(http, ws)
        await set_vars(http, chan, range(1, 3))
        assert [e["value"] for e in await varsets(ws, 2)] == ["1", "2"]
    await away(srv)
    assert srv.stasis.get("hello") is not None  # kept, with its subscriptions and log
    await set_vars(http, chan, range(3, 8))  # the gap
    async with http.ws_connect("/ari/events?app=hello") as ws:
        await set_vars(http, chan, range(8, 9))
        got = await varsets(ws, 6)
        assert [e["value"] for e in got] == ["3", "4", "5", "6", "7", "8"]  # 0 lost, in order
        assert all("pyari_sequence" not in e for e in got)  # Asterisk's events, unchanged


async def test_by_default_a_reconnect_loses_the_gap_as_in_asterisk(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        chan = await in_stasis(http, ws)
    await away(srv)
    await set_vars(http, chan, range(1, 4))
    async with http.ws_connect("/ari/events?app=hello") as ws:
        await set_vars(http, chan, range(4, 5))
        event = await receive(ws)
        assert (event["type"], event["value"]) == ("ChannelVarset", "4")


async def test_sequenced_sockets_resume_after_a_named_sequence_and_ack(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    configure(srv, retention=60)
    headers = {"Pyari-Sequence": "1"}
    async with http.ws_connect("/ari/events?app=hello", headers=headers) as ws:
        chan = await in_stasis(http, ws)
        await set_vars(http, chan, range(1, 4))
        got = await varsets(ws, 3)
        seqs = [e["pyari_sequence"] for e in got]
        assert seqs == sorted(seqs) and seqs[2] - seqs[0] == 2
        # Processed up to the first varset: acknowledged; the default resume follows it.
        await ws.send_str(
            json.dumps({"type": "EventAck", "application": "hello", "sequence": seqs[0]})
        )
        await wait_for(lambda: srv.stasis.apps["hello"].acked == seqs[0])
    await away(srv)
    async with http.ws_connect("/ari/events?app=hello", headers=headers) as ws:
        got = await varsets(ws, 2)  # after the ack: varsets 2 and 3 again
        assert [e["value"] for e in got] == ["2", "3"]
        assert [e["pyari_sequence"] for e in got] == seqs[1:]
    await away(srv)
    # Named: after the second varset only.
    resume = {"Pyari-Resume": f"hello={seqs[1]}"}
    async with http.ws_connect("/ari/events?app=hello", headers=resume) as ws:
        await set_vars(http, chan, range(4, 5))
        got = await varsets(ws, 2)
        assert [(e["value"], e["pyari_sequence"]) for e in got] == [
            ("3", seqs[2]),
            ("4", seqs[2] + 1),
        ]


async def test_events_that_fell_out_of_retention_are_reported_with_their_range(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    configure(srv, retention=60, retention_bytes=1500)
    async with http.ws_connect("/ari/events?app=hello", headers={"Pyari-Sequence": "1"}) as ws:
        chan = await in_stasis(http, ws)
        await set_vars(http, chan, range(1, 2))
        last = (await varsets(ws, 1))[0]["pyari_sequence"]
    await away(srv)
    await set_vars(http, chan, range(2, 40))  # far more than 1500 bytes of events
    log = srv.stasis.apps["hello"].log
    kept_from = log.first
    assert kept_from > last + 1
    async with http.ws_connect("/ari/events?app=hello") as ws:  # a plain client
        lost = await receive(ws)
        assert lost["type"] == "EventsLost" and lost["application"] == "hello"
        assert (lost["first_sequence"], lost["last_sequence"]) == (last + 1, kept_from - 1)
        assert lost["count"] == kept_from - 1 - last and "asterisk_id" in lost
        rest = await varsets(ws, log.last - kept_from + 1)
        assert rest[-1]["value"] == "39"


async def test_a_bad_resume_header_is_refused_before_the_upgrade(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect("/ari/events?app=hello", headers={"Pyari-Resume": "hello=x"})
    assert info.value.status == 400
    assert srv.stasis.get("hello") is None


async def originate_to_dialplan(http: aiohttp.ClientSession) -> str:
    params = {"endpoint": "Sim/bob", "context": "ARI-test", "extension": "1000", "priority": "1"}
    async with http.post("/ari/channels", params=params) as r:
        assert r.status == 200
        return str((await r.json())["id"])


async def test_a_call_entering_stasis_while_the_app_is_away_waits_the_grace(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    configure(srv, retention=60, grace=30)
    chan = await originate_to_dialplan(http)
    await wait_for(lambda: srv.stasis.waiting("hello") == 1)
    async with http.ws_connect("/ari/events?app=hello") as ws:
        start = await until(ws, "StasisStart")
        assert start["channel"]["id"] == chan


async def test_with_grace_zero_or_after_it_the_call_fails_as_in_asterisk(
    srv: Server, http: aiohttp.ClientSession
) -> None:
    chan = await originate_to_dialplan(http)
    await wait_for(lambda: srv.core.find_channel(chan) is None)
    assert srv.stasis.waiting("hello") == 0
    configure(srv, grace=0.2)
    chan = await originate_to_dialplan(http)
    await wait_for(lambda: srv.stasis.waiting("hello") == 1)  # it waits ...
    await wait_for(lambda: srv.core.find_channel(chan) is None)  # ... then fails
    assert srv.stasis.waiting("hello") == 0


async def test_a_replay_larger_than_the_socket_queue_closes_the_new_socket() -> None:
    server = make_server()  # the session alone, without HTTP
    configure(server, retention=60)
    server.ari.event_queue_size = 5
    headers = CIMultiDict({**auth_headers(), "Upgrade": "websocket", "Connection": "Upgrade"})
    req = AriRequest("GET", "/events", [("app", "hello")], headers, peer=("127.0.0.1", 40000))

    async def send(data: bytes) -> None:
        raise AssertionError("nothing is written")

    first = server.ari.open_events(req, send)
    assert isinstance(first, EventSession)
    first.close()
    app = server.stasis.apps["hello"]
    assert app.kept and not app.active
    for _ in range(10):
        app.send(ev.ApplicationReplaced())
    assert app.log.last == 10
    second = server.ari.open_events(req, send)
    assert isinstance(second, EventSession)
    assert second.closed and second.close_code == 1013
    assert second not in server.ari.sessions and app.kept  # away again, log kept
