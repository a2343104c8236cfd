"""The interface every channel technology implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core

Pvt = TypeVar("Pvt")


class TechError(Exception):
    """A channel could not be requested: the base of the typed errors below.

    Each subclass says why, so that a caller (ARI, the CLI) picks its answer by
    type; the message is the text Asterisk answers with.
    """


class BadDialString(TechError):
    """A dial string the technology cannot serve (bad form, options, codec)."""

    def __init__(self, message: str = "Invalid endpoint specified") -> None:
        super().__init__(message)


class EndpointNotFound(BadDialString):
    """The dial string names an endpoint or connection that is not configured."""


class UnknownTechnology(BadDialString):
    """No channel technology of that name is registered."""

    def __init__(self, tech_name: str) -> None:
        super().__init__(f"No such channel technology '{tech_name}'")
        self.tech_name = tech_name


class DuplicateId(TechError):
    """A channel with the requested unique id exists already."""

    def __init__(self, uniqueid: str) -> None:
        super().__init__("Channel with given unique ID already exists")
        self.uniqueid = uniqueid


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


def pvt_of(chan: Channel, kind: type[Pvt]) -> Pvt:
    """``chan.tech_pvt``, the private state its technology keeps, typed as ``kind``.

    A technology reads its own state through this, so a channel handed to the
    wrong technology fails loudly (TypeError) instead of misbehaving later.
    """
    pvt = chan.tech_pvt
    if not isinstance(pvt, kind):
        raise TypeError(f"{chan.name} holds no {kind.__name__}")
    return pvt


def pvt_or_none(chan: Channel, kind: type[Pvt]) -> Pvt | None:
    """Like :func:`pvt_of`, None once the technology let go of it (hangup)."""
    pvt = chan.tech_pvt
    return pvt if isinstance(pvt, kind) else None
