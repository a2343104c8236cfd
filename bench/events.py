"""Events to one WebSocket client: how many events/s pyari writes to one socket.

python -m bench.events [--url URL] [--apps 8] [--seconds 5]

Design (the server, not the client, is the bottleneck):

* One socket registers ``hello`` and ``bench1`` … ``bench{N-1}``; one call is
  held in Stasis(hello) and the other apps subscribe to its ``;1`` channel.
  Every ``POST /channels/{id}/variable`` then makes the server publish one
  ChannelVarset that it encodes and writes N times (once per app) to the
  socket, so each HTTP request is amplified N-fold on the event path.
* The requests come from ``wrk`` (C, its own process) with 8 connections, so
  producing load costs the client little; the reader is one aiohttp
  WebSocket that only counts frames.
* The result reports the CPU the server process and the reader used over
  the window: the server near one full core and the reader well below it
  shows the server is the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.rest import PASSWORD, USER, parse_wrk, wrk_path
from bench.server import ServerProcess, basic_auth, wait_registered

POST_LUA = 'wrk.method = "POST"\n'


@dataclass
class EventsResult:
    events_per_s: float
    requests_per_s: float
    events_per_request: int
    received: int
    expected: int
    server_cpu_pct: float
    reader_cpu_pct: float


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def call_for_apps(http: aiohttp.ClientSession, names: Sequence[str]) -> str:
    """A call (1000 of [ARI-test]) held in Stasis(``names[0]``) whose channel the other
    applications subscribe to, so that each of its events goes to every one: its id."""
    params = {"endpoint": "Local/1000@ARI-test", "app": names[0]}
    async with http.post("/ari/channels", params=params) as r:
        r.raise_for_status()
        chan: str = (await r.json())["id"]
    for name in names[1:]:
        source = {"eventSource": f"channel:{chan}"}
        async with http.post(f"/ari/applications/{name}/subscription", params=source) as r:
            r.raise_for_status()
    return chan


class Frames:
    """Counts the text frames ``ws`` receives (in a task)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.received = 0
        self.task = asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.received += 1


async def run(
    url: str,
    apps: int = 8,
    seconds: float = 5.0,
    connections: int = 8,
    server_pid: int | None = None,
    user: str = USER,
    password: str = PASSWORD,
) -> EventsResult:
    names = ["hello", *(f"bench{i}" for i in range(1, apps))]
    headers = {"Authorization": basic_auth(user, password)}
    async with aiohttp.ClientSession(url, headers=headers) as http:
        ws = await http.ws_connect(f"/ari/events?app={','.join(names)}", max_msg_size=0)
        await wait_registered(http, names)
        chan = await call_for_apps(http, names)
        frames = Frames(ws)
        await asyncio.sleep(0.5)  # the call's own start-up events
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(POST_LUA)
        try:
            target = f"{url.rstrip('/')}/ari/channels/{chan}/variable?variable=BENCH&value=1"
            cmd = [
                wrk_path(),
                "-t1",
                f"-c{connections}",
                f"-d{seconds:g}s",
                "--latency",
                "-s",
                f.name,
                "-H",
                f"Authorization: {basic_auth(user, password)}",
                target,
            ]
            before = frames.received
            cpu0 = _self_cpu_s()
            srv0 = _proc_cpu_s(server_pid) if server_pid else 0.0
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            out, _ = await proc.communicate()
            elapsed = time.perf_counter() - t0
            during = frames.received - before
            cpu1 = _self_cpu_s()
            srv1 = _proc_cpu_s(server_pid) if server_pid else 0.0
            wrk = parse_wrk(out.decode())
            expected = (wrk.requests - wrk.non_2xx) * apps
            # Let the socket drain what was queued at the end (bounded).
            deadline = time.monotonic() + 10
            while frames.received - before < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            os.unlink(f.name)
        async with http.delete(f"/ari/channels/{chan}") as r:
            await r.read()
        frames.task.cancel()
        await ws.close()
    return EventsResult(
        events_per_s=round(during / elapsed, 1),
        requests_per_s=wrk.requests_per_s,
        events_per_request=apps,
        received=frames.received - before,
        expected=expected,
        server_cpu_pct=round((srv1 - srv0) / elapsed * 100, 1) if server_pid else -1,
        reader_cpu_pct=round((cpu1 - cpu0) / elapsed * 100, 1),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", help="ARI base URL (default: start a pyari)")
    p.add_argument("--apps", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5)
    args = p.parse_args()
    if args.url:
        print(asyncio.run(run(args.url, args.apps, args.seconds)))
    else:
        with ServerProcess() as srv:
            time.sleep(0.5)
            print(asyncio.run(run(srv.url, args.apps, args.seconds, server_pid=srv.pid)))


if __name__ == "__main__":
    main()
