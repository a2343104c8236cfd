"""ARI ``playbacks`` resource: media playbacks."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_R = "playbacks"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/playbacks/{playbackId}",
        response="Playback",
        summary="Describe one playback.",
        params=(Param("playbackId", where="path", required=True, doc="Playback id."),),
        errors=(ErrorResponse(404, "The playback cannot be found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="stop",
        method="DELETE",
        path="/playbacks/{playbackId}",
        summary="Stop a playback.",
        params=(Param("playbackId", where="path", required=True, doc="Playback id."),),
        errors=(ErrorResponse(404, "The playback cannot be found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="control",
        method="POST",
        path="/playbacks/{playbackId}/control",
        summary="Pause, resume, restart or seek a playback.",
        params=(
            Param("playbackId", where="path", required=True, doc="Playback id."),
            Param(
                "operation",
                required=True,
                values=(
                    "restart",
                    "pause",
                    "unpause",
                    "reverse",
                    "forward",
                ),
                doc="Action to apply.",
            ),
        ),
        errors=(
            ErrorResponse(400, "The provided operation parameter was invalid"),
            ErrorResponse(404, "The playback cannot be found"),
            ErrorResponse(409, "The operation cannot be performed in the playback's current state"),
        ),
        since=("12.0.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="Playback",
        doc="Media being played to a channel or bridge",
        props=(
            Prop("id", "string", required=True, doc="Unique id."),
            Prop("media_uri", "string", required=True, doc="Media being played."),
            Prop("next_media_uri", "string", doc="Media that plays next, if any."),
            Prop(
                "target_uri",
                "string",
                required=True,
                doc="What is recorded or played to, as a URI.",
            ),
            Prop("language", "string", doc="Language of the media."),
            Prop(
                "state",
                "string",
                required=True,
                values=(
                    "queued",
                    "playing",
                    "continuing",
                    "done",
                    "failed",
                ),
                doc="Playback state.",
            ),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Media playbacks",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/playbacks/{playbackId}": "One playback",
        "/playbacks/{playbackId}/control": "Playback control",
    },
    since=("12.0.0",),
    requires_modules=("res_stasis_playback",),
)
