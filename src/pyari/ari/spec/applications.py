"""ARI ``applications`` resource: stasis applications."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_R = "applications"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="list",
        method="GET",
        path="/applications",
        response="List[Application]",
        summary="List the applications.",
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/applications/{applicationName}",
        response="Application",
        summary="Describe one application.",
        params=(Param("applicationName", where="path", required=True, doc="Application name."),),
        errors=(ErrorResponse(404, "Application does not exist."),),
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="subscribe",
        method="POST",
        path="/applications/{applicationName}/subscription",
        response="Application",
        summary="Start sending events of a source to an application.",
        notes="Events of the source are then sent to the application.",
        params=(
            Param("applicationName", where="path", required=True, doc="Application name."),
            Param(
                "eventSource",
                required=True,
                multiple=True,
                doc=(
                    "Event sources, as URIs like channel:<id>, bridge:<id>, "
                    "endpoint:<tech>[/<resource>], deviceState:<name>."
                ),
            ),
        ),
        errors=(
            ErrorResponse(400, "Missing parameter."),
            ErrorResponse(404, "Application does not exist."),
            ErrorResponse(422, "Event source does not exist."),
        ),
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="unsubscribe",
        method="DELETE",
        path="/applications/{applicationName}/subscription",
        response="Application",
        summary="Stop sending events of a source to an application.",
        notes="Events of the source stop reaching the application.",
        params=(
            Param("applicationName", where="path", required=True, doc="Application name."),
            Param(
                "eventSource",
                required=True,
                multiple=True,
                doc=(
                    "Event sources, as URIs like channel:<id>, bridge:<id>, "
                    "endpoint:<tech>[/<resource>], deviceState:<name>."
                ),
            ),
        ),
        errors=(
            ErrorResponse(400, "Missing parameter; event source scheme not recognized."),
            ErrorResponse(404, "Application does not exist."),
            ErrorResponse(409, "Application not subscribed to event source."),
            ErrorResponse(422, "Event source does not exist."),
        ),
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="filter",
        method="PUT",
        path="/applications/{applicationName}/eventFilter",
        response="Application",
        summary="Set which event types reach an application.",
        notes="An empty body clears both the allow and the deny lists.",
        params=(
            Param("applicationName", where="path", required=True, doc="Application name."),
            Param(
                "filter",
                type="object",
                where="body",
                doc="Object with allowed and disallowed lists of event types.",
            ),
        ),
        errors=(
            ErrorResponse(400, "Bad request."),
            ErrorResponse(404, "Application does not exist."),
        ),
        since=(
            "13.26.0",
            "16.3.0",
        ),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="Application",
        doc="A Stasis application and its subscriptions",
        props=(
            Prop("name", "string", required=True, doc="Application name."),
            Prop(
                "channel_ids", "List[string]", required=True, doc="Ids of the subscribed channels."
            ),
            Prop("bridge_ids", "List[string]", required=True, doc="Ids of the subscribed bridges."),
            Prop(
                "endpoint_ids",
                "List[string]",
                required=True,
                doc="Ids of the subscribed endpoints.",
            ),
            Prop(
                "device_names",
                "List[string]",
                required=True,
                doc="Names of the subscribed devices.",
            ),
            Prop("events_allowed", "List[object]", required=True, doc="Event types let through."),
            Prop("events_disallowed", "List[object]", required=True, doc="Event types held back."),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Stasis applications",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/applications": "All applications",
        "/applications/{applicationName}": "One application",
        "/applications/{applicationName}/subscription": "Event subscriptions",
        "/applications/{applicationName}/eventFilter": "Event filter",
    },
    since=("13.0.0",),
)
