"""Open files of ``pyari serve`` under idle SIP TCP connections (issue #11, item 3).

Starts a server with a ``protocol=tcp`` transport (pjsip.conf's defaults for its
limits, or the ``tcp_*`` options given with ``--option``), opens ``--connections``
TCP connections to it from loopback that never send anything (from 127.0.0.1, or spread
over ``--sources`` addresses 127.0.0.1, 127.0.0.2 ... so the per-address cap is not the
only one met), and reports the
server's open files (``/proc/<pid>/fd``) before, once the connections are open, after
``--hold`` seconds, and after the client closed them; and how many of its connections
the server had closed by then. Bounded: at most ``--connections`` sockets, ``--hold``
seconds. Run ``python -m bench.sip_idle_connections``; ``PYTHONPATH=<other src>``
measures another tree of pyari (the server is the venv's ``pyari`` script).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

from bench.server import ServerProcess, free_port


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def configure(sip_port: int, options: list[str]) -> Callable[[Path], None]:
    def edit(confdir: Path) -> None:
        extra = "".join(f"{line}\n" for line in options)
        with (confdir / "pjsip.conf").open("a") as f:
            f.write(
                f"\n[transport-tcp]\ntype = transport\nprotocol = tcp\n"
                f"bind = 127.0.0.1:{sip_port}\n{extra}"
            )
        # the sample's UDP transport on a free port too (5060 may be taken)
        pjsip = confdir / "pjsip.conf"
        udp = free_port()
        pjsip.write_text(pjsip.read_text().replace("127.0.0.1:5060\n", f"127.0.0.1:{udp}\n", 1))

    return edit


def closed_by_peer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def settle(pid: int, seconds: float = 1.0) -> int:
    """The open files once they stop changing for a moment (at most ``seconds``)."""
    last = open_files(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = open_files(pid)
        if now == last:
            break
        last = now
    return last


def run(connections: int, hold: float, options: list[str], sources: int = 1) -> dict[str, object]:
    sip_port = free_port()
    with ServerProcess(configure=configure(sip_port, options)) as srv:
        pid = srv.pid
        # the UDP/TCP listeners are bound before HTTP answers: the server is ready
        before = settle(pid)
        socks: list[socket.socket] = []
        refused_at_connect = 0
        started = time.monotonic()
        for i in range(connections):
            source = (f"127.0.0.{1 + i % sources}", 0)
            try:
                socks.append(
                    socket.create_connection(
                        ("127.0.0.1", sip_port), timeout=5, source_address=source
                    )
                )
            except OSError:
                refused_at_connect += 1
        opened = time.monotonic() - started
        with_connections = settle(pid)
        time.sleep(hold)
        after_hold = open_files(pid)
        server_closed = sum(closed_by_peer(s) for s in socks)
        for s in socks:
            s.close()
        after_close = settle(pid, 3.0)
    return {
        "connections": connections,
        "source_addresses": sources,
        "opened_in_s": round(opened, 2),
        "connect_errors": refused_at_connect,
        "open_files_before": before,
        "open_files_with_connections": with_connections,
        f"open_files_after_{hold:g}_s": after_hold,
        f"closed_by_server_within_{hold:g}_s": server_closed,
        "open_files_after_client_closed": after_close,
        "options": options,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--hold", type=float, default=12.0, help="seconds to keep them open")
    p.add_argument(
        "--option", action="append", default=[], help="a line for [transport-tcp], repeatable"
    )
    p.add_argument(
        "--sources", type=int, default=1, help="client addresses 127.0.0.1 ... 127.0.0.N"
    )
    args = p.parse_args()
    if not 1 <= args.sources <= 254:
        p.error("--sources is 1 to 254")
    print(json.dumps(run(args.connections, args.hold, args.option, args.sources), indent=2))


if __name__ == "__main__":
    main()
