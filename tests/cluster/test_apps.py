"""Applications in a cluster (cluster/apps.py): every node's events of an app reach its socket.

In-process nodes of one cluster on a real nats-server (tests/cluster/conftest.py; those
tests are marked slow, a few seconds each):
a socket on one node, channels entering Stasis(app) on another, the app going away
and coming back, moving to another node, and a node lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from typing import Any

import aiohttp
import pytest

from cluster.conftest import WAIT, NatsServer, NodeFactory, socket_moving_under_load
from conftest import auth_headers, wait_for
from pyari.ari.events_ws import EventEncoder, EventSession
from pyari.cluster.apps import NODE_LOST_CAUSE, ClusterApps, app_key
from pyari.config.embedded import embedded_text
from pyari.core import events as ev
from pyari.server import Server
from pyari.stasis.app import StasisApp

DIALPLAN = """
[cluster-apps]
exten => _X.,1,Answer()
same => n,Stasis(app${EXTEN})
same => n,Hangup()
"""


def _files(**general: object) -> dict[str, str]:
    """ari.conf and extensions.conf of the nodes: the embedded ones plus pyari's
    event-stream options and :data:`DIALPLAN`."""
    ari = embedded_text("ari.conf")
    exts = embedded_text("extensions.conf")
    assert ari is not None and exts is not None
    extra = "".join(f"{k} = {v}\n" for k, v in general.items())
    return {
        "ari.conf": ari.replace("[general]\n", "[general]\n" + extra, 1),
        "extensions.conf": exts + DIALPLAN,
    }


@pytest.fixture
def app() -> str:
    """The test's application: the event streams (JetStream) of a nats-server are not
    per cluster, so each test takes a name of its own, ``app<N>``; calls to
    ``<N>@cluster-apps`` run Stasis(app<N>)."""
    return f"app{secrets.randbelow(10**9)}"


def _call(server: Server, phone: str, app: str) -> Any:
    """A call of ``phone`` on ``server`` into Stasis(``app``)."""
    return server.sim.phone(phone).call(app.removeprefix("app"), "cluster-apps")


KEEP = _files(event_retention=60, stasis_grace=10)


def _apps(server: Server) -> ClusterApps:
    assert server.cluster is not None
    apps = server.cluster.apps
    assert isinstance(apps, ClusterApps)
    return apps


def _http(server: Server) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{server.http_port}", headers=auth_headers()
    )


def _forwarding(server: Server, app: str, *, away: bool = False) -> bool:
    """``server`` forwards ``app``'s events to its home (whose socket is away, or not)."""
    held = server.stasis.get(app)
    return (
        held is not None
        and held.handler is _apps(server).remotes.get(app)
        and held.handler is not None
        and held.remote_away == away
    )


async def _next(ws: aiohttp.ClientWebSocketResponse, etype: str | None = None) -> dict[str, Any]:
    """The next event (of type ``etype``; others are skipped), but the ChannelVarset
    of variables other than the tests' ``n``."""
    while True:
        msg = await ws.receive(timeout=WAIT)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        assert isinstance(event, dict)
        if event["type"] == "ChannelVarset" and event.get("variable") != "n":
            continue  # (the dialplan's and Stasis' own variables)
        if etype is None or event["type"] == etype:
            return event


async def _set_var(http: aiohttp.ClientSession, chan: str, value: str) -> int:
    params = {"variable": "n", "value": value}
    async with http.post(f"/ari/channels/{chan}/variable", params=params) as r:
        return r.status


SEQ = {"Pyari-Sequence": "1"}


async def _die(node: Server) -> None:
    """``node`` dies (in process): no more heartbeats, its NATS connections gone, and its
    event log's writer with them (a dead node flushes nothing when it is stopped)."""
    assert node.cluster is not None and node.event_logs is not None
    node.cluster.nodes.pause()
    await node.cluster.link.nc.close()
    logs, node.event_logs = node.event_logs, None
    assert logs._writer is not None
    logs._writer.cancel()
    await logs._nc.close()


