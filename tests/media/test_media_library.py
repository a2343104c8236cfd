"""MediaLibrary: stored recordings found inside their folder, files and media URIs as samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyari.media.files import wav_header
from pyari.media.library import MediaLibrary


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    data = samples.astype("<i2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_header(rate, len(data)) + data)


def library(tmp_path: Path, rate: int = 8000) -> MediaLibrary:
    return MediaLibrary(
        sounds_dir=lambda: tmp_path / "sounds",
        recording_dir=lambda: tmp_path / "recording",
        rate=lambda: rate,
    )


def test_a_stored_recording_is_found_in_any_format_and_never_outside(tmp_path: Path) -> None:
    lib = library(tmp_path)
    spool = tmp_path / "recording"
    write_wav(spool / "calls" / "today.wav", np.zeros(80, np.int16), 8000)
    (spool / "calls" / "today.txt").write_text("not audio")
    write_wav(tmp_path / "secret.wav", np.zeros(80, np.int16), 8000)
    assert lib.recording_file("calls/today") == spool / "calls" / "today.wav"
    assert lib.recording_file("calls/missing") is None
    assert lib.recording_file("../secret") is None
    assert lib.recording_file("nofolder/x") is None


async def test_a_file_is_read_at_the_engine_rate(tmp_path: Path) -> None:
    lib = library(tmp_path, rate=8000)
    path = tmp_path / "wide.wav"
    write_wav(path, np.full(1600, 1000, np.int16), 16000)
    samples = await lib.resolve_samples(path, "en")
    assert len(samples) == 800
    assert samples.dtype == np.int16


async def test_a_media_uri_is_played_out_into_samples_up_to_ten_minutes(tmp_path: Path) -> None:
    lib = library(tmp_path)
    samples = await lib.resolve_samples("tone:1000/100", "en")  # a tone repeats: the cap ends it
    assert len(samples) == 8000 * 600
    assert int(np.abs(samples[:800]).max()) > 1000
    index = await lib.sounds()
    assert await lib.sounds() is index  # built once
