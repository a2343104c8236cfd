"""Originate benchmark: calls into a Stasis app, hung up at StasisStart.

For each call: ``POST /ari/channels?endpoint=Local/1000@ARI-test&app=hello``;
when the ``;1`` half's StasisStart arrives the client hangs it up; the call
is complete when both halves are destroyed.  Measures calls/s end to end,
POST → both halves' StasisStart latency, and events/s on the socket.

Runs against a pyari it starts itself (default) or any ARI URL (``--url``),
so the same numbers can be taken from a real Asterisk.  Loopback only,
bounded in calls and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.server import ServerProcess, basic_auth


@dataclass
class Call:
    """One call, keyed by the Local channel's base name (without ``;1``/``;2``)."""

    one: str = ""
    started: int = 0
    stasis_at: float = 0.0
    destroyed: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Result:
    calls: int
    in_flight: int
    seconds: float
    calls_per_s: float
    events: int
    events_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    failed: int

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def run(
    url: str,
    user: str,
    password: str,
    calls: int,
    in_flight: int,
    app: str = "hello",
    endpoint: str = "Local/1000@ARI-test",
    time_limit: float = 60.0,
) -> Result:
    headers = {"Authorization": basic_auth(user, password)}
    calls_by_base: dict[str, Call] = {}
    pending: set[asyncio.Future[None]] = set()
    events = 0
    conn = aiohttp.TCPConnector(limit=in_flight + 4)
    async with aiohttp.ClientSession(url, headers=headers, connector=conn) as http:
        ws = await http.ws_connect(f"/ari/events?app={app}")

        async def hangup(chan_id: str) -> None:
            async with http.delete(f"/ari/channels/{chan_id}") as r:
                await r.read()

        def call_of(name: str) -> Call:
            base = name.rpartition(";")[0] or name
            call = calls_by_base.get(base)
            if call is None:
                call = calls_by_base[base] = Call()
            return call

        async def reader() -> None:
            nonlocal events
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                events += 1
                ev = json.loads(msg.data)
                etype = ev["type"]
                if etype not in ("StasisStart", "ChannelDestroyed"):
                    continue
                chan = ev["channel"]
                call = call_of(chan["name"])
                if etype == "StasisStart":
                    call.started += 1
                    if call.started == 2:
                        call.stasis_at = time.perf_counter()
                    if not chan["name"].endswith(";2"):
                        task = asyncio.ensure_future(hangup(chan["id"]))
                        pending.add(task)
                        task.add_done_callback(pending.discard)
                else:
                    call.destroyed += 1
                    if call.destroyed == 2 or not chan["name"].startswith("Local/"):
                        call.done.set()

        read_task = asyncio.ensure_future(reader())
        sem = asyncio.Semaphore(in_flight)
        latencies: list[float] = []
        failed = 0

        async def one_call() -> None:
            nonlocal failed
            async with sem:
                posted = time.perf_counter()
                async with http.post(
                    "/ari/channels", params={"endpoint": endpoint, "app": app}
                ) as r:
                    if r.status != 200:
                        failed += 1
                        return
                    body = await r.json()
                call = call_of(body["name"])
                try:
                    await asyncio.wait_for(call.done.wait(), 10)
                except TimeoutError:
                    failed += 1
                    return
                latencies.append((call.stasis_at - posted) * 1000)
                calls_by_base.pop(body["name"].rpartition(";")[0] or body["name"], None)

        start = time.perf_counter()
        events_at_start = events
        await asyncio.wait_for(asyncio.gather(*(one_call() for _ in range(calls))), time_limit)
        elapsed = time.perf_counter() - start
        n_events = events - events_at_start
        read_task.cancel()
        await ws.close()
    latencies.sort()
    return Result(
        calls=calls,
        in_flight=in_flight,
        seconds=round(elapsed, 3),
        calls_per_s=round(calls / elapsed, 1),
        events=n_events,
        events_per_s=round(n_events / elapsed, 1),
        latency_p50_ms=round(statistics.median(latencies), 3) if latencies else -1,
        latency_p99_ms=round(latencies[int(len(latencies) * 0.99) - 1], 3) if latencies else -1,
        failed=failed,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", help="ARI base URL (default: start a pyari)")
    p.add_argument("--user", default="testARI")
    p.add_argument("--password", default="Sup3rM3ga$tr0ng")
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--in-flight", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    async def go(url: str) -> None:
        # Warm up, then measure.
        await run(url, args.user, args.password, 50, 8)
        for k in args.in_flight:
            for _ in range(args.repeat):
                res = await run(url, args.user, args.password, args.calls, k)
                print(json.dumps(res.row()))

    if args.url:
        asyncio.run(go(args.url))
    else:
        with ServerProcess() as srv:
            asyncio.run(go(srv.url))


if __name__ == "__main__":
    main()
