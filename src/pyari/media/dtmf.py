"""DTMF: tone generation (inband) and Goertzel detection on 20 ms frames.

:func:`dtmf_samples` synthesises a digit (two sines, 7219 each as Asterisk's
tone generator, so about -8 dBm0 per tone). :class:`DtmfDetector` evaluates
the eight DTMF frequencies of a frame with one matrix product (the Goertzel
DFT terms at exactly those frequencies) and accepts a digit when the strongest
row and column tones are each above a minimum level, dominate their group, have
a twist within ±8 dB and together carry most of the frame's energy (speech and
music do not). A digit must be seen in two consecutive frames to start (40 ms,
the usual minimum) and ends after two frames without it; ``on_digit(digit,
duration_ms)`` is called at the end, as ChannelDtmfReceived reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from pyari.media.frames import Samples

ROWS: Final = (697.0, 770.0, 852.0, 941.0)
COLS: Final = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD: Final = ("123A", "456B", "789C", "*0#D")
DIGITS: Final = "0123456789*#ABCD"


def digit_frequencies(digit: str) -> tuple[float, float]:
    d = digit.upper()
    for r, line in enumerate(KEYPAD):
        c = line.find(d)
        if c >= 0 and len(d) == 1:
            return ROWS[r], COLS[c]
    raise ValueError(f"'{digit}' is not a DTMF digit")


def dtmf_samples(digit: str, duration_ms: int, rate: int = 8000, amplitude: int = 7219) -> Samples:
    low, high = digit_frequencies(digit)
    t = np.arange(duration_ms * rate // 1000) / rate
    wave = amplitude * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
    out: Samples = np.rint(wave).astype(np.int16)
    return out


def dtmf_sequence(
    digits: str, *, duration_ms: int = 100, between_ms: int = 100, rate: int = 8000
) -> Samples:
    """Digits with ``between_ms`` of silence between them (ARI ``dtmf`` defaults)."""
    parts: list[Samples] = []
    gap = np.zeros(between_ms * rate // 1000, dtype=np.int16)
    for i, digit in enumerate(digits):
        if i:
            parts.append(gap)
        parts.append(dtmf_samples(digit, duration_ms, rate))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def _basis(rate: int, n: int) -> npt.NDArray[np.complex128]:
    freqs = np.array(ROWS + COLS)
    return np.exp(-2j * np.pi * np.outer(freqs, np.arange(n)) / rate)


class DtmfDetector:
    """Inband DTMF detection for one stream, fed one frame per tick."""

    def __init__(
        self,
        on_digit: Callable[[str, int], None] | None = None,
        *,
        rate: int = 8000,
        min_level: float = 400.0,
        frame_ms: int = 20,
    ) -> None:
        self.rate = rate
        self.frame_ms = frame_ms
        self.on_digit = on_digit
        self.min_level = min_level
        self._basis = _basis(rate, rate * frame_ms // 1000)
        self._candidate: str | None = None
        self._candidate_frames = 0
        self._current: str | None = None
        self._current_frames = 0
        self._missing = 0
        self.digits: list[tuple[str, int]] = []

    def classify(self, samples: Samples) -> str | None:
        """The digit present in one frame, or ``None``."""
        x = samples.astype(np.float64)
        n = len(x)
        if n != self._basis.shape[1]:
            self._basis = _basis(self.rate, n)
        energy = float(np.dot(x, x))
        if energy <= 0:
            return None
        power = np.abs(self._basis @ x) ** 2  # |X(f)|^2 for the eight frequencies
        rows, cols = power[:4], power[4:]
        r, c = int(rows.argmax()), int(cols.argmax())
        # Amplitude of a sine from its DFT term: 2|X|/n.
        amp_r = 2 * np.sqrt(rows[r]) / n
        amp_c = 2 * np.sqrt(cols[c]) / n
        if amp_r < self.min_level or amp_c < self.min_level:
            return None
        if np.sort(rows)[-2] * 6.3 > rows[r] or np.sort(cols)[-2] * 6.3 > cols[c]:
            return None
        twist = rows[r] / cols[c]
        if not 0.158 <= twist <= 6.3:
            return None
        if (rows[r] + cols[c]) * 2 / n < 0.7 * energy:
            return None
        return KEYPAD[r][c]

    def feed(self, samples: Samples) -> str | None:
        """Feed a frame; returns a digit when one ends (and calls ``on_digit``)."""
        digit = self.classify(samples)
        ended: str | None = None
        if self._current is not None:
            if digit == self._current:
                self._current_frames += 1 + self._missing
                self._missing = 0
            else:
                self._missing += 1
                if self._missing >= 2 or digit is not None:
                    ended = self._current
                    duration = self._current_frames * self.frame_ms
                    self._current = None
                    self._missing = 0
                    self.digits.append((ended, duration))
                    if self.on_digit is not None:
                        self.on_digit(ended, duration)
        if self._current is None:
            if digit is not None and digit == self._candidate:
                self._candidate_frames += 1
            else:
                self._candidate = digit
                self._candidate_frames = 1 if digit is not None else 0
            if self._candidate is not None and self._candidate_frames >= 2:
                self._current = self._candidate
                self._current_frames = self._candidate_frames
                self._candidate = None
                self._candidate_frames = 0
        return ended
