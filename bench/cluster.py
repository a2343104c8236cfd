"""The cluster's benchmarks (issue #14): pyari nodes as processes on loopback with a real
nats-server (``pyari.cluster.demo.LocalCluster``, as ``make cluster-demo``; no Kamailio).

python -m bench.cluster [--calls 1500] [--in-flight 8] [--seconds 4] [--reconnects 100]

1. **Originate into Stasis, 1, 2 and 3 nodes.** Node *i* has its own application
   ``b<i>`` (``Local/<i>@bench`` enters ``Stasis(b<i>)``); one client process per node
   (``bench.originate``'s loop: POST /channels, hang up ``;1`` at its StasisStart, a call
   ends when both halves are destroyed) originates ``--calls`` calls with ``--in-flight``
   in flight; the clients start together. Calls/s = all calls / the slowest client's time.
   The client (``--client lean``, the default) speaks raw keep-alive HTTP with pre-built
   requests and decodes only the fields it reads (msgspec), so that it takes little of the
   two cores the nodes need (``--client originate``: bench.originate's aiohttp client).
   The nodes run with ``pretty = no``. The CPU each side used is reported, and the node
   CPU per call: N nodes with a core each would carry N / (CPU per call) calls/s, which a
   machine shared with the clients (and other work) cannot show directly.
   Also one node with the cluster switched off (``enabled = no``): what membership and
   ownership records cost. Goal: ≥ 1.7× with 2 nodes over 1.
2. **Events through JetStream to one socket.** ``bench.events`` (wrk posts ``POST
   /channels/{id}/variable``; 8 applications on one socket subscribed to the channel, so
   each request is 8 ChannelVarset events) against a cluster node, whose application logs
   are JetStream streams; the same against a node without the cluster (in-process logs).
   Goal ≥ 25k events/s.
3. **REST, local against forwarded** (``bench.cluster_forward.measure``, cluster-forward's
   client) on two full node processes: ``GET /bridges/{id}`` of a bridge of n2, one in
   flight on one keep-alive connection, asked of n2 (local) and of n1 (forwarded over
   NATS). Goal: forwarding adds ≤ 0.5 ms at p50.
4. **Events lost across reconnects.** ``bench.event_resume`` (writers setting a variable in
   a loop, the application's socket dropped and reconnected ``--reconnects`` times) against
   a cluster node: ``plain`` (an unmodified client) and ``sequenced`` (``Pyari-Resume``,
   goal 0 lost, 0 duplicates); then the same with two nodes, the socket reconnecting to
   the *other* node each time (the application's home moves every time; the channel and
   the writers stay on n1), ``sequenced``.

The client processes share the machine's cores with the nodes and nats-server: every figure
understates the servers alone (the report says how many cores there are). Bounded: each
step a few seconds; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from bench import event_resume, events, originate
from bench.rest import parse_wrk, wrk_path
from bench.server import wait_registered
from pyari.cluster.demo import PASSWORD, USER, LocalCluster, basic_auth

BENCH_DIALPLAN = """
; bench.cluster: one application per node
[bench]
exten => _X,1,Answer()
same => n,Stasis(b${EXTEN})
same => n,Hangup()
"""


@dataclass
class Scaling:
    nodes: int
    clustered: bool
    calls: int
    seconds: float
    failed: int
    p50_ms: float
    nodes_cpu: float
    """% of one core the node processes used together over the run."""
    nats_cpu: float
    clients_cpu: float

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


# --------------------------------------------------------------------- 1. originate


class _Chan(msgspec.Struct):
    id: str
    name: str


class _Event(msgspec.Struct):
    """The fields of an event the lean client reads (msgspec skips the others)."""

    type: str
    channel: _Chan | None = None


class _Http:
    """One keep-alive HTTP/1.1 connection: pre-built requests, answers with Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Http:
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, data: bytes) -> tuple[int, bytes]:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
        return status, (await self.reader.readexactly(length) if length else b"")

    def close(self) -> None:
        self.writer.close()


