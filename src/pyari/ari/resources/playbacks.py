"""/playbacks: playbacks queued or in progress on channels and bridges."""

from __future__ import annotations

from pyari.ari.args import PlaybacksControlArgs, PlaybacksGetArgs, PlaybacksStopArgs
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import handles
from pyari.ari.resources.media_ops import find_live
from pyari.stasis.playback import Playback

OPERATIONS = frozenset({"restart", "pause", "unpause", "reverse", "forward"})
PLAYBACK_NOT_FOUND = "Playback not found"


def _find(ctx: AriContext, playback_id: str) -> Playback:
    return find_live(ctx.playbacks, playback_id, PLAYBACK_NOT_FOUND)


@handles("playbacks", "get")
async def get(ctx: AriContext, args: PlaybacksGetArgs) -> dict[str, str]:
    return _find(ctx, args.playbackId).to_json()


@handles("playbacks", "stop")
async def stop(ctx: AriContext, args: PlaybacksStopArgs) -> None:
    playback = _find(ctx, args.playbackId)
    from pyari.media.player import OperationResult  # loaded: the playback exists

    if playback.player.operation("stop") is not OperationResult.OK:
        raise AriError(500, "Could not stop playback")


@handles(
    "playbacks",
    "control",
    missing={"operation": "Missing operation"},
    lenient=frozenset({"operation"}),
)
async def control(ctx: AriContext, args: PlaybacksControlArgs) -> None:
    operation = args.operation
    if operation not in OPERATIONS:
        raise AriError(400, f"Invalid operation {operation}")
    playback = _find(ctx, args.playbackId)
    from pyari.media.player import OperationResult  # loaded: the playback exists

    result = playback.player.operation(operation)
    if result is OperationResult.NOT_PLAYING:
        raise AriError(409, f"Can only {operation} while media is playing")
    if result is OperationResult.FAILED:
        raise AriError(500, f"Could not {operation} playback")
