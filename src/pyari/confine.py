"""Names from outside that become files: checked, and kept inside their folder.

Every name a client gives that pyari turns into a path (a ``recording:`` URI,
a stored or live recording name, a copy destination, a log channel name ...)
goes through :func:`confine`: the name must be a usable file name
(:func:`check_name`) and, once joined to its folder and resolved (``..`` and
symbolic links followed), must still lie in that folder — compared with a
path separator, so ``/spool/recordingX`` is not inside ``/spool/recording``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MAX_NAME_BYTES", "MAX_PATH_BYTES", "PathRefused", "check_name", "confine", "inside"]

MAX_NAME_BYTES = 255
"""Longest file name component, in bytes (Linux ``NAME_MAX``)."""

MAX_PATH_BYTES = 4095
"""Longest path, in bytes (Linux ``PATH_MAX`` less its terminating NUL)."""


class PathRefused(ValueError):
    """A name that cannot become a file inside its folder. Its text names no server path."""


def _bad_char(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF


def check_name(name: str) -> None:
    """Raise :class:`PathRefused` unless ``name`` can be a file name.

    Refused: empty, control characters (NUL, CR, LF, ESC ...), bytes that are
    not UTF-8 (lone surrogates from a percent-decoded path), a component longer
    than :data:`MAX_NAME_BYTES` or a whole longer than :data:`MAX_PATH_BYTES`.
    """
    if not name:
        raise PathRefused("empty name")
    if any(_bad_char(ch) for ch in name):
        raise PathRefused("control or non-UTF-8 character in name")
    if len(name.encode()) > MAX_PATH_BYTES:
        raise PathRefused("name too long")
    if any(len(part.encode()) > MAX_NAME_BYTES for part in name.split("/")):
        raise PathRefused("name too long")


def inside(base: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether ``path``, resolved, is ``base`` (resolved) or lies below it."""
    try:
        real_base = os.path.realpath(base)
        real = os.path.realpath(path)
    except (ValueError, OSError):
        return False
    return real == real_base or real.startswith(real_base.rstrip(os.sep) + os.sep)


def confine(base: str | os.PathLike[str], name: str, *, allow_base: bool = False) -> Path:
    """``base / name`` once :func:`check_name` passes and the result stays inside ``base``.

    An absolute ``name`` is taken as it is (and so must point into ``base``).
    Unless ``allow_base``, the name must point *below* ``base``, not at it.
    Raises :class:`PathRefused`.
    """
    check_name(name)
    path = Path(base) / name
    if not inside(base, path):
        raise PathRefused("name points outside its folder")
    if not allow_base and os.path.realpath(path) == os.path.realpath(base):
        raise PathRefused("name points at its folder")
    return path
