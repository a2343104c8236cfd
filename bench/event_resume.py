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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.server import ServerProcess, basic_auth, wait_registered

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
    missing: list[int] = field(default_factory=list)
    """the values never received"""
    twice: list[int] = field(default_factory=list)
    """the values received more than once"""


@dataclass
class Journal:
    """What the application took of the writers' values (``ChannelVarset`` of ``n``)."""

    sequenced: bool
    """pyari's protocol: ``Pyari-Resume``, events with ``pyari_sequence`` (a repeat skipped)."""
    app: str = APP
    seen: dict[int, int] = field(default_factory=dict)
    """value → times received"""
    last: int = 0
    """the last ``pyari_sequence`` processed"""
    lost_reported: int = 0
    started: bool = False
    """a StasisStart was taken (the channel is in the application)"""

    def headers(self) -> dict[str, str]:
        if not self.sequenced:
            return {}
        return {"Pyari-Resume": f"{self.app}={self.last}"} if self.last else {"Pyari-Sequence": "1"}

    def take(self, data: dict[str, object]) -> None:
        seq = data.get("pyari_sequence")
        if self.sequenced and isinstance(seq, int):
            if seq <= self.last:
                return  # a duplicate by sequence: skipped (exactly-once)
            self.last = seq
        if data["type"] == "StasisStart":
            self.started = True
        elif data["type"] == "EventsLost":
            self.lost_reported += int(str(data["count"]))
        elif data["type"] == "ChannelVarset" and data.get("variable") == "n":
            value = int(str(data["value"]))
            self.seen[value] = self.seen.get(value, 0) + 1

    async def read_for(self, sock: aiohttp.ClientWebSocketResponse, seconds: float) -> None:
        """Take what ``sock`` brings for ``seconds`` (less when it closes)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await sock.receive(timeout=left)
            except TimeoutError:
                return
            if msg.type != aiohttp.WSMsgType.TEXT:
                return
            self.take(json.loads(msg.data))


async def moves(
    https: Sequence[aiohttp.ClientSession],
    mode: str,
    reconnects: int,
    writers: int,
    seed: int,
    dwell: tuple[float, float] = (0.005, 0.05),
    drain: float = 10.0,
    wait_each: bool = False,
    app: str = APP,
    registered: Callable[[], Awaitable[object]] | None = None,
) -> Result:
    """The load of the module: the socket connects to ``https`` in turn (one: always the
    same node), each socket read for ``dwell`` seconds (a random time between the two);
    the channel is made and the writers write on the first. ``wait_each``: each socket's
    application registered before it is read (otherwise the first only; ``registered``,
    when given, is awaited instead for the first). Also the load of the cluster tests
    (tests/cluster/conftest.py: the socket moving between nodes)."""
    rnd = random.Random(seed)
    journal = Journal(sequenced=mode != "plain", app=app)
    events = f"/ari/events?app={app}"
    http = https[0]

    async def connect(i: int) -> aiohttp.ClientWebSocketResponse:
        ws = await https[i % len(https)].ws_connect(events, headers=journal.headers())
        if i == 0 and registered is not None:
            await registered()
        elif wait_each or i == 0:
            await wait_registered(https[i % len(https)], [app])
        return ws

    ws = await connect(0)
    async with http.post("/ari/channels", params={"endpoint": "Sim/load", "app": app}) as r:
        chan = (await r.json())["id"]
    deadline = time.monotonic() + 10
    while not journal.started:  # the channel is in the application
        if time.monotonic() > deadline:
            raise RuntimeError("no StasisStart within 10 s")
        await journal.read_for(ws, 0.1)
    produced = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal produced
        while not stop.is_set():
            produced += 1
            params = {"variable": "n", "value": str(produced)}
            async with http.post(f"/ari/channels/{chan}/variable", params=params) as r:
                if r.status != 204:
                    raise RuntimeError(f"setting the variable: {r.status}")

    started = time.monotonic()
    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    for i in range(1, reconnects + 1):
        await journal.read_for(ws, rnd.uniform(*dwell))
        # The socket drops: the client stops reading and goes (what is in flight
        # is not processed), then reconnects.
        await ws.close()
        ws = await connect(i)
    stop.set()
    await asyncio.gather(*tasks)
    seconds = time.monotonic() - started
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline and produced not in journal.seen:
        await journal.read_for(ws, 0.2)
    await journal.read_for(ws, 0.2)
    await ws.close()
    await http.delete(f"/ari/channels/{chan}")
    seen = journal.seen
    missing = [v for v in range(1, produced + 1) if v not in seen]
    return Result(
        mode,
        produced,
        sum(seen.values()),
        len(missing),
        sum(n - 1 for n in seen.values()),
        journal.lost_reported,
        reconnects,
        seconds,
        missing=missing,
        twice=[v for v, n in seen.items() if n > 1],
    )


async def run(url: str, mode: str, reconnects: int, writers: int, seed: int) -> Result:
    headers = {"Authorization": basic_auth(USER, PASSWORD)}
    async with aiohttp.ClientSession(base_url=url, headers=headers) as http:
        return await moves([http], mode, reconnects, writers, seed)


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
