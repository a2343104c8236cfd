"""Live recording: formats, limits, DTMF, pause/mute, ifExists, the disk thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyari.media.files import read_audio
from pyari.media.mixer import MediaEngine
from pyari.media.recorder import (
    DiskWriter,
    Recorder,
    RecordingState,
    recording_path,
)


def tone(ms: int, freq: float = 1000, amp: int = 6000) -> np.ndarray:
    t = np.arange(ms * 8) / 8000
    return np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def feed(rec: Recorder, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 160):
        rec.feed(samples[i : i + 160])


@pytest.mark.parametrize("fmt", ["wav", "ulaw", "alaw", "sln"])
def test_records_each_format(tmp_path: Path, fmt: str) -> None:
    path = recording_path(tmp_path, "r", fmt)
    rec = Recorder("r", path, fmt)
    rec.start()
    audio = np.concatenate([tone(500), np.zeros(4000, np.int16)])
    feed(rec, audio)
    rec.stop()
    result = rec.result
    assert result is not None and result.state is RecordingState.DONE
    assert result.duration_ms == 1000 and result.talking_ms == 500 and result.silence_ms == 500
    back = read_audio(path).samples
    assert len(back) == 8000
    assert np.corrcoef(back.astype(float), audio.astype(float))[0, 1] > 0.999


def test_max_duration_and_max_silence(tmp_path: Path) -> None:
    rec = Recorder("d", tmp_path / "d.wav", "wav", max_duration_seconds=1)
    rec.start()
    feed(rec, tone(3000))
    assert rec.result is not None and rec.result.cause == "max_duration"
    assert rec.result.duration == 1 and len(read_audio(tmp_path / "d.wav").samples) == 8000
    quiet = Recorder("s", tmp_path / "s.wav", "wav", max_silence_seconds=2)
    quiet.start()
    feed(quiet, np.concatenate([tone(1000), np.zeros(8000 * 5, np.int16)]))
    assert quiet.result is not None and quiet.result.cause == "max_silence"
    # Stops once the silence exceeds 2 s; all but 200 ms of it is cut off (Asterisk).
    assert quiet.result.duration_ms == 3020 and quiet.result.trimmed_ms == 1820
    assert quiet.result.duration == 2 and quiet.result.silence_duration == 0
    assert len(read_audio(tmp_path / "s.wav").samples) == 9600


def test_terminate_on_dtmf(tmp_path: Path) -> None:
    rec = Recorder("t", tmp_path / "t.wav", "wav", terminate_on="#")
    rec.start()
    feed(rec, tone(100))
    assert rec.dtmf("1") is False
    assert rec.dtmf("#") is True
    assert rec.result is not None and rec.result.cause == "dtmf"
    anyone = Recorder("a", tmp_path / "a.wav", "wav", terminate_on="any")
    anyone.start()
    assert anyone.dtmf("5")
    never = Recorder("n", tmp_path / "n.wav", "wav")
    never.start()
    assert not never.dtmf("#")
    with pytest.raises(ValueError, match="terminateOn invalid"):
        Recorder("x", tmp_path / "x.wav", "wav", terminate_on="5")


def test_pause_and_mute(tmp_path: Path) -> None:
    rec = Recorder("p", tmp_path / "p.sln", "sln")
    rec.start()
    feed(rec, tone(100))
    assert rec.pause() and rec.state is RecordingState.PAUSED
    feed(rec, tone(500))  # dropped
    assert rec.unpause()
    rec.mute()
    feed(rec, tone(100))  # recorded as silence
    rec.unmute()
    feed(rec, tone(100))
    rec.stop()
    back = read_audio(tmp_path / "p.sln").samples
    assert len(back) == 2400
    assert np.abs(back[800:1600]).max() == 0 and np.abs(back[1600:]).max() > 5000
    assert rec.result is not None and rec.result.talking_ms == 200


def test_cancel_deletes_the_file(tmp_path: Path) -> None:
    rec = Recorder("c", tmp_path / "c.wav", "wav")
    rec.start()
    feed(rec, tone(100))
    rec.cancel()
    assert rec.state is RecordingState.CANCELED and not (tmp_path / "c.wav").exists()


def test_append_adds_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "e.wav"
    rec = Recorder("e", path, "wav")
    rec.start()
    feed(rec, tone(100))
    rec.stop()
    more = Recorder("e", path, "wav", append=True)
    more.start()
    feed(more, tone(100))
    more.stop()
    assert len(read_audio(path).samples) == 1600


async def test_disk_thread_records_a_bridge_without_losing_frames(tmp_path: Path) -> None:
    disk = DiskWriter()
    try:
        engine = MediaEngine()
        bridge = engine.add_bridge("b")
        a = engine.add_stream("a")
        b = engine.add_stream("b")
        engine.join(bridge, a)
        engine.join(bridge, b)
        rec = Recorder("mix", tmp_path / "mix.wav", "wav", disk=disk)
        rec.start()
        bridge.taps.append(rec.feed)
        engine.invalidate()
        speech = tone(2000, 440)
        for i in range(100):
            a.push(speech[i * 160 : (i + 1) * 160].astype("<i2").tobytes())
            engine.process_tick()
        rec.stop()
        result = await rec.wait()
        assert result.duration_ms == 2000 and rec.frames == 100
        back = read_audio(tmp_path / "mix.wav").samples
        assert len(back) == 16000
        assert np.corrcoef(back.astype(float), speech.astype(float))[0, 1] > 0.999
    finally:
        disk.close()


async def test_disk_errors_fail_the_recording(tmp_path: Path) -> None:
    disk = DiskWriter()
    try:
        rec = Recorder("bad", tmp_path / "missing-dir" / "bad.wav", "wav", disk=disk)
        rec.start()
        result = await rec.wait()
        assert result.state is RecordingState.FAILED and result.cause == "error"
    finally:
        disk.close()
