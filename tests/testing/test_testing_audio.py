"""pyari.testing's audio checks: tone levels, tone presence, correlation."""

from __future__ import annotations

import numpy as np

from pyari.testing import best_correlation, has_tone, loud, silence, tone, tone_level


def test_tone_level_measures_the_amplitude_of_one_frequency() -> None:
    t = tone(440, 200, amplitude=5000)
    assert abs(tone_level(t, 440) - 5000) < 100
    assert tone_level(t, 1000) < 200
    assert tone_level(silence(100), 440) == 0.0
    assert tone_level(np.zeros(0, dtype=np.int16), 440) == 0.0


def test_has_tone_needs_a_loud_and_dominant_tone() -> None:
    mixed = np.concatenate([silence(300), tone(600, 150), silence(300)])
    assert has_tone(mixed, 600)
    assert not has_tone(mixed, 900)
    assert not has_tone(tone(600, 150, amplitude=100), 600)  # too quiet
    noise = np.random.default_rng(1).integers(-12000, 12000, 8000).astype(np.int16)
    quiet_in_noise = np.clip(noise + tone(600, 1000, amplitude=600), -32768, 32767)
    assert not has_tone(quiet_in_noise.astype(np.int16), 600)  # drowned by louder noise
    assert not has_tone(tone(600, 50), 600)  # shorter than a window


def test_best_correlation_finds_a_reference_inside_audio() -> None:
    ref = np.random.default_rng(2).integers(-8000, 8000, 1600).astype(np.int16)
    heard = np.concatenate([silence(500), ref, silence(200)])
    assert best_correlation(heard, ref) > 0.99
    other = np.random.default_rng(3).integers(-8000, 8000, 1600).astype(np.int16)
    assert best_correlation(heard, other) < 0.3
    assert best_correlation(ref[:100], ref) == 0.0  # heard shorter than the reference
    assert best_correlation(heard, silence(10)) == 0.0


def test_loud_trims_silence_around_sound() -> None:
    samples = np.concatenate([silence(100), tone(500, 100), silence(100)])
    assert len(loud(samples)) == 800
    assert len(loud(silence(100))) == 0
