"""/applications: the Stasis applications and what they are subscribed to."""

from __future__ import annotations

from typing import Any

from pyari.ari.context import AriContext
from pyari.ari.errors import AriError
from pyari.ari.params import Params
from pyari.ari.resources import handles
from pyari.stasis.app import StasisApp


def application_json(app: StasisApp) -> dict[str, Any]:
    return {
        "name": app.name,
        "channel_ids": app.ids("channel"),
        "bridge_ids": app.ids("bridge"),
        "endpoint_ids": app.ids("endpoint"),
        "device_names": app.ids("deviceState"),
        "events_allowed": list(app.events_allowed),
        "events_disallowed": list(app.events_disallowed),
    }


def find_app(ctx: AriContext, name: str) -> StasisApp:
    app = ctx.stasis.get(name)
    if app is None:
        raise AriError(404, "Application not found")
    return app


@handles("applications", "list")
async def list_apps(ctx: AriContext, p: Params) -> list[dict[str, Any]]:
    return [application_json(app) for app in ctx.stasis.apps.values()]


@handles("applications", "get")
async def get_app(ctx: AriContext, p: Params) -> dict[str, Any]:
    return application_json(find_app(ctx, p["applicationName"]))
