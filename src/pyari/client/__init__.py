"""pyari's typed ARI client: asyncio, generated from pyari's ARI declarations.

::

    from pyari.client import connect, StasisStart

    async with connect("http://127.0.0.1:8088", "user", "secret", apps="hello") as client:

        @client.on("StasisStart")
        async def start(event: StasisStart) -> None:
            await event.channel.answer()

        await client.run_forever()

See ``docs/client.md``.  ``from pyari.client import aioari`` is a drop-in
replacement for the ``aioari`` package.
"""

from pyari.client._base import EventHandler, Handle, Unsubscribe
from pyari.client._models import *  # noqa: F403
from pyari.client._models import __all__ as _models_all
from pyari.client._operations import AriApi
from pyari.client.client import (
    AriClient,
    Backoff,
    EventsLost,
    EventStream,
    Resynced,
    Transport,
    connect,
    serve,
)
from pyari.client.errors import (
    AriConnectionError,
    AriError,
    AriHttpError,
    BadRequest,
    Conflict,
    Forbidden,
    NotBound,
    NotFound,
    NotImplementedByServer,
    PreconditionFailed,
    ServerError,
    Unauthorized,
    Unprocessable,
)

__all__ = [
    "AriApi",
    "AriClient",
    "AriConnectionError",
    "AriError",
    "AriHttpError",
    "BadRequest",
    "Backoff",
    "Conflict",
    "EventHandler",
    "EventStream",
    "EventsLost",
    "Forbidden",
    "Handle",
    "NotBound",
    "NotFound",
    "NotImplementedByServer",
    "PreconditionFailed",
    "Resynced",
    "ServerError",
    "Transport",
    "Unauthorized",
    "Unprocessable",
    "Unsubscribe",
    "connect",
    "serve",
    *_models_all,
]