@pytest.mark.slow
async def test_events_of_another_nodes_channels_reach_the_socket_in_sequence(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
            await wait_for(lambda: _forwarding(n2, app), WAIT)
            await wait_for(lambda: _apps(n1).records.get(app) == ("n1", True), WAIT)
            chan = _call(n2, "alice", app)
            start = await _next(ws)
            assert (start["type"], start["channel"]["id"]) == ("StasisStart", chan.id)
            assert start["asterisk_id"] == n2.core.entity_id  # encoded where it happened
            # REST on the channel through node 1 (forwarded to node 2, cluster/forward.py).
            assert await _set_var(http1, chan.id, "1") == 204
            varset = await _next(ws, "ChannelVarset")
            assert varset["value"] == "1"
            async with http2.delete(f"/ari/channels/{chan.id}") as r:
                assert r.status == 204
            end = await _next(ws, "StasisEnd")
            assert end["channel"]["id"] == chan.id
            seqs = [start["pyari_sequence"], varset["pyari_sequence"], end["pyari_sequence"]]
            assert seqs == sorted(seqs) and seqs[0] == 1
        # Every event n2 forwarded is in n1's log, with consecutive sequences.
        held = n1.stasis.get(app)
        assert held is not None
        lost, entries = held.log.after(0)
        assert lost is None
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert _apps(n1).taken == len(entries)


@pytest.mark.slow
async def test_a_node_that_joins_later_forwards_to_the_home(nodes: NodeFactory, app: str) -> None:
    (n1,) = await nodes(1, files=KEEP)
    async with _http(n1) as http1, http1.ws_connect(f"/ari/events?app={app}") as ws:
        await wait_for(lambda: _apps(n1).records.get(app) == ("n1", True), WAIT)
        n2 = await nodes.one("n2", files=KEEP)
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        chan = _call(n2, "alice", app)
        assert (await _next(ws, "StasisStart"))["channel"]["id"] == chan.id


@pytest.mark.slow
async def test_an_app_away_and_back_loses_nothing_and_calls_wait_for_it(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
            await wait_for(lambda: _forwarding(n2, app), WAIT)
            chan = _call(n2, "alice", app)
            start = await _next(ws, "StasisStart")
            last = start["pyari_sequence"]
        # Away: kept on n1 (its home), n2 still forwards, but takes no new call in.
        await wait_for(lambda: _forwarding(n2, app, away=True), WAIT)
        await wait_for(lambda: _apps(n1).records.get(app) == ("n1", False), WAIT)
        for i in range(3):
            assert await _set_var(http2, chan.id, str(i)) == 204
        late = _call(n2, "bob", app)
        await wait_for(lambda: n2.stasis.waiting(app) == 1, WAIT)
        # Back on the same node: the gap, then the waiting call.
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
            got = [await _next(ws) for _ in range(4)]
        assert [e["type"] for e in got] == ["ChannelVarset"] * 3 + ["StasisStart"]
        assert [e["value"] for e in got[:3]] == ["0", "1", "2"]
        assert got[3]["channel"]["id"] == late.id
        assert [e["pyari_sequence"] for e in got] == list(range(last + 1, last + 5))
        assert n2.stasis.waiting(app) == 0


@pytest.mark.slow
async def test_an_app_that_moves_to_another_node_resumes_from_the_stream(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2, n3 = await nodes(3, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2, _http(n3) as http3:
        first = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app) and _forwarding(n3, app), WAIT)
        here = _call(n1, "alice", app)
        there = _call(n3, "bob", app)
        seen = {(await _next(first, "StasisStart"))["channel"]["id"] for _ in range(2)}
        assert seen == {here.id, there.id}
        done = 2
        assert await _set_var(http1, here.id, "a") == 204
        assert (await _next(first, "ChannelVarset"))["value"] == "a"
        processed = 3  # what the client has processed: the two StasisStarts and "a"
        assert await _set_var(http1, here.id, "b") == 204
        assert await _set_var(http3, there.id, "c") == 204
        # The app restarts against node 2 (the old socket is still open: it is replaced).
        resume = {"Pyari-Resume": f"{app}={processed}"}
        second = await http2.ws_connect(f"/ari/events?app={app}", headers=resume)
        replaced = await _next(first, "ApplicationReplaced")
        assert replaced["application"] == app
        await first.close()
        got = [await _next(second, "ChannelVarset") for _ in range(2)]
        assert sorted(e["value"] for e in got) == ["b", "c"]
        assert sorted(e["pyari_sequence"] for e in got) == [processed + 1, processed + 2]
        await wait_for(lambda: _apps(n2).records.get(app) == ("n2", True), WAIT)
        assert _apps(n1).let_go == 1  # asked, and answered
        await wait_for(lambda: _forwarding(n1, app) and _forwarding(n3, app), WAIT)
        assert _apps(n1).records[app] == ("n2", True)
        # Events of every node now come to node 2, the sequence going on.
        assert await _set_var(http1, here.id, "d") == 204
        assert await _set_var(http3, there.id, "e") == 204
        more = [await _next(second, "ChannelVarset") for _ in range(2)]
        assert sorted(e["value"] for e in more) == ["d", "e"]
        assert sorted(e["pyari_sequence"] for e in more) == [processed + 3, processed + 4]
        for chan, http in ((here, http1), (there, http3)):
            async with http.delete(f"/ari/channels/{chan.id}") as r:
                assert r.status == 204
            done += 1
        ends = [await _next(second, "StasisEnd") for _ in range(2)]
        assert {e["channel"]["id"] for e in ends} == {here.id, there.id}
        await second.close()


@pytest.mark.slow
async def test_a_move_whose_stream_is_behind_never_hands_out_a_sequence_twice(
    nodes: NodeFactory, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old home cannot store its last events before it answers the move (its flush
    times out): the new home goes on from the old home's sequence, not the stream's end,
    so the events after the move do not come under numbers the client already has."""
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1:
        first = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        here = _call(n1, "alice", app)
        await _next(first, "StasisStart")
        assert n1.event_logs is not None
        await n1.event_logs.flush()
        stuck = asyncio.Event()

        async def never_stored(*_: object) -> None:
            await stuck.wait()

        monkeypatch.setattr(n1.event_logs, "_apply", never_stored)
        _apps(n1).release_timeout = 0.5
        assert await _set_var(http1, here.id, "a") == 204
        last = (await _next(first, "ChannelVarset"))["pyari_sequence"]
        async with _http(n2) as http2:
            resume = {"Pyari-Resume": f"{app}={last}"}
            second = await http2.ws_connect(f"/ari/events?app={app}", headers=resume)
            await _next(first, "ApplicationReplaced")
            await first.close()
            await wait_for(lambda: _apps(n2).records.get(app) == ("n2", True), WAIT)
            assert await _set_var(http1, here.id, "b") == 204
            after = await _next(second, "ChannelVarset")
            assert after["value"] == "b"
            assert after["pyari_sequence"] == last + 1
            await second.close()
        stuck.set()


@pytest.mark.slow
async def test_two_sockets_opening_a_moving_app_register_in_order(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        async with http1.ws_connect(f"/ari/events?app={app}") as ws:
            await wait_for(lambda: _forwarding(n2, app), WAIT)
            chan = _call(n2, "alice", app)
            await _next(ws, "StasisStart")
        url = f"/ari/events?app={app}"
        first, second = await asyncio.gather(http2.ws_connect(url), http2.ws_connect(url))
        assert (await _next(first))["type"] == "ApplicationReplaced"
        await wait_for(lambda: _apps(n2).records.get(app) == ("n2", True), WAIT)
        assert await _set_var(http2, chan.id, "x") == 204
        assert (await _next(second, "ChannelVarset"))["value"] == "x"
        await first.close()
        await second.close()


@pytest.mark.slow
async def test_a_lost_nodes_channels_end_on_the_apps_socket(nodes: NodeFactory, app: str) -> None:
    n1, n2, n3 = await nodes(3, files=KEEP)
    async with _http(n1) as http1, http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
        await wait_for(lambda: _forwarding(n2, app) and _forwarding(n3, app), WAIT)
        doomed = _call(n2, "alice", app)
        other = _call(n3, "bob", app)
        ids = {(await _next(ws, "StasisStart"))["channel"]["id"] for _ in range(2)}
        assert ids == {doomed.id, other.id}
        assert n2.cluster is not None
        n2.cluster.nodes.pause()  # n2 stops heartbeating: cut off
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        end = await _next(ws)
        gone = await _next(ws)
        assert loop.time() - t0 < 5
        assert (end["type"], end["channel"]["id"]) == ("StasisEnd", doomed.id)
        assert gone["type"] == "ChannelDestroyed"
        assert (gone["cause"], gone["cause_txt"]) == (NODE_LOST_CAUSE, "Network out of order")
        assert gone["channel"]["id"] == doomed.id
        assert gone["asterisk_id"] == n2.core.entity_id
        assert gone["pyari_sequence"] == end["pyari_sequence"] + 1
        # n3's call goes on.
        async with _http(n3) as http3:
            assert await _set_var(http3, other.id, "x") == 204
        assert (await _next(ws))["type"] == "ChannelVarset"


@pytest.mark.slow
async def test_a_moved_home_knows_the_channels_the_old_one_knew(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2, n3 = await nodes(3, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as first:
            await wait_for(lambda: _forwarding(n2, app) and _forwarding(n3, app), WAIT)
            here = _call(n1, "alice", app)
            there = _call(n3, "bob", app)
            for _ in range(2):
                await _next(first, "StasisStart")
        await wait_for(lambda: _forwarding(n2, app, away=True), WAIT)
        async with http2.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
            await wait_for(lambda: _apps(n2).records.get(app) == ("n2", True), WAIT)
            for node in (n1, n3):
                assert node.cluster is not None
                node.cluster.nodes.pause()
            ended = [await _next(ws) for _ in range(4)]
        by_chan: dict[str, list[str]] = {}
        for event in ended:
            by_chan.setdefault(event["channel"]["id"], []).append(event["type"])
        assert by_chan == {
            here.id: ["StasisEnd", "ChannelDestroyed"],
            there.id: ["StasisEnd", "ChannelDestroyed"],
        }


@pytest.mark.slow
async def test_an_app_whose_node_dies_resumes_on_another_without_loss(
    nodes: NodeFactory, app: str
) -> None:
    n1, n2, n3 = await nodes(3, files=KEEP)
    async with _http(n1) as http1, _http(n3) as http3:
        ws = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app) and _forwarding(n3, app), WAIT)
        chan = _call(n3, "bob", app)
        processed = (await _next(ws, "StasisStart"))["pyari_sequence"]
        assert n1.cluster is not None and n1.event_logs is not None
        await n1.event_logs.flush()  # (what a crash loses unflushed: decision 0024)
        await _die(n1)
        # The leader of the others (n2) keeps the app's log meanwhile.
        await wait_for(lambda: _apps(n2).records.get(app) == ("n2", False), WAIT)
        await wait_for(lambda: _forwarding(n3, app, away=True), WAIT)
        for value in "abc":
            assert await _set_var(http3, chan.id, value) == 204
        late = _call(n3, "carol", app)
        await wait_for(lambda: n3.stasis.waiting(app) == 1, WAIT)
        # The app restarts against n3: the gap, then the call that waited.
        resume = {"Pyari-Resume": f"{app}={processed}"}
        async with http3.ws_connect(f"/ari/events?app={app}", headers=resume) as again:
            got = [await _next(again, "ChannelVarset") for _ in range(3)]
            start = await _next(again, "StasisStart")
        assert [e["value"] for e in got] == ["a", "b", "c"]
        seqs = [e["pyari_sequence"] for e in [*got, start]]
        assert seqs == sorted(seqs) and seqs[0] > processed
        assert start["channel"]["id"] == late.id
        await ws.close()


@pytest.mark.slow
async def test_an_app_reconnecting_at_once_when_its_node_dies_loses_nothing(
    nodes: NodeFactory, app: str
) -> None:
    """Its home (n1) dies and the app comes back on n2 before n1 is declared lost: n2
    serves the resume from the stream, then ends n1's calls; n3's calls go on."""
    n1, n2, n3 = await nodes(3, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2, _http(n3) as http3:
        ws = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app) and _forwarding(n3, app), WAIT)
        doomed = _call(n1, "alice", app)
        kept = _call(n3, "bob", app)
        for _ in range(2):
            await _next(ws, "StasisStart")
        assert await _set_var(http3, kept.id, "a") == 204
        processed = (await _next(ws, "ChannelVarset"))["pyari_sequence"]
        assert await _set_var(http3, kept.id, "b") == 204
        await _next(ws, "ChannelVarset")  # written to the socket, not processed
        assert n1.cluster is not None and n1.event_logs is not None
        await n1.event_logs.flush()  # (what a crash loses unflushed: decision 0024)
        await _die(n1)
        loop = asyncio.get_running_loop()
        killed = loop.time()
        resume = {"Pyari-Resume": f"{app}={processed}"}
        async with http2.ws_connect(f"/ari/events?app={app}", headers=resume) as again:
            replay = await _next(again)
            assert (replay["type"], replay["value"]) == ("ChannelVarset", "b")
            assert replay["pyari_sequence"] == processed + 1
            end = await _next(again)
            gone = await _next(again)
            assert loop.time() - killed < 5
            assert [end["type"], gone["type"]] == ["StasisEnd", "ChannelDestroyed"]
            assert end["channel"]["id"] == gone["channel"]["id"] == doomed.id
            assert gone["cause"] == NODE_LOST_CAUSE
            assert await _set_var(http2, kept.id, "c") == 204  # forwarded to n3, or 404
            after = await _next(again, "ChannelVarset")
            assert after["value"] == "c"
            assert after["pyari_sequence"] == gone["pyari_sequence"] + 1
        await ws.close()


@pytest.mark.slow
async def test_a_home_taken_for_lost_keeps_its_socket_and_claims_the_app_back(
    nodes: NodeFactory, app: str
) -> None:
    """n1 holds the app's socket but goes silent for a while (a NATS outage looks so):
    n2 takes n1 for lost and keeps the app's events (its record: n2, not active). n1,
    still holding the socket, must not give the app to that keeper: it claims it back,
    and the socket goes on receiving n2's calls (no ApplicationReplaced)."""
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        ws = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        assert n1.cluster is not None
        n1.cluster.nodes.pause()  # silent: n2 declares it lost and keeps the app
        # Terms: n1's home 1, n2 keeping 2, n1's claim back 3 (seen by n2).
        await wait_for(lambda: _apps(n2).terms.get(app, 0) >= 3, WAIT)
        n1.cluster.nodes.resume()
        await wait_for(lambda: _apps(n2).records.get(app) == ("n1", True), WAIT)
        assert app not in _apps(n2).homes
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        held = n1.stasis.get(app)
        assert held is not None and held.handler is not _apps(n1).remotes.get(app)
        assert _apps(n1).records.get(app) == ("n1", True)
        chan = _call(n2, "alice", app)
        start = await _next(ws)
        assert (start["type"], start["channel"]["id"]) == ("StasisStart", chan.id)
        assert await _set_var(http2, chan.id, "after") == 204
        assert (await _next(ws, "ChannelVarset"))["value"] == "after"
        await ws.close()


@pytest.mark.slow
async def test_subscribe_all_follows_every_nodes_objects(nodes: NodeFactory, app: str) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    url = f"/ari/events?app={app}&subscribeAll=true"
    async with _http(n1) as http1, http1.ws_connect(url, headers=SEQ) as ws:
        await wait_for(lambda: _apps(n1).records.get(app) == ("n1", True), WAIT)

        def following() -> bool:
            held = n2.stasis.get(app)
            return _forwarding(n2, app) and held is not None and held.subscribe_all

        await wait_for(following, WAIT)
        chan = n2.sim.phone("alice").call("s", "default")  # no Stasis: Wait(30)
        created = await _next(ws, "ChannelCreated")
        assert created["channel"]["id"] == chan.id
        assert created["asterisk_id"] == n2.core.entity_id


@pytest.mark.slow
async def test_nats_restarting_changes_nothing_for_the_app(
    nodes: NodeFactory, app: str, nats_server: NatsServer
) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        ws = await http1.ws_connect(f"/ari/events?app={app}", headers=SEQ)
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        first = _call(n2, "alice", app)
        await _next(ws, "StasisStart")
        nats_server.stop()
        nats_server.start()
        assert n1.cluster is not None and n2.cluster is not None
        links = (n1.cluster.link, n2.cluster.link)
        await wait_for(lambda: all(link.reconnects for link in links), 10)
        second = _call(n2, "bob", app)
        assert (await _next(ws, "StasisStart"))["channel"]["id"] == second.id
        await ws.close()  # the bucket is followed again: n2 sees the app away
        await wait_for(lambda: _forwarding(n2, app, away=True), WAIT)
        assert await _set_var(http2, first.id, "kept") == 204
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as again:
            assert (await _next(again, "ChannelVarset"))["value"] == "kept"


@pytest.mark.slow
async def test_bad_messages_on_the_subjects_change_nothing(nodes: NodeFactory, app: str) -> None:
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
        await wait_for(lambda: _forwarding(n2, app), WAIT)
        apps = _apps(n1)
        held = n1.stasis.get(app)
        assert held is not None
        last = held.log.last
        nc = apps.link.nc
        subject = apps.link.subject("events", app_key(app))
        for suffix, data in (
            ("n9.e.1", b"not json"),
            ("n9.e.2", b"[1,2]"),
            ("n9.e.x", b'{"type":"X"}'),
            ("n9", b'{"type":"X"}'),
            ("n9.e.3.4", b'{"type":"X"}'),
        ):
            await nc.publish(f"{subject}.{suffix}", data)
        for data in (b"junk", b'{"app":7}', b'{"app":"nope","node":"n9"}'):
            with contextlib.suppress(Exception):
                await nc.request(apps.link.subject("apps", "n1", "release"), data, timeout=0.5)
        await nc.flush()
        chan = _call(n2, "alice", app)
        start = await _next(ws)
        assert (start["type"], start["channel"]["id"]) == ("StasisStart", chan.id)
        assert start["pyari_sequence"] == last + 1
        assert apps.homes.get(app) is not None and apps.records[app] == ("n1", True)


@pytest.mark.slow
async def test_memory_logs_cannot_move_the_resume_is_told_events_lost(
    nodes: NodeFactory, app: str
) -> None:
    files = _files(event_retention=60, stasis_grace=10, event_log="memory")
    n1, n2 = await nodes(2, files=files)
    assert n1.event_logs is None
    async with _http(n1) as http1, _http(n2) as http2:
        async with http1.ws_connect(f"/ari/events?app={app}", headers=SEQ) as ws:
            await wait_for(lambda: _forwarding(n2, app), WAIT)
            chan = _call(n2, "alice", app)
            await _next(ws, "StasisStart")
            for i in range(3):
                assert await _set_var(http2, chan.id, str(i)) == 204
            varsets = [await _next(ws, "ChannelVarset") for _ in range(3)]
        last = varsets[-1]["pyari_sequence"]
        await wait_for(lambda: _forwarding(n2, app, away=True), WAIT)
        resume = {"Pyari-Resume": f"{app}=1"}
        async with http2.ws_connect(f"/ari/events?app={app}", headers=resume) as ws:
            lost = await _next(ws)
            assert lost["type"] == "EventsLost"
            assert (lost["first_sequence"], lost["last_sequence"]) == (2, last)
            assert await _set_var(http2, chan.id, "after") == 204
            after = await _next(ws, "ChannelVarset")
            assert (after["value"], after["pyari_sequence"]) == ("after", last + 1)


# -- the parts, without a cluster ---------------------------------------------------


def test_app_keys_are_the_names_utf8_in_hex() -> None:
    assert app_key("hello") == "68656c6c6f"
    assert app_key("é.*>") == "c3a92e2a3e"


class Handler:
    def __init__(self) -> None:
        self.got: list[Any] = []

    def __call__(self, event: ev.Event) -> None:
        self.got.append(event)


def test_inject_logs_filters_and_hands_the_json_to_the_socket(server: Server) -> None:
    registry = server.stasis
    handler = Handler()
    app = registry.register("inj", handler)
    app.encode = lambda event: b"{}"
    app.inject(b'{"type":"Dummy","n":1}', "Dummy")
    marker = handler.got[-1]
    assert app.current == (marker, 1, b'{"type":"Dummy","n":1}')
    app.events_disallowed = [{"type": "Dummy"}]
    app.inject(b'{"type":"Dummy","n":2}', "Dummy")
    assert app.log.last == 1 and len(handler.got) == 1
    app.events_disallowed = []
    registry.unregister("inj", handler)  # retention 0: not kept, only counted
    app.inject(b'{"type":"Dummy","n":3}', "Dummy")
    assert app.log.last == 2
    assert app.log.after(0)[1] == []


def test_registry_watchers_see_apps_held_left_and_gone(server: Server) -> None:
    registry = server.stasis
    seen: list[tuple[str, str]] = []

    def watch(what: str, app: StasisApp) -> None:
        seen.append((what, app.name))

    registry.watchers.append(watch)
    handler = Handler()
    registry.register("w", handler)
    registry.unregister("w", handler)
    assert seen == [("held", "w"), ("away", "w"), ("gone", "w")]


@pytest.mark.parametrize("away", [False, True])
def test_a_remote_handler_is_not_active_while_its_home_is_away(server: Server, away: bool) -> None:
    registry = server.stasis
    app = registry.register("r", Handler(), remote_away=away)
    assert app.active is not away
    assert registry.held_by_writer(["r"]) == (None if away else "r")


async def test_an_events_socket_registers_once_before_open_is_over(server: Server) -> None:
    registry = server.stasis
    loop = asyncio.get_running_loop()
    gates: list[asyncio.Future[None]] = []
    after: list[str] = []

    def before_open(apps: list[str], wanted: Any) -> Any:
        gate = loop.create_future()
        gates.append(gate)

        async def prepare() -> Any:
            await gate
            return lambda: after.append(apps[0])

        return prepare()

    registry.before_open = before_open
    sent: list[bytes] = []

    async def send(data: bytes) -> None:
        sent.append(data)

    session = EventSession(registry, ["gated"], send, EventEncoder("id", False))
    session.open()
    assert registry.get("gated") is None and "gated" in session.handlers
    gates[0].set_result(None)
    await wait_for(lambda: (app := registry.get("gated")) is not None and app.active)
    assert after == ["gated"]
    session.close()
    # A socket closed before its apps were registered registers nothing.
    early = EventSession(registry, ["early"], send, EventEncoder("id", False))
    early.open()
    early.close()
    gates[1].set_result(None)
    await wait_for(lambda: after == ["gated", "early"])
    assert registry.get("early") is None


@pytest.mark.slow
async def test_a_socket_moving_back_and_forth_under_load_gets_every_event_once(
    nodes: NodeFactory, app: str
) -> None:
    """A Pyari-Resume client's socket moves between n1 and n2 every 50-150 ms, 20 times,
    while two writers set a variable on a channel of n1: each value arrives once."""
    n1, n2 = await nodes(2, files=KEEP)
    async with _http(n1) as http1, _http(n2) as http2:
        moved = await socket_moving_under_load(
            (http1, http2),
            app,
            moves=20,
            dwell=(0.05, 0.15),
            registered=lambda: wait_for(lambda: _apps(n1).records.get(app) == ("n1", True), WAIT),
        )
    assert (moved.missing[:10], moved.twice[:10], moved.lost_reported) == ([], [], 0)
