"""Talk detection (``TALK_DETECT``), as func_talkdetect does it with Asterisk's DSP.

A frame is silent when its mean absolute amplitude is below
``dsp_talking_threshold`` (default 256, dsp.conf's ``silencethreshold``). The
first non-silent frame starts talking (→ ChannelTalkingStarted); talking
finishes once silence has lasted ``dsp_silence_threshold`` ms (default 2500),
and the reported duration is the time since talking started minus that
threshold (→ ChannelTalkingFinished ``duration``). Time is counted in frames,
so detection is deterministic under a manual clock.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pyari.media.frames import Samples

DEFAULT_SILENCE_THRESHOLD_MS = 2500
DEFAULT_TALKING_THRESHOLD = 256


def parse_talk_detect(value: str) -> tuple[int, int]:
    """``TALK_DETECT(set)=silence_ms,talking_threshold`` → the two values (defaults if empty).

    Raises ValueError for values Asterisk rejects (non-numbers, < 1).
    """
    silence, _, talking = value.partition(",")
    silence_ms = DEFAULT_SILENCE_THRESHOLD_MS
    talking_threshold = DEFAULT_TALKING_THRESHOLD
    if silence.strip():
        silence_ms = int(silence.strip())
        if silence_ms < 1:
            raise ValueError(f"Invalid value {silence_ms} for dsp_silence_threshold")
    if talking.strip():
        talking_threshold = int(talking.strip())
        if talking_threshold < 1:
            raise ValueError(f"Invalid value {talking_threshold} for dsp_talking_threshold")
    return silence_ms, talking_threshold


class TalkDetector:
    """Emits ``on_start()`` and ``on_stop(duration_ms)`` from frames fed per tick."""

    def __init__(
        self,
        *,
        silence_threshold_ms: int = DEFAULT_SILENCE_THRESHOLD_MS,
        talking_threshold: int = DEFAULT_TALKING_THRESHOLD,
        rate: int = 8000,
        on_start: Callable[[], None] | None = None,
        on_stop: Callable[[int], None] | None = None,
    ) -> None:
        self.silence_threshold_ms = silence_threshold_ms
        self.talking_threshold = talking_threshold
        self.rate = rate
        self.on_start = on_start
        self.on_stop = on_stop
        self.talking = False
        self.elapsed_ms = 0
        self.total_silence_ms = 0
        self._start_ms = 0

    def feed(self, samples: Samples) -> None:
        ms = len(samples) * 1000 // self.rate
        self.elapsed_ms += ms
        level = int(np.abs(samples.astype(np.int32)).sum()) // max(1, len(samples))
        if level >= self.talking_threshold:
            self.total_silence_ms = 0
            if not self.talking:
                self.talking = True
                # Talking starts at the beginning of this frame.
                self._start_ms = self.elapsed_ms - ms
                if self.on_start is not None:
                    self.on_start()
            return
        self.total_silence_ms += ms
        if self.talking and self.total_silence_ms >= self.silence_threshold_ms:
            self.talking = False
            duration = self.elapsed_ms - self._start_ms - self.silence_threshold_ms
            if self.on_stop is not None:
                self.on_stop(duration)
