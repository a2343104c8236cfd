"""ARI ``sounds`` resource: installed sound files."""

from __future__ import annotations

from pyari.ari.spec import Model, Operation, Param, Prop, Resource

_R = "sounds"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="list",
        method="GET",
        path="/sounds",
        response="List[Sound]",
        summary="List the installed sounds.",
        params=(
            Param("lang", doc="Only sounds in this language.", unstated=("allowMultiple",)),
            Param("format", doc="Only sounds in this format.", unstated=("allowMultiple",)),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/sounds/{soundId}",
        response="Sound",
        summary="Describe one sound.",
        params=(Param("soundId", where="path", required=True, doc="Sound id."),),
        since=("12.0.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="FormatLangPair",
        doc="A format and language a sound exists in",
        props=(
            Prop("language", "string", required=True, doc="Language."),
            Prop("format", "string", required=True, doc="Format."),
        ),
    ),
    Model(
        id="Sound",
        doc="A sound file",
        props=(
            Prop("id", "string", required=True, doc="Sound id."),
            Prop("text", "string", doc="Transcript of the sound."),
            Prop(
                "formats",
                "List[FormatLangPair]",
                required=True,
                doc="Formats and languages available.",
            ),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Installed sound files",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/sounds": "All sounds",
        "/sounds/{soundId}": "One sound",
    },
    since=("12.0.0",),
)