async def lean_run(url: str, app: str, endpoint: str, calls: int, in_flight: int) -> dict[str, Any]:
    """``bench.originate``'s loop (POST /channels, hang up ``;1`` at its StasisStart, a call
    ends when both halves are destroyed) with a client that costs little CPU: raw
    keep-alive HTTP with pre-built requests, events decoded only for the fields it needs."""
    host, _, port_text = url.removeprefix("http://").partition(":")
    port = int(port_text)
    auth = basic_auth()
    post = (
        f"POST /ari/channels?endpoint={endpoint}&app={app} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {auth}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    decode = msgspec.json.Decoder(_Event).decode
    decode_chan = msgspec.json.Decoder(_Chan).decode
    started: dict[str, asyncio.Future[str]] = {}
    """base name → future set with the ``;1`` half's id at its StasisStart."""
    both: dict[str, int] = {}
    at_stasis: dict[str, float] = {}
    destroyed: dict[str, asyncio.Event] = {}
    loop = asyncio.get_running_loop()

    def base(name: str) -> str:
        return name.rpartition(";")[0] or name

    async with aiohttp.ClientSession(url, headers={"Authorization": auth}) as session:
        ws = await session.ws_connect(f"/ari/events?app={app}", max_msg_size=0)
        deadline = time.monotonic() + 10  # a cluster node registers the app just after
        while time.monotonic() < deadline:
            async with session.get(f"/ari/applications/{app}") as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.05)

        async def reader() -> None:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                ev = decode(msg.data)
                chan = ev.channel
                if chan is None:
                    continue
                key = base(chan.name)
                if ev.type == "StasisStart":
                    both[key] = both.get(key, 0) + 1
                    if both[key] == 2:
                        at_stasis[key] = time.perf_counter()
                    if not chan.name.endswith(";2"):
                        fut = started.setdefault(key, loop.create_future())
                        if not fut.done():
                            fut.set_result(chan.id)
                elif ev.type == "ChannelDestroyed":
                    done = destroyed.setdefault(key, asyncio.Event())
                    both[key + "#d"] = both.get(key + "#d", 0) + 1
                    if both[key + "#d"] == 2:
                        done.set()

        read_task = asyncio.create_task(reader())
        conns = [await _Http.open(host, port) for _ in range(in_flight)]
        todo = calls
        failed = 0
        latencies: list[float] = []

        async def caller(conn: _Http) -> None:
            nonlocal todo, failed
            while todo > 0:
                todo -= 1
                posted = time.perf_counter()
                status, body = await conn.send(post)
                if status != 200:
                    failed += 1
                    continue
                key = base(decode_chan(body).name)
                fut = started.setdefault(key, loop.create_future())
                done = destroyed.setdefault(key, asyncio.Event())
                try:
                    one = await asyncio.wait_for(fut, 10)
                    delete = (
                        f"DELETE /ari/channels/{one} HTTP/1.1\r\nHost: {host}\r\n"
                        f"Authorization: {auth}\r\nContent-Length: 0\r\n\r\n"
                    ).encode()
                    await conn.send(delete)
                    await asyncio.wait_for(done.wait(), 10)
                except TimeoutError:
                    failed += 1
                    continue
                latencies.append((at_stasis.get(key, posted) - posted) * 1000)
                started.pop(key, None)
                destroyed.pop(key, None)
                at_stasis.pop(key, None)
                both.pop(key, None)
                both.pop(key + "#d", None)

        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(caller(c) for c in conns)), 120)
        seconds = time.perf_counter() - t0
        for c in conns:
            c.close()
        read_task.cancel()
        await ws.close()
    latencies.sort()
    return {
        "calls": calls,
        "seconds": seconds,
        "failed": failed,
        "latency_p50_ms": statistics.median(latencies) if latencies else -1.0,
    }


