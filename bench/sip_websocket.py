"""Server CPU per SIP registration over WebSocket (RFC 7118, ``/ws``) against over UDP.

python -m bench.sip_websocket [--registrations N] [--rounds K]

A pyari process serves the embedded defaults (its ``transport-ws`` on the HTTP port, a
UDP transport on a free port). One client (this process) registers the endpoint
``webrtc`` N times in a row with digest authentication (REGISTER, 401, REGISTER with
credentials, 200: two transactions each), on one WebSocket, then on one UDP socket; the
server's CPU time (utime + stime from /proc) over each round divided by N. K rounds of
each after a warm-up, alternated; min / median printed (the machine is shared: take the
minimum as the figure).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path

import websockets

from bench.server import ServerProcess
from bench.sip_calls import cpu_seconds
from pyari.sip.auth import DigestClient
from pyari.sip.dialog import build_request, new_call_id, new_tag
from pyari.sip.message import NameAddr, Response, parse_message, parse_uri

USER, PASSWORD = "webrtc", "pyari-webrtc"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registrar:
    """REGISTER round trips with digest auth over a send/receive pair."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        receive: Callable[[], Awaitable[bytes]],
        *,
        transport: str,
        sent_by: str,
        contact: str,
        server: str,
    ) -> None:
        self.send, self.receive = send, receive
        self.transport, self.sent_by, self.contact, self.server = (
            transport, sent_by, contact, server,
        )  # fmt: skip
        self.call_id = new_call_id()
        self.tag = new_tag()
        self.cseq = 0

    def request(self, authorization: str | None = None) -> bytes:
        self.cseq += 1
        uri = parse_uri(f"sip:{self.server}")
        aor = parse_uri(f"sip:{USER}@{self.server}")
        headers = [("Expires", "600")]
        if authorization:
            headers.append(("Authorization", authorization))
        req = build_request(
            "REGISTER", uri, from_=NameAddr(aor, params={"tag": self.tag}), to=NameAddr(aor),
            call_id=self.call_id, cseq=self.cseq, sent_by=self.sent_by,
            transport=self.transport, contact=NameAddr(parse_uri(self.contact)), headers=headers,
        )  # fmt: skip
        return req.to_bytes()

    async def register(self) -> None:
        await self.send(self.request())
        challenge = parse_message(await self.receive())
        assert isinstance(challenge, Response) and challenge.status == 401, challenge
        value = DigestClient(USER, PASSWORD).authorize(
            challenge.headers.getall("www-authenticate"), method="REGISTER",
            uri=f"sip:{self.server}",
        )  # fmt: skip
        assert value is not None
        await self.send(self.request(value))
        ok = parse_message(await self.receive())
        assert isinstance(ok, Response) and ok.status == 200, ok


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait(data)


async def measure(server: ServerProcess, sip_port: int, count: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws", subprotocols=["sip"])  # type: ignore[list-item]

    async def ws_send(data: bytes) -> None:
        await ws.send(data.decode())

    async def ws_receive() -> bytes:
        data = await ws.recv()
        return data.encode() if isinstance(data, str) else data

    over_ws = Registrar(
        ws_send, ws_receive, transport="WS", sent_by="bench.invalid",
        contact="sip:bench@bench.invalid;transport=ws", server=f"127.0.0.1:{server.port}",
    )  # fmt: skip
    transport, proto = await loop.create_datagram_endpoint(
        _Udp, local_addr=("127.0.0.1", 0), remote_addr=("127.0.0.1", sip_port)
    )
    port = transport.get_extra_info("sockname")[1]

    async def udp_send(data: bytes) -> None:
        transport.sendto(data)

    over_udp = Registrar(
        udp_send, proto.queue.get, transport="UDP", sent_by=f"127.0.0.1:{port}",
        contact=f"sip:bench@127.0.0.1:{port}", server=f"127.0.0.1:{sip_port}",
    )  # fmt: skip
    results: dict[str, list[float]] = {"ws": [], "udp": []}
    for reg in (over_ws, over_udp):  # warm-up
        for _ in range(max(20, count // 5)):
            await reg.register()
    for _ in range(rounds):
        for name, reg in (("ws", over_ws), ("udp", over_udp)):
            before = cpu_seconds(server.pid)
            for _ in range(count):
                await reg.register()
            results[name].append((cpu_seconds(server.pid) - before) / count * 1000)
    transport.close()
    await ws.close()
    for name, values in results.items():
        print(
            f"{name:>3}: server CPU per registration (REGISTER 401 + REGISTER 200): "
            f"min {min(values):.3f} ms, median {statistics.median(values):.3f} ms "
            f"({rounds} rounds of {count})"
        )
    ratio = min(results["ws"]) / min(results["udp"]) if min(results["udp"]) else float("nan")
    print(f"ws/udp (min): {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sip_port = free_udp_port()

    def configure(folder: Path) -> None:
        pjsip = folder / "pjsip.conf"
        text = re.sub(r"(?m)^bind = 127.0.0.1:5060$", f"bind = 127.0.0.1:{sip_port}",
                      pjsip.read_text())  # fmt: skip
        pjsip.write_text(text)

    with ServerProcess(configure=configure) as server:
        asyncio.run(measure(server, sip_port, args.registrations, args.rounds))


if __name__ == "__main__":
    main()
