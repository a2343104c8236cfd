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
from pyari.cli import kamailio_config
from pyari.cli.collector import Collector
from pyari.config import ConfigError, load_config, load_run_dir, write_samples
from pyari.config.overrides import ENVIRONMENT, Overrides, parse_address
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
    _serve_parser(sub)
    s = sub.add_parser("samples", help="write the embedded default configs into DIR")
    s.add_argument("dir", type=Path)
    s.add_argument("--force", action="store_true", help="overwrite existing files")
    kamailio_config.add_parser(sub)
    return p


SERVE_EPILOG = """\
environment (the command line wins over it):
{env}

state folder (spool, run, log, lib):
  $PYARI_STATE_DIR when set; otherwise ~/.local/state/pyari for the embedded
  defaults and ~/.local/state/pyari/by-config/<folder>-<hash> for `-C DIR`
  (<hash>: 12 hex digits of the SHA-256 of DIR's resolved path). asterisk.conf's
  [directories] astrundir/astspooldir/astlogdir/astvarlibdir move each folder.

control socket:
  <astrundir>/pyari.ctl, one per server. `pyari -C DIR -rx COMMAND` reaches the
  server started with `-C DIR` (same PYARI_STATE_DIR). A server refuses to
  start while another answers on its socket; a file left by a killed one is
  replaced.
"""


def _serve_parser(sub: Any) -> None:
    env = "\n".join(f"  {name:<15} {what}" for name, what in ENVIRONMENT.items())
    s = sub.add_parser(
        "serve",
        help="run pyari",
        description="Run pyari with the configuration of -C DIR (or the embedded defaults).",
        epilog=SERVE_EPILOG.format(env=env),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument(
        "-C",
        "--config-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="folder of Asterisk-style config files (as `pyari -C DIR serve`)",
    )
    s.add_argument(
        "--bind",
        metavar="HOST:PORT",
        help="serve HTTP (ARI) on HOST:PORT instead of http.conf's bindaddr/bindport "
        "(HOST alone keeps the port; also switches HTTP on)",
    )
    tls = s.add_mutually_exclusive_group()
    tls.add_argument(
        "--tls",
        metavar="HOST:PORT",
        help="serve HTTPS on HOST:PORT (instead of http.conf's tlsbindaddr; switches TLS on)",
    )
    tls.add_argument("--no-tls", action="store_true", help="no HTTPS, whatever http.conf says")
    s.add_argument("--tls-cert", metavar="FILE", type=Path, help="certificate for HTTPS (PEM)")
    s.add_argument(
        "--tls-key", metavar="FILE", type=Path, help="its private key (default: --tls-cert)"
    )
    sip = s.add_mutually_exclusive_group()
    sip.add_argument(
        "--sip",
        metavar="HOST:PORT",
        help="bind every UDP and TCP transport of pjsip.conf to HOST:PORT and every TLS "
        "transport to HOST (without transports: one UDP transport there)",
    )
    sip.add_argument("--no-sip", action="store_true", help="no SIP transports at all")


def _overrides(args: argparse.Namespace) -> Overrides:
    """The command line's overrides over those of the environment (ConfigError if bad)."""
    found: dict[str, Any] = {}
    if args.bind:
        found["http_bind"] = parse_address(args.bind, "command line", "--bind")
    if args.tls:
        found["tls_bind"] = parse_address(args.tls, "command line", "--tls")
        found["tls_enabled"] = True
    if args.no_tls:
        found["tls_enabled"] = False
    if args.tls_cert:
        found["tls_cert"] = args.tls_cert
    if args.tls_key:
        found["tls_key"] = args.tls_key
    if args.sip:
        found["sip_bind"] = parse_address(args.sip, "command line", "--sip")
        found["sip_enabled"] = True
    if args.no_sip:
        found["sip_enabled"] = False
    return Overrides(**found).over(Overrides.from_environ(os.environ))


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


async def serve(
    config_dir: Path | None, quiet: bool, args: argparse.Namespace | None = None
) -> int:
    from pyari.server import Server, StartError

    try:
        overrides = _overrides(args) if args is not None else Overrides()
        config = load_config(config_dir)
    except ConfigError as exc:
        print(f"pyari: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(quiet, config.asterisk.astlogdir)
    try:
        server = Server(config, config_dir=config_dir, overrides=overrides)
    except ConfigError as exc:
        print(f"pyari: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        await server.start(control_socket=True)
    except (StartError, OSError) as exc:
        print(f"pyari: {exc}", file=sys.stderr)
        await server.stop()
        return 1
    loop = asyncio.get_running_loop()

    stopping: set[asyncio.Task[None]] = set()

    def stop(name: str) -> None:
        task = asyncio.ensure_future(server.stop(reason=name))
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    # What start-up made stays for the life of the process: collect the start-up
    # garbage once and keep the survivors out of every later collection (fewer
    # objects to scan, and their pages are not dirtied by the collector).
    gc.collect()
    gc.freeze()
    release_heap()
    collector = Collector(loop)
    collector.install()  # full passes on a timer, not in the middle of calls (decision 0032)
    try:
        await server.stopped.wait()
    finally:
        collector.uninstall()
    return 0


async def remote(config_dir: Path | None, command: str) -> int:
    """``pyari [-C DIR] -rx COMMAND``: only asterisk.conf's astrundir is read, so a
    broken file elsewhere does not keep the command from the server (which reports it)."""
    from pyari.cli.control import PathTooLong, send_command, socket_path

    try:
        rundir = load_run_dir(config_dir)
    except ConfigError as exc:
        print(f"pyari: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        out = await send_command(rundir, command)
    except (FileNotFoundError, ConnectionRefusedError):
        hint = "" if config_dir is not None else " (a server started with -C DIR needs -C DIR)"
        print(
            f"Unable to connect to remote pyari (does {socket_path(rundir)} exist?){hint}",
            file=sys.stderr,
        )
        return 1
    except PermissionError:
        print(f"pyari: {socket_path(rundir)}: permission denied", file=sys.stderr)
        return 1
    except PathTooLong as exc:
        print(f"pyari: {exc}", file=sys.stderr)
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
        return _run(serve(args.config_dir, args.quiet, args))
    if args.action == "cluster":
        return kamailio_config.run(args)
    _parser().print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
