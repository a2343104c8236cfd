"""The ``Stasis(app[,args...])`` dialplan application."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyari.dialplan.args import split_app_args
from pyari.dialplan.executor import Pbx, Result, application
from pyari.stasis.per_call import PerCall, PerCallConnector
from pyari.stasis.registry import Registry

if TYPE_CHECKING:
    from pyari.core.channel import Channel

log = logging.getLogger("pyari.stasis")


@application("Stasis")
async def stasis(pbx: Pbx, chan: Channel, data: str) -> Result | None:
    registry = pbx.service(Registry)
    parts = split_app_args(data)
    if not parts or not parts[0]:
        chan.set_var("STASISSTATUS", "FAILED")
        return None
    name = parts[0]
    app = registry.get(name)
    connector = _per_call(pbx)
    if (app is None or not app.active) and connector is not None and connector.serves(name):
        chan.set_var("STASISSTATUS", "")
        app_id = await connector.open(name, chan)
        if app_id is None:
            log.warning("%s: Stasis app '%s' doesn't exist", chan.name, name)
            chan.set_var("STASISSTATUS", "FAILED")
            return Result.HANGUP if chan.hungup else None
        try:
            status = await registry.run(chan, app_id, parts[1:], dialplan=True)
        finally:
            connector.close(app_id)
    else:
        status = await registry.run(chan, name, parts[1:], dialplan=True)
    if chan.hungup:
        return Result.HANGUP
    return Result.JUMP if status == "GOTO" else None


def _per_call(pbx: Pbx) -> PerCallConnector | None:
    try:
        return pbx.service(PerCall).connector
    except LookupError:
        return None
