"""/applications: the Stasis applications, their subscriptions and event filters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyari.ari.args import (
    ApplicationsFilterArgs,
    ApplicationsGetArgs,
    ApplicationsListArgs,
    ApplicationsSubscribeArgs,
    ApplicationsUnsubscribeArgs,
)
from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.resources import handles
from pyari.stasis.app import StasisApp
from pyari.stasis.registry import BadScheme, SourceNotFound

BAD_SCHEME = "Invalid event source URI scheme"


def application_json(app: StasisApp) -> dict[str, Any]:
    return {
        "name": app.name,
        "channel_ids": app.subscription_ids("channel"),
        "bridge_ids": app.subscription_ids("bridge"),
        "endpoint_ids": app.subscription_ids("endpoint"),
        "device_names": app.subscription_ids("deviceState"),
        "events_allowed": list(app.events_allowed),
        "events_disallowed": list(app.events_disallowed),
    }


def find_app(ctx: AriContext, name: str) -> StasisApp:
    app = ctx.stasis.get(name)
    if app is None or app.idle:
        ctx.stasis.sweep()
        raise AriError(404, "Application not found")
    return app


@handles("applications", "list")
async def list_apps(ctx: AriContext, args: ApplicationsListArgs) -> list[dict[str, Any]]:
    ctx.stasis.sweep()
    return [application_json(app) for app in ctx.stasis.apps.values()]


@handles("applications", "get")
async def get_app(ctx: AriContext, args: ApplicationsGetArgs) -> dict[str, Any]:
    return application_json(find_app(ctx, args.applicationName))


def _change_sources(
    ctx: AriContext,
    args: ApplicationsSubscribeArgs | ApplicationsUnsubscribeArgs,
    change: Callable[[StasisApp, list[str]], None],
    unknown_source: str,
) -> dict[str, Any]:
    """Apply ``change`` (subscribe or unsubscribe) to the app's event sources."""
    sources = args.eventSource  # not given: 400 "Missing parameter eventSource"
    app = find_app(ctx, args.applicationName)
    try:
        change(app, sources)
    except BadScheme:
        raise AriError(400, BAD_SCHEME) from None
    except SourceNotFound:
        raise AriError(422, unknown_source) from None
    return application_json(app)


@handles("applications", "subscribe")
async def subscribe(ctx: AriContext, args: ApplicationsSubscribeArgs) -> dict[str, Any]:
    return _change_sources(ctx, args, ctx.stasis.subscribe_sources, "Event source does not exist")


@handles("applications", "unsubscribe")
async def unsubscribe(ctx: AriContext, args: ApplicationsUnsubscribeArgs) -> dict[str, Any]:
    return _change_sources(
        ctx, args, ctx.stasis.unsubscribe_sources, "Event source was not subscribed to"
    )


def _filter_list(
    body: dict[str, Any], key: str, current: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The new value of one list of the event filter (``allowed``/``disallowed``)."""
    if not body:
        return []  # {} (or no body) resets both lists
    if key not in body:
        return current  # only the other list was given
    value = body[key]
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"]
        for item in value
    ):
        raise AriError(400, "Invalid format definition")
    return [dict(item) for item in value]


@handles("applications", "filter")
async def set_filter(ctx: AriContext, args: ApplicationsFilterArgs) -> dict[str, Any]:
    app = find_app(ctx, args.applicationName)
    body = args.filter or {}
    disallowed = _filter_list(body, "disallowed", app.events_disallowed)
    allowed = _filter_list(body, "allowed", app.events_allowed)
    app.events_disallowed, app.events_allowed = disallowed, allowed
    return application_json(app)
