"""External media (ARI ``/channels/externalMedia``): which technology serves a request.

ARI checks the parameters, then looks up the builder of the request's
encapsulation in :data:`EXTERNAL_MEDIA` (``rtp``, ``audiosocket``, ``none`` for
the WebSocket transport). A builder turns the request into an
:class:`ExternalMediaPlan`: the dial string Asterisk would build for it
(``UnicastRTP/host:port/c(fmt)``, ``AudioSocket/host:port/<uuid>``,
``WebSocket/<connection>[/options]``) and a function that creates the channel.
ARI then originates that channel into the application, as Asterisk does.

Builders may wait (e.g. AudioSocket connects to its server first) and raise
an :class:`ExternalMediaError` (:class:`Unsupported` here, or an
:class:`InvalidRequest`), or a :class:`~pyari.core.tech.TechError` for a dial
string that cannot be served. ARI chooses the HTTP status by the error's type.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyari.media.frames import MediaFormat

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core


class ExternalMediaError(Exception):
    """An external media request that cannot be served; the message says why."""


class Unsupported(ExternalMediaError):
    """No technology here serves the request's encapsulation and transport."""

    def __init__(self) -> None:
        super().__init__("The encapsulation and/or transport is not supported")


class InvalidRequest(ExternalMediaError):
    """The request names a host, format or option the technology cannot use."""


@dataclass(frozen=True, slots=True)
class ExternalMediaRequest:
    """A checked ``externalMedia`` request."""

    external_host: str
    """``host:port``, a websocket_client connection id, or ``INCOMING``."""
    encapsulation: str
    transport: str
    connection_type: str
    format: MediaFormat
    direction: str | None = None
    data: str | None = None
    transport_data: str | None = None
    uniqueid: str | None = None


@dataclass(frozen=True, slots=True)
class ExternalMediaPlan:
    endpoint: str
    """The dial string (``Tech/resource``), as Asterisk builds it."""
    request: Callable[[], Channel]
    """Creates the channel (raises a TechError: DuplicateId …); the caller dials it."""


ExternalMediaBuilder = Callable[["Core", ExternalMediaRequest], Awaitable[ExternalMediaPlan]]


async def _audiosocket(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    from pyari.channels.audiosocket import external_media_plan

    return await external_media_plan(core, req)


async def _websocket(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    from pyari.channels.websocket_media import external_media_plan

    return await external_media_plan(core, req)


async def _rtp(core: Core, req: ExternalMediaRequest) -> ExternalMediaPlan:
    from pyari.channels.unicast_rtp import external_media_plan

    return await external_media_plan(core, req)


EXTERNAL_MEDIA: dict[str, ExternalMediaBuilder] = {
    "rtp": _rtp,
    "audiosocket": _audiosocket,
    "none": _websocket,
}
"""Builders by encapsulation (``none`` is the WebSocket transport)."""
