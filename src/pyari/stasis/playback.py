"""ARI playbacks (res_stasis_playback): the objects behind ``/playbacks``.

A :class:`Playback` is a :class:`~pyari.media.player.Player` with an id, a
target (``channel:<id>`` or ``bridge:<id>``) and a language. Each change of the
player's state becomes PlaybackStarted, PlaybackContinuing or PlaybackFinished
on the target's topic, as Asterisk publishes them. :class:`Playbacks` keeps the
live ones by id and plays them through the media service: on a channel (on the
channel's own task) or on a bridge (one after another).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pyari.core import events as ev

if TYPE_CHECKING:
    from pyari.core.bridge import Bridge
    from pyari.core.channel import Channel
    from pyari.media.player import PlaybackState, Player
    from pyari.media.service import MediaService

Publish = Callable[[ev.Event], None]


class Playback:
    """An ARI playback: a :class:`Player` plus its target and language."""

    def __init__(
        self,
        media: MediaService,
        playback_id: str,
        uris: Sequence[str],
        *,
        target_uri: str,
        language: str,
        publish: Publish | None,
        offsetms: int = 0,
        skipms: int = 3000,
    ) -> None:
        self.id = playback_id
        self.target_uri = target_uri
        self.language = language
        self.publish = publish
        from pyari.media.player import Player  # the media engine, on first use

        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.player = Player(
            uris,
            media.library.opener(language),
            playback_id=playback_id,
            offsetms=offsetms,
            skipms=skipms or 3000,
            rate=media.engine.rate,
            on_update=self._update,
        )

    @property
    def state(self) -> PlaybackState:
        return self.player.state

    def to_json(self) -> dict[str, str]:
        player = self.player
        out = {"id": self.id, "media_uri": player.media_uri}
        following = player.next_media_uri
        if following is not None:
            out["next_media_uri"] = following
        out["target_uri"] = self.target_uri
        out["language"] = self.language
        out["state"] = str(player.state)
        return out

    def _update(self, player: Player) -> None:
        from pyari.media.player import PlaybackState

        state = player.state
        event: ev.Event | None = None
        if state is PlaybackState.PLAYING:
            event = ev.PlaybackStarted(playback=self.to_json())
        elif state is PlaybackState.CONTINUING:
            event = ev.PlaybackContinuing(playback=self.to_json())
        elif state in (PlaybackState.DONE, PlaybackState.FAILED):
            event = ev.PlaybackFinished(playback=self.to_json())
        if event is not None and self.publish is not None:
            self.publish(event)
        if player.finished and not self.done.done():
            self.done.set_result(None)


class Playbacks:
    """The live playbacks of the process, by id."""

    def __init__(self, media: MediaService) -> None:
        self.media = media
        self.by_id: dict[str, Playback] = {}
        self.watchers: list[Callable[[str, bool], None]] = []
        """``watcher(id, live)`` when a playback is added (True) or forgotten (False)."""

    def get(self, playback_id: str) -> Playback | None:
        return self.by_id.get(playback_id)

    def __contains__(self, playback_id: str) -> bool:
        return playback_id in self.by_id

    def new(
        self,
        playback_id: str | None,
        uris: Sequence[str],
        *,
        target_uri: str,
        language: str,
        publish: Publish | None,
        offsetms: int = 0,
        skipms: int = 3000,
    ) -> Playback:
        pid = playback_id or str(uuid.uuid4())
        playback = Playback(
            self.media,
            pid,
            uris,
            target_uri=target_uri,
            language=language,
            publish=publish,
            offsetms=offsetms,
            skipms=skipms,
        )
        self.by_id[pid] = playback
        for watcher in self.watchers:
            watcher(pid, True)
        return playback

    def forget(self, playback: Playback) -> None:
        if self.by_id.get(playback.id) is playback:
            del self.by_id[playback.id]
            for watcher in self.watchers:
                watcher(playback.id, False)

    async def play_on_channel(self, chan: Channel, playback: Playback) -> None:
        """Play on ``chan`` until the playback ends or the channel hangs up (its task).

        A channel not yet answered is sent progress first, as Asterisk does.
        """
        try:
            if not playback.player.finished and not chan.hungup and not chan.up:
                chan.indicate("progress")
            await self.media.play_on_channel(chan, playback.player, playback.done)
        finally:
            self.forget(playback)

    async def play_on_bridge(self, bridge: Bridge, playback: Playback) -> None:
        """Bridge playbacks play one after another, heard by every member that hears."""
        try:
            await self.media.play_on_bridge(bridge, playback.player, playback.done)
        finally:
            self.forget(playback)


__all__ = ["Playback", "Playbacks"]
