"""Exactly-once events across reconnects (docs/event-streams.md), over real sockets.

A pyari with event retention on; the typed client asks for sequences,
acknowledges what its handlers finished and resumes after it.  The events
socket is cut while events flow (the server closes its side, or the listener
goes away and comes back); handlers see every event once, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from conftest import PASSWORD, USER, auth_headers, wait_for
from pyari.client import (
    AriClient,
    Backoff,
    ChannelVarset,
    Event,
    EventsLost,
    Resynced,
    aioari,
    connect,
)
from pyari.config import load_config
from pyari.config.event_streams import EventStreamSettings
from pyari.server import Server

APP = "resume"


def _server(retention: float = 60.0, retention_bytes: int = 16 << 20) -> Server:
    cfg = load_config(None)
    streams = EventStreamSettings(retention=retention, retention_bytes=retention_bytes)
    cfg = dataclasses.replace(
        cfg,
        http=dataclasses.replace(cfg.http, bindport=0),
        ari=dataclasses.replace(cfg.ari, event_streams=streams),
    )
    return Server(cfg, sip_port=0)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = _server()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def _fast() -> Backoff:
    return Backoff(initial=0.01, factor=1.0, maximum=0.01, jitter=0.0)


def _cut(server: Server, app: str = APP) -> None:
    """Close the server's side of the events socket holding ``app``, mid-stream."""
    sessions = [s for s in server.ari.sessions if app in s.apps and not s.closed]
    assert len(sessions) == 1
    sessions[0].close()


async def _restart_listener(server: Server) -> None:
    port = server.http_port
    await server.http.stop()
    server.http.settings = dataclasses.replace(server.http.settings, bindport=port)
    await server.http.start()


def _values(events: list[Event]) -> list[int]:
    return [int(e.value) for e in events if isinstance(e, ChannelVarset) and e.variable == "N"]


async def _channel(client: AriClient, server: Server, chan_id: str) -> Any:
    started = asyncio.Event()
    remove = client.on("StasisStart", lambda e: started.set())
    await client.channels.originate("Sim/alice", app=APP, channel_id=chan_id)
    await asyncio.wait_for(started.wait(), 5)
    remove()
    return server.core.channels[chan_id]


def _stasis_app(server: Server) -> Any:
    app = server.stasis.get(APP)
    assert app is not None
    return app


