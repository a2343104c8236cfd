"""Live recording: a recorder fed one frame per tick, writing through a disk thread.

:class:`Recorder` is the state machine behind ``/recordings/live/{name}``
(res_stasis_recording): it is fed int16 frames by a stream or bridge tap and
tracks ``duration``, ``talking_duration`` and ``silence_duration`` (a frame
is silent when its mean absolute amplitude is below ``silence_threshold``,
256 as Asterisk's dsp.conf default). It stops by itself on
``max_duration_seconds`` or after ``max_silence_seconds`` of continuous
silence, and on a DTMF digit matching ``terminate_on`` (``any``, ``*``, ``#``,
``none``) passed to :meth:`Recorder.dtmf`. ``pause`` drops frames until
``unpause``; ``mute`` records silence instead of audio.

The recorder never touches the disk on the event loop: it batches samples
and hands writes to a :class:`DiskWriter` (one background thread for every
recording, writes in submission order). Without a ``disk`` it writes inline
(tests, tools). Files go through :func:`pyari.media.files.open_writer`, whose
WAV header is correct after every write, so a killed process leaves a
playable file of what was written (at most ``flush_frames`` × 20 ms are
still in memory).

``on_finish`` runs where the file is closed: in the disk thread when there is
one. On the event loop, ``await recorder.wait()`` instead (or marshal with
``loop.call_soon_threadsafe``).

What happens when the file exists (ARI ``ifExists``) is the caller's choice,
made before the recorder starts; ``append=True`` adds to the file.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from pyari.confine import check_name, confine
from pyari.media.codecs import Resampler
from pyari.media.files import (
    MediaError,
    RawWriter,
    UnsupportedMediaError,
    WavWriter,
    open_writer,
    recording_extension,
    recording_rate,
)
from pyari.media.frames import TICK_MS, Samples

log = logging.getLogger(__name__)

TERMINATE_ON = ("none", "any", "*", "#")
DEFAULT_SILENCE_THRESHOLD = 256


class RecordingExistsError(MediaError):
    """``ifExists=fail`` and the file exists (ARI 409)."""


_Job = tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]


class DiskWriter:
    """One thread that performs every recording's blocking file operations, in order."""

    def __init__(self, name: str = "pyari-media-disk") -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.errors = 0

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:
                self.errors += 1
                future.set_exception(exc)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((fn, args, future))
        return future

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Submit and await the result (after everything submitted before)."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    async def drain(self) -> None:
        await self.run(lambda: None)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)


def recording_path(directory: str | Path, name: str, fmt: str) -> Path:
    """The file of recording ``name`` in ``directory``; :class:`~pyari.confine.PathRefused`
    for a name that is no file name or points outside ``directory``."""
    check_name(name)
    return confine(directory, f"{name}.{recording_extension(fmt)}")


def failure_cause(exc: BaseException) -> str:
    """The ``cause`` a client sees for a recording that failed: never a server path."""
    if isinstance(exc, MediaError):
        return str(exc)  # media errors name files by their own name only
    if isinstance(exc, OSError) and exc.strerror:
        return f"Unable to write the recording file: {exc.strerror}"
    return "Unable to write the recording file"


class RecordingState(StrEnum):
    QUEUED = "queued"
    RECORDING = "recording"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELED = "canceled"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class RecordingResult:
    name: str
    path: Path
    state: RecordingState
    duration_ms: int
    talking_ms: int
    silence_ms: int
    cause: str
    """``stopped``, ``max_duration``, ``max_silence``, ``dtmf``, ``canceled``, ``error``."""
    error: str | None = None
    detected_silence_ms: int = 0
    """All silence seen by the silence detector (0 unless ``max_silence_seconds``)."""
    trailing_silence_ms: int = 0
    """The silence run the recording ended in (0 unless ``max_silence_seconds``)."""
    trimmed_ms: int = 0
    """Trailing silence cut off the end of the file."""

    # Asterisk (__ast_play_and_record) reports whole seconds of the file as written,
    # less the trailing silence beyond 200 ms; the talking time is that length less
    # all the silence beyond 200 ms.
    @property
    def duration(self) -> int:
        return _seconds_less_silence(self.duration_ms, self.trailing_silence_ms)

    @property
    def talking_duration(self) -> int:
        return _seconds_less_silence(self.duration_ms, self.detected_silence_ms)

    @property
    def silence_duration(self) -> int:
        return self.duration - self.talking_duration

    @property
    def file_ms(self) -> int:
        """Milliseconds of audio left in the file."""
        return self.duration_ms - self.trimmed_ms


