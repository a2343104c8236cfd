"""Stasis live recordings: the store by name, where the file goes, the operation table, failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.core_helpers import NullTech
from pyari.core import events as ev
from pyari.core.engine import Core
from pyari.media.recorder import RecordingExistsError
from pyari.media.service import MediaService
from pyari.stasis.recording import LiveRecording, LiveRecordings


def recordings(spool: Path) -> LiveRecordings:
    media = MediaService(
        Core(), sounds_dir=lambda: spool, recording_dir=lambda: spool, moh_classes=dict
    )
    return LiveRecordings(media)


def live_recording(
    name: str, published: list[ev.Event], path: Path = Path("/nowhere.wav")
) -> LiveRecording:
    return LiveRecording(
        name,
        "wav",
        path,
        target_uri="channel:c1",
        publish=published.append,
        max_duration_seconds=0,
        max_silence_seconds=0,
        terminate_on="none",
        append=False,
        beep=False,
    )


def test_the_file_is_inside_the_recording_folder(tmp_path: Path) -> None:
    live = recordings(tmp_path)
    assert live.path("calls/x", "wav") == tmp_path / "calls" / "x.wav"
    assert live.path("x", "slin16") == tmp_path / "x.sln16"
    assert live.path("../x", "wav") is None
    assert live.path("/etc/x", "wav") is None


def test_an_existing_file_of_any_format_is_a_conflict_unless_told(tmp_path: Path) -> None:
    (tmp_path / "old.ulaw").write_bytes(b"\xff" * 160)
    with pytest.raises(RecordingExistsError):
        LiveRecordings.check_existing(tmp_path / "old.wav", "fail")
    assert LiveRecordings.check_existing(tmp_path / "old.wav", "overwrite") is False
    assert LiveRecordings.check_existing(tmp_path / "old.ulaw", "append") is True
    assert LiveRecordings.check_existing(tmp_path / "new" / "x.wav", "fail") is False


def test_a_queued_recording_can_only_be_stopped_or_canceled(tmp_path: Path) -> None:
    live = recordings(tmp_path)
    published: list[ev.Event] = []
    rec = live_recording("r1", published)
    live.add(rec)
    assert live.get("r1") is rec and "r1" in live
    for op in ("pause", "unpause", "mute", "unmute"):
        assert rec.operation(op) is False
    assert rec.operation("stop") is True
    assert rec.to_json() == {
        "name": "r1",
        "format": "wav",
        "state": "canceled",
        "target_uri": "channel:c1",
    }
    live.forget(rec)
    assert live.get("r1") is None


async def test_a_channel_in_a_bridge_is_not_recorded(tmp_path: Path) -> None:
    live = recordings(tmp_path)
    core = live.media.core
    chan = core.new_channel(NullTech(), "Null/1", state="Up")
    core.new_bridge("b1").add(chan)
    published: list[ev.Event] = []
    rec = live_recording("r2", published)
    live.add(rec)
    await live.record_channel(chan, rec)
    assert "r2" not in live
    assert [type(e) for e in published] == [ev.RecordingFailed]
    assert rec.to_json()["cause"] == "Cannot record channel while in bridge"
