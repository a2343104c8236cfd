"""``Snoop/<target id>-<n>``: a channel that hears (spy) and speaks (whisper) to another.

As Asterisk's res_stasis_snoop, a snoop channel is made only by ARI's
snoopChannel, is up at once and shares the target's linkedid. Its media is a
pair of taps on the target's stream (:meth:`MediaService.snoop
<pyari.media.service.MediaService.snoop>`); hanging the snoop channel up
removes them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pyari.core.tech import BadDialString

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core
    from pyari.media.service import MediaService


class SnoopTech:
    """The Snoop channel technology."""

    name = "Snoop"
    description = "Snoop Channel Driver"

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        raise BadDialString("Snoop channels are made by snoopChannel only")

    def snoop(
        self,
        core: Core,
        media: MediaService,
        target: Channel,
        *,
        spy: str,
        whisper: str,
        uniqueid: str | None,
    ) -> Channel:
        """A new snoop channel on ``target``: it hears ``spy`` and speaks ``whisper``."""
        return core.new_channel(
            self,
            f"Snoop/{target.id}-{next(self._seq):08x}",
            uniqueid=uniqueid,
            state="Up",
            linkedid=target.linkedid,
            setup=lambda snoop: media.snoop(target, snoop, spy, whisper),
        )

    def call(self, chan: Channel, timeout: float | None) -> None:
        pass

    def answered(self, chan: Channel) -> None:
        pass

    def hangup(self, chan: Channel) -> None:
        detach = chan.tech_pvt
        chan.tech_pvt = None
        if callable(detach):
            detach()


SNOOP_TECH = SnoopTech()

__all__ = ["SNOOP_TECH", "SnoopTech"]
