"""Behaviour of ARI operations, one module per resource.

A handler takes the :class:`~pyari.ari.context.AriContext` and its
operation's checked arguments (the operation's class in :mod:`pyari.ari.args`,
e.g. ``ChannelsOriginateArgs``) and returns what the operation answers:
a msgspec Struct, a list or dict (200), ``None`` (204) or a :class:`Reply`.
It raises :class:`~pyari.ari.errors.AriError` for ARI errors.  Handlers
never see the HTTP framework.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pyari.ari.args import ARGS
from pyari.ari.context import AriContext
from pyari.ari.params import Args

Handler = Callable[[AriContext, Any], Awaitable[Any]]
"""``async def handler(ctx, args: <its operation's Args class>)``."""


@dataclass(frozen=True, slots=True)
class Registered:
    fn: Handler
    args_type: type[Args]
    """The operation's arguments class (:mod:`pyari.ari.args`)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Messages for required parameters that are absent, by parameter."""
    lenient: frozenset[str] = frozenset()
    """Parameters whose allowed values the handler checks itself."""


@dataclass(slots=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    static: bool = False
    """The same request gets the same answer until a reload or a module change."""


HANDLERS: dict[str, Registered] = {}


def handles(
    resource: str,
    nickname: str,
    *,
    missing: dict[str, str] | None = None,
    lenient: frozenset[str] = frozenset(),
) -> Callable[[Handler], Handler]:
    """Register the handler of operation ``resource.nickname``."""

    def register(fn: Handler) -> Handler:
        key = f"{resource}.{nickname}"
        HANDLERS[key] = Registered(fn, ARGS[key], missing or {}, lenient)
        return fn

    return register


def load_all() -> dict[str, Registered]:
    """Import every resource module so their handlers register."""
    from pyari.ari.resources import (  # noqa: F401
        applications,
        asterisk,
        bridges,
        channels,
        device_states,
        endpoints,
        events,
        mailboxes,
        playbacks,
        recordings,
        sounds,
    )

    return HANDLERS
