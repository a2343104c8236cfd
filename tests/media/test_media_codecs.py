"""G.711 tables, resampling and translation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pyari.media.codecs import (
    ALAW_DECODE,
    ULAW_DECODE,
    Resampler,
    Translator,
    alaw_decode,
    alaw_encode,
    downsample,
    translation_path,
    ulaw_decode,
    ulaw_encode,
    upsample,
)
from pyari.media.frames import ALAW, SLIN, SLIN16, ULAW, Frame, frames_of

ALL = np.arange(-32768, 32768, dtype=np.int16)


def level(samples: np.ndarray, freq: float, rate: int) -> float:
    """Amplitude of ``freq`` in ``samples`` (single DFT term)."""
    n = np.arange(len(samples))
    term = np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(term) / len(samples))


def test_ulaw_known_values() -> None:
    assert ulaw_encode(np.array([0], dtype=np.int16))[0] == 0xFF
    assert ULAW_DECODE[0x00] == -32124
    assert ULAW_DECODE[0x80] == 32124
    assert ULAW_DECODE[0xFF] == 0 and ULAW_DECODE[0x7F] == 0
    assert ULAW_DECODE[0xFE] == 8 and ULAW_DECODE[0x7E] == -8
    assert ulaw_encode(np.array([32767, -32768], dtype=np.int16)).tolist() == [0x80, 0x00]


def test_alaw_known_values() -> None:
    assert alaw_encode(np.array([0], dtype=np.int16))[0] == 0xD5
    assert ALAW_DECODE[0xD5] == 8 and ALAW_DECODE[0x55] == -8
    assert ALAW_DECODE[0xAA] == 32256 and ALAW_DECODE[0x2A] == -32256
    assert alaw_encode(np.array([32767, -32768], dtype=np.int16)).tolist() == [0xAA, 0x2A]


def test_code_round_trips() -> None:
    codes = np.arange(256, dtype=np.uint8)
    # Every A-law code survives decode → encode.
    assert (alaw_encode(alaw_decode(codes)) == codes).all()
    # µ-law has two codes for zero (0x7F and 0xFF); every other code survives.
    back = ulaw_encode(ulaw_decode(codes))
    assert (back == codes).sum() == 255 and back[0x7F] == 0xFF


def test_quantisation_error_is_within_half_a_step() -> None:
    for enc, dec in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        decoded = dec(enc(ALL)).astype(np.int32)
        err = np.abs(decoded - ALL.astype(np.int32))
        # The step doubles per segment; the largest step is 1024 (µ) / 1024 (A).
        assert err.max() <= 1024
        # Small signals are reproduced finely.
        small = np.abs(ALL.astype(np.int32)) < 64
        assert err[small].max() <= 8
        # The decoder is monotonic: louder input never decodes quieter.
        assert (np.diff(decoded) >= 0).all()


def test_tables_match_the_reference_implementation() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:
            pytest.skip("audioop (the CPython G.711 reference) is gone in this Python")
    codes = bytes(range(256))
    assert np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2").tolist() == ULAW_DECODE.tolist()
    assert np.frombuffer(audioop.alaw2lin(codes, 2), "<i2").tolist() == ALAW_DECODE.tolist()
    pcm = ALL.astype("<i2").tobytes()
    assert np.frombuffer(audioop.lin2alaw(pcm, 2), np.uint8).tolist() == alaw_encode(ALL).tolist()
    ref = np.frombuffer(audioop.lin2ulaw(pcm, 2), np.uint8)
    ours = ulaw_encode(ALL)
    # Identical for every non-negative sample; negative samples on a decision
    # boundary may land on the neighbouring code (Asterisk's 16-bit rounding).
    assert (ref[ALL >= 0] == ours[ALL >= 0]).all()
    diff = ref != ours
    assert diff.sum() < 0.01 * len(ALL)
    assert (np.abs(ref[diff].astype(int) - ours[diff].astype(int)) == 1).all()


def test_upsample_keeps_the_band_and_removes_images() -> None:
    t = np.arange(8000) / 8000
    tone = (10000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    wide = upsample(tone)
    assert len(wide) == 16000
    settled = wide[200:]
    assert level(settled, 1000, 16000) == pytest.approx(10000, rel=0.02)
    # The 7 kHz image of zero-stuffing is gone (> 50 dB down).
    assert level(settled, 7000, 16000) < 10000 * 10 ** (-50 / 20)


def test_downsample_rejects_aliases() -> None:
    t = np.arange(16000) / 16000
    passing = (8000 * np.sin(2 * np.pi * 1500 * t)).astype(np.int16)
    blocked = (8000 * np.sin(2 * np.pi * 6000 * t)).astype(np.int16)
    assert level(downsample(passing)[100:], 1500, 8000) == pytest.approx(8000, rel=0.02)
    # 6 kHz would alias to 2 kHz without the filter.
    assert level(downsample(blocked)[100:], 2000, 8000) < 8000 * 10 ** (-50 / 20)


def test_streaming_resampler_equals_whole_signal() -> None:
    rng = np.random.default_rng(1)
    signal = rng.integers(-8000, 8000, 1600).astype(np.int16)
    for src, dst in ((8000, 16000), (16000, 8000)):
        whole = Resampler(src, dst).process(signal)
        streaming = Resampler(src, dst)
        pieces = np.concatenate(
            [streaming.process(signal[i : i + 160]) for i in range(0, 1600, 160)]
        )
        assert (pieces == whole).all()
    with pytest.raises(ValueError):
        Resampler(8000, 44100)


def test_translation_paths() -> None:
    assert translation_path(ULAW, ULAW) == []
    assert translation_path(ULAW, ALAW) == ["ulaw->slin", "slin->alaw"]
    assert translation_path(ULAW, SLIN16) == ["ulaw->slin", "slin->slin16"]
    assert translation_path(SLIN16, ALAW) == ["slin16->slin", "slin->alaw"]


def test_translator_carries_a_tone_across_formats() -> None:
    t = np.arange(1600) / 8000
    tone = (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    frames = frames_of(tone, SLIN)
    to_ulaw = Translator(SLIN, ULAW)
    to_wide = Translator(ULAW, SLIN16)
    out = [to_wide.translate(to_ulaw.translate(f)) for f in frames]
    assert all(f.format == SLIN16 and f.samples == 320 for f in out)
    wide = np.concatenate([f.data for f in out])
    assert level(wide[400:], 440, 16000) == pytest.approx(6000, rel=0.03)


def test_frame_bytes_round_trip() -> None:
    frame = Frame(SLIN, np.arange(160, dtype=np.int16) - 80)
    assert Frame.from_bytes(SLIN, frame.to_bytes()).data.tolist() == frame.data.tolist()
    assert len(Frame.silence(ULAW).to_bytes()) == 160
    assert Frame.silence(ALAW).data[0] == 0xD5
    assert ALAW_DECODE[Frame.silence(ALAW).data].max() == 8
    with pytest.raises(ValueError):
        Frame.from_bytes(ULAW, b"\x00" * 10)
