"""/endpoints: endpoints, out-of-call messages and REFERs."""

from __future__ import annotations

from typing import Any

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import Reply, handles
from pyari.core.endpoint import Endpoint, Refer, TextMessage
from pyari.core.snapshots import EndpointSnapshot

ENDPOINT_NOT_FOUND = "Endpoint not found"


def find_endpoint(ctx: AriContext, p: Params) -> Endpoint:
    endpoint = ctx.core.endpoints.latest(p["tech"], p["resource"])
    if endpoint is None:
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return endpoint


def _variables(p: Params) -> dict[str, str]:
    raw: dict[str, Any] = p.get("variables") or {}
    if not all(isinstance(v, str) for v in raw.values()):
        raise AriError(400, "Only string values in the 'variables' object allowed")
    return {str(k): v for k, v in raw.items()}


@handles("endpoints", "list")
async def list_endpoints(ctx: AriContext, p: Params) -> list[EndpointSnapshot]:
    return [e.snapshot() for e in ctx.core.endpoints.by_id.values()]


@handles("endpoints", "listByTech")
async def list_by_tech(ctx: AriContext, p: Params) -> list[EndpointSnapshot]:
    tech: str = p["tech"]
    if tech not in ctx.core.endpoints.techs:
        raise AriError(404, f"No Endpoints found - invalid tech {tech}")
    return [e.snapshot() for e in ctx.core.endpoints.of_tech(tech)]


@handles("endpoints", "get")
async def get_endpoint(ctx: AriContext, p: Params) -> EndpointSnapshot:
    return find_endpoint(ctx, p).snapshot()


def _send_message(ctx: AriContext, to: str, p: Params, variables: dict[str, str]) -> Reply:
    if not to:
        raise AriError(400, "To must be specified")
    message = TextMessage(
        to=to, sender=p.get("from") or "", body=p.get("body") or "", variables=variables
    )
    if not ctx.core.endpoints.send_message(message):
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return Reply(202)


@handles("endpoints", "sendMessage")
async def send_message(ctx: AriContext, p: Params) -> Reply:
    variables = _variables(p)
    return _send_message(ctx, p.get("to") or "", p, variables)


@handles("endpoints", "sendMessageToEndpoint")
async def send_message_to_endpoint(ctx: AriContext, p: Params) -> Reply:
    endpoint = find_endpoint(ctx, p)
    variables = _variables(p)
    return _send_message(ctx, f"{endpoint.technology.lower()}:{endpoint.resource}", p, variables)


def _send_refer(ctx: AriContext, to: str, p: Params) -> Reply:
    variables = _variables(p)
    if not to:
        raise AriError(400, "To must be specified")
    refer = Refer(
        to=to,
        sender=p.get("from") or "",
        refer_to=p.get("refer_to") or "",
        to_self=bool(p.get("to_self")),
        variables=variables,
    )
    if not ctx.core.endpoints.send_refer(refer):
        raise AriError(404, ENDPOINT_NOT_FOUND)
    return Reply(202)


@handles("endpoints", "refer")
async def refer(ctx: AriContext, p: Params) -> Reply:
    return _send_refer(ctx, p.get("to") or "", p)


@handles("endpoints", "referToEndpoint")
async def refer_to_endpoint(ctx: AriContext, p: Params) -> Reply:
    endpoint = find_endpoint(ctx, p)
    return _send_refer(ctx, f"{endpoint.technology.lower()}:{endpoint.resource}", p)
