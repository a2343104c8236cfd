"""/mailboxes: mailboxes whose message counts ARI sets (res_mwi_external)."""

from __future__ import annotations

from pyari.ari.args import (
    MailboxesDeleteArgs,
    MailboxesGetArgs,
    MailboxesListArgs,
    MailboxesUpdateArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import handles
from pyari.core.mailboxes import Mailbox, Mailboxes

_UINT_MAX = 2**32 - 1


def _mailboxes(ctx: AriContext) -> Mailboxes:
    if ctx.mailboxes is None:
        raise AriError(501, "Not implemented")
    return ctx.mailboxes


@handles("mailboxes", "list")
async def list_mailboxes(ctx: AriContext, args: MailboxesListArgs) -> list[Mailbox]:
    return _mailboxes(ctx).all()


@handles("mailboxes", "get")
async def get_mailbox(ctx: AriContext, args: MailboxesGetArgs) -> Mailbox:
    box = _mailboxes(ctx).get(args.mailboxName)
    if box is None:
        raise AriError(404, "Mailbox is does not exist")
    return box


def _count(value: int, name: str) -> int:
    if not 0 <= value <= _UINT_MAX:
        raise AriError(400, f"Invalid value for parameter {name}")
    return value


@handles(
    "mailboxes",
    "update",
    missing={
        "oldMessages": "Missing parameter oldMessages",
        "newMessages": "Missing parameter newMessages",
    },
)
async def update_mailbox(ctx: AriContext, args: MailboxesUpdateArgs) -> None:
    mailboxes = _mailboxes(ctx)
    name = args.mailboxName
    old = _count(args.oldMessages, "oldMessages")
    new = _count(args.newMessages, "newMessages")
    mailboxes.update(name, old, new)


@handles("mailboxes", "delete")
async def delete_mailbox(ctx: AriContext, args: MailboxesDeleteArgs) -> None:
    if not _mailboxes(ctx).delete(args.mailboxName):
        raise AriError(404, "Mailbox does not exist")
