"""DTMF generation/detection and talk detection."""

from __future__ import annotations

import numpy as np
import pytest

from pyari.media.dtmf import DIGITS, DtmfDetector, digit_frequencies, dtmf_samples, dtmf_sequence
from pyari.media.talk import TalkDetector, parse_talk_detect


def frames(samples: np.ndarray, n: int = 160) -> list[np.ndarray]:
    pad = (-len(samples)) % n
    samples = np.concatenate([samples, np.zeros(pad, np.int16)])
    return [samples[i : i + n] for i in range(0, len(samples), n)]


def test_every_digit_is_generated_and_detected_with_its_duration() -> None:
    for digit in DIGITS:
        found: list[tuple[str, int]] = []
        det = DtmfDetector(lambda d, ms, found=found: found.append((d, ms)))
        signal = np.concatenate([dtmf_samples(digit, 200), np.zeros(800, np.int16)])
        for f in frames(signal):
            det.feed(f)
        assert found == [(digit, 200)]


def test_sequence_with_gaps() -> None:
    det = DtmfDetector()
    for f in frames(
        np.concatenate([dtmf_sequence("1#9", duration_ms=100), np.zeros(800, np.int16)])
    ):
        det.feed(f)
    assert det.digits == [("1", 100), ("#", 100), ("9", 100)]


def test_rejects_non_dtmf() -> None:
    det = DtmfDetector()
    t = np.arange(8000) / 8000
    single = (8000 * np.sin(2 * np.pi * 697 * t)).astype(np.int16)
    chord = (4000 * (np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 1209 * t))).astype(np.int16)
    noise = np.random.default_rng(3).normal(0, 3000, 8000).astype(np.int16)
    noisy_chord = (chord + np.random.default_rng(4).normal(0, 4000, 8000)).astype(np.int16)
    for signal in (single, noise, noisy_chord, (chord // 40).astype(np.int16)):
        for f in frames(signal):
            det.feed(f)
    assert det.digits == []
    with pytest.raises(ValueError):
        digit_frequencies("x")


def test_short_blips_are_ignored() -> None:
    det = DtmfDetector()
    for f in frames(np.concatenate([dtmf_samples("5", 20), np.zeros(1600, np.int16)])):
        det.feed(f)
    assert det.digits == []


def test_talk_detection() -> None:
    events: list[object] = []
    det = TalkDetector(
        silence_threshold_ms=500,
        on_start=lambda: events.append("start"),
        on_stop=events.append,
    )
    t = np.arange(8000) / 8000
    speech = (5000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    for f in frames(np.zeros(1600, np.int16)):
        det.feed(f)
    assert events == []
    for f in frames(speech):
        det.feed(f)
    assert events == ["start"]
    for f in frames(np.zeros(8000, np.int16)):
        det.feed(f)
    assert events == ["start", 1000]  # talked for 1 s


def test_parse_talk_detect() -> None:
    assert parse_talk_detect("") == (2500, 256)
    assert parse_talk_detect("1200") == (1200, 256)
    assert parse_talk_detect(",128") == (2500, 128)
    with pytest.raises(ValueError):
        parse_talk_detect("0")
    with pytest.raises(ValueError):
        parse_talk_detect("x")
