"""Server CPU of one request, in process: HTTP keep-alive against a RESTRequest on the socket.

python -m bench.ws_rest_cpu [--requests 20000] [--repeat 5] [--profile FILE]

One httptools-core connection is fed from a stand-in transport (no sockets,
no event loop rounds between requests): ``GET /ari/channels`` as an HTTP
request, and as a masked ``RESTRequest`` text frame on an ``/ari/events``
socket. Each answer is made inside the read of its bytes, as on a real
connection, so ``time.process_time`` over ``--requests`` reads is the Python
work per request without the kernel's share. The third figure is the events
socket's own frames: one event (1 KiB of JSON) handed to ``send_text_now`` per
loop round, framed and written at the round's end as a set-up's events are
(the loop round itself included). Runs alternate between the three;
min / median of ``--repeat`` (the machine is shared: the min is the figure).
``--profile`` writes cProfile's summary of the socket's requests to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.server import PYARI, basic_auth
from bench.ws_rest import PASSWORD, USER, _masked_text


class Transport(asyncio.Transport):
    """A stand-in for what an HTTP core's connection uses of its socket's transport (the
    in-process benchmarks feed the connection bytes and read what it writes): keeps the
    last write and counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.last = b""
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.last = bytes(data)
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8088)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


async def measure(requests: int, repeat: int, profile: str | None) -> dict[str, list[float]]:
    from pyari.config.loader import load_config
    from pyari.http.httptools_core import HttpProtocol, HttptoolsServer
    from pyari.server import Server

    tmp = tempfile.mkdtemp(prefix="pyari-cpu-")
    confdir = Path(tmp) / "etc"
    subprocess.run([PYARI, "samples", str(confdir)], check=True, capture_output=True)
    os.environ["PYARI_STATE_DIR"] = str(Path(tmp) / "state")
    cfg = load_config(confdir)
    import dataclasses

    cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, bindport=0))
    server = Server(cfg, config_dir=confdir, sip_port=0)
    await server.start()
    try:
        http_srv = server.http
        assert isinstance(http_srv, HttptoolsServer)
        auth = basic_auth(USER, PASSWORD)

        h_tr = Transport()
        h = HttpProtocol(http_srv, False)
        h.connection_made(h_tr)
        get = f"GET /ari/channels HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n".encode()

        w_tr = Transport()
        w = HttpProtocol(http_srv, False)
        w.connection_made(w_tr)
        w.data_received(
            (
                "GET /ari/events?app=bench-ws HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: {auth}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ari\r\n\r\n"
            ).encode()
        )
        for _ in range(10):
            await asyncio.sleep(0)
        assert w_tr.last.startswith(b"HTTP/1.1 101"), w_tr.last[:80]
        msg = {"type": "RESTRequest", "request_id": "b", "method": "GET", "uri": "channels"}
        frame = _masked_text(json.dumps(msg).encode())

        def run(proto: HttpProtocol, data: bytes, n: int) -> float:
            feed = proto.data_received
            t0 = time.process_time()
            for _ in range(n):
                feed(data)
            return (time.process_time() - t0) / n * 1e6

        assert w.ws is not None
        send_now = w.ws.send_text_now
        event = json.dumps({"type": "ChannelStateChange", "pad": "x" * 1000}).encode()

        async def events(n: int) -> float:
            t0 = time.process_time()
            for _ in range(n):
                send_now(event)
                await asyncio.sleep(0)
            return (time.process_time() - t0) / n * 1e6

        run(h, get, 2000)
        run(w, frame, 2000)
        assert h_tr.last.startswith(b"HTTP/1.1 200"), h_tr.last[:80]
        assert b'"status_code": 200' in w_tr.last, w_tr.last[:200]
        await events(2000)
        assert w_tr.last.endswith(event), w_tr.last[-80:]
        out: dict[str, list[float]] = {
            "HTTP keep-alive": [],
            "WebSocket RESTRequest": [],
            "events frame (one per round)": [],
        }
        for _ in range(repeat):
            out["HTTP keep-alive"].append(run(h, get, requests))
            await asyncio.sleep(0)
            out["WebSocket RESTRequest"].append(run(w, frame, requests))
            await asyncio.sleep(0)
            out["events frame (one per round)"].append(await events(requests))
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            run(w, frame, requests)
            prof.disable()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
            Path(profile).write_text(s.getvalue())
        print("answer frame:", w_tr.last[:400])
        return out
    finally:
        await server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--profile", help="write cProfile's summary of the socket's requests here")
    args = p.parse_args()
    results = asyncio.run(measure(args.requests, args.repeat, args.profile))
    print(f"server CPU per request (µs), min / median of {args.repeat} runs of {args.requests}")
    for name, values in results.items():
        print(f"  {name}: {min(values):.2f} / {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
