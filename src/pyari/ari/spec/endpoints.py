"""ARI ``endpoints`` resource: endpoints and out-of-call messaging."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_BARE = ("required", "allowMultiple")
"""Asterisk's endpoints.json states neither on the path parameters ``tech`` and
``resource``."""
_R = "endpoints"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="list",
        method="GET",
        path="/endpoints",
        response="List[Endpoint]",
        summary="List every endpoint.",
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="sendMessage",
        method="PUT",
        path="/endpoints/sendMessage",
        summary="Send a text message to a URI.",
        params=(
            Param("to", required=True, doc="Destination URI."),
            Param("from", required=True, doc="Sender URI."),
            Param("body", doc="Message text."),
            Param(
                "variables",
                type="containers",
                where="body",
                doc="Extra key/value pairs sent with the message (SIP headers for PJSIP).",
            ),
        ),
        errors=(
            ErrorResponse(400, "Invalid parameters for sending a message."),
            ErrorResponse(404, "Endpoint not found"),
        ),
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="refer",
        method="POST",
        path="/endpoints/refer",
        summary="Ask a peer to contact a third party (SIP REFER).",
        params=(
            Param("to", required=True, doc="Destination URI."),
            Param("from", required=True, doc="Sender URI."),
            Param("refer_to", required=True, doc="URI the peer should contact."),
            Param(
                "to_self",
                type="boolean",
                default=False,
                doc="Let the REFER target be the same endpoint.",
            ),
            Param(
                "variables",
                type="containers",
                where="body",
                doc=(
                    "Extra key/value pairs sent with the REFER; display_name sets"
                    " the Refer-To display name."
                ),
            ),
        ),
        errors=(
            ErrorResponse(400, "Invalid parameters for referring."),
            ErrorResponse(404, "Endpoint not found"),
        ),
        since=(
            "18.20.0",
            "20.5.0",
        ),
    ),
    Operation(
        resource=_R,
        nickname="listByTech",
        method="GET",
        path="/endpoints/{tech}",
        response="List[Endpoint]",
        summary="List the endpoints of one technology.",
        params=(
            Param(
                "tech", where="path", required=True, doc="Technology, e.g. PJSIP.", unstated=_BARE
            ),
        ),
        errors=(ErrorResponse(404, "Endpoints not found"),),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/endpoints/{tech}/{resource}",
        response="Endpoint",
        summary="Describe one endpoint.",
        params=(
            Param(
                "tech", where="path", required=True, doc="Technology, e.g. PJSIP.", unstated=_BARE
            ),
            Param(
                "resource",
                where="path",
                required=True,
                doc="Endpoint name within the technology.",
                unstated=_BARE,
            ),
        ),
        errors=(
            ErrorResponse(400, "Invalid parameters for sending a message."),
            ErrorResponse(404, "Endpoints not found"),
        ),
        since=("12.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="sendMessageToEndpoint",
        method="PUT",
        path="/endpoints/{tech}/{resource}/sendMessage",
        summary="Send a text message to one endpoint.",
        params=(
            Param(
                "tech", where="path", required=True, doc="Technology, e.g. PJSIP.", unstated=_BARE
            ),
            Param(
                "resource",
                where="path",
                required=True,
                doc="Endpoint name within the technology.",
                unstated=_BARE,
            ),
            Param("from", required=True, doc="Sender URI."),
            Param("body", doc="Message text."),
            Param(
                "variables",
                type="containers",
                where="body",
                doc="Extra key/value pairs sent with the message (SIP headers for PJSIP).",
            ),
        ),
        errors=(
            ErrorResponse(400, "Invalid parameters for sending a message."),
            ErrorResponse(404, "Endpoint not found"),
        ),
        since=("13.0.0",),
    ),
    Operation(
        resource=_R,
        nickname="referToEndpoint",
        method="POST",
        path="/endpoints/{tech}/{resource}/refer",
        summary="Send a REFER to one endpoint.",
        params=(
            Param(
                "tech", where="path", required=True, doc="Technology, e.g. PJSIP.", unstated=_BARE
            ),
            Param(
                "resource",
                where="path",
                required=True,
                doc="Endpoint name within the technology.",
                unstated=_BARE,
            ),
            Param("from", required=True, doc="Sender URI."),
            Param("refer_to", required=True, doc="URI the peer should contact."),
            Param(
                "to_self",
                type="boolean",
                default=False,
                doc="Let the REFER target be the same endpoint.",
            ),
            Param(
                "variables",
                type="containers",
                where="body",
                doc=(
                    "Extra key/value pairs sent with the REFER; display_name sets"
                    " the Refer-To display name."
                ),
            ),
        ),
        errors=(
            ErrorResponse(400, "Invalid parameters for referring."),
            ErrorResponse(404, "Endpoint not found"),
        ),
        since=(
            "18.20.0",
            "20.5.0",
        ),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="Endpoint",
        doc="An endpoint: something channels can be made to or come from",
        props=(
            Prop("technology", "string", required=True, doc="Technology."),
            Prop("resource", "string", required=True, doc="Name within the technology."),
            Prop(
                "state",
                "string",
                values=(
                    "unknown",
                    "offline",
                    "online",
                ),
                doc="Endpoint state.",
            ),
            Prop("channel_ids", "List[string]", required=True, doc="Ids of the channels."),
        ),
    ),
    Model(
        id="TextMessage",
        doc="An out-of-call text message",
        props=(
            Prop("from", "string", required=True, doc="Sender."),
            Prop("to", "string", required=True, doc="Recipient."),
            Prop("body", "string", required=True, doc="Text."),
            Prop("variables", "object", doc="Technology specific key/value pairs."),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Endpoints and out-of-call messaging",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/endpoints": "All endpoints",
        "/endpoints/sendMessage": "Out-of-call message to any destination",
        "/endpoints/refer": "Out-of-call REFER to any destination",
        "/endpoints/{tech}": "Endpoints of one technology",
        "/endpoints/{tech}/{resource}": "One endpoint",
        "/endpoints/{tech}/{resource}/sendMessage": "Out-of-call message to one endpoint",
        "/endpoints/{tech}/{resource}/refer": "Out-of-call REFER to one endpoint",
    },
    since=("12.0.0",),
)
