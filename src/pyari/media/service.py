"""The process's media service: channels and bridges on the media engine.

One :class:`MediaService` per process owns the :class:`~pyari.media.mixer.MediaEngine`
and the :class:`~pyari.media.ticker.MediaClock`. It gives a channel a media stream
only when the channel needs one (a bridge that carries audio, a playback, a
recording, music on hold, silence, snoop, talk detection, a simulated phone that
speaks or listens), so idle channels cost nothing here.

Core knows this service only through its hooks
(:class:`~pyari.core.media_hooks.MediaHooks`: channel gone, bridge joined, left
or destroyed, mute, DTMF); the layers above core reach the whole service with
:func:`media_of`. ARI's playbacks and live recordings
(:mod:`pyari.stasis.playback`, :mod:`pyari.stasis.recording`) and snoop channels
(:mod:`pyari.channels.snoop`) are built on the plumbing here.

A channel technology takes part through optional methods:

``media_format(chan) -> MediaFormat``
    the channel's native format (default signed linear 8 kHz);
``media_output(chan, payload)``
    what the channel hears, once per tick (e.g. a Local half hands it to its
    other half, a simulated phone keeps it);
``media_emit_silence`` (attribute)
    the channel hears silence frames when nothing else is heard;
``media_started(chan, stream)``
    called once the stream exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pyari.media.frames import SLIN, MediaFormat
from pyari.media.library import MediaLibrary

# The media engine (numpy, codec tables, mixer) is imported when the first channel
# needs media, not at start-up: an idle server never loads it. Hence the imports
# inside the functions below.
if TYPE_CHECKING:
    from pyari.config.musiconhold import MohClass
    from pyari.core.bridge import Bridge
    from pyari.core.channel import Channel
    from pyari.core.engine import Core
    from pyari.media.frames import Samples
    from pyari.media.mixer import MediaEngine, MixBridge, Stream
    from pyari.media.moh import MohSource
    from pyari.media.player import Player
    from pyari.media.recorder import DiskWriter, Recorder
    from pyari.media.talk import TalkDetector
    from pyari.media.ticker import MediaClock

log = logging.getLogger(__name__)


class Recording(Protocol):
    """What records a channel or a bridge (an ARI live recording), as media sees it."""

    recorder: Recorder | None


# --- per-channel media -------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class ChannelMedia:
    """A channel's stream and what plays to it."""

    stream: Stream
    player: Player | None = None
    """What plays to the channel (an ARI playback, the dialplan's Playback)."""
    moh: MohSource | None = None
    """Music started by ARI startMoh / the dialplan."""
    idle_moh: bool = False
    """A participant of a holding bridge with no announcer hears music."""
    moh_source: MohSource | None = None
    """The channel's music state (kept to resume where it stopped)."""
    silence: bool = False
    tech_silence: bool = False
    talk: TalkDetector | None = None
    recordings: list[Recording] = field(default_factory=list)
    snoops: list[Channel] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class BridgeMedia:
    mix: MixBridge
    moh: MohSource | None = None
    playing: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recordings: list[Recording] = field(default_factory=list)
    idle_mode: str = "none"
    """What holding bridge participants get while no announcer speaks. Stasis gives
    every participant of an ARI holding bridge ``idle_mode=none`` (bridge_stasis_push)
    and ARI cannot change it: they hear nothing until an announcer, a bridge
    playback or bridge music on hold. ``musiconhold`` is bridge_holding's own default
    (BridgeWait)."""


class Feeder:
    """Pushes samples into a stream, one frame per tick (a simulated microphone)."""

    def __init__(self, stream: Stream, samples: Samples, rate: int = 8000) -> None:
        self.stream = stream
        self.samples = samples
        self.pos = 0
        self.rate = rate
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def feed(self, engine: MediaEngine) -> bool:
        stream = self.stream
        if engine.streams.get(stream.id) is not stream or self.pos >= len(self.samples):
            if not self.done.done():
                self.done.set_result(None)
            return False
        n = stream.format.samples_per_frame
        chunk = self.samples[self.pos : self.pos + n]
        self.pos += n
        if len(chunk) < n:
            import numpy as np

            chunk = np.concatenate([chunk, np.zeros(n - len(chunk), dtype=np.int16)])
        stream.push(pcm_payload(stream.format, chunk))
        return True

    def stop(self) -> None:
        self.pos = len(self.samples)


