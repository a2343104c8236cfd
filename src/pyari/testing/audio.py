"""Audio checks for tests: tone levels (a Goertzel bin), correlation, test tones.

Everything works on int16 samples at 8 kHz, the rate :meth:`Phone.heard
<pyari.testing.phones.Phone.heard>` returns.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pyari.media.frames import Samples

__all__ = [
    "RATE",
    "best_correlation",
    "has_tone",
    "loud",
    "silence",
    "tone",
    "tone_level",
]

RATE = 8000
"""Sample rate of what the helpers take and make."""


def tone(freq: float, ms: int, *, amplitude: int = 8000, rate: int = RATE) -> Samples:
    """A sine of ``freq`` Hz lasting ``ms`` milliseconds (int16)."""
    t = np.arange(ms * rate // 1000) / rate
    samples: Samples = np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return samples


def silence(ms: int, *, rate: int = RATE) -> Samples:
    """``ms`` milliseconds of digital silence (int16)."""
    return np.zeros(ms * rate // 1000, dtype=np.int16)


def tone_level(samples: Samples, freq: float, *, rate: int = RATE) -> float:
    """Amplitude of the ``freq`` component of ``samples`` (one DFT bin, as Goertzel)."""
    if len(samples) == 0:
        return 0.0
    n = np.arange(len(samples))
    x = samples.astype(np.float64)
    term = np.dot(x, np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(term) / len(samples))


def has_tone(
    samples: Samples,
    freq: float,
    *,
    min_amplitude: float = 500.0,
    purity: float = 0.5,
    window_ms: int = 100,
    rate: int = RATE,
) -> bool:
    """Whether some ``window_ms`` stretch of ``samples`` holds a ``freq`` tone.

    A window counts when the tone's amplitude is at least ``min_amplitude`` and
    at least ``purity`` of the window's peak-equivalent level (``√2 · RMS``):
    other sounds louder than the tone do not count as hearing it.
    """
    size = window_ms * rate // 1000
    if size <= 0 or len(samples) < size:
        return False
    # Half-overlapping windows, so a tone straddling a boundary is still caught.
    step = max(1, size // 2)
    count = 1 + (len(samples) - size) // step
    idx = np.arange(size)[None, :] + step * np.arange(count)[:, None]
    frames: npt.NDArray[np.float64] = samples.astype(np.float64)[idx]
    basis = np.exp(-2j * np.pi * freq * np.arange(size) / rate)
    amps = 2 * np.abs(frames @ basis) / size
    rms_peak = np.sqrt(2 * np.mean(frames * frames, axis=1))
    ok = (amps >= min_amplitude) & (amps >= purity * np.maximum(rms_peak, 1e-9))
    return bool(ok.any())


def loud(samples: Samples, threshold: float = 200.0, *, frame: int = 160) -> Samples:
    """``samples`` from the first to the last frame louder than ``threshold`` (mean |x|)."""
    frames = len(samples) // frame
    if frames == 0:
        return samples[:0]
    energy = np.abs(samples[: frames * frame].astype(np.int32)).reshape(frames, frame).mean(axis=1)
    idx = np.flatnonzero(energy > threshold)
    if len(idx) == 0:
        return samples[:0]
    return samples[idx[0] * frame : (idx[-1] + 1) * frame]


def best_correlation(heard: Samples, reference: Samples) -> float:
    """Peak normalised cross-correlation of ``reference`` inside ``heard`` (−1 … 1).

    Close to 1 when ``heard`` contains ``reference`` (after G.711 coding too:
    a played prompt typically scores above 0.95); 0 when ``heard`` is shorter.
    """
    a = heard.astype(np.float64)
    b = reference.astype(np.float64)
    if len(a) < len(b) or len(b) == 0 or not b.any():
        return 0.0
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    spectrum = np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size))
    corr = np.fft.irfft(spectrum, size)[: len(a) - len(b) + 1]
    energy = np.concatenate(([0.0], np.cumsum(a * a)))
    window = energy[len(b) :] - energy[: len(a) - len(b) + 1]
    norm = np.sqrt(np.maximum(window, 1e-9) * np.dot(b, b))
    return float(np.max(corr / norm))
