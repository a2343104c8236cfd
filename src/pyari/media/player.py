"""Playback: a state machine over a list of media URIs (res_stasis_playback).

A :class:`Player` is attached to a stream (``stream.player``) or a bridge
(``bridge.players``); the engine calls :meth:`Player.read` every tick. For each
media item the player goes to ``playing`` (→ PlaybackStarted, with
``next_media_uri``), opens the item through its ``opener`` and plays it; at the
end of an item it goes to ``continuing`` (→ PlaybackContinuing) or, after the
last one, ``done`` (→ PlaybackFinished). An item that fails to open (missing
sound, unknown scheme, corrupt file) ends as ``failed`` when it is the last
item, else ``continuing``, exactly as Asterisk reports it. Each state change
calls ``on_update(player)``.

The opener returns a :class:`~pyari.media.sources.Source` or an awaitable of
one (file reading happens in a thread: ``MediaResolver.open``); while it loads,
the player produces nothing and the channel keeps hearing its bridge.

Controls mirror Asterisk's operation table (:meth:`Player.operation`):
``pause``/``unpause``/``restart``/``reverse``/``forward``/``stop`` return an
:class:`OperationResult`; ``NOT_PLAYING`` is the ARI 409
``Can only <op> while media is playing``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from enum import Enum, StrEnum

from pyari.media.files import MediaError
from pyari.media.frames import Samples
from pyari.media.sources import Source
from pyari.media.uris import CONTROLLABLE_SCHEMES

log = logging.getLogger(__name__)

Opener = Callable[[str], "Source | Awaitable[Source]"]


class PlaybackState(StrEnum):
    QUEUED = "queued"
    PLAYING = "playing"
    PAUSED = "paused"
    CONTINUING = "continuing"
    DONE = "done"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class OperationResult(Enum):
    OK = "ok"
    NOT_PLAYING = "not_playing"
    FAILED = "failed"


OPERATIONS = ("stop", "pause", "unpause", "restart", "reverse", "forward")

_ALLOWED: dict[PlaybackState, frozenset[str]] = {
    PlaybackState.QUEUED: frozenset({"stop", "restart"}),
    PlaybackState.PLAYING: frozenset(OPERATIONS),
    PlaybackState.CONTINUING: frozenset(OPERATIONS),
    PlaybackState.PAUSED: frozenset({"stop", "pause", "unpause"}),
    PlaybackState.DONE: frozenset({"stop"}),
    PlaybackState.FAILED: frozenset({"stop"}),
}


class Player:
    """Plays a list of media URIs, one frame per :meth:`read`."""

    def __init__(
        self,
        media: Sequence[str],
        opener: Opener,
        *,
        playback_id: str = "",
        offsetms: int = 0,
        skipms: int = 3000,
        rate: int = 8000,
        on_update: Callable[[Player], None] | None = None,
    ) -> None:
        if not media:
            raise ValueError("a playback needs at least one media URI")
        self.id = playback_id
        self.media = list(media)
        self.opener = opener
        self.offsetms = max(0, offsetms)
        self.skipms = max(0, skipms)
        self.rate = rate
        self.on_update = on_update
        self.state = PlaybackState.QUEUED
        self.index = 0
        self.error: str | None = None
        self.played_ms = 0
        self._source: Source | None = None
        self._loading: asyncio.Future[Source] | None = None
        self._stopped = False
        self.history: list[tuple[PlaybackState, str]] = []
        """(state, media_uri) of every update, oldest first."""

    # --- what ARI shows ------------------------------------------------------------------

    @property
    def media_uri(self) -> str:
        return self.media[self.index]

    @property
    def next_media_uri(self) -> str | None:
        return self.media[self.index + 1] if self.index + 1 < len(self.media) else None

    @property
    def finished(self) -> bool:
        return self.state in (PlaybackState.DONE, PlaybackState.FAILED)

    @property
    def controllable(self) -> bool:
        return self.media_uri.partition(":")[0] in CONTROLLABLE_SCHEMES

    def _publish(self, state: PlaybackState) -> None:
        self.state = state
        self.history.append((state, self.media_uri))
        if self.on_update is not None:
            try:
                self.on_update(self)
            except Exception:
                log.exception("playback update callback failed")

    # --- playing -------------------------------------------------------------------------

    def _begin(self, index: int) -> None:
        self.index = index
        self._source = None
        self._publish(PlaybackState.PLAYING)
        try:
            opened = self.opener(self.media_uri)
        except MediaError as exc:
            self._end_item(ok=False, error=str(exc))
            return
        if inspect.isawaitable(opened):
            future = asyncio.ensure_future(opened)
            self._loading = future
            future.add_done_callback(self._loaded)
        else:
            self._start_source(opened)

    def _loaded(self, future: asyncio.Future[Source]) -> None:
        if future is not self._loading:
            return
        self._loading = None
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            if not isinstance(exc, MediaError):
                log.error("opening %s failed", self.media_uri, exc_info=exc)
            self._end_item(ok=False, error=str(exc))
            return
        self._start_source(future.result())

    def _start_source(self, source: Source) -> None:
        if self.index == 0 and self.offsetms and source.seekable:
            source.seek_ms(self.offsetms)
        self._source = source

    def _end_item(self, ok: bool, error: str | None = None) -> None:
        self._source = None
        if error is not None:
            self.error = error
        last = self.index + 1 >= len(self.media)
        if self._stopped or last:
            self._publish(PlaybackState.DONE if ok or self._stopped else PlaybackState.FAILED)
        else:
            self._publish(PlaybackState.CONTINUING)

    def read(self, count: int) -> Samples | None:
        """The next frame, or ``None`` (nothing to play this tick)."""
        state = self.state
        if state is PlaybackState.QUEUED:
            self._begin(0)
        elif state is PlaybackState.CONTINUING:
            self._begin(self.index + 1)
        if self.state is PlaybackState.PAUSED or self._source is None:
            return None
        if self.finished:
            return None
        samples = self._source.read(count)
        if samples is None:
            self.played_ms = self._source.position_ms
            self._end_item(ok=True)
            return None
        return samples

    # --- controls ------------------------------------------------------------------------

    def operation(self, op: str) -> OperationResult:
        """Apply an ARI playback control (``stop`` included); see the module doc."""
        if op not in OPERATIONS:
            raise ValueError(f"Invalid operation {op}")
        if op not in _ALLOWED[self.state]:
            return OperationResult.NOT_PLAYING
        if op == "stop":
            self.stop()
            return OperationResult.OK
        if self.state is PlaybackState.QUEUED:  # restart while queued: nothing to do
            return OperationResult.OK
        if not self.controllable:
            return OperationResult.FAILED
        if op == "pause":
            if self.state is not PlaybackState.PAUSED:
                self._publish(PlaybackState.PAUSED)
        elif op == "unpause":
            if self.state is PlaybackState.PAUSED:
                self._publish(PlaybackState.PLAYING)
        elif self._source is not None and self._source.seekable:
            if op == "restart":
                self._source.seek_ms(0)
            elif op == "reverse":
                self._source.seek_ms(max(0, self._source.position_ms - self.skipms))
            elif op == "forward":
                self._source.seek_ms(self._source.position_ms + self.skipms)
        return OperationResult.OK

    def stop(self) -> None:
        """Stop now: ``done`` (a queued playback is cancelled, also ``done``)."""
        if self.finished:
            return
        self._stopped = True
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        if self._source is not None:
            self.played_ms = self._source.position_ms
        self._source = None
        self._publish(PlaybackState.DONE)
