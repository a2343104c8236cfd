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


MAX_PATH = 107
"""The longest path a Unix socket can have (``sun_path`` is 108 bytes on Linux)."""


class PathTooLong(Exception):
    """The control socket's path does not fit in a Unix socket address."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"control socket path {path} is too long ({len(bytes(path))} bytes, at most "
            f"{MAX_PATH}): set PYARI_STATE_DIR (or astrundir) to a shorter folder"
        )
        self.path = path


def check_length(path: Path) -> None:
    if len(bytes(path)) > MAX_PATH:
        raise PathTooLong(path)


class AlreadyRunning(Exception):
    """Another server answers on the control socket this one would take."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"pyari already running on {path}")
        self.path = path


async def socket_is_live(path: Path) -> bool:
    """Whether a server accepts connections on the Unix socket ``path``.

    A file left by a killed server refuses the connection: not live. A socket
    this user may not connect to counts as live (it is someone's)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 5)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        return False
    except PermissionError:
        return True
    except (TimeoutError, OSError):
        return path.is_socket()
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True


class ControlServer:
    def __init__(self, server: Server, rundir: Path) -> None:
        self.server = server
        self.path = socket_path(rundir)
        self._srv: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        """Listen on the socket; raises :class:`AlreadyRunning` when a live server
        has it (a stale file from a killed one is replaced)."""
        check_length(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if await socket_is_live(self.path):
            raise AlreadyRunning(self.path)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._srv = await asyncio.start_unix_server(self._client, path=str(self.path))
        self.path.chmod(0o660)

    async def stop(self) -> None:
        if self._srv is None:
            return  # never bound: the file (if any) is another server's
        self._srv.close()
        self._srv = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        from pyari.cli.commands import run_command

        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            if not line:
                return  # a liveness probe (socket_is_live): connected and gone
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
    """Run ``command`` on the server whose control socket is in ``rundir``
    (:class:`PathTooLong` when that path cannot be a socket's)."""
    check_length(socket_path(rundir))
    reader, writer = await asyncio.open_unix_connection(str(socket_path(rundir)))
    try:
        writer.write(command.replace("\n", " ").encode() + b"\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
        return data.decode(errors="replace")
    finally:
        writer.close()
