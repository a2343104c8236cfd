"""Audio checks for the media tests: tone levels (Goertzel), correlation, WAV reading."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pyari.media.files import read_audio

SOUNDS = Path("/usr/share/asterisk/sounds/en_US_f_Allison")
MOH_DIR = Path("/usr/share/asterisk/moh")


def level(samples: np.ndarray, freq: float, rate: int = 8000) -> float:
    """Amplitude of the ``freq`` component (a single-bin DFT, as Goertzel computes it)."""
    if len(samples) == 0:
        return 0.0
    n = np.arange(len(samples))
    term = np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(term) / len(samples))


def tone(freq: float, ms: int, rate: int = 8000, amp: int = 8000) -> np.ndarray:
    t = np.arange(ms * rate // 1000) / rate
    return np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def loud(samples: np.ndarray, threshold: float = 200.0) -> np.ndarray:
    """The samples from the first to the last frame louder than ``threshold`` (mean abs)."""
    frames = len(samples) // 160
    if frames == 0:
        return samples[:0]
    energy = np.abs(samples[: frames * 160].astype(np.int32)).reshape(frames, 160).mean(axis=1)
    idx = np.flatnonzero(energy > threshold)
    if len(idx) == 0:
        return samples[:0]
    return samples[idx[0] * 160 : (idx[-1] + 1) * 160]


def best_correlation(heard: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised cross-correlation of ``reference`` inside ``heard`` (−1 … 1)."""
    a = heard.astype(np.float64)
    b = reference.astype(np.float64)
    if len(a) < len(b) or not b.any():
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size)), size)[
        : len(a) - len(b) + 1
    ]
    window = np.convolve(a * a, np.ones(len(b)), mode="valid")
    norm = np.sqrt(np.maximum(window, 1e-9) * np.dot(b, b))
    return float(np.max(corr / norm))


def sound(name: str) -> np.ndarray:
    return read_audio(SOUNDS / f"{name}.wav").samples


def wav_samples(path: Path) -> np.ndarray:
    return read_audio(path).samples
