"""REST over the events WebSocket against HTTP keep-alive, each on one connection.

python -m bench.ws_rest [--url URL] [--path channels] [--seconds 3] [--repeat 3] [--window 16]

The same request, ``GET /ari/channels`` by default (no channels: the full
pipeline on both transports; ``/asterisk/info`` would be replayed from the
HTTP core's static answers and never reach the pipeline over HTTP), is sent
over one HTTP/1.1 keep-alive connection and as ``RESTRequest`` messages on one
``/ari/events`` socket. The client is a blocking socket with pre-built bytes
(a masked text frame, a request head), so it costs each side the same and
little; the server runs in its own process. Two loads:

- one request in flight (send, wait for the answer): requests/s, p50, p99;
- ``--window`` requests in flight on the same connection (HTTP pipelining,
  RESTRequests sent ahead): requests/s, p50 from send to answer.

Every answer is checked (HTTP 200, ``"status_code":200`` in the RESTResponse).
Loopback only, bounded: ``--repeat`` runs of ``--seconds`` per figure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.server import ServerProcess, basic_auth

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"


@dataclass
class Run:
    requests_per_s: float
    p50_us: float
    p99_us: float
    requests: int
    server_cpu_us: float | None = None
    """Server CPU time (user + system) per request, when the server's pid is known."""


class Conn:
    """A blocking loopback connection with a receive buffer."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("connection closed")
        self.buf += data

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def until(self, mark: bytes) -> bytes:
        while (i := self.buf.find(mark)) < 0:
            self.fill()
        return self.take(i + len(mark))

    def close(self) -> None:
        self.sock.close()


class Http:
    """HTTP/1.1 keep-alive: one pre-built GET, answers read by Content-Length."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.conn = Conn(host, port)
        self.request = (
            f"GET /ari/{path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {basic_auth(USER, PASSWORD)}\r\n\r\n"
        ).encode()

    def send(self) -> None:
        self.conn.sock.sendall(self.request)

    def send_many(self, n: int) -> None:
        self.conn.sock.sendall(self.request * n)

    def receive(self) -> None:
        head = self.conn.until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"unexpected answer: {head[:60]!r}")
        i = head.lower().find(b"\r\ncontent-length:")
        length = int(head[i + 17 : head.index(b"\r\n", i + 2)])
        self.conn.take(length)


