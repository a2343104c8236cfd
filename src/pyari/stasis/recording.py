"""ARI live recordings (res_stasis_recording): the objects behind ``/recordings/live``.

A :class:`LiveRecording` goes queued → recording (⇄ paused) → done, canceled or
failed; each change becomes RecordingStarted, RecordingFinished or
RecordingFailed on the target's topic. :class:`LiveRecordings` keeps the live
ones by name, chooses the file (inside the recording folder), and records a
channel (what it says, on the channel's own task, after an optional beep) or a
bridge (its mix) through a :class:`~pyari.media.recorder.Recorder`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyari.confine import PathRefused
from pyari.core import events as ev
from pyari.media.service import until

if TYPE_CHECKING:
    from pyari.core.bridge import Bridge
    from pyari.core.channel import Channel
    from pyari.media.recorder import Recorder, RecordingResult
    from pyari.media.service import MediaService

Publish = Callable[[ev.Event], None]


class LiveRecording:
    """An ARI live recording: state, target and the :class:`Recorder` once started."""

    def __init__(
        self,
        name: str,
        fmt: str,
        path: Path,
        *,
        target_uri: str,
        publish: Publish,
        max_duration_seconds: int,
        max_silence_seconds: int,
        terminate_on: str,
        append: bool,
        beep: bool,
    ) -> None:
        self.name = name
        self.format = fmt
        self.path = path
        self.target_uri = target_uri
        self.publish = publish
        self.max_duration_seconds = max_duration_seconds
        self.max_silence_seconds = max_silence_seconds
        self.terminate_on = terminate_on
        self.append = append
        self.beep = beep
        self.state = "queued"
        self.recorder: Recorder | None = None
        self.result: RecordingResult | None = None
        self.muted = False
        self.cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "format": self.format,
            "state": self.state,
            "target_uri": self.target_uri,
        }
        result = self.result
        if result is not None:
            out["duration"] = result.duration
            if self.max_silence_seconds:
                out["talking_duration"] = result.talking_duration
                out["silence_duration"] = result.duration - result.talking_duration
        if self.cause:
            out["cause"] = self.cause
        return out

    def set_state(self, state: str, cause: str | None = None) -> None:
        self.state = state
        self.cause = cause
        json = self.to_json()
        if state == "recording":
            self.publish(ev.RecordingStarted(recording=json))
        elif state in ("done", "canceled"):
            self.publish(ev.RecordingFinished(recording=json))
        elif state == "failed":
            self.publish(ev.RecordingFailed(recording=json))

    # ARI operations (Asterisk's table): True → done, False → 409 not recording.
    def operation(self, op: str) -> bool:
        rec = self.recorder
        if self.state == "queued":
            if op in ("cancel", "stop"):
                self.state = "canceled"
                return True
            return False
        if self.state not in ("recording", "paused") or rec is None:
            return False
        if op == "stop":
            rec.stop()
        elif op == "cancel":
            rec.cancel()
        elif op == "pause":
            rec.pause()
            self.state = "paused"
        elif op == "unpause":
            rec.unpause()
            self.state = "recording"
        elif op == "mute":
            rec.mute()
            self.muted = True
        elif op == "unmute":
            rec.unmute()
            self.muted = False
        return True


class LiveRecordings:
    """The live recordings of the process, by name, and where they are written."""

    def __init__(self, media: MediaService) -> None:
        self.media = media
        self.by_name: dict[str, LiveRecording] = {}
        self.watchers: list[Callable[[str, bool], None]] = []
        """``watcher(name, live)`` when a recording is added (True) or forgotten (False)."""

    def get(self, name: str) -> LiveRecording | None:
        return self.by_name.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def add(self, rec: LiveRecording) -> None:
        self.by_name[rec.name] = rec
        for watcher in self.watchers:
            watcher(rec.name, True)

    def forget(self, rec: LiveRecording) -> None:
        if self.by_name.get(rec.name) is rec:
            del self.by_name[rec.name]
            for watcher in self.watchers:
                watcher(rec.name, False)

    def path(self, name: str, fmt: str) -> Path | None:
        """Where ``name`` is recorded, or None when it points outside the recording folder."""
        from pyari.media.recorder import recording_path  # the media engine, on first use

        try:
            return recording_path(self.media.library.recording_dir(), name, fmt)
        except PathRefused:
            return None

    @staticmethod
    def check_existing(path: Path, if_exists: str) -> bool:
        """Blocking: 409 when a file of that name (any format) exists and ifExists=fail."""
        from pyari.media.files import EXTENSION_FORMATS
        from pyari.media.recorder import RecordingExistsError

        path.parent.mkdir(parents=True, exist_ok=True)
        stem = path.name.rpartition(".")[0]
        exists = any(
            e.rpartition(".")[0] == stem and e.rpartition(".")[2] in EXTENSION_FORMATS
            for e in os.listdir(path.parent)
        )
        if exists and if_exists == "fail":
            raise RecordingExistsError(stem)
        return if_exists == "append" and path.exists()

    def _recorder(self, rec: LiveRecording) -> Recorder:
        return self.media.new_recorder(
            rec.name,
            rec.path,
            rec.format,
            append=rec.append,
            max_duration_seconds=rec.max_duration_seconds,
            max_silence_seconds=rec.max_silence_seconds,
            terminate_on=rec.terminate_on,
        )

    @staticmethod
    async def _finish(rec: LiveRecording, recorder: Recorder) -> None:
        from pyari.media.recorder import RecordingState

        result = await recorder.wait()
        rec.result = result
        if result.state is RecordingState.FAILED:
            rec.set_state("failed", result.error or "Recording failed")
        elif result.state is RecordingState.CANCELED:
            rec.set_state("canceled")
        else:
            rec.set_state("done")

    async def record_channel(self, chan: Channel, rec: LiveRecording) -> None:
        """Record what ``chan`` says until the recording ends (the channel's task)."""
        media = self.media
        try:
            if rec.state != "queued":
                rec.set_state("canceled")
                return
            if chan.bridge is not None:
                rec.set_state("failed", "Cannot record channel while in bridge")
                return
            if chan.hungup:
                rec.set_state("failed", "Failed to answer channel")
                return
            chan.answer()
            cm = media.channel_media(chan)
            if cm is None:
                rec.set_state("failed", "Channel has no media")
                return
            cm.recordings.append(rec)
            try:
                if rec.beep:
                    await media.play_files(chan, ["sound:beep"], chan.language)
                if chan.hungup or rec.state != "queued":
                    rec.set_state("canceled" if rec.state == "canceled" else "done")
                    return
                recorder = rec.recorder = self._recorder(rec)
                recorder.start()
                rec.set_state("recording")
                cm.stream.taps_in.append(recorder.feed)
                waiter = asyncio.ensure_future(recorder.wait())
                try:
                    await until(waiter, chan)
                finally:
                    waiter.cancel()
                    if recorder.feed in cm.stream.taps_in:
                        cm.stream.taps_in.remove(recorder.feed)
                    recorder.stop()
                await self._finish(rec, recorder)
            finally:
                if rec in cm.recordings:
                    cm.recordings.remove(rec)
        finally:
            self.forget(rec)

    async def record_bridge(self, bridge: Bridge, rec: LiveRecording) -> None:
        """Record the bridge's mix until the recording ends."""
        media = self.media
        bm = media.bridge_media(bridge)
        try:
            if rec.state != "queued":
                rec.set_state("canceled")
                return
            recorder = rec.recorder = self._recorder(rec)
            recorder.start()
            rec.set_state("recording")
            bm.recordings.append(rec)
            bm.mix.taps.append(recorder.feed)
            media.engine.invalidate()
            try:
                await recorder.wait()
            finally:
                if recorder.feed in bm.mix.taps:
                    bm.mix.taps.remove(recorder.feed)
                if rec in bm.recordings:
                    bm.recordings.remove(rec)
                media.engine.invalidate()
            await self._finish(rec, recorder)
        finally:
            self.forget(rec)


__all__ = ["LiveRecording", "LiveRecordings"]
