"""ARI ``recordings`` resource: live and stored recordings."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

IF_EXISTS = ("fail", "overwrite", "append")
"""What a new recording does when one of its name exists (``ifExists`` of a channel's or
a bridge's ``record``; the first is the default)."""

_R = "recordings"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="listStored",
        method="GET",
        path="/recordings/stored",
        response="List[StoredRecording]",
        summary="List the stored recordings.",
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="getStored",
        method="GET",
        path="/recordings/stored/{recordingName}",
        response="StoredRecording",
        summary="Describe one stored recording.",
        params=(
            Param(
                "recordingName", where="path", required=True, doc="Name of the stored recording."
            ),
        ),
        errors=(ErrorResponse(404, "Recording not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="deleteStored",
        method="DELETE",
        path="/recordings/stored/{recordingName}",
        summary="Remove a stored recording from disk.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(ErrorResponse(404, "Recording not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="getStoredFile",
        method="GET",
        path="/recordings/stored/{recordingName}/file",
        response="binary",
        summary="Download the audio file of a stored recording.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(
            ErrorResponse(403, "The recording file could not be opened"),
            ErrorResponse(404, "Recording not found"),
        ),
        since=("14.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="copyStored",
        method="POST",
        path="/recordings/stored/{recordingName}/copy",
        response="StoredRecording",
        summary="Duplicate a stored recording under a new name.",
        params=(
            Param("recordingName", where="path", required=True, doc="Recording name."),
            Param("destinationRecordingName", required=True, doc="Name of the copy."),
        ),
        errors=(
            ErrorResponse(404, "Recording not found"),
            ErrorResponse(409, "A recording with the same name already exists on the system"),
        ),
        since=("12.5.0",),
    ),
    Operation(
        resource=_R,
        nickname="getLive",
        method="GET",
        path="/recordings/live/{recordingName}",
        response="LiveRecording",
        summary="Describe a recording in progress.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(ErrorResponse(404, "Recording not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="cancel",
        method="DELETE",
        path="/recordings/live/{recordingName}",
        summary="Stop a recording and throw it away.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(ErrorResponse(404, "Recording not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="stop",
        method="POST",
        path="/recordings/live/{recordingName}/stop",
        summary="Stop a recording and keep it.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(ErrorResponse(404, "Recording not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="pause",
        method="POST",
        path="/recordings/live/{recordingName}/pause",
        summary="Pause a recording.",
        notes="Paused time is left out of the file.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(
            ErrorResponse(404, "Recording not found"),
            ErrorResponse(409, "Recording not in session"),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="unpause",
        method="DELETE",
        path="/recordings/live/{recordingName}/pause",
        summary="Resume a paused recording.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(
            ErrorResponse(404, "Recording not found"),
            ErrorResponse(409, "Recording not in session"),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="mute",
        method="POST",
        path="/recordings/live/{recordingName}/mute",
        summary="Mute a recording.",
        notes="Muted time is recorded as silence.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(
            ErrorResponse(404, "Recording not found"),
            ErrorResponse(409, "Recording not in session"),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="unmute",
        method="DELETE",
        path="/recordings/live/{recordingName}/mute",
        summary="Unmute a recording.",
        params=(Param("recordingName", where="path", required=True, doc="Recording name."),),
        errors=(
            ErrorResponse(404, "Recording not found"),
            ErrorResponse(409, "Recording not in session"),
        ),
        since=("12.0.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="StoredRecording",
        doc="A finished recording on disk",
        props=(
            Prop("name", "string", required=True, doc="Recording name."),
            Prop("format", "string", required=True, doc="File format."),
        ),
    ),
    Model(
        id="LiveRecording",
        doc="A recording in progress",
        props=(
            Prop("name", "string", required=True, doc="Recording name."),
            Prop("format", "string", required=True, doc="File format."),
            Prop(
                "target_uri",
                "string",
                required=True,
                doc="What is recorded or played to, as a URI.",
            ),
            Prop(
                "state",
                "string",
                required=True,
                values=(
                    "queued",
                    "recording",
                    "paused",
                    "done",
                    "failed",
                    "canceled",
                ),
                doc="Recording state.",
            ),
            Prop("duration", "int", doc="Length in seconds."),
            Prop("talking_duration", "int", doc="Seconds of talking."),
            Prop("silence_duration", "int", doc="Seconds of silence."),
            Prop("cause", "string", doc="Why it failed, if it did."),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Live and stored recordings",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/recordings/stored": "Stored recordings",
        "/recordings/stored/{recordingName}": "One stored recording",
        "/recordings/stored/{recordingName}/file": "File of a stored recording",
        "/recordings/stored/{recordingName}/copy": "Copy of a stored recording",
        "/recordings/live/{recordingName}": "One live recording",
        "/recordings/live/{recordingName}/stop": "Stopping",
        "/recordings/live/{recordingName}/pause": "Pausing",
        "/recordings/live/{recordingName}/mute": "Muting",
    },
    since=("12.0.0",),
    requires_modules=("res_stasis_recording",),
)