def worker(url: str, app: str, endpoint: str, calls: int, in_flight: int, lean: bool) -> None:
    """One client process: warm up, say ``ready``, wait for ``go`` on stdin, measure, print."""

    async def once(n: int) -> dict[str, Any]:
        if lean:
            return await lean_run(url, app, endpoint, n, in_flight)
        res = await originate.run(
            url, USER, PASSWORD, n, in_flight, app=app, endpoint=endpoint, time_limit=120
        )
        return res.row()

    async def go() -> dict[str, Any]:
        await once(50)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu = _self_cpu()
        res = await once(calls)
        return {**res, "cpu_s": _self_cpu() - cpu}

    print(json.dumps(asyncio.run(go())), flush=True)


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def scaling(
    root: Path, nodes: int, clustered: bool, calls: int, in_flight: int, client: str
) -> Scaling:
    cluster = LocalCluster(
        root,
        nodes,
        cluster="bench",
        kamailio=False,
        quiet=True,
        clustered=clustered,
        event_retention=0,
        stasis_grace=0,
        extra={"extensions.conf": BENCH_DIALPLAN, "ari.conf": "[general]\npretty = no\n"},
    )
    async with cluster:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.cluster",
                    "--worker",
                    node.url,
                    f"b{node.index}",
                    f"Local/{node.index}@bench",
                    str(calls),
                    str(in_flight),
                    client,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for node in cluster.nodes
        ]
        try:
            for p in procs:
                assert p.stdout is not None
                line = await asyncio.to_thread(p.stdout.readline)
                if line.strip() != "ready":
                    raise RuntimeError(f"a client did not start: {line!r}\n{cluster.logs(800)}")
            servers = [n.proc.pid for n in cluster.nodes if n.proc is not None]
            if cluster.nats is not None:
                servers.append(cluster.nats.pid)
            before = [_cpu(pid) for pid in servers]
            started = time.monotonic()
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            rows = []
            for p in procs:
                out, _ = await asyncio.to_thread(p.communicate, timeout=180)
                rows.append(json.loads(out.strip().splitlines()[-1]))
            wall = time.monotonic() - started
            used = [_cpu(pid) - b for pid, b in zip(servers, before, strict=True)]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
    return Scaling(
        nodes,
        clustered,
        sum(r["calls"] for r in rows),
        max(r["seconds"] for r in rows),
        sum(r["failed"] for r in rows),
        max(r["latency_p50_ms"] for r in rows),
        nodes_cpu=sum(used[:nodes]) / wall * 100,
        nats_cpu=sum(used[nodes:]) / wall * 100,
        clients_cpu=sum(r["cpu_s"] for r in rows) / wall * 100,
    )


# --------------------------------------------------------------------- 2. events


async def events_to_one_socket(root: Path, clustered: bool, seconds: float) -> events.EventsResult:
    cluster = LocalCluster(
        root, 1, cluster="bench", kamailio=False, quiet=True, clustered=clustered,
        event_retention=60, stasis_grace=0,
    )  # fmt: skip
    async with cluster:
        node = cluster.nodes[0]
        assert node.proc is not None
        await events.run(node.url, seconds=1, server_pid=node.proc.pid)  # warm-up
        return await events.run(node.url, seconds=seconds, server_pid=node.proc.pid)


async def events_from_another_node(root: Path, seconds: float, apps: int = 8) -> dict[str, float]:
    """The socket (``hello`` and ``bench1..``) on n1; the channel, its subscriptions and the
    load (wrk) on n2: every event is made on n2 and reaches n1's socket through NATS."""
    cluster = LocalCluster(
        root, 2, cluster="bench", kamailio=False, quiet=True, event_retention=60, stasis_grace=0
    )
    names = ["hello", *(f"bench{i}" for i in range(1, apps))]
    auth = {"Authorization": basic_auth()}
    async with (
        cluster,
        aiohttp.ClientSession(cluster.nodes[0].url, headers=auth) as n1,
        aiohttp.ClientSession(cluster.nodes[1].url, headers=auth) as n2,
    ):
        ws = await n1.ws_connect(f"/ari/events?app={','.join(names)}", max_msg_size=0)
        for http in (n1, n2):  # registered on n1, and known on n2 (a remote handler)
            await wait_registered(http, names)
        chan = await events.call_for_apps(n2, names)
        frames = events.Frames(ws)
        await asyncio.sleep(0.5)
        node2, home = cluster.nodes[1], cluster.nodes[0]
        assert node2.proc is not None and home.proc is not None
        pids = [home.proc.pid, node2.proc.pid]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(events.POST_LUA)
        try:
            target = f"{node2.url}/ari/channels/{chan}/variable?variable=BENCH&value=1"
            cmd = [
                wrk_path(), "-t1", "-c8", f"-d{seconds:g}s", "--latency", "-s", f.name,
                "-H", f"Authorization: {auth['Authorization']}", target,
            ]  # fmt: skip
            before = frames.received
            cpu0 = [_cpu(pid) for pid in pids]
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            out, _ = await proc.communicate()
            elapsed = time.perf_counter() - t0
            during = frames.received - before
            cpu = [(_cpu(pid) - c) / elapsed * 100 for pid, c in zip(pids, cpu0, strict=True)]
            wrk = parse_wrk(out.decode())
            expected = (wrk.requests - wrk.non_2xx) * apps
            deadline = time.monotonic() + 15
            while frames.received - before < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            os.unlink(f.name)
        frames.task.cancel()
        await ws.close()
    return {
        "events_per_s": during / elapsed,
        "requests_per_s": wrk.requests_per_s,
        "home_cpu": cpu[0],
        "other_cpu": cpu[1],
        "lost": max(expected - (frames.received - before), 0),
    }


