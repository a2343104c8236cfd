"""What the media operations of /channels and /bridges share (play, record), and the
media service that /sounds and /playbacks reach: parameter checks in Asterisk's order,
the live recording's registration and the 201 replies with their ``Location``."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from pyari.ari.args import (
    BridgesPlayArgs,
    BridgesPlayWithIdArgs,
    BridgesRecordArgs,
    ChannelsPlayArgs,
    ChannelsPlayWithIdArgs,
    ChannelsRecordArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import Reply
from pyari.ari.spec.recordings import IF_EXISTS
from pyari.media.service import MediaService, media_of
from pyari.stasis.control import ChannelGone, Control
from pyari.stasis.playback import Playback, Playbacks
from pyari.stasis.recording import LiveRecording, LiveRecordings


def media_service(ctx: AriContext) -> MediaService:
    service = media_of(ctx.core)
    if service is None:
        raise AriError(501, "Not implemented")
    return service


def playbacks(ctx: AriContext) -> Playbacks:
    found = ctx.playbacks
    if found is None:
        raise AriError(501, "Not implemented")
    return found


def live_recordings(ctx: AriContext) -> LiveRecordings:
    found = ctx.recordings
    if found is None:
        raise AriError(501, "Not implemented")
    return found


_Found = TypeVar("_Found", covariant=True)


class _LiveRegistry(Protocol[_Found]):
    def get(self, key: str, /) -> _Found | None: ...


def find_live(registry: _LiveRegistry[_Found] | None, key: str, missing: str) -> _Found:
    """The live playback or recording ``key`` of ``registry``; 404 with the message
    ``missing`` when there is none (or no registry: the media service is not loaded)."""
    found = registry.get(key) if registry is not None else None
    if found is None:
        raise AriError(404, missing)
    return found


def send_media_command(ctx: AriContext, control: Control, command: Any, on_gone: Any) -> None:
    """Queue a media command on the channel's task; ``on_gone`` if it never runs."""

    async def send() -> None:
        try:
            await control.execute(command)
        except ChannelGone:
            on_gone()

    ctx.core.spawn(send(), name=f"ari-media {control.channel.name}")


PlayArgs = ChannelsPlayArgs | ChannelsPlayWithIdArgs | BridgesPlayArgs | BridgesPlayWithIdArgs
RecordArgs = ChannelsRecordArgs | BridgesRecordArgs


def play_params(args: PlayArgs) -> tuple[list[str], int, int]:
    """Media URIs, offset and skip of a play request, checked in Asterisk's order."""
    offsetms = args.offsetms or 0  # /channels declares no default
    if args.skipms < 0:
        raise AriError(400, "skipms cannot be negative")
    if offsetms < 0:
        raise AriError(400, "offsetms cannot be negative")
    return args.media, offsetms, args.skipms


def check_playback_id(live: Playbacks, playback_id: str | None) -> None:
    if playback_id and playback_id in live:
        raise AriError(409, f"Playback with id '{playback_id}' already exists")


def playback_reply(playback: Playback) -> Reply:
    return Reply(201, playback.to_json(), {"Location": f"/ari/playbacks/{playback.id}"})


RECORD_FORMATS = frozenset(
    {
        "wav", "wav16", "WAV", "wav49", "gsm", "ulaw", "pcm", "mu", "ul", "alaw", "al", "alw",
        "sln", "raw", "sln12", "sln16", "sln24", "sln32", "sln44", "sln48", "sln96",
        "sln192", "g722", "g723", "g723sf", "g726-16", "g726-24", "g726-32", "g726-40",
        "g729", "ilbc", "ogg", "siren7", "siren14", "vox", "au", "h263", "h264",
    }
)  # fmt: skip
"""File extensions a recording can be written in (Asterisk's format modules)."""

WRITABLE_FORMATS = frozenset({"wav", "wav16", "ulaw", "alaw", "sln", "sln16"})
"""Formats pyari records in (others: 422, as a format unknown on this system)."""

TERMINATE_ON = frozenset({"none", "any", "*", "#"})
UNKNOWN_FORMAT = "specified format is unknown on this system"

FORMAT_NAMES = frozenset(
    {
        "ulaw", "alaw", "gsm", "g722", "g723", "g726", "g726aal2", "g729", "adpcm",
        "ilbc", "lpc10", "speex", "speex16", "speex32", "g719", "siren7", "siren14",
        "testlaw", "opus", "codec2", "slin", "slin12", "slin16", "slin24", "slin32",
        "slin44", "slin48", "slin96", "slin192", "h261", "h263", "h263p", "h264",
        "h265", "mpeg4", "vp8", "vp9", "red", "t140", "t38", "png", "jpeg",
    }
)  # fmt: skip
"""Media format names Asterisk's format cache knows: what an originate's ``formats`` and a
bridge's ``announcer_format`` and ``recorder_format`` may name."""


def check_channel_format(given: str | None, param: str) -> None:
    """422 for a bridge's ``announcer_format``/``recorder_format`` no format has."""
    if given and given not in FORMAT_NAMES:
        raise AriError(422, f"specified {param} is unknown on this system")


def record_checks(args: RecordArgs, *, format_first: bool = False) -> None:
    """Checks shared by channel and bridge recordings, in Asterisk's order
    (a bridge checks the format first, a channel last)."""
    if format_first and args.format not in RECORD_FORMATS:
        raise AriError(422, UNKNOWN_FORMAT)
    if isinstance(args, BridgesRecordArgs):
        check_channel_format(args.recorder_format, "recorder_format")
    if args.terminateOn not in TERMINATE_ON:
        raise AriError(400, "terminateOn invalid")
    if args.ifExists not in IF_EXISTS:
        raise AriError(400, "ifExists invalid")
    if args.format not in RECORD_FORMATS or args.format not in WRITABLE_FORMATS:
        raise AriError(422, UNKNOWN_FORMAT)


RECORD_LENIENT = frozenset({"ifExists", "terminateOn"})


async def new_recording(
    ctx: AriContext, args: RecordArgs, target_uri: str, publish: Any
) -> LiveRecording:
    """Validate name and target file, register the live recording (queued)."""
    live = live_recordings(ctx)
    name = args.name
    fmt = args.format
    if_exists = args.ifExists
    path = live.path(name, fmt)
    if path is None:
        raise AriError(400, "Recording name invalid")
    exists_message = f"Recording '{name}' already exists and can not be overwritten"
    if name in live:
        raise AriError(409, exists_message)
    from pyari.media.recorder import RecordingExistsError  # the media engine, on first use

    try:
        append = await asyncio.to_thread(live.check_existing, path, if_exists)
    except RecordingExistsError:
        raise AriError(409, exists_message) from None
    except OSError:
        raise AriError(400, "Recording name invalid") from None
    if name in live:
        raise AriError(409, exists_message)
    rec = LiveRecording(
        name,
        fmt,
        path,
        target_uri=target_uri,
        publish=publish,
        max_duration_seconds=args.maxDurationSeconds,
        max_silence_seconds=args.maxSilenceSeconds,
        terminate_on=args.terminateOn,
        append=append,
        beep=args.beep,
    )
    live.add(rec)
    return rec


def recording_reply(rec: LiveRecording) -> Reply:
    return Reply(
        201, rec.to_json(), {"Location": f"/ari/recordings/live/{quote(rec.name, safe='')}"}
    )
