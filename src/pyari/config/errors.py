"""The one exception type of :mod:`pyari.config`."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file cannot be used.

    ``file`` names the file (as it was given or resolved by ``#include``), ``line`` the
    1-based line of the offending text, or 0 when the problem is not tied to one line
    (a missing file, a missing directory, a user without password...).
    """

    file: str
    line: int
    reason: str

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(file, line, reason)
        self.file = file
        self.line = line
        self.reason = reason

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.reason}"
        return f"{self.file}:{self.line}: {self.reason}"
