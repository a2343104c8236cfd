"""Local channels: ``Local/exten@context``, two halves joined back to back.

``;1`` is the outgoing half, created Down; ``;2`` is created Ring and runs
the dialplan at ``exten@context``.  Answering ``;2`` answers ``;1``; hanging
up either half hangs up the other.

Media: the two halves are two streams joined back to back. What one half is
sent (its output on the media engine) is what the other half says (pushed into
its stream), one 20 ms tick later. A half without a stream has nothing that
listens to it, so its audio is dropped.
"""

from __future__ import annotations

import enum
import itertools

from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.core.tech import BadDialString, pvt_or_none
from pyari.media.frames import SLIN, MediaFormat


class Half(enum.IntEnum):
    """Which half a Local channel is (its ``tech_pvt``): the ``;n`` of its name."""

    CALLER = 1
    """``;1``: the half that is dialed."""
    DIALPLAN = 2
    """``;2``: the half that runs the dialplan."""


class LocalTech:
    name = "Local"
    description = "Local Proxy Channel Driver"

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        target, _, _options = resource.partition("/")
        exten, _, context = target.partition("@")
        if not exten:
            raise BadDialString()
        context = context or "default"
        core.check_ids(uniqueid, other_id)  # both halves, before either is made
        base = f"Local/{exten}@{context}-{next(self._seq):08x}"
        one = core.new_channel(
            self,
            f"{base};1",
            uniqueid=uniqueid,
            setup=lambda _chan: Half.CALLER,
            announce=False,
            state="Down",
            context=context,
            exten=exten,
        )
        two = core.new_channel(
            self,
            f"{base};2",
            uniqueid=other_id,
            setup=lambda _chan: Half.DIALPLAN,
            announce=False,
            state="Ring",
            context=context,
            exten=exten,
            linkedid=one.linkedid,
        )
        one.peer, two.peer = two, one
        core.channel_added(one)
        core.channel_added(two)
        return one

    def call(self, chan: Channel, timeout: float | None) -> None:
        two = chan.peer
        if two is None or two.destroyed:
            chan.queue_hangup()
            return
        chan.core.start_pbx(two)

    def answered(self, chan: Channel) -> None:
        half = pvt_or_none(chan, Half)
        if half is Half.DIALPLAN and chan.peer is not None and not chan.peer.destroyed:
            chan.peer.set_state("Up")

    def media_format(self, chan: Channel) -> MediaFormat:
        return SLIN

    def media_output(self, chan: Channel, payload: bytes) -> None:
        """What ``chan`` is sent becomes what its other half says."""
        peer = chan.peer
        if peer is None or peer.destroyed:
            return
        cm = peer.media
        if cm is not None:
            cm.stream.push(payload)

    def hangup(self, chan: Channel) -> None:
        peer = chan.peer
        chan.peer = None
        if peer is not None and not peer.destroyed:
            peer.peer = None
            peer.queue_hangup(chan.hangupcause)
