"""Audio from outside peers (AudioSocket, WebSocket media), paced by the media clock.

A peer may send audio in bursts (a text-to-speech engine often sends seconds
at once). Each channel keeps what arrived in its own queue, and a :class:`Pacer`
moves one 20 ms frame per media tick into the channel's stream, so the call
hears it in real time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pyari.media.service import media_of

if TYPE_CHECKING:
    from pyari.core.engine import Core
    from pyari.media.ticker import MediaClock


class Paced(Protocol):
    def tick(self) -> None:
        """Called once per media tick: hand the next frame to the channel's stream."""
        ...


class Pacer:
    """Ticks its members on the media clock while it has any."""

    def __init__(self) -> None:
        self.members: set[Paced] = set()
        self._clock: MediaClock | None = None

    def add(self, core: Core, member: Paced) -> None:
        self.members.add(member)
        media = media_of(core)
        if self._clock is None and media is not None:
            self._clock = media.clock
            self._clock.add_handler(self._tick)

    def remove(self, member: Paced) -> None:
        self.members.discard(member)
        if not self.members and self._clock is not None:
            self._clock.remove_handler(self._tick)
            self._clock = None

    def _tick(self, number: int) -> None:
        for member in list(self.members):
            member.tick()
