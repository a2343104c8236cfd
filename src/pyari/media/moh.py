"""Music on hold: a looping source over the files of a musiconhold.conf class.

:class:`MohClassFiles` lists the playable files of a class directory (sorted, as
a directory listing; a blocking scan, done once per class in a thread).
:class:`MohSource` is what one listener (a channel, or a bridge) hears: it plays
the files one after another and starts again after the last, as Asterisk's
``mode=files`` does. The ``sort`` option picks the order: ``random`` takes a
random file each time, ``randstart`` starts at a random file then goes in order,
anything else (``alpha`` or unset) goes in alphabetical order from the first.
A listener that stops and restarts its music resumes where it was (the source
keeps its position, as the channel's music state does in Asterisk).

Files are decoded off the event loop through ``loader``; while a file loads the
source returns silence (so the listener hears music on hold, not its bridge).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import numpy as np

from pyari.media.files import EXTENSION_FORMATS
from pyari.media.frames import Samples

log = logging.getLogger(__name__)

Loader = Callable[[Path], Awaitable[Samples]]


def scan_class_files(directory: Path) -> list[Path]:
    """Playable files of a class directory, one per sound name, sorted (blocking)."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        stem, dot, ext = entry.name.rpartition(".")
        if not dot or not stem or ext.lower() not in EXTENSION_FORMATS:
            continue
        if entry.is_file():
            found.setdefault(stem, Path(entry.path))
    return [found[k] for k in sorted(found)]


class MohSource:
    """Endless music for one listener (an :class:`~pyari.media.mixer.AudioReader`)."""

    def __init__(
        self,
        files: Sequence[Path],
        loader: Loader,
        *,
        sort: str = "",
        rng: random.Random | None = None,
    ) -> None:
        self.files = list(files)
        self.loader = loader
        self.sort = sort
        self.rng = rng or random.Random()
        self.index = -1
        self._samples: Samples | None = None
        self._pos = 0
        self._loading: asyncio.Future[Samples] | None = None
        self.failures = 0
        self.files_played = 0

    def _next_index(self) -> int:
        count = len(self.files)
        if self.sort == "random":
            return self.rng.randrange(count)
        if self.index < 0:
            return self.rng.randrange(count) if self.sort == "randstart" else 0
        return (self.index + 1) % count

    def _advance(self) -> None:
        if not self.files or self._loading is not None:
            return
        if self.failures >= len(self.files):
            return  # nothing in the class can be played
        self.index = self._next_index()
        self._samples = None
        self._pos = 0
        future = asyncio.ensure_future(self.loader(self.files[self.index]))
        self._loading = future
        future.add_done_callback(self._loaded)

    def _loaded(self, future: asyncio.Future[Samples]) -> None:
        if future is not self._loading:
            return
        self._loading = None
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.failures += 1
            log.warning("music on hold: %s: %s", self.files[self.index], exc)
            self._advance()
            return
        self.failures = 0
        self._samples = future.result()
        self.files_played += 1

    def read(self, count: int) -> Samples | None:
        samples = self._samples
        if samples is None:
            self._advance()
            return np.zeros(count, dtype=np.int16)
        chunk = samples[self._pos : self._pos + count]
        self._pos += count
        if len(chunk) < count:
            padded = np.zeros(count, dtype=np.int16)
            padded[: len(chunk)] = chunk
            self._samples = None
            self._advance()
            return padded
        return chunk

    def close(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
