"""Audio sources: what a player reads one frame at a time.

A source yields int16 samples at the engine rate. ``read(count)`` returns
exactly ``count`` samples, or ``None`` once the source is exhausted (a partial
last frame is padded with silence). File sources are seekable for the
playback controls (``skipms``, ``offsetms``, restart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from pyari.media.frames import Samples
from pyari.media.tones import ToneGenerator


class Source(Protocol):
    seekable: bool

    def read(self, count: int) -> Samples | None: ...

    @property
    def position_ms(self) -> int: ...

    def seek_ms(self, ms: int) -> None: ...


class BufferSource:
    """Samples in memory (decoded files); several buffers play back to back."""

    seekable = True
    __slots__ = ("_pos", "rate", "samples")

    def __init__(self, samples: Samples | Sequence[Samples], rate: int) -> None:
        if isinstance(samples, np.ndarray):
            self.samples: Samples = samples.astype(np.int16, copy=False)
        else:
            parts = list(samples)
            self.samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
        self.rate = rate
        self._pos = 0

    def read(self, count: int) -> Samples | None:
        start = self._pos
        if start >= len(self.samples):
            return None
        chunk = self.samples[start : start + count]
        self._pos = start + count
        if len(chunk) < count:
            padded = np.zeros(count, dtype=np.int16)
            padded[: len(chunk)] = chunk
            return padded
        return chunk

    @property
    def position_ms(self) -> int:
        return min(self._pos, len(self.samples)) * 1000 // self.rate

    @property
    def length_ms(self) -> int:
        return len(self.samples) * 1000 // self.rate

    def seek_ms(self, ms: int) -> None:
        self._pos = max(0, min(len(self.samples), ms * self.rate // 1000))


class ToneSource:
    """A tone; ``hold`` keeps it "playing" (silent) after a finite tone ends.

    Asterisk's ``tone:`` playback lasts until it is stopped, even when the tone
    itself ends, so the ARI layer uses ``hold=True``.
    """

    seekable = False
    __slots__ = ("_generator", "_played", "hold")

    def __init__(self, generator: ToneGenerator, hold: bool = True) -> None:
        self._generator = generator
        self.hold = hold
        self._played = 0

    def read(self, count: int) -> Samples | None:
        if self._generator.done and not self.hold:
            return None
        self._played += count
        return self._generator.read(count)

    @property
    def position_ms(self) -> int:
        return self._played * 1000 // self._generator.rate

    def seek_ms(self, ms: int) -> None:
        return None
