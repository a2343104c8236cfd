"""The sounds index behind ``/ari/sounds``: ``astdatadir/sounds/<lang>/…``.

Like Asterisk's media index, every directory directly under ``sounds/`` is a
language (``en``, ``fr``, ``en_US_f_Allison`` …; symlinks are followed), every
file below it whose extension a format is registered for is a sound whose id is
its path relative to the language folder without the extension
(``tt-monkeys``, ``digits/1``, ``letters/a``), and its format is the one the
extension maps to (``wav`` → ``slin``, ``sln16`` → ``slin16``, ``ulaw`` → ``ulaw`` …,
see :data:`pyari.media.files.EXTENSION_FORMATS`). ``*.txt`` files such as
``core-sounds-en.txt`` give descriptions (``id: text`` lines, continuation
lines without a colon, ``;`` comments), reported as the sound's ``text``.

Lookup for playback (:meth:`SoundsIndex.find`) follows Asterisk's language
fallback: the requested language, then its prefix before ``_`` (``en_GB`` →
``en``), then ``en``. Debian installs the English prompts as
``sounds/en_US_f_Allison`` without an ``en`` folder (the ``en`` link comes from a
separate package); when there is no ``en`` folder, the index aliases ``en`` to the
only ``en_*`` folder so that ``sound:tt-monkeys`` plays with the default language.
The alias affects lookups only; listings report the real folder names.

Building the index reads directories: it blocks, use :func:`build_index_async`
on the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyari.media.files import EXTENSION_FORMATS


@dataclass(frozen=True, slots=True)
class SoundFormat:
    language: str
    format: str


@dataclass(frozen=True, slots=True)
class Sound:
    """One sound id across languages: ARI's ``Sound`` model (``id``, ``text``, ``formats``)."""

    id: str
    text: str | None
    formats: tuple[SoundFormat, ...]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id}
        if self.text is not None:
            out["text"] = self.text
        out["formats"] = [{"language": f.language, "format": f.format} for f in self.formats]
        return out


@dataclass(slots=True)
class _Entry:
    files: dict[str, dict[str, Path]] = field(default_factory=dict)
    """language → format → file."""
    texts: dict[str, str] = field(default_factory=dict)
    """language → description."""


class SoundsIndex:
    """An immutable snapshot of the installed sounds (rebuild to refresh)."""

    def __init__(
        self,
        sounds_dir: Path,
        entries: Mapping[str, _Entry],
        languages: Iterable[str],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.sounds_dir = sounds_dir
        self._entries = dict(entries)
        self.languages: tuple[str, ...] = tuple(sorted(languages))
        self.aliases: dict[str, str] = dict(aliases or {})

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, sound_id: object) -> bool:
        return sound_id in self._entries

    def ids(self) -> list[str]:
        return sorted(self._entries)

    def _sound(
        self, sound_id: str, entry: _Entry, lang: str | None, fmt: str | None
    ) -> Sound | None:
        formats: list[SoundFormat] = []
        for language in sorted(entry.files):
            if lang is not None and language != lang:
                continue
            for f in sorted(entry.files[language]):
                if fmt is None or f == fmt:
                    formats.append(SoundFormat(language, f))
        if not formats:
            return None
        text = None
        for language in sorted(entry.texts):
            if lang is None or language == lang:
                text = entry.texts[language]
                break
        return Sound(sound_id, text, tuple(formats))

    def sounds(self, lang: str | None = None, format: str | None = None) -> list[Sound]:
        """``GET /sounds``: every sound with at least one (language, format) matching."""
        out: list[Sound] = []
        for sound_id in sorted(self._entries):
            sound = self._sound(sound_id, self._entries[sound_id], lang, format)
            if sound is not None:
                out.append(sound)
        return out

    def get(self, sound_id: str) -> Sound | None:
        """``GET /sounds/{id}``; ``None`` → 404 ``Sound not found``."""
        entry = self._entries.get(sound_id)
        return None if entry is None else self._sound(sound_id, entry, None, None)

    def fallback_languages(self, lang: str | None) -> list[str]:
        """Languages tried for ``lang``, in order (Asterisk's fallback, then aliases)."""
        chain: list[str] = []
        for candidate in (lang, lang.split("_", 1)[0] if lang and "_" in lang else None, "en"):
            if candidate and candidate not in chain:
                chain.append(candidate)
        resolved: list[str] = []
        for candidate in chain:
            real = candidate if candidate in self.languages else self.aliases.get(candidate)
            if real and real not in resolved:
                resolved.append(real)
        return resolved

    def find(self, sound_id: str, lang: str | None = None) -> dict[str, Path]:
        """Files (format → path) for ``sound_id`` in the best language; empty if none."""
        entry = self._entries.get(sound_id)
        if entry is None:
            return {}
        for language in self.fallback_languages(lang):
            files = entry.files.get(language)
            if files:
                return dict(files)
        return {}

    def exists(self, sound_id: str, lang: str | None = None) -> bool:
        return bool(self.find(sound_id, lang))


