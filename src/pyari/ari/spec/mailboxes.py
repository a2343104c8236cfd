"""ARI ``mailboxes`` resource: mailboxes controlled by ARI."""

from __future__ import annotations

from pyari.ari.spec import ErrorResponse, Model, Operation, Param, Prop, Resource

_R = "mailboxes"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        resource=_R,
        nickname="list",
        method="GET",
        path="/mailboxes",
        response="List[Mailbox]",
        summary="List the mailboxes.",
        since=("12.1.0",),
    ),
    Operation(
        resource=_R,
        nickname="get",
        method="GET",
        path="/mailboxes/{mailboxName}",
        response="Mailbox",
        summary="Read one mailbox.",
        params=(Param("mailboxName", where="path", required=True, doc="Mailbox name."),),
        errors=(ErrorResponse(404, "Mailbox not found"),),
        since=("12.1.0",),
    ),
    Operation(
        resource=_R,
        nickname="update",
        method="PUT",
        path="/mailboxes/{mailboxName}",
        summary="Set the message counts of a mailbox.",
        params=(
            Param("mailboxName", where="path", required=True, doc="Mailbox name."),
            Param("oldMessages", type="int", required=True, doc="Number of read messages."),
            Param("newMessages", type="int", required=True, doc="Number of unread messages."),
        ),
        errors=(ErrorResponse(404, "Mailbox not found"),),
        since=("12.1.0",),
    ),
    Operation(
        resource=_R,
        nickname="delete",
        method="DELETE",
        path="/mailboxes/{mailboxName}",
        summary="Remove a mailbox.",
        params=(Param("mailboxName", where="path", required=True, doc="Mailbox name."),),
        errors=(ErrorResponse(404, "Mailbox not found"),),
        since=("12.1.0",),
    ),
)

MODELS: tuple[Model, ...] = (
    Model(
        id="Mailbox",
        doc="A mailbox and its message counts",
        props=(
            Prop("name", "string", required=True, doc="Mailbox name."),
            Prop("old_messages", "int", required=True, doc="Read messages."),
            Prop("new_messages", "int", required=True, doc="Unread messages."),
        ),
    ),
)

RESOURCE = Resource(
    name=_R,
    doc="Mailboxes controlled by ARI",
    operations=OPERATIONS,
    models=MODELS,
    path_docs={
        "/mailboxes": "All mailboxes",
        "/mailboxes/{mailboxName}": "One mailbox",
    },
    since=("12.1.0",),
    requires_modules=("res_stasis_mailbox",),
)