def _seconds_less_silence(duration_ms: int, silence_ms: int) -> int:
    """Whole seconds of ``duration_ms`` less the seconds of ``silence_ms`` beyond 200 ms
    (C integer division, truncating towards zero), never below 0."""
    seconds = duration_ms // 1000
    if silence_ms > 0:
        seconds -= _c_div(silence_ms - 200, 1000)
    return max(seconds, 0)


def _c_div(a: int, b: int) -> int:
    """Integer division truncating towards zero, as C does."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


TRIM_KEEP_MS = 200
"""Silence left at the end of a recording that stopped on silence, a limit or a digit."""


class Recorder:
    """Records frames fed to :meth:`feed` (a tap) into one file."""

    def __init__(
        self,
        name: str,
        path: str | Path,
        fmt: str,
        *,
        append: bool = False,
        max_duration_seconds: int = 0,
        max_silence_seconds: int = 0,
        terminate_on: str = "none",
        silence_threshold: int = DEFAULT_SILENCE_THRESHOLD,
        disk: DiskWriter | None = None,
        flush_frames: int = 5,
        rate: int = 8000,
        on_finish: Callable[[RecordingResult], None] | None = None,
    ) -> None:
        if terminate_on not in TERMINATE_ON:
            raise ValueError("terminateOn invalid")
        self.name = name
        self.path = Path(path)
        self.format = fmt
        self.append = append
        self.max_duration_ms = max(0, max_duration_seconds) * 1000
        self.max_silence_ms = max(0, max_silence_seconds) * 1000
        self.terminate_on = terminate_on
        self.silence_threshold = silence_threshold
        self.disk = disk
        self.flush_frames = max(1, flush_frames)
        self.rate = rate
        self.file_rate = recording_rate(fmt)
        self._resampler: Resampler | None = (
            Resampler(rate, self.file_rate) if self.file_rate != rate else None
        )
        """Wideband formats (``wav16``, ``sln16``) are written upsampled from the mix."""
        self.on_finish = on_finish
        self.state = RecordingState.QUEUED
        self.muted = False
        self.duration_ms = 0
        self.talking_ms = 0
        self.silence_run_ms = 0
        self.detected_silence_ms = 0
        self.frames = 0
        self._pending: list[Samples] = []
        self._writer: WavWriter | RawWriter | None = None
        self.result: RecordingResult | None = None
        self.finished: Future[RecordingResult] = Future()

    @property
    def silence_ms(self) -> int:
        return self.duration_ms - self.talking_ms

    # --- lifecycle -------------------------------------------------------------------------

    def _open(self) -> None:
        self._writer = open_writer(self.path, self.format, append=self.append)
        if self._writer.rate != self.file_rate:
            raise UnsupportedMediaError(
                f"format {self.format} records at {self._writer.rate} Hz, not {self.file_rate} Hz"
            )

    def _do(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.disk is None:
            try:
                fn(*args)
            except Exception as exc:
                self._failed(exc)
        else:
            self.disk.submit(fn, *args).add_done_callback(self._disk_done)

    def _disk_done(self, future: Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        log.warning("recording %s failed: %s", self.name, exc)
        if self.state in (RecordingState.RECORDING, RecordingState.PAUSED, RecordingState.QUEUED):
            self._finish(RecordingState.FAILED, "error", failure_cause(exc), write=False)
        elif self.result is not None and self.result.state is not RecordingState.FAILED:
            pass

    def start(self) -> None:
        """Open the file (through the disk thread) and start accepting frames."""
        if self.state is not RecordingState.QUEUED:
            return
        self.state = RecordingState.RECORDING
        self._do(self._open)

    def feed(self, samples: Samples) -> None:
        """One tick of audio (the tap). Ignored unless recording."""
        if self.state is not RecordingState.RECORDING:
            return
        ms = len(samples) * 1000 // self.rate
        energy = int(np.abs(samples.astype(np.int32)).mean()) if len(samples) else 0
        if self.muted:
            samples = np.zeros_like(samples)
            energy = 0
        self.frames += 1
        self.duration_ms += ms
        if energy >= self.silence_threshold:
            self.talking_ms += ms
            self.silence_run_ms = 0
        else:
            self.silence_run_ms += ms
            self.detected_silence_ms += ms
        self._pending.append(samples.copy())
        if len(self._pending) >= self.flush_frames:
            self._flush()
        if self.max_duration_ms and self.duration_ms >= self.max_duration_ms:
            self._finish(RecordingState.DONE, "max_duration")
        elif self.max_silence_ms and self.silence_run_ms > self.max_silence_ms:
            self._finish(RecordingState.DONE, "max_silence")

    def _flush(self) -> None:
        if not self._pending:
            return
        chunk = np.concatenate(self._pending)
        self._pending = []
        if self._resampler is not None:
            chunk = self._resampler.process(chunk)
        self._do(self._append, chunk)

    def _append(self, chunk: Samples) -> None:
        if self._writer is not None and not self._writer.closed:
            self._writer.append(chunk)

    def _truncate(self, samples: int) -> None:
        if self._writer is not None and not self._writer.closed:
            self._writer.drop_tail(samples)

    def dtmf(self, digit: str) -> bool:
        """A DTMF digit arrived; True if it terminated the recording."""
        if self.state not in (RecordingState.RECORDING, RecordingState.PAUSED):
            return False
        if self.terminate_on == "any" or (self.terminate_on == digit != "none"):
            self._finish(RecordingState.DONE, "dtmf")
            return True
        return False

    def pause(self) -> bool:
        if self.state is RecordingState.RECORDING:
            self.state = RecordingState.PAUSED
            return True
        return self.state is RecordingState.PAUSED

    def unpause(self) -> bool:
        if self.state is RecordingState.PAUSED:
            self.state = RecordingState.RECORDING
            return True
        return self.state is RecordingState.RECORDING

    def mute(self) -> None:
        self.muted = True

    def unmute(self) -> None:
        self.muted = False

    def stop(self) -> None:
        if self.state in (RecordingState.RECORDING, RecordingState.PAUSED, RecordingState.QUEUED):
            self._finish(RecordingState.DONE, "stopped")

    def cancel(self) -> None:
        """Stop and delete the file."""
        if self.state in (RecordingState.RECORDING, RecordingState.PAUSED, RecordingState.QUEUED):
            self._finish(RecordingState.CANCELED, "canceled")

    def _close(self, discard: bool) -> None:
        if self._writer is None:
            if discard:
                self.path.unlink(missing_ok=True)
            return
        if discard:
            self._writer.discard()
        else:
            self._writer.close()

    def _finish(
        self, state: RecordingState, cause: str, error: str | None = None, *, write: bool = True
    ) -> None:
        was_queued = self.state is RecordingState.QUEUED
        self.state = state
        trailing = self.silence_run_ms if self.max_silence_ms else 0
        trimmed = 0
        if write and not was_queued:
            self._flush()
            # Ended on silence, a limit or a digit (not a stop or a hang-up): the
            # trailing silence goes, but for its first 200 ms.
            if cause in ("max_silence", "max_duration", "dtmf") and trailing > TRIM_KEEP_MS:
                trimmed = trailing - TRIM_KEEP_MS
                self._do(self._truncate, trimmed * self.file_rate // 1000)
        else:
            self._pending = []
        result = RecordingResult(
            self.name,
            self.path,
            state,
            self.duration_ms,
            self.talking_ms,
            self.silence_ms,
            cause,
            error,
            detected_silence_ms=self.detected_silence_ms if self.max_silence_ms else 0,
            trailing_silence_ms=trailing,
            trimmed_ms=trimmed,
        )
        self.result = result

        def close() -> None:
            try:
                self._close(state is RecordingState.CANCELED)
            finally:
                self._report(result)

        if self.disk is None:
            try:
                close()
            except Exception as exc:  # pragma: no cover - reported via the log
                log.warning("closing recording %s: %s", self.name, exc)
        else:
            self.disk.submit(close)

    async def wait(self) -> RecordingResult:
        """Await the end of the recording (file closed) on the event loop."""
        return await asyncio.wrap_future(self.finished)

    def _report(self, result: RecordingResult) -> None:
        if not self.finished.done():
            self.finished.set_result(result)
        if self.on_finish is not None:
            self.on_finish(result)


def frames_to_ms(frames: int) -> int:
    return frames * TICK_MS
