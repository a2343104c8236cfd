"""What channels and bridges tell the media layer, as core sees it.

Core sits below media: it never imports the media engine. A channel or bridge
that changes in a way media cares about calls one of these hooks on
``core.media`` (None when the process runs without media). The media service
(:class:`pyari.media.service.MediaService`) implements them; the layers above
core that need the whole service reach it through
:func:`pyari.media.service.media_of`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyari.core.bridge import Bridge
    from pyari.core.channel import Channel


class MediaHooks(Protocol):
    """The hooks core calls; each is cheap when the channel or bridge has no media."""

    def channel_gone(self, chan: Channel) -> None:
        """The channel is destroyed: its stream, playback, recordings and snoops end."""

    def set_muted(self, chan: Channel) -> None:
        """The channel's mute directions (or its bridge membership's mute) changed."""

    def on_dtmf(self, chan: Channel, digit: str) -> None:
        """The channel received a DTMF digit (recordings' terminateOn, dialplan hooks)."""

    def bridge_joined(self, bridge: Bridge, chan: Channel) -> None:
        """The channel joined the bridge: its stream joins the bridge's mix."""

    def bridge_left(self, bridge: Bridge, chan: Channel) -> None:
        """The channel left the bridge."""

    def on_bridge_dtmf(self, bridge: Bridge, digit: str) -> None:
        """A member of the bridge sent a DTMF digit (bridge recordings' terminateOn)."""

    def bridge_destroyed(self, bridge: Bridge) -> None:
        """The bridge is gone: its mix, playbacks and recordings end."""
