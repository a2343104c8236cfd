"""Per-call outbound connections: what ``Stasis(app)`` asks when no one registered ``app``.

As Asterisk's app_stasis: when the application is not registered, an outbound
WebSocket section of ``connection_type = per_call_config`` that lists it may open a
connection for this one call (``pyari.http.outbound``, handed down at start as the
:class:`PerCall` service of the dialplan). The call then runs in the app id the
connection registered, and the connection is told when the call leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyari.core.channel import Channel


class PerCallConnector(Protocol):
    def serves(self, app: str) -> bool:
        """Whether a per-call section lists ``app``."""
        ...

    async def open(self, app: str, chan: Channel) -> str | None:
        """Connect for ``chan``; the app id it runs in (None: no connection)."""
        ...

    def close(self, app_id: str) -> None:
        """The call left ``app_id``."""
        ...


class PerCall:
    """The dialplan's handle on the per-call connector (set by the server at start)."""

    def __init__(self, connector: PerCallConnector | None = None) -> None:
        self.connector = connector
