"""Where audio comes from: the sounds index, media URIs, stored recordings and files.

One :class:`MediaLibrary` per process, held by the media service. It builds the
sounds index once (in a thread), resolves media URIs (``sound:``,
``recording:``, ``tone:``, ``number:`` ...) to sources for players, finds a
stored recording's file inside the recording folder, and loads audio files
(cached) at the engine's rate. Like the engine, what it needs of numpy and the
codecs is imported on first use.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING

from pyari.confine import PathRefused, check_name, confine, inside
from pyari.media.frames import TICK_MS

if TYPE_CHECKING:
    from pyari.media.frames import Samples
    from pyari.media.player import Opener
    from pyari.media.sounds import SoundsIndex
    from pyari.media.sources import Source
    from pyari.media.uris import AudioCache, MediaResolver


def file_with_stem(directory: Path, stem: str, formats: Collection[str]) -> str | None:
    """The first entry of ``directory`` (sorted) named ``stem.<format>`` with a format
    of ``formats``; None when there is none or the folder cannot be read."""
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return None
    for entry in entries:
        name, dot, ext = entry.rpartition(".")
        if dot and name == stem and ext in formats:
            return entry
    return None


class MediaLibrary:
    """The sounds, media URIs, stored recordings and audio files of the process."""

    def __init__(
        self,
        *,
        sounds_dir: Callable[[], Path],
        recording_dir: Callable[[], Path],
        rate: Callable[[], int],
    ) -> None:
        self.sounds_dir = sounds_dir
        self.recording_dir = recording_dir
        self.rate = rate
        """The engine's sample rate (asking it makes the engine)."""
        self._cache: AudioCache | None = None
        self._index: SoundsIndex | None = None
        self._index_task: asyncio.Future[SoundsIndex] | None = None
        self.resolver: MediaResolver | None = None

    @property
    def cache(self) -> AudioCache:
        cache = self._cache
        if cache is None:
            from pyari.media.uris import AudioCache

            cache = self._cache = AudioCache()
        return cache

    async def sounds(self) -> SoundsIndex:
        """The sounds index (built once, off the event loop)."""
        if self._index is not None:
            return self._index
        from pyari.media.sounds import build_index
        from pyari.media.uris import MediaResolver

        if self._index_task is None:
            self._index_task = asyncio.ensure_future(
                asyncio.to_thread(build_index, self.sounds_dir())
            )
        index = await asyncio.shield(self._index_task)
        if self._index is None:
            self._index = index
            self.resolver = MediaResolver(
                index, recording_file=self.recording_file, cache=self.cache
            )
        return index

    def recording_file(self, name: str) -> Path | None:
        """A stored recording's file for ``recording:<name>`` (blocking: runs in a thread)."""
        from pyari.media.files import EXTENSION_FORMATS

        base = self.recording_dir()
        folder, _, stem = name.rpartition("/")
        try:
            check_name(name)
            directory = confine(base, folder, allow_base=True) if folder else base
        except PathRefused:
            return None
        entry = file_with_stem(directory, stem, EXTENSION_FORMATS)
        if entry is None:
            return None
        path = directory / entry
        return path if inside(base, path) else None

    async def _open(self, uri: str, language: str) -> Source:
        await self.sounds()
        resolver = self.resolver
        assert resolver is not None
        return await asyncio.to_thread(lambda: resolver.load(resolver.plan(uri, language or None)))

    def opener(self, language: str) -> Opener:
        """What a :class:`~pyari.media.player.Player` opens URIs with (file work in a thread)."""

        async def open_uri(uri: str) -> Source:
            return await self._open(uri, language)

        return open_uri

    async def load_samples(self, path: Path) -> Samples:
        """An audio file as int16 samples at the engine's rate (cached, read in a thread)."""
        from pyari.media.codecs import resample

        rate = self.rate()

        def load() -> Samples:
            audio = self.cache.get(path)
            return resample(audio.samples, audio.rate, rate)

        return await asyncio.to_thread(load)

    async def resolve_samples(self, media: str | os.PathLike[str], language: str) -> Samples:
        """A media URI or a file path as int16 samples at the engine's rate (at most 10 min)."""
        import numpy as np

        text = os.fspath(media)
        if ":" not in text or text.startswith("/"):
            return await self.load_samples(Path(text))
        source = await self._open(text, language)
        rate = self.rate()
        chunk_size = rate * TICK_MS // 1000
        parts: list[Samples] = []
        limit = rate * 600
        got = 0
        while got < limit:
            chunk = source.read(chunk_size)
            if chunk is None:
                break
            parts.append(np.array(chunk, dtype=np.int16))
            got += len(chunk)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


__all__ = ["MediaLibrary"]
