"""The whole server side of a SIP call set-up, in process: SIP, PJSIP glue, RTP, Stasis, ARI.

python -m bench.pjsip_setup_cpu [--calls 500] [--repeat 5] [--cold] [--profile FILE]

The instrument for the PJSIP channel glue (``channels/pjsip.py``, ``rtp_media.py``, SDP,
the media service) that also shows the whole path of ``bench.sip_setup_cpu`` without
SIPp, the app's process or the kernel's UDP: a real :class:`~pyari.server.Server` on
uvloop with ``bench.sip_calls``' pjsip.conf and dialplan (``100`` →
``Stasis(bench,setup)``). SIPp's INVITE, ACK and 200 to our BYE (the texts of
``bench.sip_ua_cpu``) are fed as datagrams to the SIP UDP endpoint's protocol; a
stand-in datagram transport keeps what the server sends (100 Trying, 200 OK, BYE). The
application ``bench`` is an events session whose frames go to a list; it answers with
``POST /ari/channels/{id}/answer`` and hangs up with ``DELETE /ari/channels/{id}``, fed
as bytes to the httptools core (the pieces of ``bench.ari_setup_cpu``). RTP sockets are
real (bound and closed per call, as in the server). One set-up at a time.

Hot (default): ``time.process_time`` over ``--calls`` set-ups, min / median of
``--repeat``. ``--cold``: a 10 ms sleep between set-ups (what every set-up meets at
100/s on a shared VM), the process time of the set-ups only, summed. ``--profile``
writes cProfile's summary of one run to FILE (its ncalls / calls is the Python function
calls per set-up). The figure without noise is valgrind's instruction count:
``valgrind --tool=callgrind python -m bench.pjsip_setup_cpu --manual-ticks --calls N
--repeat 1`` for two values of N; the difference over the difference of N is the
instructions per set-up. ``--manual-ticks`` stops the media clock and ticks it once
after every other set-up (what a set-up meets at 100/s): with the clock running its
ticks follow the wall clock, which valgrind slows fifty-fold, and the count would vary
with it (by ~1.5 M instructions per set-up from run to run). What remains varies by
~+-1-2 % between runs (the SIP transactions' timers still follow the wall clock, RTP ports
are random): compare several runs of each side, with ``PYTHONHASHSEED=0``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import json
import pstats
import re
import shutil
import statistics
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.ari_setup_cpu import (
    Transport,
    config_dir,
    cpu_per_call,
    open_app,
    request,
    start_server,
)
from bench.sip_calls import configure
from bench.sip_ua_cpu import ACK, INVITE, PHONE, reply_200
from pyari.core.channel import Channel
from pyari.http.httptools_core import HttpProtocol
from pyari.server import Server

SERVICE = "100"
"""The extension SIPp calls (``Stasis(bench,setup)`` in ``bench.sip_calls``' dialplan)."""
_TO_TAG = re.compile(rb"\r\nTo:[^\r]*;tag=([^;\r]+)", re.IGNORECASE)


class DatagramTransport(asyncio.DatagramTransport):
    """The SIP endpoint's UDP socket stand-in: keeps every datagram sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[bytes, Any]] = []

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.sent.append((bytes(data), addr))

    def close(self) -> None:
        pass


def sip_text(template: str, n: int, **kw: str) -> bytes:
    """One of ``bench.sip_ua_cpu``'s SIPp messages for call ``n``, to our extension."""
    return template.format(n=n, **kw).replace("sip:setup@", f"sip:{SERVICE}@").encode()


@dataclasses.dataclass
class Bench:
    """A started server, its SIP endpoint fed by hand and the ARI app's connection."""

    srv: Server
    feed: Callable[[bytes, tuple[str, int]], None]
    udp: DatagramTransport
    conn: HttpProtocol
    http: Transport
    frames: list[bytes]
    n: int = 0
    manual_ticks: bool = False
    """The media clock is stopped and ticked after every other set-up (as at 100/s)."""
    kinds: dict[bytes, int] = dataclasses.field(default_factory=dict)
    """What the server sent (a response's status, a request's method) and how often."""

    async def sent(self, start: bytes) -> bytes:
        """The datagram the server sent beginning with ``start`` (once it has)."""
        while True:
            for data, _ in self.udp.sent:
                if data.startswith(start):
                    return data
            await asyncio.sleep(0)

    async def settle(self, done: Callable[[], bool]) -> None:
        while not done():
            await asyncio.sleep(0)

    async def call(self) -> None:
        """One set-up: INVITE → Stasis → answer (200, ACK) → DELETE (BYE, its 200)."""
        self.n += 1
        n = self.n
        ua = self.srv.pjsip.ua
        self.udp.sent.clear()
        self.feed(sip_text(INVITE, n), PHONE)
        chan: Channel = next(reversed(ua.calls.values())).data  # type: ignore[assignment]
        await self.settle(lambda: chan.control is not None)
        self.conn.data_received(request("POST", f"/ari/channels/{chan.id}/answer"))
        ok = await self.sent(b"SIP/2.0 200")
        tag = _TO_TAG.search(ok)
        assert tag is not None, ok
        self.feed(sip_text(ACK, n, tag=tag.group(1).decode()), PHONE)
        self.conn.data_received(request("DELETE", f"/ari/channels/{chan.id}"))
        self.feed(reply_200(await self.sent(b"BYE ")), PHONE)
        await self.settle(lambda: chan.destroyed and not self.conn.busy)
        for _ in range(3):  # what the destruction scheduled
            await asyncio.sleep(0)
        if self.manual_ticks and n % 2:
            self.srv.media.clock.tick()
        for data, _ in self.udp.sent:
            words = data.split(b" ", 2)
            kind = words[1] if data.startswith(b"SIP/") else words[0]
            self.kinds[kind] = self.kinds.get(kind, 0) + 1


async def started(
    folder: Path, *, manual_ticks: bool = False
) -> tuple[Bench, Callable[[], Awaitable[None]]]:
    """The server on ``folder``'s configuration with the app's session and connection;
    the coroutine function stops it. ``manual_ticks``: see :attr:`Bench.manual_ticks`."""
    srv = await start_server(folder)
    if manual_ticks:
        srv.media.clock.stop()
    service = srv.pjsip.service
    assert service is not None and srv.http is not None
    endpoint = next(iter(service.transports.values()))
    real = endpoint.udp
    assert real is not None
    protocol = real.get_protocol()
    udp = DatagramTransport()
    endpoint.udp = udp
    app = open_app(srv, "bench")
    feed = protocol.datagram_received  # type: ignore[attr-defined]

    async def stop() -> None:
        await app.close()
        endpoint.udp = real
        await srv.stop()

    bench = Bench(srv, feed, udp, app.conn, app.transport, app.frames, manual_ticks=manual_ticks)
    return bench, stop


def bench_config() -> Path:
    """The default configuration with ``bench.sip_calls``' pjsip.conf and dialplan only."""
    folder = config_dir()
    (folder / "extensions.conf").write_text("")
    configure(0, 5998, 5997)(folder)
    return folder


async def run(args: argparse.Namespace) -> list[float]:
    folder = bench_config()
    try:
        bench, stop = await started(folder, manual_ticks=args.manual_ticks)
        try:
            return await measure(bench, args)
        finally:
            await stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def measure(bench: Bench, args: argparse.Namespace) -> list[float]:
    for _ in range(args.warmup):
        await asyncio.wait_for(bench.call(), 5)
    per_call: list[float] = []
    for i in range(args.repeat):
        bench.kinds.clear()
        bench.frames.clear()
        bench.http.out.clear()
        prof = cProfile.Profile() if args.profile and i == 0 else None
        if prof is not None:
            prof.enable()
        per_call.append(await cpu_per_call(bench.call, args.calls, args.cold))
        if prof is not None:
            prof.disable()
            out = io.StringIO()
            st = pstats.Stats(prof, stream=out).strip_dirs()
            total: int = st.total_calls  # type: ignore[attr-defined]
            out.write(f"{args.calls} set-ups; {total / args.calls:.1f} calls each\n")
            st.sort_stats("tottime").print_stats(60)
            st.sort_stats("cumulative").print_stats(60)
            st.sort_stats("ncalls").print_stats(60)
            args.profile.write_text(out.getvalue())
    kinds = list(dict.fromkeys(json.loads(f)["type"] for f in bench.frames[:8]))
    answers = sum(1 for o in bench.http.out if o.startswith(b"HTTP/1.1 204"))
    sip = ", ".join(f"{v / args.calls:.1f} {k.decode()}" for k, v in bench.kinds.items())
    print(
        f"{len(bench.frames) / args.calls:.1f} events and {answers / args.calls:.1f} HTTP 204s "
        f"per call: {', '.join(kinds)}; SIP sent per call: {sip}; "
        f"SIP calls left: {len(bench.srv.pjsip.ua.calls)}",
        file=sys.stderr,
    )
    return per_call


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=200, help="set-ups before measuring")
    p.add_argument("--cold", action="store_true", help="10 ms of idleness before each set-up")
    p.add_argument("--profile", type=Path, help="write a cProfile summary of one run here")
    p.add_argument(
        "--manual-ticks",
        action="store_true",
        help="stop the media clock, tick it after every other set-up (deterministic)",
    )
    args = p.parse_args()
    per_call = uvloop.run(run(args))
    kind = "cold (10 ms apart)" if args.cold else "hot"
    print(
        f"CPU per SIP call set-up, {kind}, over {args.repeat} x {args.calls} calls: "
        f"min {min(per_call):.1f} us, median {statistics.median(per_call):.1f} us"
    )


if __name__ == "__main__":
    main()
