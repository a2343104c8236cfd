"""/deviceStates: device states controlled through ARI (``Stasis:<name>`` devices)."""

from __future__ import annotations

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles
from pyari.core.devices import DeviceError, DeviceState, DeviceStates


def _devices(ctx: AriContext) -> DeviceStates:
    if ctx.devices is None:
        raise AriError(501, "Not implemented")
    return ctx.devices


@handles("deviceStates", "list")
async def list_states(ctx: AriContext, p: Params) -> list[DeviceState]:
    return _devices(ctx).controlled()


@handles("deviceStates", "get")
async def get_state(ctx: AriContext, p: Params) -> DeviceState:
    name: str = p["deviceName"]
    return DeviceState(name, _devices(ctx).state(name))


@handles("deviceStates", "update", lenient=frozenset({"deviceState"}))
async def update_state(ctx: AriContext, p: Params) -> None:
    devices = _devices(ctx)
    name: str = p["deviceName"]
    try:
        # Asterisk checks the device name before the state value, and takes
        # the value in any case (``inuse``).
        devices.controlled_name(name)
        devices.update(name, p["deviceState"])
    except DeviceError as exc:
        raise AriError(exc.status, exc.message) from None


@handles("deviceStates", "delete")
async def delete_state(ctx: AriContext, p: Params) -> None:
    try:
        _devices(ctx).delete(p["deviceName"])
    except DeviceError as exc:
        raise AriError(exc.status, exc.message) from None
