"""Test helpers for code that needs channels of a technology that does nothing."""

from __future__ import annotations

from pyari.core.channel import Channel
from pyari.core.engine import Core


class NullTech:
    """A channel technology whose channels only exist: no calls, no media."""

    name = "Null"
    description = "Nothing"

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        raise NotImplementedError

    def call(self, chan: Channel, timeout: float | None) -> None:
        pass

    def answered(self, chan: Channel) -> None:
        pass

    def hangup(self, chan: Channel) -> None:
        pass
