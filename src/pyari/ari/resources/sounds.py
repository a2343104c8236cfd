"""/sounds: the sounds installed below ``astdatadir/sounds``."""

from __future__ import annotations

from typing import Any

from pyari.ari.args import SoundsGetArgs, SoundsListArgs
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import handles
from pyari.ari.resources.media_ops import media_service


@handles("sounds", "list")
async def list_sounds(ctx: AriContext, args: SoundsListArgs) -> list[dict[str, object]]:
    index = await media_service(ctx).library.sounds()
    lang = args.lang or None  # given empty: any language
    fmt = args.format or None
    found = [sound.to_json() for sound in index.sounds(lang, fmt)]
    if not found:  # as Asterisk: none (none installed, or none match) is a 404
        raise AriError(404, "No sounds found that matched the query")
    return found


@handles("sounds", "get")
async def get_sound(ctx: AriContext, args: SoundsGetArgs) -> Any:
    index = await media_service(ctx).library.sounds()
    sound = index.get(args.soundId)
    if sound is None:
        raise AriError(404, "Sound not found")
    return sound.to_json()
