"""/playbacks: playbacks in progress (started by the media engine)."""

from __future__ import annotations

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles

OPERATIONS = frozenset({"restart", "pause", "unpause", "reverse", "forward"})
PLAYBACK_NOT_FOUND = "Playback not found"


def _find(ctx: AriContext, playback_id: str) -> None:
    """No playback can exist until the media engine plays media: always 404."""
    raise AriError(404, PLAYBACK_NOT_FOUND)


@handles("playbacks", "get")
async def get(ctx: AriContext, p: Params) -> None:
    _find(ctx, p["playbackId"])


@handles("playbacks", "stop")
async def stop(ctx: AriContext, p: Params) -> None:
    _find(ctx, p["playbackId"])


@handles(
    "playbacks",
    "control",
    missing={"operation": "Missing operation"},
    lenient=frozenset({"operation"}),
)
async def control(ctx: AriContext, p: Params) -> None:
    operation: str = p["operation"]
    if operation not in OPERATIONS:
        raise AriError(400, f"Invalid operation {operation}")
    _find(ctx, p["playbackId"])
