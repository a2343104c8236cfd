"""Typed settings of logger.conf: ``[general]`` options and the ``[logfiles]`` channels.

No logger.conf at all means Asterisk's fallback: one console channel logging
errors, warnings, notices and verbose messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from pyari.config.loader import load_one
from pyari.config.parser import Section
from pyari.config.values import TRUE_WORDS

__all__ = ["LogFile", "LoggerSettings", "RotateStrategy", "load_logger"]

RotateStrategy = Literal["none", "sequential", "rotate", "timestamp"]
_STRATEGIES: tuple[RotateStrategy, ...] = ("none", "sequential", "rotate", "timestamp")


@dataclass(frozen=True, slots=True)
class LogFile:
    """One ``name => levels`` line of ``[logfiles]``."""

    name: str
    levels: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class LoggerSettings:
    logfiles: tuple[LogFile, ...]
    rotatestrategy: RotateStrategy = "sequential"
    appendhostname: bool = False
    dateformat: str = "%b %e %T"

    @classmethod
    def fallback(cls) -> Self:
        """What Asterisk runs when there is no logger.conf."""
        return cls(logfiles=(LogFile("console", "error,warning,notice,verbose"),))

    @classmethod
    def from_sections(cls, sections: list[Section]) -> Self:
        general: dict[str, str] = {}
        files: list[LogFile] = []
        for section in sections:
            name = section.name.casefold()
            if name == "general":
                for entry in section.entries:
                    general[entry.key.casefold()] = entry.value.strip()
            elif name == "logfiles":
                files.extend(
                    LogFile(e.key.strip(), e.value.strip(), e.line)
                    for e in section.entries
                    if e.key.strip()
                )
        strategy = general.get("rotatestrategy", "sequential").lower()
        # ast_true: anything but a true word is false.
        append = general.get("appendhostname", "").lower() in TRUE_WORDS
        return cls(
            logfiles=tuple(files),
            # An unknown strategy keeps the default, as Asterisk does.
            rotatestrategy=next((s for s in _STRATEGIES if s == strategy), "sequential"),
            appendhostname=append,
            dateformat=general.get("dateformat") or "%b %e %T",
        )


def load_logger(config_dir: Path | None) -> LoggerSettings:
    """logger.conf of ``config_dir`` (or of the embedded defaults); raises ConfigError."""
    sections = load_one(config_dir, "logger.conf")
    if not sections and (config_dir is None or not (config_dir / "logger.conf").exists()):
        return LoggerSettings.fallback()
    return LoggerSettings.from_sections(sections)
