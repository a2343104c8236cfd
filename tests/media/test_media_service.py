"""The media service's channel streams (issue #16 goal 1: what a call set-up makes):
a channel muted before its media starts gets a stream muted the same way, and the
engine rebuilds its topology for it; the stream goes when the channel does."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pyari.core.engine import Core
from pyari.media.frames import ULAW
from pyari.media.service import MediaService


class Tech:
    """A channel technology with media (as PJSIP: format, output, started)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.started: list[Any] = []

    def media_format(self, chan: Any) -> Any:
        return ULAW

    def media_output(self, chan: Any, payload: bytes) -> None:
        self.sent.append(payload)

    def media_started(self, chan: Any, stream: Any) -> None:
        self.started.append(stream)


@pytest.mark.parametrize(
    "muted", [frozenset(), frozenset({"in"}), frozenset({"out"}), frozenset({"in", "out"})]
)
async def test_channel_stream_takes_the_mutes_of_its_channel(muted: frozenset[str]) -> None:
    core = Core()
    media = MediaService(
        core,
        sounds_dir=lambda: Path("/nonexistent"),
        recording_dir=lambda: Path("/nonexistent"),
        moh_classes=dict,
    )
    tech = Tech()
    chan: Any = SimpleNamespace(
        id="c1", media=None, destroyed=False, tech=tech, muted=muted, name="Test/c1"
    )
    engine = media.engine
    engine.process_tick()
    assert not engine._dirty
    cm = media.channel_media(chan)
    assert cm is not None and chan.media is cm and media.channel_media(chan) is cm
    stream = cm.stream
    assert (stream.mute_in, stream.mute_out) == ("in" in muted, "out" in muted)
    assert stream.format == ULAW and tech.started == [stream] and engine._dirty
    stream.emit_silence = True
    engine.process_tick()
    assert tech.sent == [b"\xff" * 160]  # silence, muted or not
    media.channel_gone(chan)
    assert chan.media is None and "c1" not in engine.streams
