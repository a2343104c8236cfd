"""/recordings: stored recordings on disk (``astspooldir/recording``) and live ones.

Stored recordings are files named ``<name>.<format>`` below the recording
folder; a name may contain folders (``calls/today/x``). Live recordings are
are those being recorded now on channels and bridges (``/recordings/live``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from pyari.ari.args import (
    RecordingsCancelArgs,
    RecordingsCopyStoredArgs,
    RecordingsDeleteStoredArgs,
    RecordingsGetLiveArgs,
    RecordingsGetStoredArgs,
    RecordingsGetStoredFileArgs,
    RecordingsListStoredArgs,
    RecordingsMuteArgs,
    RecordingsPauseArgs,
    RecordingsStopArgs,
    RecordingsUnmuteArgs,
    RecordingsUnpauseArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import Reply, handles
from pyari.ari.resources.media_ops import RECORD_FORMATS, find_live
from pyari.confine import PathRefused, check_name, confine, inside
from pyari.media.library import file_with_stem
from pyari.stasis.recording import LiveRecording

RECORDING_NOT_FOUND = "Recording not found"
VIDEO_FORMATS = frozenset({"h263", "h264"})


class StoredRecording(msgspec.Struct, frozen=True):
    name: str
    format: str


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    name: str
    format: str


class Forbidden(Exception):
    """The name points outside the recording folder."""


def recording_dir(ctx: AriContext) -> Path:
    if ctx.directories is None:
        raise AriError(500, "Recording directory not configured")
    return ctx.directories().astspooldir / "recording"


def _split(name: str) -> tuple[str, str]:
    folder, _, file = name.rpartition("/")
    return folder, file


def find_stored(base: Path, name: str) -> Found | None:
    """The stored recording ``name``; raises :class:`Forbidden` outside ``base`` and
    :class:`~pyari.confine.PathRefused` for a name that cannot be a file name."""
    check_name(name)
    folder, file = _split(name)
    if not file:
        return None
    directory = base / folder if folder else base
    if not inside(base, directory):
        raise Forbidden(name)
    entry = file_with_stem(directory, file, RECORD_FORMATS)
    if entry is None:
        return None
    path = directory / entry
    if not path.is_file() or not inside(base, path):
        raise Forbidden(name)
    return Found(path, f"{folder}/{file}" if folder else file, entry.rpartition(".")[2])


def _lookup(ctx: AriContext, name: str) -> Found:
    try:
        found = find_stored(recording_dir(ctx), name)
    except (Forbidden, PathRefused):
        found = None
    if found is None:
        raise AriError(404, RECORDING_NOT_FOUND)
    return found


def list_stored(base: Path) -> list[StoredRecording]:
    found: dict[str, StoredRecording] = {}
    for root, _dirs, files in os.walk(base):
        rel = os.path.relpath(root, base)
        for entry in files:
            stem, dot, ext = entry.rpartition(".")
            if not dot or not stem or ext not in RECORD_FORMATS:
                continue
            name = stem if rel == "." else f"{rel.replace(os.sep, '/')}/{stem}"
            found[name] = StoredRecording(name, ext)
    return [found[n] for n in sorted(found)]


@handles("recordings", "listStored")
async def list_recordings(ctx: AriContext, args: RecordingsListStoredArgs) -> list[StoredRecording]:
    return await asyncio.to_thread(list_stored, recording_dir(ctx))


@handles("recordings", "getStored")
async def get_stored(ctx: AriContext, args: RecordingsGetStoredArgs) -> StoredRecording:
    found = _lookup(ctx, args.recordingName)
    return StoredRecording(found.name, found.format)


@handles("recordings", "deleteStored")
async def delete_stored(ctx: AriContext, args: RecordingsDeleteStoredArgs) -> None:
    found = _lookup(ctx, args.recordingName)
    try:
        await asyncio.to_thread(found.path.unlink)
    except FileNotFoundError:
        raise AriError(404, RECORDING_NOT_FOUND) from None
    except OSError:
        raise AriError(500, "Delete failed") from None


@handles("recordings", "getStoredFile")
async def get_stored_file(ctx: AriContext, args: RecordingsGetStoredFileArgs) -> Reply:
    found = _lookup(ctx, args.recordingName)
    try:
        data = await asyncio.to_thread(found.path.read_bytes)
    except OSError:
        raise AriError(403, "Recording could not be opened") from None
    kind = "video" if found.format in VIDEO_FORMATS else "audio"
    return Reply(200, data, {"Content-Type": f"{kind}/{found.format}"})


@handles(
    "recordings",
    "copyStored",
    missing={"destinationRecordingName": "Invalid destination recording name"},
)
async def copy_stored(ctx: AriContext, args: RecordingsCopyStoredArgs) -> StoredRecording:
    source = _lookup(ctx, args.recordingName)
    base = recording_dir(ctx)
    dest = args.destinationRecordingName
    try:
        existing = find_stored(base, dest)
        folder, file = _split(dest)
        target = confine(base, f"{dest}.{source.format}") if file else None
    except Forbidden:
        raise AriError(403, "Destination file path is forbidden") from None
    except PathRefused:
        raise AriError(400, "Invalid destination recording name") from None
    if existing is not None:
        raise AriError(409, "A recording with the same name already exists on the system")
    if target is None:
        raise AriError(400, "Invalid destination recording name")

    def copy() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.path, target)

    try:
        await asyncio.to_thread(copy)
    except OSError:
        raise AriError(500, "Copy failed") from None
    return StoredRecording(f"{folder}/{file}" if folder else file, source.format)


def _find_live(ctx: AriContext, name: str) -> LiveRecording:
    return find_live(ctx.recordings, name, RECORDING_NOT_FOUND)


@handles("recordings", "getLive")
async def get_live(ctx: AriContext, args: RecordingsGetLiveArgs) -> dict[str, Any]:
    return _find_live(ctx, args.recordingName).to_json()


LiveArgs = (
    RecordingsCancelArgs
    | RecordingsStopArgs
    | RecordingsPauseArgs
    | RecordingsUnpauseArgs
    | RecordingsMuteArgs
    | RecordingsUnmuteArgs
)


def _live(nickname: str, operation: str) -> None:
    async def live(ctx: AriContext, args: LiveArgs) -> None:
        rec = _find_live(ctx, args.recordingName)
        if not rec.operation(operation):
            raise AriError(409, "Recording not in session")

    live.__name__ = f"live_{nickname}"
    handles("recordings", nickname)(live)


for _nickname, _operation in (
    ("cancel", "cancel"),
    ("stop", "stop"),
    ("pause", "pause"),
    ("unpause", "unpause"),
    ("mute", "mute"),
    ("unmute", "unmute"),
):
    _live(_nickname, _operation)