def _parse_descriptions(path: Path, texts: dict[str, str]) -> None:
    current: str | None = None
    parts: list[str] = []

    def flush() -> None:
        if current is not None and parts and parts[0]:
            texts[current] = "\n".join(parts)

    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for raw in lines:
        if raw.startswith(";"):
            continue
        line = raw.rstrip()
        if ":" not in line:
            if current is not None:
                parts.append(line)
            continue
        flush()
        ident, _, description = line.partition(":")
        current = ident
        parts = [description.lstrip()]
    flush()


def build_index(sounds_dir: str | os.PathLike[str]) -> SoundsIndex:
    """Scan ``sounds_dir`` (blocking). A missing directory gives an empty index."""
    base = Path(sounds_dir)
    entries: dict[str, _Entry] = {}
    languages: list[str] = []
    try:
        children = sorted(os.scandir(base), key=lambda e: e.name)
    except OSError:
        children = []
    for child in children:
        if not child.is_dir(follow_symlinks=True):
            continue
        language = child.name
        languages.append(language)
        root = Path(child.path)
        descriptions: dict[str, str] = {}
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for filename in filenames:
                rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
                rel = rel.replace(os.sep, "/")
                stem, dot, ext = rel.rpartition(".")
                if not dot or not stem:
                    continue
                if ext == "txt":
                    _parse_descriptions(Path(dirpath) / filename, descriptions)
                    continue
                fmt = EXTENSION_FORMATS.get(ext)
                if fmt is None:
                    continue  # no format registered for it (gsm, g722 …)
                entry = entries.setdefault(stem, _Entry())
                entry.files.setdefault(language, {}).setdefault(fmt, Path(dirpath) / filename)
        for sound_id, text in descriptions.items():
            if sound_id in entries and language in entries[sound_id].files:
                entries[sound_id].texts[language] = text
    aliases: dict[str, str] = {}
    if "en" not in languages:
        english = [lang for lang in languages if lang.startswith("en_")]
        if len(english) == 1:
            aliases["en"] = english[0]
    return SoundsIndex(base, entries, languages, aliases)


async def build_index_async(sounds_dir: str | os.PathLike[str]) -> SoundsIndex:
    return await asyncio.to_thread(build_index, sounds_dir)


def locate_path(base: str | os.PathLike[str]) -> dict[str, Path]:
    """Files for an absolute sound name without extension (``sound:/tmp/x``; blocking)."""
    path = Path(base)
    found: dict[str, Path] = {}
    try:
        siblings = sorted(os.scandir(path.parent), key=lambda e: e.name)
    except (OSError, ValueError):  # ValueError: a NUL in the name
        return found
    prefix = path.name + "."
    for entry in siblings:
        if entry.name.startswith(prefix) and entry.is_file():
            fmt = EXTENSION_FORMATS.get(entry.name[len(prefix) :].lower())
            if fmt is not None:
                found.setdefault(fmt, Path(entry.path))
    return found


PREFERRED_ORDER = ("slin16", "slin", "ulaw", "alaw", "g722", "gsm")
"""Lossless first; G.722 and GSM (lossy, a decoder per play) when they are all there is
or the channel's own format."""


def choose_file(files: Mapping[str, Path], native: str | None = None) -> Path | None:
    """Pick the file to play: the channel's native format if present, else best quality."""
    if not files:
        return None
    if native is not None and native in files:
        return files[native]
    for fmt in PREFERRED_ORDER:
        if fmt in files:
            return files[fmt]
    return next(iter(files.values()))
