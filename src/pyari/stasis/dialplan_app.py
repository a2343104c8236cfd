"""The ``Stasis(app[,args...])`` dialplan application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import Pbx, Result, application
from pyari.stasis.registry import Registry

if TYPE_CHECKING:
    from pyari.core.channel import Channel


@application("Stasis")
async def stasis(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    registry = pbx.service(Registry)
    parts = split_app_args(data)
    if not parts or not parts[0]:
        chan.set_var("STASISSTATUS", "FAILED")
        return None
    status = await registry.run(chan, parts[0], parts[1:], dialplan=True)
    if chan.hungup:
        return Result.HANGUP
    return Result.JUMP if status == "GOTO" else None
