"""Run every benchmark (bounded, loopback only) and write BENCHMARKS.md.

python -m bench.run            # against a pyari it starts (about 6 minutes)
python -m bench.run --url URL  # the REST, events and originate figures of any ARI server
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bench import events, memory, originate, rest
from bench.server import ServerProcess, basic_auth

ROOT = Path(__file__).resolve().parent.parent
AUTH = (rest.USER, rest.PASSWORD)


def machine() -> str:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def spread(values: Sequence[float], fmt: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    return f"{fmt(min(values))} / {fmt(statistics.median(values))} / {fmt(max(values))}"


def _us(ms: float) -> str:
    return f"{ms * 1000:.0f}"


def _k(v: float) -> str:
    return f"{v / 1000:.1f}k"


@asynccontextmanager
async def held_calls(url: str, calls: int) -> AsyncIterator[int]:
    """``calls`` Local calls held in Stasis(hello) (two channels each) while inside."""
    headers = {"Authorization": basic_auth(*AUTH)}
    async with aiohttp.ClientSession(url, headers=headers) as http:
        ws = await http.ws_connect("/ari/events?app=hello")
        sem = asyncio.Semaphore(16)

        async def one() -> None:
            async with sem:
                params = {"endpoint": "Local/1000@ARI-test", "app": "hello"}
                async with http.post("/ari/channels", params=params) as r:
                    r.raise_for_status()

        await asyncio.gather(*(one() for _ in range(calls)))
        chans: list[dict[str, object]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with http.get("/ari/channels") as r:
                chans = await r.json()
            if len(chans) >= 2 * calls:
                break
            await asyncio.sleep(0.2)
        try:
            yield len(chans)
        finally:
            async with http.get("/ari/channels") as r:
                chans = await r.json()
            for chan in chans:
                async with http.delete(f"/ari/channels/{chan['id']}") as r:
                    await r.read()
            await ws.close()


async def rest_rows(url: str, repeat: int, seconds: float, held: int) -> list[str]:
    rows: list[str] = []

    async def measure(label: str, path: str) -> None:
        for threads, conns in ((2, 16), (1, 1)):
            await rest.arun_wrk(url, path, threads, conns, 1)  # warm-up
            runs = [await rest.arun_wrk(url, path, threads, conns, seconds) for _ in range(repeat)]
            bad = sum(r.non_2xx + r.errors for r in runs)
            rows.append(
                f"| {label} | -t{threads} -c{conns} | "
                f"{spread([r.requests_per_s for r in runs], _k)} | "
                f"{spread([r.p50_ms for r in runs], _us)} | "
                f"{spread([r.p99_ms for r in runs], _us)} | {bad} |"
            )

    await measure("GET /ari/asterisk/info", "/ari/asterisk/info")
    await measure("GET /ari/channels, 0 channels", "/ari/channels")
    if held:
        async with held_calls(url, held) as n:
            await measure(f"GET /ari/channels, {n} channels", "/ari/channels")
    return rows


async def originate_rows(url: str, calls: int, repeat: int) -> list[str]:
    user, password = AUTH
    await originate.run(url, user, password, 50, 8)  # warm-up
    rows = []
    for k in (1, 8, 32):
        runs = [await originate.run(url, user, password, calls, k) for _ in range(repeat)]
        failed = sum(r.failed for r in runs)
        rows.append(
            f"| {calls} calls, {k} in flight | {spread([r.calls_per_s for r in runs])} | "
            f"{spread([r.latency_p50_ms for r in runs])} | "
            f"{spread([r.latency_p99_ms for r in runs])} | "
            f"{spread([r.events_per_s for r in runs])} | {failed} |"
        )
    return rows


async def events_rows(url: str, repeat: int, seconds: float, pid: int | None) -> list[str]:
    await events.run(url, seconds=1, server_pid=pid)  # warm-up
    runs = [await events.run(url, seconds=seconds, server_pid=pid) for _ in range(repeat)]
    lost = sum(max(r.expected - r.received, 0) for r in runs)
    cpu = (f"{spread([r.server_cpu_pct for r in runs])} | " if pid else "n/a | ") + spread(
        [r.reader_cpu_pct for r in runs]
    )
    return [
        f"| {runs[0].events_per_request} apps on one socket, wrk -t1 -c8 | "
        f"{spread([r.events_per_s for r in runs], _k)} | "
        f"{spread([r.requests_per_s for r in runs], _k)} | {cpu} | {lost} |"
    ]


def extra_benchmark(module: str, args: list[str], timeout: float) -> list[str]:
    """Another team's benchmark, run as its own process, if it is there and works."""
    if importlib.util.find_spec(module) is None:
        return [f"`{module}` is not present."]
    try:
        out = subprocess.run(
            [sys.executable, "-m", module, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return [f"`python -m {module}` did not finish within {timeout:.0f} s."]
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return [f"`python -m {module}` failed:", "", "```", *tail, "```"]
    return [
        f"`{' '.join(['python -m', module, *args])}`",
        "",
        "```",
        *out.stdout.rstrip().splitlines(),
        "```",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", help="measure this ARI server instead of starting pyari")
    p.add_argument("--calls", type=int, default=500)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seconds", type=float, default=5, help="length of each wrk run")
    p.add_argument("--held", type=int, default=200, help="calls held for GET /channels")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = p.parse_args()
    started = time.monotonic()
    mem_rows: list[dict[str, object]] = []
    extras: list[str] = []
    if args.url:
        url: str = args.url
        rest_r = asyncio.run(rest_rows(url, args.repeat, args.seconds, args.held))
        ev_r = asyncio.run(events_rows(url, args.repeat, args.seconds, None))
        orig = asyncio.run(originate_rows(url, args.calls, args.repeat))
        target = url
    else:
        with ServerProcess() as srv:
            time.sleep(0.5)
            rest_r = asyncio.run(rest_rows(srv.url, args.repeat, args.seconds, args.held))
        with ServerProcess() as srv:
            time.sleep(0.5)
            ev_r = asyncio.run(events_rows(srv.url, args.repeat, args.seconds, srv.pid))
        with ServerProcess() as srv:
            time.sleep(0.5)
            orig = asyncio.run(originate_rows(srv.url, args.calls, args.repeat))
        with ServerProcess() as srv:
            time.sleep(0.5)
            mem_rows = asyncio.run(memory.measure(srv, [100, 500]))
        gc.collect()
        extras += ["", "## Client: pyari.client decode + dispatch", ""]
        extras += extra_benchmark("bench.client_dispatch", [], 120)
        extras += ["", "## REST over the events WebSocket against HTTP, one connection", ""]
        extras += extra_benchmark("bench.ws_rest", [], 120)
        extras += ["", "## Media engine tick", ""]
        extras += extra_benchmark("bench.media_tick", [], 180)
        extras += ["", "## SIP calls (SIPp on loopback)", ""]
        extras += extra_benchmark("bench.sip_calls", [], 300)
        extras += ["", "## Events across reconnects, one node (issue #14)", ""]
        extras += extra_benchmark("bench.event_resume", [], 180)
        extras += ["", "## Cluster: nodes as processes with NATS JetStream (issue #14)", ""]
        extras += extra_benchmark("bench.cluster", [], 600)
        extras += ["", "## REST forwarded to another node (issue #14)", ""]
        extras += extra_benchmark("bench.cluster_forward", [], 180)
        extras += ["", "## Codecs and SRTP: CPU per bridged call (issue #17)", ""]
        extras += extra_benchmark("bench.codecs", [], 300)
        target = "pyari (started by the suite, embedded defaults, pretty = yes)"
    lines = [
        "# Benchmarks",
        "",
        f"Taken {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench.run` "
        f"in {time.monotonic() - started:.0f} s.",
        f"Machine: {machine()}.",
        "Client and server share the machine's cores over loopback: wrk and the Python",
        "client use CPU the server would otherwise have, so every figure understates the",
        "server alone. Each figure is min / median / max over "
        f"{args.repeat} runs; wrk runs last {args.seconds:g} s.",
        f"Target: {target}.",
        "",
        "## REST (wrk --latency)",
        "",
        "Asterisk 23.4.1 on this machine: GET /ari/asterisk/info 45k–57k req/s, p99 0.9–2.3 ms",
        "(-t2 -c16); one connection 8.4k req/s, p50 113 µs; GET /ari/channels with 0 channels",
        "60k–78k req/s, with 200–400 channels 3.8–8.7 ms per request.",
        "Goals: ≥ 57k req/s, p99 ≤ 1 ms; one connection ≥ 8.4k req/s, p50 ≤ 100 µs;",
        "GET /ari/channels with 400 channels ≤ 1 ms.",
        "",
        "| request | wrk | req/s | p50 (µs) | p99 (µs) | non-2xx/errors |",
        "|---|---|---|---|---|---|",
        *rest_r,
        "",
        "## Events to one WebSocket",
        "",
        "One socket registers N applications, all subscribed to one channel held in",
        "Stasis; wrk (its own process, -t1 -c8) posts `POST /channels/{id}/variable`, and",
        "each request makes N ChannelVarset events on the socket. The reader only counts",
        "frames; its CPU shows it is not the limit. Asterisk 23.4.1: 10k–12.6k events/s",
        "(originate load). Goal ≥ 25k/s.",
        "",
        "| load | events/s | requests/s | server CPU % | reader CPU % | lost |",
        "|---|---|---|---|---|---|",
        *ev_r,
        "",
        "## Originate into Stasis, hang up at StasisStart",
        "",
        "`POST /ari/channels?endpoint=Local/1000@ARI-test&app=hello`; the client hangs up",
        "`;1` on its StasisStart; a call ends when both halves are destroyed.",
        "Asterisk 23.4.1 on this machine: 520–630 calls/s, POST → both StasisStart p50 ≈ 500 ms,",
        "10k–12.6k events/s. Goals: ≥ 1,200 calls/s at 8 in flight, p50 ≤ 5 ms.",
        "",
        "| load | calls/s | POST → both StasisStart p50 (ms) | p99 (ms) | events/s | failed |",
        "|---|---|---|---|---|---|",
        *orig,
    ]
    if mem_rows:
        lines += [
            "",
            "## Memory (RSS of the server process)",
            "",
            "Asterisk 23.4.1: 62.5 MB idle, about 40 KB per channel, about 100 MB after load.",
            "Goals: ≤ 60 MB idle, ≤ 20 KB per channel, back to idle after load.",
            "",
            "| state | RSS (MB) | per channel (KB) |",
            "|---|---|---|",
        ]
        for row in mem_rows:
            per = row.get("per_channel_kib", "")
            rss = row["rss_kib"]
            assert isinstance(rss, int)
            lines.append(f"| {row['what']} | {rss / 1024:.1f} | {per} |")
    lines += extras
    notes = ROOT / "bench" / "notes.md"
    if notes.exists() and not args.url:
        lines += ["", notes.read_text().rstrip()]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
