"""Everything of a call set-up but SIP, in process: channel, dialplan, Stasis, events, ARI.

python -m bench.ari_setup_cpu [--calls 1000] [--repeat 5] [--profile FILE] [--cold]

The ARI side of ``bench.sip_setup_cpu`` without SIP and without sockets: a Sim phone
calls ``100@bench`` (``Stasis(hello,setup)``, then ``Hangup()``); the application is an
events session whose frames go to a list (as the httptools core's ``send_text_now``
would write them); it answers with ``POST /ari/channels/{id}/answer`` and hangs up with
``DELETE /ari/channels/{id}``, both fed as bytes to the httptools core's connection on a
stand-in transport. One call at a time on uvloop; ``time.process_time`` over ``--calls``
calls, min / median of ``--repeat`` (the machine is shared: the min is the figure). The
events are SIPp's: StasisStart, ChannelStateChange, ChannelHangupRequest, StasisEnd
(pretty JSON, as ``bench.sip_calls`` configures). ``--profile`` writes cProfile's summary
of one run to FILE and prints the Python function calls per set-up. ``--cold``: 10 ms of
idleness (an ``asyncio.sleep``) before each set-up, as at 100 set-ups/s, and the
``process_time`` of the set-ups only (summed; the sleeps' wake-ups left out).

Instructions per set-up: run it under ``valgrind --tool=callgrind`` with ``--repeat 1`` and
two ``--calls`` (e.g. 200 and 1200); (total_big - total_small) / 1000 is the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import dataclasses
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvloop

import pyari.config
from bench.rest import PASSWORD, USER
from bench.ws_rest_cpu import Transport as StandInTransport
from pyari.ari.events_ws import EventEncoder, EventSession
from pyari.config import load_config
from pyari.http.httptools_core import HttpProtocol
from pyari.server import Server

DIALPLAN = "[bench]\nexten => 100,1,Stasis(hello,setup)\nsame => n,Hangup()\n"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


class Transport(StandInTransport):
    """Keeps every write of the connection (the HTTP answers), not only the last."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        super().write(data)
        self.out.append(self.last)


def request(method: str, path: str) -> bytes:
    """The request as aiohttp sends it (``bench.sip_calls``' app)."""
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:8088\r\nAuthorization: {AUTH}\r\n"
        "Accept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
        "User-Agent: Python/3.11 aiohttp/3.14.5\r\nContent-Length: 0\r\n\r\n"
    ).encode()


@dataclasses.dataclass
class App:
    """The benchmark's ARI application in process: an events session of ``srv`` whose
    frames go to :attr:`frames`, and a connection of the httptools core on a stand-in
    transport (:attr:`transport` keeps the answers)."""

    session: EventSession
    writer: asyncio.Future[None]
    frames: list[bytes]
    conn: HttpProtocol
    transport: Transport

    async def close(self) -> None:
        self.session.close()
        await self.writer


def open_app(srv: Server, app: str) -> App:
    """:class:`App` for Stasis application ``app`` (pretty JSON, as the benchmarks' apps)."""
    frames: list[bytes] = []

    async def send(data: bytes) -> None:
        frames.append(data)

    def send_now(data: bytes) -> bool:
        frames.append(data)
        return True

    session = EventSession(srv.stasis, [app], send, EventEncoder("bench", True))
    session.send_now = send_now
    session.open()
    writer = asyncio.ensure_future(session.write_loop())
    assert srv.http is not None
    conn = HttpProtocol(srv.http, False)  # type: ignore[arg-type]
    transport = Transport()
    conn.connection_made(transport)
    return App(session, writer, frames, conn, transport)


async def cpu_per_call(call: Callable[[], Awaitable[None]], calls: int, cold: bool) -> float:
    """Process CPU µs per ``call()`` over ``calls`` of them one after the other; ``cold``: a
    10 ms sleep before each (as at 100 set-ups/s), the calls' own CPU time only summed."""
    if not cold:
        start = time.process_time()
        for _ in range(calls):
            await call()
        return (time.process_time() - start) / calls * 1e6
    cpu = 0.0
    for _ in range(calls):
        await asyncio.sleep(0.01)
        start = time.process_time()
        await call()
        cpu += time.process_time() - start
    return cpu / calls * 1e6


