"""Log channels (Asterisk's logger.c): the outputs of logger.conf plus ones added at run time.

A file channel is a :class:`logging.FileHandler` on the ``pyari`` logger
writing to ``<astlogdir>/<name>``; it keeps the records whose Asterisk level
(DEBUG, TRACE, NOTICE, WARNING, ERROR, VERBOSE, DTMF) is among its levels.
Channels from logger.conf stay; channels added through ARI can be removed.
Rotation renames the file as logger.conf's ``rotatestrategy`` says
(``sequential`` by default: ``name.0``, then ``name.1`` ...) and reopens it.

A channel added through ARI must name a file inside the log folder (unlike
Asterisk, which takes any path: decision 0013). Every line a channel writes has
the control characters of its message escaped (:func:`escape_controls`), so
text from outside (an app name, a SIP header) cannot start a line of its own.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pyari
from pyari.config.logger import LoggerSettings
from pyari.confine import PathRefused, confine, inside
from pyari.core.refusals import Conflict, Failed, Invalid, NotFound, Refused

__all__ = [
    "LEVELS",
    "InvalidLogChannel",
    "LogChannelError",
    "LogChannelExists",
    "LogChannelFailed",
    "LogChannelInfo",
    "LogChannelNotFound",
    "LogChannels",
    "asterisk_level",
    "escape_controls",
]

LEVELS = ("DEBUG", "TRACE", "NOTICE", "WARNING", "ERROR", "VERBOSE", "DTMF", "SECURITY")
"""SECURITY is res_security_log's level: the records of the ``pyari.security`` logger."""
_ROTATE_SUFFIXES = ("", ".gz", ".bz2", ".Z")
INVALID_NAME = "Log channel name invalid"

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r"}
_ESCAPES = {
    code: _NAMED_ESCAPES.get(chr(code), f"\\x{code:02x}")
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
    if code != 0x09  # a tab stays a tab: it starts no line and moves no cursor
}
_ESCAPES.update({code: f"\\u{code:04x}" for code in (0x2028, 0x2029, *range(0xD800, 0xE000))})


def escape_controls(text: str) -> str:
    """``text`` with its control characters written out (``\\n``, ``\\r``, ``\\x1b`` ...).

    A log line built from outside input (an app name, a SIP header, a variable)
    then stays one line and carries no terminal escape sequences.
    """
    if text.isprintable():
        return text
    return text.translate(_ESCAPES)


def asterisk_level(record: logging.LogRecord) -> str:
    """The Asterisk level of a Python log record."""
    if record.name == "pyari.verbose" or record.name.startswith("pyari.verbose."):
        return "VERBOSE"
    if record.name == "pyari.dtmf" or record.name.startswith("pyari.dtmf."):
        return "DTMF"
    if record.name == "pyari.security":
        return "SECURITY"
    if record.levelno >= logging.ERROR:
        return "ERROR"
    if record.levelno >= logging.WARNING:
        return "WARNING"
    if record.levelno >= logging.INFO:
        return "NOTICE"
    if record.levelno >= logging.DEBUG:
        return "DEBUG"
    return "TRACE"


def parse_levels(components: str) -> tuple[frozenset[str], str]:
    """The level set of ``[formatter]level,level`` and the formatter name."""
    formatter = "default"
    text = components
    start = text.find("[")
    if start >= 0:
        end = text.find("]", start + 1)
        if end >= 0:
            name = text[start + 1 : end].strip().lower()
            formatter = name if name in ("default", "json", "plain") else "default"
            text = text[end + 1 :]
    levels: set[str] = set()
    for word in text.split(","):
        word = word.strip()
        if not word:
            continue
        if word == "*":
            levels.update(LEVELS)
        elif word.lower().startswith("verbose("):
            levels.add("VERBOSE")
        elif word.upper() in LEVELS:
            levels.add(word.upper())
    return frozenset(levels), formatter


class _Formatter(logging.Formatter):
    def __init__(self, dateformat: str, style: str) -> None:
        super().__init__()
        self.dateformat = dateformat.replace("%e", "%d")
        self.style_name = style

    def format(self, record: logging.LogRecord) -> str:
        level = asterisk_level(record)
        message = record.getMessage()
        if self.style_name != "json":  # JSON escapes them itself
            message = escape_controls(message)
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        stamp = time.strftime(self.dateformat, time.localtime(record.created))
        if self.style_name == "plain":
            return f"[{stamp}] {level}: {message}"
        if self.style_name == "json":
            import json

            return json.dumps(
                {
                    "hostname": socket.gethostname(),
                    "timestamp": stamp,
                    "identifiers": {"lwp": record.thread},
                    "logger": {
                        "level": level,
                        "source": {
                            "file": getattr(record, "asterisk_source", record.filename),
                            "line": record.lineno,
                            "function": record.funcName,
                        },
                    },
                    "message": message,
                }
            )
        source = getattr(record, "asterisk_source", record.filename)
        return f"[{stamp}] {level}[{record.process}] {source}: {message}"