class Ws:
    """The events socket: one pre-built RESTRequest frame, answers read frame by frame."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.conn = Conn(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.conn.sock.sendall(
            (
                f"GET /ari/events?app=bench-ws HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: {basic_auth(USER, PASSWORD)}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ari\r\n\r\n"
            ).encode()
        )
        head = self.conn.until(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"no upgrade: {head[:60]!r}")
        msg = {"type": "RESTRequest", "request_id": "b", "method": "GET", "uri": path}
        self.frame = _masked_text(json.dumps(msg).encode())
        self.first = True

    def send(self) -> None:
        self.conn.sock.sendall(self.frame)

    def send_many(self, n: int) -> None:
        self.conn.sock.sendall(self.frame * n)

    def receive(self) -> None:
        conn = self.conn
        b0, b1 = conn.take(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(conn.take(2), "big")
        elif n == 127:
            n = int.from_bytes(conn.take(8), "big")
        payload = conn.take(n)
        if b0 & 0x0F != 1 or b'"RESTResponse"' not in payload:
            raise RuntimeError(f"unexpected frame: {payload[:80]!r}")
        if self.first:  # the whole answer once; then the status only
            msg = json.loads(payload)
            if msg["status_code"] != 200 or "message_body" not in msg:
                raise RuntimeError(f"unexpected answer: {msg}")
            self.first = False
        elif b'"status_code": 200,' not in payload and b'"status_code":200,' not in payload:
            raise RuntimeError(f"unexpected answer: {payload[:120]!r}")


def _masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xFE]) + n.to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def one_in_flight(client: Http | Ws, seconds: float) -> Run:
    clock = time.perf_counter_ns
    lat: list[int] = []
    end = time.perf_counter() + seconds
    started = clock()
    while True:
        t0 = clock()
        client.send()
        client.receive()
        lat.append(clock() - t0)
        if len(lat) % 64 == 0 and time.perf_counter() > end:
            break
    total = (clock() - started) / 1e9
    return _run(lat, total)


def pipelined(client: Http | Ws, seconds: float, window: int) -> Run:
    clock = time.perf_counter_ns
    lat: list[int] = []
    sent: deque[int] = deque()
    end = time.perf_counter() + seconds
    started = clock()
    now = clock()
    client.send_many(window)
    sent.extend([now] * window)
    while True:
        client.receive()
        now = clock()
        lat.append(now - sent.popleft())
        if len(lat) % 64 == 0 and time.perf_counter() > end:
            break
        client.send()
        sent.append(clock())
    while sent:  # drain what is still in flight
        client.receive()
        sent.popleft()
    total = (clock() - started) / 1e9
    return _run(lat, total)


def _run(lat: list[int], total: float) -> Run:
    lat.sort()
    return Run(
        requests_per_s=len(lat) / total,
        p50_us=lat[len(lat) // 2] / 1000,
        p99_us=lat[int(len(lat) * 0.99)] / 1000,
        requests=len(lat),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(pid: int | None, run: Callable[[], Run]) -> Run:
    before = cpu_seconds(pid) if pid else 0.0
    result = run()
    if pid:
        result.server_cpu_us = (cpu_seconds(pid) - before) / result.requests * 1e6
    return result


def measure(
    url: str, path: str, seconds: float, repeat: int, window: int, pid: int | None = None
) -> dict[str, list[Run]]:
    """Figures per (transport, load), runs interleaved so drift hits both alike."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8088
    makers: dict[str, Callable[[], Http | Ws]] = {
        "HTTP keep-alive": lambda: Http(host, port, path),
        "WebSocket RESTRequest": lambda: Ws(host, port, path),
    }
    clients = {name: make() for name, make in makers.items()}
    try:
        for client in clients.values():  # warm-up
            one_in_flight(client, 0.5)
            pipelined(client, 0.5, window)
        out: dict[str, list[Run]] = {}
        for _ in range(repeat):
            for name, client in clients.items():
                out.setdefault(f"{name}, 1 in flight", []).append(
                    timed(pid, lambda c=client: one_in_flight(c, seconds))  # type: ignore[misc]
                )
                out.setdefault(f"{name}, {window} in flight", []).append(
                    timed(pid, lambda c=client: pipelined(c, seconds, window))  # type: ignore[misc]
                )
        return out
    finally:
        for client in clients.values():
            client.conn.close()


def spread(values: list[float], fmt: str) -> str:
    return (
        f"{format(min(values), fmt)} / {format(statistics.median(values), fmt)} / "
        f"{format(max(values), fmt)}"
    )


def table(results: dict[str, list[Run]]) -> list[str]:
    rows = [
        "| transport, load | req/s | p50 (µs) | p99 (µs) | server CPU/request (µs) |",
        "|---|---|---|---|---|",
    ]
    for label, runs in results.items():
        cpu = [r.server_cpu_us for r in runs if r.server_cpu_us is not None]
        rows.append(
            f"| {label} | {spread([r.requests_per_s for r in runs], ',.0f')} | "
            f"{spread([r.p50_us for r in runs], '.0f')} | "
            f"{spread([r.p99_us for r in runs], '.0f')} | "
            f"{spread(cpu, '.1f') if cpu else 'n/a'} |"
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--url", help="ARI base URL (default: start a pyari)")
    p.add_argument("--path", default="channels", help="below /ari/, GET (default: channels)")
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--window", type=int, default=16)
    p.add_argument("--compact", action="store_true", help="ari.conf pretty = no")
    args = p.parse_args()
    if args.url:
        results = measure(args.url, args.path, args.seconds, args.repeat, args.window)
    else:
        with ServerProcess(pretty=not args.compact) as srv:
            time.sleep(0.5)
            results = measure(srv.url, args.path, args.seconds, args.repeat, args.window, srv.pid)
    print(
        f"GET /ari/{args.path} on one connection, min / median / max of {args.repeat} runs "
        f"of {args.seconds:g} s, pretty = {'no' if args.compact else 'yes'}"
    )
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
