"""/endpoints: endpoints, out-of-call messages and REFERs."""

from __future__ import annotations

from typing import Any

from pyari.ari.args import (
    EndpointsGetArgs,
    EndpointsListArgs,
    EndpointsListByTechArgs,
    EndpointsReferArgs,
    EndpointsReferToEndpointArgs,
    EndpointsSendMessageArgs,
    EndpointsSendMessageToEndpointArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import Reply, handles
from pyari.core.endpoint import Endpoint, Refer, TextMessage
from pyari.core.snapshots import EndpointSnapshot

ENDPOINT_NOT_FOUND = "Endpoint not found"


EndpointArgs = EndpointsGetArgs | EndpointsSendMessageToEndpointArgs | EndpointsReferToEndpointArgs
MessageArgs = EndpointsSendMessageArgs | EndpointsSendMessageToEndpointArgs
ReferArgs = EndpointsReferArgs | EndpointsReferToEndpointArgs


def find_endpoint(ctx: AriContext, args: EndpointArgs) -> Endpoint:
    endpoint = ctx.core.endpoints.latest(args.tech, args.resource)
    if endpoint is None:
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return endpoint


def _variables(args: MessageArgs | ReferArgs) -> dict[str, str]:
    raw: dict[str, Any] = args.variables or {}
    if not all(isinstance(v, str) for v in raw.values()):
        raise AriError(400, "Only string values in the 'variables' object allowed")
    return {str(k): v for k, v in raw.items()}


@handles("endpoints", "list")
async def list_endpoints(ctx: AriContext, args: EndpointsListArgs) -> list[EndpointSnapshot]:
    return [e.snapshot() for e in ctx.core.endpoints.by_id.values()]


@handles("endpoints", "listByTech")
async def list_by_tech(ctx: AriContext, args: EndpointsListByTechArgs) -> list[EndpointSnapshot]:
    tech = args.tech
    if tech not in ctx.core.endpoints.techs:
        raise AriError(404, f"No Endpoints found - invalid tech {tech}")
    return [e.snapshot() for e in ctx.core.endpoints.of_tech(tech)]


@handles("endpoints", "get")
async def get_endpoint(ctx: AriContext, args: EndpointsGetArgs) -> EndpointSnapshot:
    return find_endpoint(ctx, args).snapshot()


def _sender(args: MessageArgs | ReferArgs) -> str:
    return args.from_ if args.given("from") else ""


def _send_message(ctx: AriContext, to: str, args: MessageArgs, variables: dict[str, str]) -> Reply:
    if not to:
        raise AriError(400, "To must be specified")
    message = TextMessage(to=to, sender=_sender(args), body=args.body or "", variables=variables)
    if not ctx.core.endpoints.send_message(message):
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return Reply(202)


@handles("endpoints", "sendMessage")
async def send_message(ctx: AriContext, args: EndpointsSendMessageArgs) -> Reply:
    variables = _variables(args)
    return _send_message(ctx, args.to if args.given("to") else "", args, variables)


@handles("endpoints", "sendMessageToEndpoint")
async def send_message_to_endpoint(
    ctx: AriContext, args: EndpointsSendMessageToEndpointArgs
) -> Reply:
    endpoint = find_endpoint(ctx, args)
    variables = _variables(args)
    to = f"{endpoint.technology.lower()}:{endpoint.resource}"
    return _send_message(ctx, to, args, variables)


def _send_refer(ctx: AriContext, to: str, args: ReferArgs) -> Reply:
    variables = _variables(args)
    if not to:
        raise AriError(400, "To must be specified")
    refer = Refer(
        to=to,
        sender=_sender(args),
        refer_to=args.refer_to if args.given("refer_to") else "",
        to_self=args.to_self,
        variables=variables,
    )
    if not ctx.core.endpoints.send_refer(refer):
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return Reply(202)


@handles("endpoints", "refer")
async def refer(ctx: AriContext, args: EndpointsReferArgs) -> Reply:
    return _send_refer(ctx, args.to if args.given("to") else "", args)


@handles("endpoints", "referToEndpoint")
async def refer_to_endpoint(ctx: AriContext, args: EndpointsReferToEndpointArgs) -> Reply:
    endpoint = find_endpoint(ctx, args)
    return _send_refer(ctx, f"{endpoint.technology.lower()}:{endpoint.resource}", args)