class _LevelFilter(logging.Filter):
    def __init__(self, levels: frozenset[str]) -> None:
        super().__init__()
        self.levels = levels

    def filter(self, record: logging.LogRecord) -> bool:
        return asterisk_level(record) in self.levels


@dataclass(frozen=True, slots=True)
class LogChannelInfo:
    """ARI's LogChannel model."""

    channel: str
    type: str
    status: str
    configuration: str


class LogChannelError(Refused):
    """A change to the log channels Asterisk refuses."""


class LogChannelNotFound(LogChannelError, NotFound):
    """No channel of that name that may be removed or rotated."""


class LogChannelExists(LogChannelError, Conflict):
    """A channel of that name is already there."""


class InvalidLogChannel(LogChannelError, Invalid):
    """A name or configuration that cannot make a channel."""


class LogChannelFailed(LogChannelError, Failed):
    """The channel could not be made (its file or syslog could not be opened)."""


@dataclass
class _Channel:
    filename: str
    """Full path of a file; ``""`` for the console; ``syslog.<facility>`` for syslog."""
    type: str
    components: str
    levels: frozenset[str]
    formatter: str
    dynamic: bool
    handler: logging.Handler | None = None
    disabled: bool = False

    @property
    def configuration(self) -> str:
        return "".join(f"{lvl} " for lvl in LEVELS if lvl in self.levels)


