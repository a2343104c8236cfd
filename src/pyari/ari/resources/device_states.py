"""/deviceStates: device states controlled through ARI (``Stasis:<name>`` devices)."""

from __future__ import annotations

from pyari.ari.args import (
    DeviceStatesDeleteArgs,
    DeviceStatesGetArgs,
    DeviceStatesListArgs,
    DeviceStatesUpdateArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import as_ari_error, available
from pyari.ari.resources import handles
from pyari.core.devices import DeviceError, DeviceState


@handles("deviceStates", "list")
async def list_states(ctx: AriContext, args: DeviceStatesListArgs) -> list[DeviceState]:
    return available(ctx.devices).controlled()


@handles("deviceStates", "get")
async def get_state(ctx: AriContext, args: DeviceStatesGetArgs) -> DeviceState:
    name = args.deviceName
    return DeviceState(name, available(ctx.devices).state(name))


@handles("deviceStates", "update", lenient=frozenset({"deviceState"}))
async def update_state(ctx: AriContext, args: DeviceStatesUpdateArgs) -> None:
    devices = available(ctx.devices)
    name = args.deviceName
    with as_ari_error(DeviceError):
        # Asterisk checks the device name before the state value, and takes
        # the value in any case (``inuse``).
        devices.controlled_name(name)
        devices.update(name, args.deviceState)


@handles("deviceStates", "delete")
async def delete_state(ctx: AriContext, args: DeviceStatesDeleteArgs) -> None:
    with as_ari_error(DeviceError):
        available(ctx.devices).delete(args.deviceName)
