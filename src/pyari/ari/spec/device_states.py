"""ARI ``deviceStates`` resource: device states controlled by ARI."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_R = "deviceStates"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="list",
        method="GET",
        path="/deviceStates",
        response="List[DeviceState]",
        summary="List the device states set through ARI.",
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/deviceStates/{deviceName}",
        response="DeviceState",
        summary="Read one device state.",
        params=(
            Param(
                "deviceName", where="path", required=True, doc="Device name, e.g. Stasis:mydevice."
            ),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="update",
        method="PUT",
        path="/deviceStates/{deviceName}",
        summary="Set a device state.",
        params=(
            Param(
                "deviceName", where="path", required=True, doc="Device name, e.g. Stasis:mydevice."
            ),
            Param(
                "deviceState",
                required=True,
                values=(
                    "NOT_INUSE",
                    "INUSE",
                    "BUSY",
                    "INVALID",
                    "UNAVAILABLE",
                    "RINGING",
                    "RINGINUSE",
                    "ONHOLD",
                ),
                doc="New state of the device.",
            ),
        ),
        errors=(
            ErrorResponse(404, "Device name is missing"),
            ErrorResponse(409, "Uncontrolled device specified"),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="delete",
        method="DELETE",
        path="/deviceStates/{deviceName}",
        summary="Remove a device state.",
        params=(
            Param(
                "deviceName", where="path", required=True, doc="Device name, e.g. Stasis:mydevice."
            ),
        ),
        errors=(
            ErrorResponse(404, "Device name is missing"),
            ErrorResponse(409, "Uncontrolled device specified"),
        ),
        since=("12.0.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="DeviceState",
        doc="The state of a device",
        props=(
            Prop("name", "string", required=True, doc="Device name."),
            Prop(
                "state",
                "string",
                required=True,
                values=(
                    "UNKNOWN",
                    "NOT_INUSE",
                    "INUSE",
                    "BUSY",
                    "INVALID",
                    "UNAVAILABLE",
                    "RINGING",
                    "RINGINUSE",
                    "ONHOLD",
                ),
                doc="Device state.",
            ),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Device states controlled by ARI",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/deviceStates": "All device states",
        "/deviceStates/{deviceName}": "One device state",
    },
    since=("12.0.0",),
    requires_modules=("res_stasis_device_state",),
)
