"""Client overhead of :mod:`pyari.client`: decode + dispatch rate, and wire-to-handler latency.

python -m bench.client_dispatch [--events N] [--samples N]

1. Events/s the client decodes and dispatches to handlers: pre-encoded
   event frames (StasisStart, ChannelVarset, ChannelDtmfReceived over 100
   channels) fed through the same decode + dispatch path the socket reader
   uses, without a socket; with a sync handler, and with an async one.
   Then the same frames numbered as pyari numbers them (``pyari_sequence``,
   docs/event-streams.md): the client also drops duplicates, tracks the
   handled point and acknowledges it (the acks go to a socket stand-in that
   counts them).
2. StasisStart on the wire -> user's handler latency over loopback: a small
   events server in another process sends StasisStart frames stamped with
   ``time.perf_counter_ns()`` (CLOCK_MONOTONIC, shared by the processes)
   just before writing them; the handler reads the clock when called.
   Frames are spaced 1 ms apart so nothing queues.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import statistics
import time
from typing import Any

from aiohttp import web

from pyari.client import AriClient, Event, StasisStart, connect

CHANNEL = (
    '{{"id":"{id}","name":"PJSIP/alice-{id}","state":"Up","protocol_id":"",'
    '"caller":{{"name":"Alice","number":"100"}},"connected":{{"name":"","number":""}},'
    '"accountcode":"","dialplan":{{"context":"default","exten":"1000","priority":3,'
    '"app_name":"Stasis","app_data":"bench"}},"creationtime":"2024-01-01T00:00:00.000+0000",'
    '"language":"en"}}'
)
HEAD = (
    '"timestamp":"2024-01-01T00:00:00.000+0000","asterisk_id":"00:11:22:33:44:55",'
    '"application":"bench"'
)


def frames(n: int, numbered: bool = False) -> list[bytes]:
    out = []
    for i in range(n):
        chan = CHANNEL.format(id=f"chan-{i % 100}")
        kind = i % 3
        if kind == 0:
            body = f'"type":"StasisStart",{HEAD},"args":["{i}"],"channel":{chan}'
        elif kind == 1:
            body = f'"type":"ChannelVarset",{HEAD},"variable":"X","value":"{i}","channel":{chan}'
        else:
            body = (
                f'"type":"ChannelDtmfReceived",{HEAD},"digit":"5","duration_ms":100,'
                f'"channel":{chan}'
            )
        if numbered:
            body += f',"pyari_sequence":{i + 1}'
        out.append(("{" + body + "}").encode())
    return out


class _AckCounter:
    """Stands in for the events socket: counts the EventAck frames the client sends."""

    closed = False

    def __init__(self) -> None:
        self.acks = 0

    async def send_str(self, data: str) -> None:
        self.acks += 1

    async def close(self) -> None:
        self.closed = True


async def dispatch_rate(n: int, use_async: bool, numbered: bool = False) -> float:
    client = AriClient("http://127.0.0.1:1", "u", "p")
    sock = _AckCounter()
    client._ws = sock  # type: ignore[assignment]
    count = 0
    done = asyncio.Event()

    if use_async:

        async def handler(event: Event) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

    else:

        def handler(event: Event) -> None:  # type: ignore[misc]
            nonlocal count
            count += 1
            if count == n:
                done.set()

    client.on("StasisStart", handler)
    client.on("ChannelVarset", handler)
    client.on("ChannelDtmfReceived", handler)
    data = frames(n, numbered)
    feed = client.feed
    gc.collect()
    t0 = time.perf_counter()
    for i, raw in enumerate(data):
        feed(raw)
        if use_async and i % 256 == 255:
            await asyncio.sleep(0)  # as the socket reader yields between reads
    await done.wait()
    elapsed = time.perf_counter() - t0
    await client.close()
    if numbered:
        assert client.handled_sequence("bench") == n, "every event handled"
        assert 1 <= sock.acks <= elapsed / client.ack_interval + 2, sock.acks
    return n / elapsed


# -- latency -------------------------------------------------------------------------------


def _server_main(port_q: Any, samples: int) -> None:
    async def main() -> None:
        started = asyncio.Event()

        async def events(request: web.Request) -> web.StreamResponse:
            ws = web.WebSocketResponse(protocols=("ari",))
            await ws.prepare(request)
            started.set()
            chan = CHANNEL.format(id="lat-1")
            for i in range(samples + 50):
                await asyncio.sleep(0.001)
                stamp = time.perf_counter_ns()
                await ws.send_str(
                    f'{{"type":"StasisStart",{HEAD},"args":["{stamp}","{i}"],"channel":{chan}}}'
                )
            await ws.close()
            return ws

        async def application(request: web.Request) -> web.Response:
            return web.json_response(
                {
                    "name": "bench",
                    "channel_ids": [],
                    "bridge_ids": [],
                    "endpoint_ids": [],
                    "device_names": [],
                    "events_allowed": [],
                    "events_disallowed": [],
                }
            )

        app = web.Application()
        app.router.add_get("/ari/events", events)
        app.router.add_get("/ari/applications/{name}", application)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        port_q.put(port)
        await started.wait()
        await asyncio.sleep(samples * 0.0015 + 5)
        await runner.cleanup()

    asyncio.run(main())


async def latency(samples: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_server_main, args=(q, samples), daemon=True)
    proc.start()
    port = await asyncio.get_running_loop().run_in_executor(None, q.get, True, 30)
    lat: list[float] = []
    done = asyncio.Event()
    try:
        async with connect(
            f"http://127.0.0.1:{port}", "u", "p", apps="bench", reconnect=False, heartbeat=None
        ) as client:

            def handler(event: StasisStart) -> None:
                now = time.perf_counter_ns()
                if int(event.args[1]) >= 50:  # warm-up
                    lat.append((now - int(event.args[0])) / 1000.0)
                if len(lat) >= samples:
                    done.set()

            client.on("StasisStart", handler)
            await asyncio.wait_for(done.wait(), samples * 0.01 + 30)
    finally:
        proc.kill()
        proc.join()
    return lat


async def main(events: int, samples: int) -> dict[str, float]:
    await dispatch_rate(5_000, False)  # warm-up
    sync_rate = max([await dispatch_rate(events, False) for _ in range(3)])
    async_rate = max([await dispatch_rate(events, True) for _ in range(3)])
    num_sync = max([await dispatch_rate(events, False, True) for _ in range(3)])
    num_async = max([await dispatch_rate(events, True, True) for _ in range(3)])
    lat = await latency(samples)
    lat.sort()
    result = {
        "dispatch_sync_events_per_s": sync_rate,
        "dispatch_async_events_per_s": async_rate,
        "numbered_sync_events_per_s": num_sync,
        "numbered_async_events_per_s": num_async,
        "stasisstart_latency_p50_us": statistics.median(lat),
        "stasisstart_latency_p99_us": lat[int(len(lat) * 0.99) - 1],
    }
    return result


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--samples", type=int, default=2_000)
    args = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:  # pragma: no cover
        loop_name = "asyncio"
    res = asyncio.run(main(args.events, args.samples))
    print(f"pyari.client overhead ({loop_name}, one core)")
    print(f"  decode+dispatch, sync handler : {res['dispatch_sync_events_per_s']:>10,.0f} events/s")
    print(
        f"  decode+dispatch, async handler: {res['dispatch_async_events_per_s']:>10,.0f} events/s"
    )
    print(f"  numbered + acks, sync handler : {res['numbered_sync_events_per_s']:>10,.0f} events/s")
    print(
        f"  numbered + acks, async handler: {res['numbered_async_events_per_s']:>10,.0f} events/s"
    )
    print(f"  StasisStart wire->handler p50 : {res['stasisstart_latency_p50_us']:>10.1f} us")
    print(f"  StasisStart wire->handler p99 : {res['stasisstart_latency_p99_us']:>10.1f} us")


if __name__ == "__main__":
    cli()
