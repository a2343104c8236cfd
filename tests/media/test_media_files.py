"""Sound file readers and crash-safe writers."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from pyari.media.codecs import alaw_encode, ulaw_encode
from pyari.media.files import (
    CorruptMediaError,
    MediaNotFoundError,
    RawWriter,
    UnsupportedMediaError,
    WavWriter,
    open_writer,
    parse_wav,
    read_audio,
    read_audio_async,
    wav_header,
)

SOUNDS = Path("/usr/share/asterisk/sounds")
DEBIAN_SOUNDS = sorted(SOUNDS.glob("*/tt-monkeys.wav"))
needs_sounds = pytest.mark.skipif(
    not DEBIAN_SOUNDS and not os.environ.get("CI"),
    reason="asterisk-core-sounds-en-wav is not installed",
)


def sine(freq: float, ms: int, rate: int = 8000, amp: int = 8000) -> np.ndarray:
    t = np.arange(ms * rate // 1000) / rate
    return np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = 8000, channels: int = 1, width: int = 2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def test_reads_wav_8_and_16_khz(tmp_path: Path) -> None:
    for rate in (8000, 16000):
        tone = sine(440, 200, rate)
        write_wav(tmp_path / f"t{rate}.wav", tone, rate)
        audio = read_audio(tmp_path / f"t{rate}.wav")
        assert audio.rate == rate
        assert audio.samples.tolist() == tone.tolist()
        assert audio.duration_ms == 200


@pytest.mark.parametrize(
    ("rate", "channels", "width", "message"),
    [(44100, 1, 2, "44100 Hz"), (8000, 2, 2, "2 channels"), (8000, 1, 1, "8 bits")],
)
def test_rejects_unsupported_wav(
    tmp_path: Path, rate: int, channels: int, width: int, message: str
) -> None:
    path = tmp_path / "bad.wav"
    write_wav(
        path, np.zeros(100, dtype=np.uint8 if width == 1 else np.int16), rate, channels, width
    )
    with pytest.raises(UnsupportedMediaError, match=message):
        read_audio(path)


def test_rejects_corrupt_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "junk.wav").write_bytes(b"this is not a wav file at all")
    with pytest.raises(CorruptMediaError):
        read_audio(tmp_path / "junk.wav")
    (tmp_path / "nodata.wav").write_bytes(wav_header(8000, 0)[:36])
    with pytest.raises(CorruptMediaError, match="no audio"):
        read_audio(tmp_path / "nodata.wav")
    (tmp_path / "x.wav49").write_bytes(b"\x00" * 65)
    with pytest.raises(UnsupportedMediaError, match="wav49"):
        read_audio(tmp_path / "x.wav49")
    with pytest.raises(MediaNotFoundError):
        read_audio(tmp_path / "missing.wav")


def test_reads_raw_formats(tmp_path: Path) -> None:
    tone = sine(1000, 100)
    (tmp_path / "a.sln").write_bytes(tone.astype("<i2").tobytes())
    (tmp_path / "a.sln16").write_bytes(sine(1000, 100, 16000).astype("<i2").tobytes())
    (tmp_path / "a.ulaw").write_bytes(ulaw_encode(tone).tobytes())
    (tmp_path / "a.alaw").write_bytes(alaw_encode(tone).tobytes())
    assert read_audio(tmp_path / "a.sln").samples.tolist() == tone.tolist()
    wide = read_audio(tmp_path / "a.sln16")
    assert wide.rate == 16000 and len(wide.samples) == 1600
    for name in ("a.ulaw", "a.alaw"):
        audio = read_audio(tmp_path / name)
        assert audio.rate == 8000
        corr = np.corrcoef(audio.samples.astype(float), tone.astype(float))[0, 1]
        assert corr > 0.999


def test_wav_with_extra_chunks_and_unknown_size(tmp_path: Path) -> None:
    tone = sine(500, 40)
    body = tone.astype("<i2").tobytes()
    header = wav_header(8000, len(body))
    # A LIST chunk before data, and a data size of 0xFFFFFFFF (streamed WAV).
    listing = b"LIST" + struct.pack("<I", 4) + b"INFO"
    data = header[:36] + listing + b"data" + struct.pack("<I", 0xFFFFFFFF) + body
    assert parse_wav(data).samples.tolist() == tone.tolist()


async def test_async_reader(tmp_path: Path) -> None:
    write_wav(tmp_path / "x.wav", sine(300, 60))
    audio = await read_audio_async(tmp_path / "x.wav")
    assert len(audio.samples) == 480


@needs_sounds
def test_reads_every_debian_sound() -> None:
    files = sorted(SOUNDS.glob("*/**/*.wav"))
    assert len(files) >= 568
    total = 0
    for path in files:
        audio = read_audio(path)
        assert audio.rate == 8000 and len(audio.samples) > 0
        total += len(audio.samples)
    monkeys = read_audio(DEBIAN_SOUNDS[0])
    assert monkeys.duration_ms > 5000
    assert np.abs(monkeys.samples.astype(np.int32)).mean() > 300  # not silence


def test_wav_writer_keeps_header_valid_after_every_append(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    writer = WavWriter(path)
    tone = sine(700, 100)
    for i in range(3):
        writer.append(tone)
        with wave.open(str(path)) as w:
            assert w.getnframes() == 800 * (i + 1)
    writer.close()
    appended = WavWriter(path, append=True)
    appended.append(tone)
    appended.close()
    assert len(read_audio(path).samples) == 3200
    assert appended.duration_ms == 400


def test_raw_writers(tmp_path: Path) -> None:
    tone = sine(700, 100)
    for fmt, ext in (("ulaw", "ulaw"), ("alaw", "alaw"), ("sln", "sln")):
        writer = open_writer(tmp_path / f"r.{ext}", fmt)
        writer.append(tone)
        writer.close()
        audio = read_audio(tmp_path / f"r.{ext}")
        assert len(audio.samples) == 800
        assert np.corrcoef(audio.samples.astype(float), tone.astype(float))[0, 1] > 0.999
    appender = RawWriter(tmp_path / "r.ulaw", "ulaw", append=True)
    appender.append(tone)
    appender.close()
    assert appender.duration_ms == 200
    with pytest.raises(UnsupportedMediaError):
        open_writer(tmp_path / "x.mp3", "mp3")


KILLED_WRITER = """
import sys, numpy as np
from pyari.media.files import open_writer
writer = open_writer(sys.argv[1], sys.argv[2])
t = np.arange(160) / 8000
frame = np.rint(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
for i in range(50):
    writer.append(frame)
print("ready", flush=True)
sys.stdin.readline()  # killed while waiting here, file still open
"""


@pytest.mark.parametrize("fmt", ["wav", "ulaw", "sln"])
def test_a_killed_recorder_leaves_a_playable_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"crash.{fmt}"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path), fmt],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    audio = read_audio(path)
    assert len(audio.samples) == 50 * 160  # one second, nothing lost
    if fmt == "wav":
        with wave.open(str(path)) as w:  # a standard reader agrees
            assert w.getnframes() == 8000
    t = np.arange(8000) / 8000
    ref = np.sin(2 * np.pi * 1000 * t)
    assert np.corrcoef(audio.samples.astype(float), ref)[0, 1] > 0.99
