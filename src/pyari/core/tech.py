"""The interface every channel technology implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core


class TechError(Exception):
    """A dial string the technology cannot serve (bad form, unknown peer)."""


class ChannelTech(Protocol):
    """A channel technology: Local, Sim, PJSIP ..."""

    name: str
    description: str

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        """Create the outgoing channel for ``Tech/resource``; raise TechError."""
        ...

    def call(self, chan: Channel, timeout: float | None) -> None:
        """Start calling out on a channel made by :meth:`request`."""
        ...

    def answered(self, chan: Channel) -> None:
        """``chan`` was answered on our side (e.g. by Answer())."""
        ...

    def hangup(self, chan: Channel) -> None:
        """``chan`` is being destroyed: release what the technology holds."""
        ...
