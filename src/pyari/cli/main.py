"""The ``pyari`` command: serve, send a CLI command, write sample configs."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import platform
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pyari
from pyari.config import ConfigError, load_config, write_samples
from pyari.core.logchannels import escape_controls


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pyari",
        description="The Asterisk REST Interface, in Python.",
    )
    p.add_argument(
        "-C",
        "--config-dir",
        type=Path,
        default=None,
        help="folder of Asterisk-style config files (default: the embedded defaults)",
    )
    p.add_argument(
        "-x",
        "-rx",
        dest="command",
        metavar="COMMAND",
        help="run a CLI command on the running server and print its output",
    )
    p.add_argument("-r", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="count", default=3, help="more console output")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--version", action="version", version=f"pyari {pyari.__version__}")
    sub = p.add_subparsers(dest="action")
    sub.add_parser("serve", help="run pyari")
    s = sub.add_parser("samples", help="write the embedded default configs into DIR")
    s.add_argument("dir", type=Path)
    s.add_argument("--force", action="store_true", help="overwrite existing files")
    return p


class AsteriskFormatter(logging.Formatter):
    """Console lines as Asterisk prints them (control characters of the message escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = escape_controls(record.getMessage())
        if record.name == "pyari.verbose" and record.levelno == logging.INFO:
            return message
        stamp = self.formatTime(record, "%b %d %H:%M:%S")
        return f"[{stamp}] {record.levelname}[{record.process}]: {record.name}: {message}"


def setup_logging(quiet: bool, logdir: Path | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(AsteriskFormatter())
    root.addHandler(console)
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    if logdir is not None:
        with contextlib.suppress(OSError):
            logdir.mkdir(parents=True, exist_ok=True)
            fh = logging.FileHandler(logdir / "messages.log")
            fh.setFormatter(AsteriskFormatter())
            root.addHandler(fh)


def _run(coro: Coroutine[Any, Any, int]) -> int:
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


async def serve(config_dir: Path | None, quiet: bool) -> int:
    from pyari.server import Server

    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        print(f"pyari: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(quiet, config.asterisk.astlogdir)
    server = Server(config, config_dir=config_dir)
    try:
        await server.start()
    except OSError as exc:
        print(f"pyari: cannot start: {exc}", file=sys.stderr)
        await server.stop()
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.stop()))
    # What start-up made stays for the life of the process: collect the start-up
    # garbage once and keep the survivors out of every later collection (fewer
    # objects to scan, and their pages are not dirtied by the collector).
    gc.collect()
    gc.freeze()
    release_heap()
    await server.stopped.wait()
    return 0


async def remote(config_dir: Path | None, command: str) -> int:
    from pyari.cli.control import send_command

    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        print(f"pyari: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        out = await send_command(config.asterisk.astrundir, command)
    except (FileNotFoundError, ConnectionRefusedError):
        print(
            "Unable to connect to remote pyari "
            f"(does {config.asterisk.astrundir}/pyari.ctl exist?)",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(out)
    return 0


ALLOCATOR = "malloc"
"""What ``pyari serve`` runs on (``PYTHONMALLOC``): glibc's allocator gives memory
back after a load, pymalloc's arenas stay pinned by a few blocks (decision 0011)."""


def use_server_allocator(argv: list[str] | None) -> None:
    """Re-run this very command with :data:`ALLOCATOR` unless the user chose one.

    ``PYTHONMALLOC`` is read when the interpreter starts, so the process replaces
    itself (same pid) before anything runs. Only for a real command line on glibc
    Linux; ``PYTHONMALLOC=pymalloc`` keeps Python's own allocator.
    """
    if argv is not None or "PYTHONMALLOC" in os.environ:
        return
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    os.environ["PYTHONMALLOC"] = ALLOCATOR
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def release_heap() -> None:
    """Give the heap pages start-up freed back to the system (glibc)."""
    from pyari.core.engine import malloc_trim

    trim = malloc_trim()
    if trim is not None:
        trim(0)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.action == "serve" and args.command is None:
        use_server_allocator(argv)
    if args.command is not None:
        return _run(remote(args.config_dir, args.command))
    if args.action == "samples":
        try:
            written = write_samples(args.dir, overwrite=args.force)
        except FileExistsError as exc:
            print(
                f"pyari: {exc.filename} already exists, nothing written"
                " (pyari samples --force overwrites the files)",
                file=sys.stderr,
            )
            return 1
        for path in written:
            print(path)
        return 0
    if args.action == "serve":
        return _run(serve(args.config_dir, args.quiet))
    _parser().print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