# --------------------------------------------------------------------- 3. forwarded REST


async def forwarded(root: Path, requests: int) -> dict[str, float]:
    from bench import cluster_forward

    cluster = LocalCluster(root, 2, cluster="bench", kamailio=False, quiet=True)
    async with cluster:
        n1, n2 = cluster.nodes
        status = await asyncio.to_thread(_post, n2.url, "/ari/bridges?bridgeId=n2-bench")
        if status != 200:
            raise RuntimeError(f"POST /bridges on n2: {status}")
        return await asyncio.to_thread(
            cluster_forward.measure, n2.url, n1.url, "/bridges/n2-bench", requests, 3
        )


def _post(base: str, path: str) -> int:
    import urllib.request

    req = urllib.request.Request(
        base + path, method="POST", headers={"Authorization": basic_auth()}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return int(r.status)


# --------------------------------------------------------------------- 4. reconnects


async def reconnects(root: Path, count: int) -> list[event_resume.Result]:
    cluster = LocalCluster(
        root, 1, cluster="bench", kamailio=False, quiet=True, event_retention=60, stasis_grace=0
    )
    async with cluster:
        url = cluster.nodes[0].url
        return [await event_resume.run(url, mode, count, 4, 1) for mode in ("plain", "sequenced")]


async def reconnects_across(
    root: Path, count: int, writers: int = 4, dwell: tuple[float, float] = (0.005, 0.05)
) -> event_resume.Result:
    """``sequenced`` reconnects alternating between n1 and n2 (see the module), each
    socket read for ``dwell`` seconds (a random time between the two)."""
    cluster = LocalCluster(
        root, 2, cluster="bench", kamailio=False, quiet=True, event_retention=60, stasis_grace=5
    )
    async with cluster, contextlib.AsyncExitStack() as stack:
        auth = {"Authorization": basic_auth()}
        https = [
            await stack.enter_async_context(aiohttp.ClientSession(n.url, headers=auth))
            for n in cluster.nodes
        ]
        res = await event_resume.moves(
            https, "sequenced", count, writers, 1, dwell, drain=15, wait_each=True
        )
    mode = f"sequenced, n1/n2 in turn, {dwell[0] * 1000:g}-{dwell[1] * 1000:g} ms each"
    return dataclasses.replace(res, mode=mode)


# --------------------------------------------------------------------- report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--calls", type=int, default=1500, help="calls per client (default 1500)")
    p.add_argument("--in-flight", type=int, default=8)
    p.add_argument("--seconds", type=float, default=4, help="length of each wrk run")
    p.add_argument("--reconnects", type=int, default=100)
    p.add_argument("--requests", type=int, default=2000, help="REST requests per round")
    p.add_argument(
        "--skip", nargs="*", default=[], choices=("originate", "events", "forward", "resume")
    )
    p.add_argument(
        "--client",
        choices=("lean", "originate"),
        default="lean",
        help="lean: raw HTTP and partial event decoding (default); originate: bench.originate's",
    )
    p.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        url, app, endpoint, calls, in_flight, client = args.worker
        worker(url, app, endpoint, int(calls), int(in_flight), client == "lean")
        return
    started = time.monotonic()
    print(f"pyari cluster benchmarks ({os.cpu_count()} cores, nodes as processes on loopback)")
    with tempfile.TemporaryDirectory(prefix="pyari-bench-cluster-") as tmp:
        root = Path(tmp)
        if "originate" not in args.skip:
            print()
            print(f"Originate into Stasis, one client process per node, {args.calls} calls each,")
            print(f"{args.in_flight} in flight per client, hang up at StasisStart,")
            print(f"{args.client} client:")
            print()
            print(
                "| nodes | cluster | calls/s | × 1 node | POST → StasisStart p50 (ms) | failed "
                "| CPU % nodes / NATS / clients | node CPU per call (ms) | one core per node: "
                "calls/s (× 1 node) |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            base: float | None = None
            base_capacity = 0.0
            runs = [(1, False), (1, True), (2, True), (3, True)]
            for i, (n, clustered) in enumerate(runs):
                try:
                    res = asyncio.run(
                        scaling(
                            root / f"o{i}", n, clustered, args.calls, args.in_flight, args.client
                        )
                    )
                except (RuntimeError, TimeoutError) as exc:
                    why = str(exc).splitlines()[0]
                    print(f"| {n} | {'yes' if clustered else 'no'} | failed: {why} |||||||")
                    continue
                # What N nodes would carry with a core each: N cores / node CPU per call.
                per_call = res.nodes_cpu / 100 / res.calls_per_s if res.calls_per_s else 0.0
                capacity = n / per_call if per_call else 0.0
                if clustered and n == 1:
                    base, base_capacity = res.calls_per_s, capacity
                ratio = f"{res.calls_per_s / base:.2f}" if base and clustered else "-"
                cap_ratio = f" ({capacity / base_capacity:.2f})" if base and clustered else ""
                print(
                    f"| {n} | {'yes' if clustered else 'no'} | {res.calls_per_s:,.0f} | "
                    f"{ratio} | {res.p50_ms:.2f} | {res.failed} | {res.nodes_cpu:.0f} / "
                    f"{res.nats_cpu:.0f} / {res.clients_cpu:.0f} | {per_call * 1000:.2f} | "
                    f"{capacity:,.0f}{cap_ratio} |",
                    flush=True,
                )
        if "events" not in args.skip:
            print()
            print("Events to one socket (bench.events: 8 apps, wrk -t1 -c8 POST variable):")
            print()
            print("| application logs | events/s | requests/s | server CPU % | lost |")
            print("|---|---|---|---|---|")
            for i, clustered in enumerate((True, False)):
                ev = asyncio.run(events_to_one_socket(root / f"e{i}", clustered, args.seconds))
                what = "JetStream (cluster node)" if clustered else "in process (no cluster)"
                print(
                    f"| {what}, channel on the socket's node | {ev.events_per_s:,.0f} | "
                    f"{ev.requests_per_s:,.0f} | {ev.server_cpu_pct:.0f} | "
                    f"{max(ev.expected - ev.received, 0)} |",
                    flush=True,
                )
            xe = asyncio.run(events_from_another_node(root / "e2", args.seconds))
            print(
                f"| JetStream, channel on another node (events over NATS) | "
                f"{xe['events_per_s']:,.0f} | {xe['requests_per_s']:,.0f} | "
                f"{xe['home_cpu']:.0f} + {xe['other_cpu']:.0f} | {xe['lost']:.0f} |",
                flush=True,
            )
        if "forward" not in args.skip:
            print()
            print("REST on two node processes, one request in flight (bench.cluster_forward's")
            print(f"client, 3 alternating rounds of {args.requests}): GET /ari/bridges/n2-bench")
            print()
            print("| asked of | p50 (ms) | p99 (ms) |")
            print("|---|---|---|")
            fw = asyncio.run(forwarded(root / "f", args.requests))
            print(f"| n2 (local) | {fw['local_p50_ms']:.3f} | {fw['local_p99_ms']:.3f} |")
            print(
                f"| n1 (forwarded to n2) | {fw['forwarded_p50_ms']:.3f} | "
                f"{fw['forwarded_p99_ms']:.3f} |"
            )
            print(f"\nForwarding adds {fw['added_p50_ms']:.3f} ms at p50 (goal ≤ 0.5 ms).")
        if "resume" not in args.skip:
            print()
            print("Events across reconnects under load (bench.event_resume's load: 4 writers")
            print("setting a variable in a loop; JetStream logs):")
            print()
            print("| client | reconnects | events | events/s | lost | duplicates | reported lost |")
            print("|---|---|---|---|---|---|---|")
            results = asyncio.run(reconnects(root / "r", args.reconnects))
            results.append(asyncio.run(reconnects_across(root / "x", args.reconnects)))
            slow = max(args.reconnects // 5, 2)
            results.append(asyncio.run(reconnects_across(root / "y", slow, dwell=(0.2, 0.4))))
            for r in results:
                print(
                    f"| {r.mode} | {r.reconnects} | {r.produced} | "
                    f"{r.produced / r.seconds:,.0f} | {r.lost} | {r.duplicates} | "
                    f"{r.lost_reported} |",
                    flush=True,
                )
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
