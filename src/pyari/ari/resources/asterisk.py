"""/asterisk: system information, liveness, global variables."""

from __future__ import annotations

from typing import Any

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles
from pyari.clock import ari_timestamp
from pyari.core import events as ev

INFO_SECTIONS = ("build", "system", "config", "status")


@handles("asterisk", "getInfo")
async def get_info(ctx: AriContext, p: Params) -> dict[str, Any]:
    info = ctx.info()
    only = p.get("only") or INFO_SECTIONS
    return {k: info[k] for k in INFO_SECTIONS if k in only and k in info}


@handles("asterisk", "ping")
async def ping(ctx: AriContext, p: Params) -> dict[str, str]:
    return {"ping": "pong", "timestamp": ari_timestamp(), "asterisk_id": ctx.core.entity_id}


VARIABLE_REQUIRED = {"variable": "Variable name is required"}


@handles("asterisk", "getGlobalVar", missing=VARIABLE_REQUIRED)
async def get_global_var(ctx: AriContext, p: Params) -> dict[str, str]:
    name: str = p["variable"]
    value = ctx.core.globals.get(name)
    if value is None:
        value = ctx.pbx.dialplan.globals.get(name, "")
    return {"value": value}


@handles("asterisk", "setGlobalVar", missing=VARIABLE_REQUIRED)
async def set_global_var(ctx: AriContext, p: Params) -> None:
    name: str = p["variable"]
    if not name.strip():
        raise AriError(400, "Variable name is required")
    value = p.get("value") or ""
    ctx.core.globals[name] = value
    ctx.core.all_channels.publish(ev.ChannelVarset(variable=name, value=value))