async def test_cut_mid_stream_every_event_once_in_order(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    client = await connect(base, USER, PASSWORD, apps=APP, backoff=_fast())
    sync_seen: list[Event] = []
    async_seen: list[int] = []
    resynced: list[Resynced] = []
    try:
        chan = await _channel(client, server, "r-1")
        client.on("ChannelVarset", sync_seen.append)

        @client.on(ChannelVarset)
        async def slow(event: ChannelVarset) -> None:
            await asyncio.sleep(0)  # an async handler still running when the socket goes
            async_seen.append(int(event.value))

        client.on(Resynced, resynced.append)
        total = 600
        for i in range(total):
            chan.set_var("N", str(i))  # published by the server, whatever the socket does
            if i in (100, 250, 400):
                _cut(server)  # queued but unwritten events are dropped by the server
            if i % 50 == 49:
                await asyncio.sleep(0.01)  # let the socket carry some
        await wait_for(lambda: len(async_seen) >= total and len(sync_seen) >= total, 10)
        for _ in range(20):
            await asyncio.sleep(0.005)  # nothing more arrives
        assert _values(sync_seen) == list(range(total))
        assert async_seen == list(range(total))
        assert client.connections == 4
        assert len(resynced) == 3
        seqs = [e.pyari_sequence or 0 for e in sync_seen]
        assert seqs == list(range(seqs[0], seqs[0] + total))
        # Acknowledged: the server's resume point reaches the last handled event.
        last = seqs[-1]
        await wait_for(lambda: _stasis_app(server).acked == last)
        assert client.handled_sequence(APP) == last
    finally:
        await client.close()


async def test_listener_restart_replays_the_gap(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    client = await connect(base, USER, PASSWORD, apps=APP, backoff=_fast())
    seen: list[Event] = []
    try:
        chan = await _channel(client, server, "r-2")
        client.on("ChannelVarset", seen.append)
        for i in range(50):
            chan.set_var("N", str(i))
        await _restart_listener(server)  # the socket goes, and what was queued for it
        for i in range(50, 100):
            chan.set_var("N", str(i))  # while the application is away
        await wait_for(lambda: len(seen) >= 100, 10)
        for i in range(100, 120):
            chan.set_var("N", str(i))
        await wait_for(lambda: len(seen) >= 120)
        await asyncio.sleep(0.02)
        assert _values(seen) == list(range(120))
        assert client.connections == 2
    finally:
        await client.close()


async def test_unfinished_handler_holds_the_ack_and_its_event_is_not_redelivered(
    server: Server,
) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    client = await connect(base, USER, PASSWORD, apps=APP, backoff=_fast(), ack_interval=0.01)
    gate = asyncio.Event()
    seen: list[int] = []
    try:
        chan = await _channel(client, server, "r-3")

        @client.on(ChannelVarset)
        async def handler(event: ChannelVarset) -> None:
            if event.value == "3":
                await gate.wait()
            seen.append(int(event.value))

        first: list[int] = []
        client.on(ChannelVarset, lambda e: first.append(e.pyari_sequence or 0))
        for i in range(10):
            chan.set_var("N", str(i))
        await wait_for(lambda: len(first) == 10)
        stuck = first[3]
        # Events 0-2 are handled; 3 is not, so neither is anything after it.
        await wait_for(lambda: _stasis_app(server).acked == stuck - 1)
        assert client.handled_sequence(APP) == stuck - 1
        _cut(server)
        await wait_for(lambda: client.connections == 2)
        chan.set_var("N", "10")
        await wait_for(lambda: len(first) == 11)
        # 4..9 came again (the resume point is 2) and were dropped.
        assert first == list(range(first[0], first[0] + 11))
        gate.set()
        await wait_for(lambda: len(seen) == 11)
        assert seen == list(range(11))
        await wait_for(lambda: _stasis_app(server).acked == first[-1])
    finally:
        await client.close()


async def test_lost_range_is_reported() -> None:
    srv = _server(retention=60.0, retention_bytes=6000)
    await srv.start()
    port = srv.http_port
    base = f"http://127.0.0.1:{port}"
    client = await connect(base, USER, PASSWORD, apps=APP, backoff=_fast())
    got: list[Event] = []
    try:
        chan = await _channel(client, srv, "r-4")
        client.on("*", got.append)
        chan.set_var("N", "0")
        await wait_for(lambda: _values(got) == [0])
        handled = got[-1].pyari_sequence
        await srv.http.stop()
        await wait_for(lambda: not client.connected)
        for i in range(1, 101):
            chan.set_var("N", str(i))  # ~1 kB each: most fall out of the log
        log = _stasis_app(srv).log
        kept_first = log.first
        assert kept_first > handled + 1  # type: ignore[operator]
        srv.http.settings = dataclasses.replace(srv.http.settings, bindport=port)
        await srv.http.start()
        await wait_for(lambda: any(isinstance(e, EventsLost) for e in got), 10)
        await wait_for(lambda: _values(got)[-1:] == [100])
        lost = [e for e in got if isinstance(e, EventsLost)]
        assert len(lost) == 1
        report = lost[0]
        assert report.application == APP
        assert report.first_sequence == handled + 1  # type: ignore[operator]
        assert report.last_sequence == kept_first - 1
        assert report.count == report.last_sequence - report.first_sequence + 1
        # Order: Resynced (state), the report where the lost events were, then what was kept.
        kinds = [e.type for e in got if e.type in ("Resynced", "EventsLost", "ChannelVarset")]
        assert kinds[:4] == ["ChannelVarset", "Resynced", "EventsLost", "ChannelVarset"]
        values = _values(got)
        assert values == [0, *range(values[1], 101)]
        assert values[1] > 1
    finally:
        await client.close()
        await srv.stop()


async def test_aioari_program_gets_every_event_across_a_cut(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    client = await aioari.connect(base, USER, PASSWORD)
    client.ari.backoff = _fast()
    values: list[str] = []
    started = asyncio.Event()

    def on_start(channel: Any, event: dict[str, Any]) -> None:
        started.set()

    def on_var(channel: Any, event: dict[str, Any]) -> None:
        if event["variable"] == "N":
            values.append(event["value"])
        assert channel.id == "r-5"

    client.on_channel_event("StasisStart", on_start)
    client.on_channel_event("ChannelVarset", on_var)
    runner = asyncio.create_task(client.run(apps=APP))
    try:
        await wait_for(lambda: client.ari.connected)
        async with aiohttp.ClientSession(headers=auth_headers()) as http:
            url = f"{base}/ari/channels?endpoint=Sim/alice&app={APP}&channelId=r-5"
            (await http.post(url)).release()
        await asyncio.wait_for(started.wait(), 5)
        chan = server.core.channels["r-5"]
        for i in range(200):
            chan.set_var("N", str(i))
            if i == 120:
                _cut(server)
            if i % 40 == 39:
                await asyncio.sleep(0.01)
        await wait_for(lambda: len(values) >= 200, 10)
        await asyncio.sleep(0.02)
        assert values == [str(i) for i in range(200)]
    finally:
        await client.close()
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner


async def test_a_later_client_resumes_from_a_kept_point(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    first = await connect(base, USER, PASSWORD, apps=APP)
    seen: list[Event] = []
    chan = await _channel(first, server, "r-6")
    first.on("ChannelVarset", seen.append)
    for i in range(10):
        chan.set_var("N", str(i))
    await wait_for(lambda: len(_values(seen)) == 10)
    kept = seen[6].pyari_sequence  # say the program stored this one (N=6)
    await first.close()
    for i in range(10, 15):
        chan.set_var("N", str(i))  # while no program runs
    later = AriClient(base, USER, PASSWORD, apps=APP, resume_from={APP: kept or 0})
    again: list[Event] = []
    later.on("ChannelVarset", again.append)
    try:
        await later.connect()
        await wait_for(lambda: _values(again)[-1:] == [14])
        assert _values(again) == list(range(7, 15))
    finally:
        await later.close()


async def test_without_sequences_the_wire_is_asterisks(server: Server) -> None:
    base = f"http://127.0.0.1:{server.http_port}"
    client = await connect(base, USER, PASSWORD, apps=APP, sequences=False, ack_interval=0)
    seen: list[Event] = []
    try:
        chan = await _channel(client, server, "r-7")
        client.on("ChannelVarset", seen.append)
        for i in range(5):
            chan.set_var("N", str(i))
        await wait_for(lambda: len(_values(seen)) == 5)
        assert all(e.pyari_sequence is None for e in seen)
        assert "pyari_sequence" not in seen[0].to_dict()
        assert client.handled_sequence(APP) is None
        assert not _stasis_app(server).ack_used  # no EventAck was sent
    finally:
        await client.close()