def config_dir() -> Path:
    """The default configuration with the bench's dialplan."""
    folder = Path(tempfile.mkdtemp(prefix="pyari-arisetup-"))
    defaults = Path(pyari.config.__file__).parent / "defaults"
    for conf in defaults.glob("*.conf"):
        shutil.copy(conf, folder / conf.name)
    (folder / "extensions.conf").write_text(DIALPLAN)
    return folder


async def start_server(folder: Path) -> Server:
    """A server on ``folder``'s configuration (any free ports, state under ``folder``), on
    the httptools core whatever ``PYARI_HTTP_BACKEND`` says: the harnesses feed its
    connections. The environment is as it was afterwards (the harnesses run in tests)."""
    env = {"PYARI_STATE_DIR": str(folder / "state"), "PYARI_HTTP_BACKEND": "httptools"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        cfg = load_config(folder)
        cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, bindport=0))
        srv = Server(cfg, config_dir=folder, sip_port=0)
        await srv.start()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return srv


async def run(args: argparse.Namespace) -> list[float]:
    folder = config_dir()
    srv = await start_server(folder)
    try:
        app = open_app(srv, "hello")
        frames, conn, transport = app.frames, app.conn, app.transport
        phone = srv.sim.phone("alice", listen=False)

        async def call() -> None:
            chan = phone.call("100", "bench")
            while chan.control is None:
                await asyncio.sleep(0)
            conn.data_received(request("POST", f"/ari/channels/{chan.id}/answer"))
            while conn.busy:
                await asyncio.sleep(0)
            conn.data_received(request("DELETE", f"/ari/channels/{chan.id}"))
            while conn.busy:
                await asyncio.sleep(0)
            while not chan.destroyed:
                await asyncio.sleep(0)
            for _ in range(3):  # what the destruction scheduled
                await asyncio.sleep(0)

        for _ in range(200):  # warm-up
            await asyncio.wait_for(call(), 5)
        per_call: list[float] = []
        for i in range(args.repeat):
            frames.clear()
            transport.out.clear()
            prof = cProfile.Profile() if args.profile and i == 0 else None
            if prof is not None:
                prof.enable()
            per_call.append(await cpu_per_call(call, args.calls, args.cold))
            if prof is not None:
                prof.disable()
                out = io.StringIO()
                st = pstats.Stats(prof, stream=out).strip_dirs()
                calls = st.total_calls / args.calls  # type: ignore[attr-defined]
                print(f"Python function calls per set-up (cProfile): {calls:.1f}", file=sys.stderr)
                st.sort_stats("tottime").print_stats(40)
                st.sort_stats("cumulative").print_stats(40)
                args.profile.write_text(out.getvalue())
        kinds = list(dict.fromkeys(json.loads(f)["type"] for f in frames[:8]))
        answers = sum(1 for o in transport.out if o.startswith(b"HTTP/1.1 204"))
        print(
            f"{len(frames) / args.calls:.1f} events and {answers / args.calls:.1f} HTTP 204s "
            f"per call: {', '.join(kinds)}",
            file=sys.stderr,
        )
        await app.close()
        return per_call
    finally:
        await srv.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--profile", type=Path, help="write a cProfile summary of one run here")
    p.add_argument(
        "--cold", action="store_true", help="10 ms idle before each set-up; CPU of the set-ups only"
    )
    args = p.parse_args()
    per_call = uvloop.run(run(args))
    print(
        f"CPU per call set-up{' (cold)' if args.cold else ''}, all but SIP, "
        f"over {args.repeat} x {args.calls} calls: "
        f"min {min(per_call):.1f} us, median {statistics.median(per_call):.1f} us"
    )


if __name__ == "__main__":
    main()
