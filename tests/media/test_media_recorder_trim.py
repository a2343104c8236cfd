"""The trailing silence of a recording (media/recorder.py): a recording stopped by
silence, a limit or a digit keeps 200 ms of its final silence, as Asterisk trims it;
one stopped by hand or without silence detection is not trimmed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ari.media_audio_helpers import tone
from pyari.media.files import read_audio
from pyari.media.recorder import Recorder, RecordingState


def _feed(rec: Recorder, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 160):
        rec.feed(samples[i : i + 160])


def test_recording_stopped_by_silence_keeps_200_ms_of_it(tmp_path: Path) -> None:
    # 1.5 s talk, 1.2 s pause, 1 s talk, then silence until more than 2 s of it.
    rec = Recorder("t", tmp_path / "t.wav", "wav", max_silence_seconds=2)
    rec.start()
    talk = tone(500, 1500)
    audio = np.concatenate(
        [talk, np.zeros(9600, np.int16), talk[:8000], np.zeros(8000 * 4, np.int16)]
    )
    _feed(rec, audio)
    result = rec.result
    assert result is not None and result.cause == "max_silence"
    assert result.duration_ms == 1500 + 1200 + 1000 + 2020
    assert result.trimmed_ms == 1820
    back = read_audio(tmp_path / "t.wav").samples
    assert len(back) == (1500 + 1200 + 1000 + 200) * 8
    assert np.abs(back[-1600:]).max() == 0 and np.abs(back[-1760:-1600]).max() > 1000
    # Asterisk: 5 s written less 1 s of trailing silence; talk: 5 less (1200 + 2020 - 200) / 1000.
    assert (result.duration, result.talking_duration, result.silence_duration) == (4, 2, 2)


def test_recording_stopped_by_a_limit_or_a_digit_loses_its_trailing_silence(
    tmp_path: Path,
) -> None:
    limited = Recorder(
        "l", tmp_path / "l.sln", "sln", max_duration_seconds=3, max_silence_seconds=5
    )
    limited.start()
    _feed(limited, np.concatenate([tone(500, 1000), np.zeros(8000 * 3, np.int16)]))
    assert limited.result is not None and limited.result.cause == "max_duration"
    assert limited.result.trimmed_ms == 1800
    assert len(read_audio(tmp_path / "l.sln").samples) == 1200 * 8
    assert limited.result.duration == 2  # 3 less (2000 - 200) / 1000
    digit = Recorder("d", tmp_path / "d.wav", "wav", terminate_on="#", max_silence_seconds=5)
    digit.start()
    _feed(digit, np.concatenate([tone(500, 1000), np.zeros(4000, np.int16)]))
    assert digit.dtmf("#")
    assert digit.result is not None and digit.result.trimmed_ms == 300
    assert len(read_audio(tmp_path / "d.wav").samples) == 1200 * 8


def test_a_stopped_recording_or_one_without_silence_detection_is_not_trimmed(
    tmp_path: Path,
) -> None:
    stopped = Recorder("s", tmp_path / "s.wav", "wav", max_silence_seconds=5)
    stopped.start()
    _feed(stopped, np.concatenate([tone(500, 1000), np.zeros(12000, np.int16)]))
    stopped.stop()
    assert stopped.result is not None and stopped.result.state is RecordingState.DONE
    assert stopped.result.trimmed_ms == 0
    assert len(read_audio(tmp_path / "s.wav").samples) == 2500 * 8
    assert stopped.result.duration == 1  # 2 less (1500 - 200) / 1000 (duration still shrinks)
    plain = Recorder("p", tmp_path / "p.wav", "wav", max_duration_seconds=2)
    plain.start()
    _feed(plain, np.concatenate([tone(500, 500), np.zeros(12000, np.int16)]))
    assert plain.result is not None and plain.result.trimmed_ms == 0
    assert len(read_audio(tmp_path / "p.wav").samples) == 16000
    assert plain.result.duration == 2


def test_wideband_recording_trims_in_its_own_rate(tmp_path: Path) -> None:
    rec = Recorder("w", tmp_path / "w.wav16", "wav16", max_silence_seconds=1)
    rec.start()
    _feed(rec, np.concatenate([tone(500, 1000), np.zeros(8000 * 2, np.int16)]))
    assert rec.result is not None and rec.result.cause == "max_silence"
    audio = read_audio(tmp_path / "w.wav16")
    assert audio.rate == 16000 and len(audio.samples) == (1000 + 200) * 16