class LogChannels:
    """The log channels of one pyari, attached to the ``pyari`` logger while open."""

    def __init__(
        self,
        settings: LoggerSettings,
        logdir: Path,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self.logdir = logdir
        self.logger = logger or logging.getLogger("pyari")
        self.hostname = socket.gethostname() if settings.appendhostname else ""
        self._channels: list[_Channel] = []
        """Newest first, as Asterisk inserts at the head of its list."""
        for logfile in settings.logfiles:
            try:
                chan = self._make(logfile.name, logfile.levels, dynamic=False)
            except (OSError, ValueError):
                logging.getLogger("pyari").error("Unable to create log channel '%s'", logfile.name)
                continue
            self._channels.insert(0, chan)

    # -- naming ---------------------------------------------------------------------------

    def filename(self, name: str) -> str:
        if name.lower() == "console":
            return ""
        if name.lower().startswith("syslog"):
            return name
        base = name if name.startswith("/") else str(self.logdir / name)
        return f"{base}.{self.hostname}" if self.hostname else base

    def _find(self, name: str) -> _Channel | None:
        target = self.filename(name)
        return next((c for c in self._channels if c.filename == target), None)

    # -- building -------------------------------------------------------------------------

    def _make(self, name: str, components: str, *, dynamic: bool) -> _Channel:
        levels, formatter = parse_levels(components)
        filename = self.filename(name)
        if name.lower() == "console":
            # The console is the process's own output; it always shows verbose messages.
            return _Channel("", "Console", components, levels | {"VERBOSE"}, formatter, dynamic)
        if name.lower().startswith("syslog"):
            facility = name.partition(".")[2] or "local0"
            if facility not in logging.handlers.SysLogHandler.facility_names:
                raise ValueError(f"bad syslog facility {facility!r}")
            chan = _Channel(filename, "Syslog", components, levels, formatter, dynamic)
            if os.path.exists("/dev/log"):
                with contextlib.suppress(OSError):
                    handler: logging.Handler = logging.handlers.SysLogHandler(
                        "/dev/log", facility=facility
                    )
                    self._attach(chan, handler)
            return chan
        chan = _Channel(filename, "File", components, levels, formatter, dynamic)
        self._attach(chan, self._open(filename))
        return chan

    def _open(self, filename: str) -> logging.FileHandler:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        # The channel owns its file: a plain handler the process set up on the same
        # file (``pyari serve`` writes messages.log) would duplicate every line.
        root = logging.getLogger()
        for other in list(root.handlers):
            if isinstance(other, logging.FileHandler) and os.path.abspath(
                other.baseFilename
            ) == os.path.abspath(filename):
                root.removeHandler(other)
                other.close()
        handler = logging.FileHandler(filename, mode="a", encoding="utf-8")
        assert handler.stream is not None
        uname = os.uname()
        stamp = time.strftime(self.settings.dateformat.replace("%e", "%d"))
        handler.stream.write(
            f"[{stamp}] Asterisk {pyari.__version__} built by pyari @ {uname.nodename}"
            f" on a {uname.machine} running {uname.sysname}\n"
        )
        handler.stream.flush()
        return handler

    def _attach(self, chan: _Channel, handler: logging.Handler) -> None:
        handler.setFormatter(_Formatter(self.settings.dateformat, chan.formatter))
        handler.addFilter(_LevelFilter(chan.levels))
        chan.handler = handler
        self.logger.addHandler(handler)

    def _detach(self, chan: _Channel) -> None:
        if chan.handler is not None:
            self.logger.removeHandler(chan.handler)
            chan.handler.close()
            chan.handler = None

    # -- operations ---------------------------------------------------------------------

    def list(self) -> list[LogChannelInfo]:
        return [
            LogChannelInfo(
                channel=c.filename,
                type=c.type,
                status="Disabled" if c.disabled else "Enabled",
                configuration=c.configuration,
            )
            for c in self._channels
        ]

    def _is_file(self, name: str) -> bool:
        return name.lower() != "console" and not name.lower().startswith("syslog")

    def _confined(self, name: str) -> None:
        """Refuse (InvalidLogChannel) a file name that is not a file inside the log folder."""
        try:
            confine(self.logdir, self.filename(name))
        except PathRefused:
            raise InvalidLogChannel(INVALID_NAME) from None

    def add(self, name: str, components: str) -> None:
        """Add a channel at run time (``ast_logger_create_channel``)."""
        if not components.strip():
            raise InvalidLogChannel("Configuration levels are required")
        if name and self._is_file(name):
            self._confined(name)
        if not name or self._find(name) is not None:
            raise LogChannelExists("Log channel already exists")
        try:
            chan = self._make(name, components, dynamic=True)
        except (OSError, ValueError):
            # Asterisk's answer when it cannot make the channel (AST_LOGGER_ALLOC_ERROR)
            raise LogChannelFailed("Allocation failed") from None
        self._channels.insert(0, chan)

    def remove(self, name: str) -> None:
        """Remove a channel added at run time; configured ones stay."""
        chan = self._find(name)
        if chan is None or not chan.dynamic:
            raise LogChannelNotFound("Log channel does not exist")
        self._channels.remove(chan)
        self._detach(chan)

    def rotate(self, name: str) -> None:
        """Rotate a file channel and start a new file."""
        chan = self._find(name)
        if chan is None or chan.type != "File" or chan.handler is None:
            raise LogChannelNotFound("Log channel does not exist")
        if chan.dynamic and not self._owned(chan.filename):
            raise LogChannelNotFound("Log channel does not exist")
        self._detach(chan)
        with contextlib.suppress(OSError):
            self._rotate_file(chan.filename)
        chan.disabled = False
        try:
            self._attach(chan, self._open(chan.filename))
        except OSError:
            chan.disabled = True

    def _owned(self, filename: str) -> bool:
        """Whether an ARI-added channel's file is still a plain file in the log folder
        (not since replaced by a link to somewhere else)."""
        return inside(self.logdir, filename) and not os.path.islink(filename)

    def _rotate_file(self, filename: str) -> None:
        strategy = self.settings.rotatestrategy
        if strategy == "none":
            return
        if strategy == "timestamp":
            os.rename(filename, f"{filename}.{int(time.time())}")
            return
        if strategy == "sequential":
            x = 0
            while os.path.exists(f"{filename}.{x}"):
                x += 1
            os.rename(filename, f"{filename}.{x}")
            return
        # rotate: shift name.N[.gz ...] up by one, then name → name.0
        x = 0
        while any(os.path.exists(f"{filename}.{x}{s}") for s in _ROTATE_SUFFIXES):
            x += 1
        for y in range(x, 0, -1):
            for s in _ROTATE_SUFFIXES:
                if os.path.exists(f"{filename}.{y - 1}{s}"):
                    os.rename(f"{filename}.{y - 1}{s}", f"{filename}.{y}{s}")
                    break
        os.rename(filename, f"{filename}.0")

    def close(self) -> None:
        """Detach every handler (server stop)."""
        for chan in self._channels:
            self._detach(chan)
