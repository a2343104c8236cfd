"""Slowloris against pyari's HTTP server: does a legitimate client still get in?

python -m bench.slowloris [--connections 300] [--every 9] [--seconds 20]

A ``pyari serve`` process with the sample http.conf (Asterisk's session
limits) on a free loopback port; ``--connections`` connections from
127.0.0.1, each an unfinished request head that gets one more header line
every ``--every`` seconds (one the server closed is opened again at the next
round, as slowloris does).  Once the first round has opened every
connection and sent its first line, four times a second a legitimate client
(from 127.0.0.1 too) opens a fresh connection and does either
``GET /ari/asterisk/ping`` or an events WebSocket handshake.  Prints the
client's success rate, overall and in the first second of the attack, and the
attack's hold: connections open after the first round, and how many the
server had closed (and were opened again) over the run.  Loopback only,
bounded in time.  ``PYARI_HTTP_BACKEND=aiohttp`` measures the other HTTP core.

The server's code is what ``import pyari`` finds: set ``PYTHONPATH`` to an
older checkout's ``src`` to measure it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from dataclasses import dataclass

import aiohttp

from bench.server import ServerProcess, basic_auth

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"
HEAD = b"GET /ari/asterisk/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@dataclass
class Result:
    tries: int
    ok: int
    first_second_tries: int
    first_second_ok: int
    held_after_first_round: int = 0
    reopened: int = 0

    def __str__(self) -> str:
        rate = 100.0 * self.ok / max(self.tries, 1)
        first = 100.0 * self.first_second_ok / max(self.first_second_tries, 1)
        return (
            f"legitimate client: {self.ok}/{self.tries} ({rate:.0f}%) succeeded; "
            f"first second: {self.first_second_ok}/{self.first_second_tries} ({first:.0f}%); "
            f"attack: {self.held_after_first_round} connections open after its first round, "
            f"{self.reopened} closed by the server and opened again"
        )


@dataclass
class _Attack:
    opened: int = 0
    reopened: int = 0
    held_after_first_round: int = 0


async def _attack(
    port: int, count: int, every: float, stop: asyncio.Event, ready: asyncio.Event, tally: _Attack
) -> None:
    conns: list[asyncio.StreamWriter | None] = [None] * count

    async def refresh(i: int) -> None:
        writer = conns[i]
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.write(b"X-a: b\r\n")
                await writer.drain()
                return
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.write(HEAD)
        if conns[i] is not None:
            tally.reopened += 1
        tally.opened += 1
        conns[i] = writer

    try:
        while not stop.is_set():
            await asyncio.gather(*(refresh(i) for i in range(count)))
            if not ready.is_set():
                tally.held_after_first_round = sum(
                    w is not None and not w.is_closing() for w in conns
                )
                ready.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        for writer in conns:
            if writer is not None:
                writer.close()


async def _legitimate(base: str, i: int) -> bool:
    headers = {"Authorization": basic_auth(USER, PASSWORD)}
    timeout = aiohttp.ClientTimeout(total=3)
    connector = aiohttp.TCPConnector(force_close=True)
    try:
        async with aiohttp.ClientSession(
            headers=headers, connector=connector, timeout=timeout
        ) as http:
            if i % 2:
                async with http.get(f"{base}/ari/asterisk/ping") as r:
                    return r.status == 200
            ws = await http.ws_connect(f"{base}/ari/events?app=legit{i}")
            await ws.close()
            return True
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


async def run(url: str, port: int, count: int, every: float, seconds: float) -> Result:
    stop = asyncio.Event()
    ready = asyncio.Event()
    tally = _Attack()
    attack = asyncio.ensure_future(_attack(port, count, every, stop, ready, tally))
    await ready.wait()  # every connection of the first round is open and has sent a line
    start = time.monotonic()
    result = Result(0, 0, 0, 0)
    i = 0
    while time.monotonic() - start < seconds:
        began = time.monotonic() - start
        ok = await _legitimate(url, i)
        i += 1
        result.tries += 1
        result.ok += ok
        if began < 1.0:
            result.first_second_tries += 1
            result.first_second_ok += ok
        await asyncio.sleep(0.25)
    stop.set()
    await attack
    result.held_after_first_round = tally.held_after_first_round
    result.reopened = tally.reopened
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=300)
    p.add_argument("--every", type=float, default=9.0)
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    with ServerProcess() as srv:
        print(asyncio.run(run(srv.url, srv.port, args.connections, args.every, args.seconds)))


if __name__ == "__main__":
    main()
