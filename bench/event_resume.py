"""Events lost across reconnects of an application's socket under load (issue #14 item 2).

python -m bench.event_resume [--reconnects 100] [--writers 4] [--mode both]

A pyari process (loopback, ``event_retention = 60`` in ari.conf, ``--retention``) has one channel in
application ``bench``; ``--writers`` REST clients set a variable on it in a loop, each
request one ``ChannelVarset`` whose value is a unique number. The application's socket
reads for a short random time, drops, and reconnects, ``--reconnects`` times; then the
writers stop and a last socket drains. Counted: values never received (lost) and
values received twice (duplicates). Two clients:

- ``plain``: an unmodified Asterisk client (no pyari header): it resumes by default
  after the last event written to its old socket, so what was in flight when it
  dropped (written by the server, never read) is lost to it;
- ``sequenced``: pyari's protocol (docs/event-streams.md): ``Pyari-Resume:
  bench=<last processed>``, events with ``pyari_sequence`` (goal: 0 lost, 0
  duplicates).

Bounded: ``--reconnects`` reconnects, each socket read for 5-50 ms; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.server import ServerProcess, basic_auth

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"
APP = "bench"


def retention(seconds: int) -> Callable[[Path], None]:
    def configure(confdir: Path) -> None:
        ari = confdir / "ari.conf"
        line = f"[general]\nevent_retention = {seconds}"
        ari.write_text(re.sub(r"(?m)^\[general\]$", line, ari.read_text(), count=1))

    return configure


@dataclass
class Result:
    mode: str
    produced: int
    received: int
    lost: int
    duplicates: int
    lost_reported: int
    reconnects: int
    seconds: float


async def run(url: str, mode: str, reconnects: int, writers: int, seed: int) -> Result:
    rnd = random.Random(seed)
    headers = {"Authorization": basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(base_url=url, headers=headers) as http:
        events = f"/ari/events?app={APP}"
        seen: dict[int, int] = {}
        last_seq = 0
        lost_reported = 0

        def take(data: dict[str, object]) -> None:
            nonlocal last_seq, lost_reported
            seq = data.get("pyari_sequence")
            if mode == "sequenced" and isinstance(seq, int):
                if seq <= last_seq:
                    return  # a duplicate by sequence: skipped (exactly-once)
                last_seq = seq
            if data["type"] == "EventsLost":
                lost_reported += int(str(data["count"]))
            elif data["type"] == "ChannelVarset" and data.get("variable") == "n":
                value = int(str(data["value"]))
                seen[value] = seen.get(value, 0) + 1

        def socket_headers() -> dict[str, str]:
            if mode == "plain":
                return {}
            return {"Pyari-Resume": f"{APP}={last_seq}"} if last_seq else {"Pyari-Sequence": "1"}

        ws = await http.ws_connect(events, headers=socket_headers())
        # A cluster node registers the application just after the upgrade (decision 0025).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            async with http.get(f"/ari/applications/{APP}") as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.05)
        async with http.post("/ari/channels", params={"endpoint": "Sim/load", "app": APP}) as r:
            chan = (await r.json())["id"]
        while True:  # the channel is in the application once StasisStart is here
            msg = await ws.receive(timeout=10)
            data = json.loads(msg.data)
            take(data)
            if data["type"] == "StasisStart":
                break
        produced = 0
        stop = asyncio.Event()

        async def writer() -> None:
            nonlocal produced
            while not stop.is_set():
                produced += 1
                params = {"variable": "n", "value": str(produced)}
                async with http.post(f"/ari/channels/{chan}/variable", params=params) as r:
                    assert r.status == 204, r.status

        async def read_for(sock: aiohttp.ClientWebSocketResponse, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sock.receive(timeout=left)
                except TimeoutError:
                    return
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                take(json.loads(msg.data))

        started = time.monotonic()
        tasks = [asyncio.create_task(writer()) for _ in range(writers)]
        for _ in range(reconnects):
            await read_for(ws, rnd.uniform(0.005, 0.05))
            # The socket drops: the client stops reading and goes (what is in flight
            # is not processed), then reconnects.
            await ws.close()
            ws = await http.ws_connect(events, headers=socket_headers())
        stop.set()
        await asyncio.gather(*tasks)
        seconds = time.monotonic() - started
        total = produced
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and total not in seen:
            await read_for(ws, 0.2)
        await read_for(ws, 0.2)
        await ws.close()
        await http.delete(f"/ari/channels/{chan}")
    return Result(
        mode,
        total,
        sum(seen.values()),
        sum(1 for v in range(1, total + 1) if v not in seen),
        sum(n - 1 for n in seen.values()),
        lost_reported,
        reconnects,
        seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", help="a running pyari with event_retention (default: start one)")
    parser.add_argument("--reconnects", type=int, default=100)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--mode", choices=("plain", "sequenced", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--retention", type=int, default=60, help="event_retention (0: Asterisk's behaviour)"
    )
    args = parser.parse_args()
    modes = ("plain", "sequenced") if args.mode == "both" else (args.mode,)

    def report(url: str) -> None:
        for mode in modes:
            res = asyncio.run(run(url, mode, args.reconnects, args.writers, args.seed))
            print(
                f"{res.mode:9} reconnects={res.reconnects} events={res.produced} "
                f"({res.produced / res.seconds:.0f}/s) lost={res.lost} "
                f"duplicates={res.duplicates} reported_lost={res.lost_reported}"
            )

    if args.url:
        report(args.url)
    else:
        with ServerProcess(pretty=False, configure=retention(args.retention)) as srv:
            report(srv.url)


if __name__ == "__main__":
    main()
