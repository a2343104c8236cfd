"""Start a pyari server process for a benchmark (loopback, its own config)."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

PYARI = str(Path(sys.executable).parent / "pyari")


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_registered(
    http: aiohttp.ClientSession, names: Sequence[str], timeout: float = 10.0
) -> None:
    """Until ``GET /ari/applications/<name>`` answers 200 for each name: a cluster node
    registers a socket's applications just after the upgrade (decision 0025), a single
    node at once. Gives up silently after ``timeout`` s (what follows then fails)."""
    deadline = time.monotonic() + timeout
    for name in names:
        while time.monotonic() < deadline:
            async with http.get(f"/ari/applications/{name}") as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.05)


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class ServerProcess:
    """``pyari -C <tmp> serve`` on a free loopback port."""

    def __init__(
        self, pretty: bool = True, configure: Callable[[Path], None] | None = None
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="pyari-bench-")
        self.confdir = Path(self.tmp.name) / "etc"
        self.port = free_port()
        self.pretty = pretty
        self.configure = configure
        """Called with the config directory before the server starts (to edit it)."""
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> ServerProcess:
        subprocess.run([PYARI, "samples", str(self.confdir)], check=True, capture_output=True)
        http = self.confdir / "http.conf"
        http.write_text(re.sub(r"(?m)^bindport=.*$", f"bindport={self.port}", http.read_text()))
        if not self.pretty:
            ari = self.confdir / "ari.conf"
            ari.write_text(re.sub(r"(?m)^pretty = yes", "pretty = no", ari.read_text()))
        if self.configure is not None:
            self.configure(self.confdir)
        env = {**os.environ, "PYARI_STATE_DIR": str(Path(self.tmp.name) / "state")}
        self.proc = subprocess.Popen(
            [PYARI, "-C", str(self.confdir), "--quiet", "serve"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("pyari did not start") from None
                time.sleep(0.05)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()
