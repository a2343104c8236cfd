"""The default configuration shipped inside the package (``defaults/*.conf``).

It reproduces the ARI introduction walkthrough: HTTP on 127.0.0.1:8088, ARI with the
user ``testARI``, and the ``[ARI-test]`` context that sends extension 1000 to Stasis.
"""

from __future__ import annotations

import errno
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["EMBEDDED_MARKER", "embedded_dir", "embedded_names", "embedded_text", "write_samples"]

EMBEDDED_MARKER = Path("<embedded>")
"""Stands for the embedded defaults when they are not plain files on disk."""


def _folder() -> Traversable:
    return files("pyari.config").joinpath("defaults")


def embedded_dir() -> Path:
    """The folder of the embedded files, or :data:`EMBEDDED_MARKER` (e.g. in a zip)."""
    folder = _folder()
    return folder if isinstance(folder, Path) else EMBEDDED_MARKER


def embedded_names() -> list[str]:
    """Names of the embedded files, sorted: ``["ari.conf", "asterisk.conf", ...]``."""
    return sorted(
        item.name for item in _folder().iterdir() if item.name.endswith(".conf") and item.is_file()
    )


def embedded_text(name: str) -> str | None:
    """The text of the embedded file ``name``, or None when there is none."""
    if name not in embedded_names():
        return None
    return _folder().joinpath(name).read_text(encoding="utf-8")


def write_samples(dest: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the embedded files into ``dest`` (created if needed) and return their paths.

    Raises :class:`FileExistsError`, before writing anything, if one of them is already
    there and ``overwrite`` is false.
    """
    names = embedded_names()
    targets = [dest / name for name in names]
    if not overwrite:
        for target in targets:
            if target.exists():
                raise FileExistsError(errno.EEXIST, "already exists", str(target))
    dest.mkdir(parents=True, exist_ok=True)
    for name, target in zip(names, targets, strict=True):
        target.write_bytes(_folder().joinpath(name).read_bytes())
    return targets