def pcm_payload(fmt: MediaFormat, samples: Samples) -> bytes:
    """int16 samples at the format's rate → the format's wire payload."""
    if fmt.encoded:
        from pyari.media.codecs import encode

        return encode(fmt, samples).tobytes()
    return samples.astype("<i2", copy=False).tobytes()


def payload_pcm(fmt: MediaFormat, payload: bytes) -> Samples:
    import numpy as np

    if fmt.encoded:
        from pyari.media.codecs import decode

        return decode(fmt, np.frombuffer(payload, dtype=np.uint8))
    return np.frombuffer(payload, dtype="<i2").astype(np.int16)


# --- the service -------------------------------------------------------------------------


class MediaService:
    """The process's media: engine, clock, streams, bridges, players, recorders, music on hold."""

    def __init__(
        self,
        core: Core,
        *,
        sounds_dir: Callable[[], Path],
        recording_dir: Callable[[], Path],
        moh_classes: Callable[[], dict[str, MohClass]],
        clock: MediaClock | None = None,
    ) -> None:
        from pyari.media.ticker import MediaClock

        self.core = core
        self._engine: MediaEngine | None = None
        self.clock = clock or MediaClock()
        self.clock.add_handler(self.tick)
        self.idle_checks: list[Callable[[], bool]] = []
        """More conditions for the clock to park (e.g. no RTP socket is open)."""
        self.clock.idle = self.idle
        self.library = MediaLibrary(
            sounds_dir=sounds_dir, recording_dir=recording_dir, rate=lambda: self.engine.rate
        )
        """Where audio comes from: sounds, media URIs, stored recordings, files."""
        self.moh_classes = moh_classes
        self._disk: DiskWriter | None = None
        self.feeders: list[Feeder] = []
        self.bridges: dict[str, BridgeMedia] = {}
        self.dtmf_hooks: dict[str, list[Callable[[str], None]]] = {}
        self._moh_files: dict[Path, list[Path]] = {}
        core.media = self

    @property
    def engine(self) -> MediaEngine:
        """The mixer, made (importing numpy) when first needed."""
        engine = self._engine
        if engine is None:
            from pyari.media.mixer import MediaEngine

            engine = self._engine = MediaEngine()
        return engine

    def idle(self) -> bool:
        """Nothing needs the media clock: no stream, bridge or simulated speaker."""
        engine = self._engine
        if self.feeders or (engine is not None and (engine.streams or engine.bridges)):
            return False
        return all(check() for check in self.idle_checks)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        self.clock.start()

    async def stop(self) -> None:
        self.clock.stop()
        if self._disk is not None:
            with contextlib.suppress(Exception):
                await self._disk.drain()
            await asyncio.to_thread(self._disk.close)
            self._disk = None

    @property
    def disk(self) -> DiskWriter:
        if self._disk is None:
            from pyari.media.recorder import DiskWriter

            self._disk = DiskWriter()
        return self._disk

    def tick(self, number: int) -> None:
        engine = self._engine
        if engine is None:
            return
        if self.feeders:
            self.feeders = [f for f in self.feeders if f.feed(engine)]
        engine.process_tick(number)

    # -- channel streams ---------------------------------------------------------------

    def channel_media(self, chan: Channel, create: bool = True) -> ChannelMedia | None:
        cm: ChannelMedia | None = chan.media
        if cm is not None or not create or chan.destroyed:
            return cm
        tech = chan.tech
        fmt_of = getattr(tech, "media_format", None)
        fmt: MediaFormat = fmt_of(chan) if fmt_of is not None else SLIN
        output = getattr(tech, "media_output", None)
        callback = None
        if output is not None:

            def callback(stream: Stream, payload: bytes, chan: Channel = chan) -> None:
                output(chan, payload)

        silence = bool(getattr(tech, "media_emit_silence", False))
        muted = chan.muted
        stream = self.engine.add_stream(
            chan.id,
            fmt,
            on_output=callback,
            emit_silence=silence,
            mute_in="in" in muted,
            mute_out="out" in muted,
        )
        self.clock.wake()
        cm = ChannelMedia(stream, tech_silence=silence)
        chan.media = cm
        started = getattr(tech, "media_started", None)
        if started is not None:
            started(chan, stream)
        return cm

    def stream(self, chan: Channel) -> Stream:
        cm = self.channel_media(chan)
        if cm is None:
            raise RuntimeError(f"{chan.name} has no media")
        return cm.stream

    def channel_gone(self, chan: Channel) -> None:
        cm: ChannelMedia | None = chan.media
        self.dtmf_hooks.pop(chan.id, None)
        if cm is None:
            return
        chan.media = None
        if cm.player is not None and not cm.player.finished:
            cm.player.stop()
        for rec in list(cm.recordings):
            if rec.recorder is not None:
                rec.recorder.stop()
        for snoop in list(cm.snoops):
            snoop.queue_hangup()
        for source in (cm.moh_source,):
            if source is not None:
                source.close()
        self.engine.remove_stream(cm.stream)

    def refresh(self, cm: ChannelMedia) -> None:
        """Choose what overrides the channel's bridge: playback, then music, else nothing."""
        stream = cm.stream
        if cm.player is not None and not cm.player.finished:
            stream.player = cm.player
        elif cm.moh is not None:
            stream.player = cm.moh
        elif cm.idle_moh:
            stream.player = self._moh_for(cm, None)
        else:
            stream.player = None
        stream.emit_silence = cm.silence or cm.tech_silence

    def set_muted(self, chan: Channel) -> None:
        cm = self.channel_media(chan, create=False)
        if cm is None:
            return
        membership = chan.bridge.members.get(chan.id) if chan.bridge is not None else None
        cm.stream.mute_in = "in" in chan.muted or bool(membership and membership.mute)
        cm.stream.mute_out = "out" in chan.muted
        self.engine.invalidate()

    # -- silence and music on hold --------------------------------------------------------

    def start_silence(self, chan: Channel) -> None:
        cm = self.channel_media(chan)
        if cm is not None:
            cm.silence = True
            self.refresh(cm)

    def stop_silence(self, chan: Channel) -> None:
        cm = self.channel_media(chan, create=False)
        if cm is not None:
            cm.silence = False
            self.refresh(cm)

    def moh_class(self, name: str | None) -> MohClass | None:
        classes = self.moh_classes()
        if name and name in classes:
            return classes[name]
        if name:
            log.warning("Music on hold class '%s' not found, using 'default'", name)
        return classes.get("default")

    def _class_files(self, cls: MohClass) -> list[Path]:
        files = self._moh_files.get(cls.directory)
        if files is None:
            from pyari.media.moh import scan_class_files

            files = self._moh_files[cls.directory] = scan_class_files(cls.directory)
        return files

    def new_moh_source(self, name: str | None) -> MohSource | None:
        from pyari.media.moh import MohSource

        cls = self.moh_class(name)
        if cls is None:
            return None
        return MohSource(self._class_files(cls), self.library.load_samples, sort=cls.sort)

    def _moh_for(self, cm: ChannelMedia, name: str | None) -> MohSource | None:
        if cm.moh_source is None:
            cm.moh_source = self.new_moh_source(name)
        return cm.moh_source

    async def prepare_moh(self, name: str | None) -> None:
        """Scan the class directory in a thread before first use."""
        from pyari.media.moh import scan_class_files

        cls = self.moh_class(name)
        if cls is not None and cls.directory not in self._moh_files:
            files = await asyncio.to_thread(scan_class_files, cls.directory)
            self._moh_files[cls.directory] = files

    def start_moh(self, chan: Channel, name: str | None) -> None:
        cm = self.channel_media(chan)
        if cm is None:
            return
        source = self._moh_for(cm, name)
        cm.moh = source
        self.refresh(cm)

    def stop_moh(self, chan: Channel) -> None:
        cm = self.channel_media(chan, create=False)
        if cm is not None:
            cm.moh = None
            self.refresh(cm)

    # -- bridges -------------------------------------------------------------------------

    def bridge_media(self, bridge: Bridge) -> BridgeMedia:
        bm = self.bridges.get(bridge.id)
        if bm is None:
            kind: Literal["mixing", "holding"] = (
                "holding" if bridge.bridge_type == "holding" else "mixing"
            )
            bm = self.bridges[bridge.id] = BridgeMedia(self.engine.add_bridge(bridge.id, kind))
            self.clock.wake()
        return bm

    def bridge_joined(self, bridge: Bridge, chan: Channel) -> None:
        cm = self.channel_media(chan)
        if cm is None:
            return
        bm = self.bridge_media(bridge)
        membership = bridge.members.get(chan.id)
        role = (
            "announcer"
            if membership is not None and membership.role == "announcer"
            else ("participant")
        )
        self.engine.join(bm.mix, cm.stream, role)  # type: ignore[arg-type]
        self.set_muted(chan)
        self._holding_update(bridge)

    def bridge_left(self, bridge: Bridge, chan: Channel) -> None:
        cm = self.channel_media(chan, create=False)
        if cm is None:
            return
        if cm.stream.bridge is not None:
            self.engine.leave(cm.stream)
        cm.idle_moh = False
        self.set_muted(chan)
        self.refresh(cm)
        self._holding_update(bridge)

    def _holding_update(self, bridge: Bridge) -> None:
        """Participants of a holding bridge whose idle mode is ``musiconhold`` hear
        music while no announcer is there (bridge_holding's entertainment)."""
        if bridge.bridge_type != "holding":
            return
        bm = self.bridges.get(bridge.id)
        if bm is None or bm.idle_mode != "musiconhold":
            return
        announcer = any(m.role == "announcer" for cid, m in bridge.members.items() if cid) or bool(
            bm is not None and bm.playing
        )
        for member in bridge.channels:
            cm = self.channel_media(member, create=False)
            if cm is None:
                continue
            membership = bridge.members.get(member.id)
            participant = membership is None or membership.role != "announcer"
            cm.idle_moh = participant and not announcer
            self.refresh(cm)

    def bridge_destroyed(self, bridge: Bridge) -> None:
        from pyari.media.player import Player

        bm = self.bridges.pop(bridge.id, None)
        if bm is None:
            return
        for player in list(bm.mix.players):
            if isinstance(player, Player) and not player.finished:
                player.stop()
        for rec in list(bm.recordings):
            if rec.recorder is not None:
                rec.recorder.stop()
        self.engine.remove_bridge(bm.mix)

    def bridge_start_moh(self, bridge: Bridge, name: str | None) -> None:
        bm = self.bridge_media(bridge)
        if bm.moh is not None and bm.moh in bm.mix.players:
            bm.mix.players.remove(bm.moh)
        bm.moh = self.new_moh_source(name)
        if bm.moh is not None:
            bm.mix.players.append(bm.moh)
        self.engine.invalidate()

    def bridge_stop_moh(self, bridge: Bridge) -> bool:
        bm = self.bridges.get(bridge.id)
        if bm is None or bm.moh is None:
            return False
        if bm.moh in bm.mix.players:
            bm.mix.players.remove(bm.moh)
        bm.moh.close()
        bm.moh = None
        self.engine.invalidate()
        return True

    # -- playing to channels and bridges --------------------------------------------------

    async def play_on_channel(
        self, chan: Channel, player: Player, done: asyncio.Future[None]
    ) -> None:
        """Play to ``chan`` until ``done`` or the channel hangs up (the channel's task)."""
        try:
            if player.finished or chan.hungup:
                return
            cm = self.channel_media(chan)
            if cm is None:
                return
            cm.player = player
            self.refresh(cm)
            await until(done, chan)
        finally:
            if not player.finished:
                player.stop()
            cm = self.channel_media(chan, create=False)
            if cm is not None and cm.player is player:
                cm.player = None
                self.refresh(cm)

    async def play_on_bridge(
        self, bridge: Bridge, player: Player, done: asyncio.Future[None]
    ) -> None:
        """Bridge players play one after another, heard by every member that hears."""
        bm = self.bridge_media(bridge)
        try:
            async with bm.lock:
                if player.finished or bridge.destroyed:
                    return
                bm.mix.players.append(player)
                bm.playing += 1
                self.engine.invalidate()
                self._holding_update(bridge)
                try:
                    await asyncio.shield(done)
                finally:
                    bm.playing -= 1
                    if player in bm.mix.players:
                        bm.mix.players.remove(player)
                    self.engine.invalidate()
                    if not bridge.destroyed:
                        self._holding_update(bridge)
        finally:
            if not player.finished:
                player.stop()

    async def play_files(self, chan: Channel, media: Sequence[str], language: str) -> bool:
        """Play without ARI events (dialplan Playback); True if every item played."""
        from pyari.media.player import PlaybackState, Player

        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def update(player: Player) -> None:
            if player.finished and not done.done():
                done.set_result(None)

        player = Player(
            media, self.library.opener(language), rate=self.engine.rate, on_update=update
        )
        await self.play_on_channel(chan, player, done)
        return player.state is PlaybackState.DONE and player.error is None

    # -- recordings ------------------------------------------------------------------------

    def new_recorder(
        self,
        name: str,
        path: Path,
        fmt: str,
        *,
        append: bool,
        max_duration_seconds: int,
        max_silence_seconds: int,
        terminate_on: str,
    ) -> Recorder:
        """A recorder writing through the process's disk writer, at the engine's rate."""
        from pyari.media.recorder import Recorder

        return Recorder(
            name,
            path,
            fmt,
            append=append,
            max_duration_seconds=max_duration_seconds,
            max_silence_seconds=max_silence_seconds,
            terminate_on=terminate_on,
            disk=self.disk,
            rate=self.engine.rate,
        )

    def is_recording(self, chan: Channel) -> bool:
        cm = self.channel_media(chan, create=False)
        return cm is not None and bool(cm.recordings)

    # -- DTMF ------------------------------------------------------------------------------

    def on_dtmf(self, chan: Channel, digit: str) -> None:
        cm = self.channel_media(chan, create=False)
        if cm is not None:
            for rec in list(cm.recordings):
                if rec.recorder is not None:
                    rec.recorder.dtmf(digit)
        for hook in list(self.dtmf_hooks.get(chan.id, ())):
            hook(digit)

    def on_bridge_dtmf(self, bridge: Bridge, digit: str) -> None:
        bm = self.bridges.get(bridge.id)
        if bm is not None:
            for rec in list(bm.recordings):
                if rec.recorder is not None:
                    rec.recorder.dtmf(digit)

    def add_dtmf_hook(self, chan: Channel, hook: Callable[[str], None]) -> None:
        self.dtmf_hooks.setdefault(chan.id, []).append(hook)

    def remove_dtmf_hook(self, chan: Channel, hook: Callable[[str], None]) -> None:
        hooks = self.dtmf_hooks.get(chan.id)
        if hooks and hook in hooks:
            hooks.remove(hook)
            if not hooks:
                del self.dtmf_hooks[chan.id]

    # -- talk detection --------------------------------------------------------------------

    def talk_detect(
        self,
        chan: Channel,
        action: str,
        value: str,
        *,
        on_start: Callable[[], None],
        on_stop: Callable[[int], None],
    ) -> None:
        """``TALK_DETECT(set)=silence_ms,threshold`` / ``TALK_DETECT(remove)=``.

        ``on_start`` is called when the channel starts talking, ``on_stop`` with
        the talk's duration in ms when it stops.
        """
        if action == "remove":
            cm = self.channel_media(chan, create=False)
            if cm is not None and cm.talk is not None:
                if cm.talk.feed in cm.stream.taps_in:
                    cm.stream.taps_in.remove(cm.talk.feed)
                cm.talk = None
            return
        if action != "set":
            raise ValueError(f"TALK_DETECT: unknown action '{action}'")
        from pyari.media.talk import TalkDetector, parse_talk_detect

        silence_ms, threshold = parse_talk_detect(value)
        cm = self.channel_media(chan)
        if cm is None:
            return
        if cm.talk is not None:
            cm.talk.silence_threshold_ms = silence_ms
            cm.talk.talking_threshold = threshold
            return
        cm.talk = TalkDetector(
            silence_threshold_ms=silence_ms,
            talking_threshold=threshold,
            rate=self.engine.rate,
            on_start=on_start,
            on_stop=on_stop,
        )
        cm.stream.taps_in.append(cm.talk.feed)

    # -- snoop -----------------------------------------------------------------------------

    def snoop(
        self, target: Channel, snoop: Channel, spy: str, whisper: str
    ) -> Callable[[], None] | None:
        """Tap ``target`` for the snoop channel ``snoop``: it hears ``spy`` (in, out,
        both, none) of the target and what it is sent is whispered (``whisper``).

        Returns what removes the taps (None when either channel has no media).
        """
        import numpy as np

        target_cm = self.channel_media(target)
        snoop_cm = self.channel_media(snoop)
        if target_cm is None or snoop_cm is None:
            return None
        target_cm.snoops.append(snoop)
        out = snoop_cm.stream
        tstream = target_cm.stream
        pending: dict[str, Samples] = {}

        def spy_in(samples: Samples) -> None:
            if spy == "both":
                pending["in"] = samples.copy()
            else:
                out.push(samples.astype("<i2").tobytes())

        def spy_out(samples: Samples) -> None:
            said = pending.pop("in", None)
            mixed = samples.astype(np.int32)
            if said is not None:
                mixed += said
            out.push(np.clip(mixed, -32768, 32767).astype("<i2").tobytes())

        taps: list[tuple[list[Any], Any]] = []
        if spy in ("in", "both"):
            tstream.taps_in.append(spy_in)
            taps.append((tstream.taps_in, spy_in))
        if spy in ("out", "both"):
            tstream.taps_out.append(spy_out)
            taps.append((tstream.taps_out, spy_out))
        helper: Stream | None = None
        if whisper != "none":
            # What the snoop channel is sent is added to what the target hears
            # ("out"), to what it says so that its bridge hears it ("in"), or both.
            helper = self.engine.add_stream(f"whisper:{snoop.id}", SLIN)
            self.clock.wake()
            if whisper in ("out", "both"):
                tstream.whispers.append(helper)
            if whisper in ("in", "both"):
                tstream.whispers_in.append(helper)
            relay = helper

            def whispered(stream: Stream, payload: bytes) -> None:
                relay.push(payload)

            out.on_output = whispered
        self.engine.invalidate()

        def detach() -> None:
            for where, tap in taps:
                if tap in where:
                    where.remove(tap)
            if helper is not None:
                self.engine.remove_stream(helper)
            if snoop in target_cm.snoops:
                target_cm.snoops.remove(snoop)

        return detach

    # -- simulated phones ------------------------------------------------------------------

    def feed(self, chan: Channel, samples: Samples) -> Feeder:
        """Make ``chan`` say ``samples`` (int16 at the engine rate), one frame per tick."""
        from pyari.media.codecs import resample

        stream = self.stream(chan)
        fmt = stream.format
        if fmt.rate != self.engine.rate:
            samples = resample(samples, self.engine.rate, fmt.rate)
        feeder = Feeder(stream, samples)
        self.feeders.append(feeder)
        self.clock.wake()
        return feeder


def media_of(core: Core) -> MediaService | None:
    """The process's media service (None without media), for the layers above core:
    core itself knows it only as :class:`~pyari.core.media_hooks.MediaHooks`."""
    media = core.media
    return media if isinstance(media, MediaService) else None


async def until(future: asyncio.Future[Any], chan: Channel) -> None:
    """Wait for ``future`` or for ``chan`` to hang up, whichever comes first."""
    if future.done():
        return
    hangup = asyncio.ensure_future(chan.wait_hangup())
    try:
        await asyncio.wait([future, hangup], return_when=asyncio.FIRST_COMPLETED)
    finally:
        hangup.cancel()


__all__ = [
    "BridgeMedia",
    "ChannelMedia",
    "Feeder",
    "MediaService",
    "Recording",
    "media_of",
    "payload_pcm",
    "pcm_payload",
    "until",
]
