"""Media URIs (``sound:``, ``recording:``, ``number:``, ``digits:``, ``characters:``,
``tone:``) → what to play.

:func:`parse_media_uri` splits and validates the scheme. :class:`MediaResolver`
turns a URI into a :class:`MediaPlan` (pure: sound ids or a tone, no file I/O
beyond the in-memory sounds index) and a plan into a playable
:class:`~pyari.media.sources.Source` (:meth:`MediaResolver.load` reads files:
call it in a thread, or use :meth:`MediaResolver.load_async`). Decoded files are
cached (bounded, keyed by path and mtime) so 500 callers hearing the same
prompt share one decoded copy.

Errors are :class:`~pyari.media.files.MediaError` values: the ARI layer maps an
:class:`UnknownSchemeError` or a :class:`~pyari.media.files.MediaNotFoundError`
to a failed playback, as Asterisk does.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from pyari.media.codecs import resample
from pyari.media.files import Audio, MediaError, MediaNotFoundError, read_audio
from pyari.media.frames import Samples
from pyari.media.saynumber import parse_number, say_characters, say_digits, say_number
from pyari.media.sounds import SoundsIndex, choose_file, locate_path
from pyari.media.sources import BufferSource, Source, ToneSource
from pyari.media.tones import Indications, ToneError, ToneGenerator, ToneSpec

SCHEMES: Final = ("sound", "recording", "number", "digits", "characters", "tone")

CONTROLLABLE_SCHEMES: Final = frozenset({"sound", "recording", "tone"})
"""Schemes whose playback can be paused/skipped/stopped (Asterisk's ``controllable``)."""


class UnknownSchemeError(MediaError):
    """A media URI whose scheme pyari does not play."""


@dataclass(frozen=True, slots=True)
class MediaUri:
    scheme: str
    target: str
    uri: str

    @property
    def controllable(self) -> bool:
        return self.scheme in CONTROLLABLE_SCHEMES


def parse_media_uri(uri: str) -> MediaUri:
    scheme, sep, target = uri.partition(":")
    if not sep or scheme not in SCHEMES:
        raise UnknownSchemeError(f"unsupported media URI scheme in '{uri}'")
    return MediaUri(scheme, target, uri)


def parse_tone_uri(target: str) -> tuple[str, str | None]:
    """``ring;tonezone=fr`` → (``ring``, ``fr``)."""
    tone, _, options = target.partition(";")
    zone = None
    for option in options.split(";") if options else []:
        key, _, value = option.partition("=")
        if key.strip() == "tonezone" and value.strip():
            zone = value.strip()
    return tone, zone


@dataclass(frozen=True, slots=True)
class MediaPlan:
    """What one URI plays: files (in order) or a tone."""

    uri: MediaUri
    files: tuple[Path, ...] = ()
    tone: ToneSpec | None = None


class AudioCache:
    """Bounded LRU of decoded files (thread-safe; filled from worker threads)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, int, int], Audio] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, path: Path) -> Audio:
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise MediaNotFoundError(f"{path.name}: no such file") from exc
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        audio = read_audio(path)
        with self._lock:
            self._items[key] = audio
            self._bytes += audio.samples.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._bytes -= old.samples.nbytes
        return audio


class MediaResolver:
    """Resolves media URIs against the sounds index, stored recordings and tone zones."""

    def __init__(
        self,
        sounds: SoundsIndex,
        *,
        recording_file: Callable[[str], Path | None] | None = None,
        indications: Indications | None = None,
        rate: int = 8000,
        cache: AudioCache | None = None,
    ) -> None:
        self.sounds = sounds
        self.recording_file = recording_file
        self.indications = indications or Indications()
        self.rate = rate
        self.cache = cache or AudioCache()

    def _sound_file(self, sound_id: str, lang: str | None, native: str | None) -> Path:
        if sound_id.startswith("/"):
            files = locate_path(sound_id)
        else:
            files = self.sounds.find(sound_id, lang)
        chosen = choose_file(files, native)
        if chosen is None:
            raise MediaNotFoundError(f"sound '{sound_id}' not found")
        return chosen

    def plan(self, uri: str, lang: str | None = None, native: str | None = None) -> MediaPlan:
        """What ``uri`` plays. Raises :class:`MediaError` for anything unplayable.

        ``sound:`` with an absolute path checks the file system (a directory
        listing); everything else only reads the in-memory index.
        """
        media = parse_media_uri(uri)
        exists: Callable[[str], bool] = lambda sid: self.sounds.exists(sid, lang)  # noqa: E731
        if media.scheme == "sound":
            return MediaPlan(media, (self._sound_file(media.target, lang, native),))
        if media.scheme == "recording":
            path = self.recording_file(media.target) if self.recording_file else None
            if path is None:
                raise MediaNotFoundError(f"recording '{media.target}' not found")
            return MediaPlan(media, (path,))
        if media.scheme == "tone":
            tone, zone = parse_tone_uri(media.target)
            try:
                spec = self.indications.resolve(tone, zone)
            except ToneError as exc:
                raise MediaError(str(exc)) from exc
            return MediaPlan(media, tone=spec)
        if media.scheme == "number":
            number = parse_number(media.target)
            if number is None:
                raise MediaError(f"invalid number '{media.target}'")
            try:
                ids = say_number(number)
            except ValueError as exc:
                raise MediaError(str(exc)) from exc
        elif media.scheme == "digits":
            ids = say_digits(media.target, exists)
        else:
            ids = say_characters(media.target, exists)
        return MediaPlan(media, tuple(self._sound_file(sid, lang, native) for sid in ids))

    def load(self, plan: MediaPlan) -> Source:
        """Read the plan's files and make its source (blocking)."""
        if plan.tone is not None:
            return ToneSource(ToneGenerator(plan.tone, self.rate))
        parts: list[Samples] = []
        for path in plan.files:
            audio = self.cache.get(path)
            parts.append(resample(audio.samples, audio.rate, self.rate))
        if not parts:
            return BufferSource(np.zeros(0, dtype=np.int16), self.rate)
        return BufferSource(parts[0] if len(parts) == 1 else parts, self.rate)

    async def load_async(self, plan: MediaPlan) -> Source:
        if plan.tone is not None:
            return self.load(plan)
        return await asyncio.to_thread(self.load, plan)

    async def open(self, uri: str, lang: str | None = None, native: str | None = None) -> Source:
        """:meth:`plan` then :meth:`load_async` (the common path)."""
        return await self.load_async(self.plan(uri, lang, native))
