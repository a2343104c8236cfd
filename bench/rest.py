"""REST benchmark: ``wrk`` against ARI GET endpoints; parses ``wrk --latency``.

python -m bench.rest [--url URL] [--path /ari/asterisk/info] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
from dataclasses import dataclass

from bench.server import ServerProcess, basic_auth

USER, PASSWORD = "testARI", "Sup3rM3ga$tr0ng"

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    errors: int


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if m is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(out: str) -> WrkResult:
    """The figures of one ``wrk --latency`` report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if rps is None or p50 is None or p99 is None or total is None:
        raise ValueError(f"unexpected wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(g) for g in errs.groups()) if errs else 0,
    )


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (make bench installs it: apt-get install wrk)")
    return path


def wrk_command(
    url: str,
    path: str,
    threads: int,
    connections: int,
    seconds: float,
    user: str = USER,
    password: str = PASSWORD,
    script: str | None = None,
) -> list[str]:
    cmd = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-H",
        f"Authorization: {basic_auth(user, password)}",
    ]
    if script is not None:
        cmd += ["-s", script]
    cmd.append(url.rstrip("/") + path)
    return cmd


def run_wrk(url: str, path: str, threads: int, connections: int, seconds: float) -> WrkResult:
    cmd = wrk_command(url, path, threads, connections, seconds)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 30)
    return parse_wrk(out.stdout)


async def arun_wrk(
    url: str, path: str, threads: int, connections: int, seconds: float
) -> WrkResult:
    """:func:`run_wrk` without blocking the event loop (the client may hold sockets open)."""
    proc = await asyncio.create_subprocess_exec(
        *wrk_command(url, path, threads, connections, seconds),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), seconds + 30)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode})")
    return parse_wrk(out.decode())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", help="ARI base URL (default: start a pyari)")
    p.add_argument("--path", default="/ari/asterisk/info")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--seconds", type=float, default=5)
    args = p.parse_args()
    if args.url:
        print(run_wrk(args.url, args.path, args.threads, args.connections, args.seconds))
    else:
        with ServerProcess() as srv:
            print(run_wrk(srv.url, args.path, args.threads, args.connections, args.seconds))


if __name__ == "__main__":
    main()
