"""Stasis playbacks: the store by id, the ARI JSON and what happens on a channel that is gone."""

from __future__ import annotations

from pathlib import Path

from core.core_helpers import NullTech
from pyari.core import events as ev
from pyari.core.engine import Core
from pyari.media.service import MediaService
from pyari.stasis.playback import Playbacks


def service(tmp_path: Path) -> MediaService:
    return MediaService(
        Core(), sounds_dir=lambda: tmp_path, recording_dir=lambda: tmp_path, moh_classes=dict
    )


async def test_a_new_playback_is_queued_and_found_by_its_id(tmp_path: Path) -> None:
    live = Playbacks(service(tmp_path))
    playback = live.new(
        "pb-1",
        ["sound:hello-world", "sound:goodbye"],
        target_uri="channel:c1",
        language="fr",
        publish=None,
    )
    assert live.get("pb-1") is playback and "pb-1" in live
    assert playback.to_json() == {
        "id": "pb-1",
        "media_uri": "sound:hello-world",
        "next_media_uri": "sound:goodbye",
        "target_uri": "channel:c1",
        "language": "fr",
        "state": "queued",
    }
    anonymous = live.new(None, ["tone:ring"], target_uri="bridge:b", language="en", publish=None)
    assert len(anonymous.id) == 36 and live.get(anonymous.id) is anonymous
    live.forget(playback)
    live.forget(playback)
    assert "pb-1" not in live and anonymous.id in live


async def test_a_playback_on_a_channel_that_is_gone_ends_and_is_forgotten(tmp_path: Path) -> None:
    media = service(tmp_path)
    chan = media.core.new_channel(NullTech(), "Null/1", state="Ring")
    live = Playbacks(media)
    published: list[ev.Event] = []
    playback = live.new(
        "pb-2",
        ["sound:beep"],
        target_uri=f"channel:{chan.id}",
        language="en",
        publish=published.append,
    )
    chan.destroy()
    await live.play_on_channel(chan, playback)
    assert playback.player.finished
    assert "pb-2" not in live
    assert chan.media is None  # no stream was made for a channel that is gone
    assert not any(isinstance(e, ev.PlaybackStarted) for e in published)
