"""The control socket: ``pyari -rx "command"`` talks to the server through it.

A Unix socket in ``astrundir``.  The client sends one command line; the
server answers with the command's output and closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyari.server import Server

log = logging.getLogger("pyari.cli")

SOCKET_NAME = "pyari.ctl"
MAX_COMMAND = 64 * 1024


def socket_path(rundir: Path) -> Path:
    return rundir / SOCKET_NAME


class ControlServer:
    def __init__(self, server: Server, rundir: Path) -> None:
        self.server = server
        self.path = socket_path(rundir)
        self._srv: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._srv = await asyncio.start_unix_server(self._client, path=str(self.path))
        self.path.chmod(0o660)

    async def stop(self) -> None:
        if self._srv is not None:
            self._srv.close()
            self._srv = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from pyari.cli.commands import run_command

        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            command = line[:MAX_COMMAND].decode(errors="replace").strip()
            output = await run_command(self.server, command)
            writer.write(output.encode())
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("CLI command failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def send_command(rundir: Path, command: str, timeout: float = 30.0) -> str:
    """Run ``command`` on the server whose control socket is in ``rundir``."""
    reader, writer = await asyncio.open_unix_connection(str(socket_path(rundir)))
    try:
        writer.write(command.replace("\n", " ").encode() + b"\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        return data.decode(errors="replace")
    finally:
        writer.close()
