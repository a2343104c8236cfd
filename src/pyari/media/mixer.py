"""The media engine: streams, bridges and the batch mix of one tick.

A :class:`Stream` is one channel's media endpoint. The channel technology
pushes what the channel *says* (:meth:`Stream.push`, wire payloads of any
length in the stream's native format) and receives what it *hears* through
``on_output(stream, payload)`` once per tick. A :class:`MixBridge` groups
streams.

:meth:`MediaEngine.process_tick` (a :class:`~pyari.media.ticker.MediaClock`
handler) does, for all streams at once:

1. **read**: take one frame from each stream's buffer (silence when empty),
   decode all µ-law streams with one table lookup, all A-law with another, all
   slin as one buffer; resample the few 16 kHz streams. Result: one
   ``(streams × 160)`` int16 matrix at the engine rate.
2. **mix**: every mixing bridge at once. Members are kept grouped by bridge, so
   ``np.add.reduceat`` sums each bridge in one call; each member then hears
   ``sum − own`` (mix minus itself). Per-member masks say who is heard
   (contributes) and who hears: muted members, and holding bridges (only
   announcers are heard, only participants hear) use the same pass. Bridge
   players (announcements, music on hold) are added to their bridge's sum.
3. **override**: a channel with an active player hears the player instead of
   the bridge (as Asterisk suspends a channel from the bridge while it plays a
   file to it); whispers are added.
4. **write**: encode every output per format in one lookup and hand the bytes
   to the channel. Two-party bridges whose members share one format and carry
   nothing else relay the other member's payload untouched (no transcoding); such
   members are not even decoded, unless a tap, player or whisper needs their audio
   that tick (at 300 relayed calls, 40 % less engine time per tick).

Relaying outside the tick: each tick the engine sets ``Stream.relay_peer`` on the
members of such bridges that nothing else listens to or changes that tick (no tap,
player, whisper or mute), and clears it as soon as one appears (a third member,
a recording, a snoop, a playback). A channel technology may then carry a member's
media straight to its peer as it arrives (RTP: :mod:`pyari.channels.rtp_media`, as
Asterisk's native RTP bridge), and must go back to the tick when it is cleared.
When it does so for both members (``Stream.relaying``), the engine leaves the pair out
of its tick altogether (no read, mix or write for it: at 300 relayed calls the tick
does nothing) until something changes: a player, tap, whisper or mute on a member, a
bridge player or tap, a member joining or leaving (all watched: the stream or bridge
tells the engine, which clears the marks at once, so the technology switches back at
its next tick), a member that stops relaying, or audio pushed into a member.

Taps (recorders, talk/DTMF detectors, snoop) get int16 rows of what a channel
said (``"in"``) or heard (``"out"``). Bridge taps get the bridge's full mix.
Everything here runs on the event loop inside the tick: taps must not block
(recorders hand their writes to a thread).
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Self, SupportsIndex, TypeVar

import numpy as np
import numpy.typing as npt

from pyari.media.codecs import ALAW_DECODE, ALAW_ENCODE, ULAW_DECODE, ULAW_ENCODE, Resampler
from pyari.media.frames import SLIN, MediaFormat, Samples

Direction = Literal["in", "out"]
Role = Literal["participant", "announcer"]
OutputCallback = Callable[["Stream", bytes], None]
Tap = Callable[[Samples], None]


class AudioReader(Protocol):
    """What the engine asks for audio each tick (players, music on hold)."""

    def read(self, count: int) -> Samples | None: ...


_T = TypeVar("_T")


class _Watched(list[_T]):
    """A list that tells its owner when it changes (a stream's taps and whispers, a
    bridge's players and taps): callers add and remove them without the engine, and a
    pair relayed outside the tick must come back to it at once."""

    __slots__ = ("_kind", "_owner")

    def __init__(self, items: Iterable[_T], owner: Stream | MixBridge, kind: str = "media") -> None:
        super().__init__(items)
        self._owner = weakref.ref(owner)  # (no cycle: a stream is freed when dropped)
        self._kind = kind

    def _changed(self) -> None:
        owner = self._owner()
        if owner is not None:
            owner._changed(self._kind)

    def append(self, item: _T) -> None:
        super().append(item)
        self._changed()

    def extend(self, items: Iterable[_T]) -> None:
        super().extend(items)
        self._changed()

    def insert(self, index: SupportsIndex, item: _T) -> None:
        super().insert(index, item)
        self._changed()

    def remove(self, item: _T) -> None:
        super().remove(item)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> _T:
        item = super().pop(index)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, items: Iterable[_T]) -> Self:  # type: ignore[override,misc]
        super().__iadd__(items)
        self._changed()
        return self

    def __imul__(self, count: SupportsIndex) -> Self:
        super().__imul__(count)
        self._changed()
        return self


StreamWatch = Callable[["Stream", str], None]


class Stream:
    """One channel's media endpoint in the engine.

    ``player``, the mutes, the taps and the whispers may be changed by anyone at any
    time: the stream tells its engine (a pair relayed outside the tick comes back)."""

    relay_peer: Stream | None
    """Set by the engine (see the module docstring): the other member of this stream's
    two-party same-format bridge while nothing else needs this pair's audio."""
    relay_watch: Callable[[], None] | None
    """Called by the engine when ``relay_peer`` changes (a channel technology that
    relays outside the tick looks again at its next tick)."""
    emit_silence: bool
    """Send silence frames when nothing else is heard (Asterisk's channel silence)."""

    def __init__(
        self,
        id: str,
        format: MediaFormat,
        on_output: OutputCallback | None = None,
        emit_silence: bool = False,
        mute_in: bool = False,
        mute_out: bool = False,
        max_buffer_frames: int = 10,
        player: AudioReader | None = None,
        taps_in: Iterable[Tap] = (),
        taps_out: Iterable[Tap] = (),
        whispers: Iterable[Stream] = (),
        whispers_in: Iterable[Stream] = (),
        bridge: MixBridge | None = None,
        role: Role = "participant",
    ) -> None:
        self._watch: StreamWatch | None = None
        self.id = id
        self.format = format
        self.on_output = on_output
        self.emit_silence = emit_silence
        self._mute_in = mute_in
        self._mute_out = mute_out
        self.max_buffer_frames = max_buffer_frames
        self._player = player
        # the four lists are made when first asked for (most streams never have any):
        # until then the private attribute is an empty tuple the tick reads alike
        self._taps_in: _Watched[Tap] | tuple[()] = _Watched(taps_in, self) if taps_in else ()
        self._taps_out: _Watched[Tap] | tuple[()] = _Watched(taps_out, self) if taps_out else ()
        self._whispers: _Watched[Stream] | tuple[()] = (
            _Watched(whispers, self, "whispers") if whispers else ()
        )
        self._whispers_in: _Watched[Stream] | tuple[()] = (
            _Watched(whispers_in, self, "whispers") if whispers_in else ()
        )
        self.bridge = bridge
        self.role: Role = role
        self.relay_peer = None
        self.relay_watch = None
        self._relaying = False
        self._parked = False
        self.dropped_bytes = 0
        self.frames_in = 0
        self.frames_out = 0
        self._buffer = bytearray()
        self._limit = max_buffer_frames * format.bytes_per_frame
        self._down: Resampler | None = None
        self._up: Resampler | None = None

    def __repr__(self) -> str:
        return f"Stream({self.id!r}, {self.format.name})"

    def _changed(self, kind: str = "media") -> None:
        watch = self._watch
        if watch is not None:
            watch(self, kind)

    @property
    def player(self) -> AudioReader | None:
        """Overrides what the channel hears while it returns audio."""
        return self._player

    @player.setter
    def player(self, value: AudioReader | None) -> None:
        old, self._player = self._player, value
        if value is not old:
            self._changed()

    @property
    def mute_in(self) -> bool:
        """What the channel says is not heard by its bridge."""
        return self._mute_in

    @mute_in.setter
    def mute_in(self, value: bool) -> None:
        if value != self._mute_in:
            self._mute_in = value
            self._changed("topology")

    @property
    def mute_out(self) -> bool:
        """The channel hears nothing."""
        return self._mute_out

    @mute_out.setter
    def mute_out(self, value: bool) -> None:
        if value != self._mute_out:
            self._mute_out = value
            self._changed("topology")

    @property
    def taps_in(self) -> list[Tap]:
        items = self._taps_in
        if isinstance(items, tuple):  # the first time
            items = self._taps_in = _Watched(items, self)
        return items

    @taps_in.setter
    def taps_in(self, value: Iterable[Tap]) -> None:
        self._taps_in = _Watched(value, self)
        self._changed()

    @property
    def taps_out(self) -> list[Tap]:
        items = self._taps_out
        if isinstance(items, tuple):  # the first time
            items = self._taps_out = _Watched(items, self)
        return items

    @taps_out.setter
    def taps_out(self, value: Iterable[Tap]) -> None:
        self._taps_out = _Watched(value, self)
        self._changed()

    @property
    def whispers(self) -> list[Stream]:
        """Streams whose inbound audio is added to what this one hears (snoop whisper out)."""
        items = self._whispers
        if isinstance(items, tuple):  # the first time
            items = self._whispers = _Watched(items, self, "whispers")
        return items

    @whispers.setter
    def whispers(self, value: Iterable[Stream]) -> None:
        self._whispers = _Watched(value, self, "whispers")
        self._changed("whispers")

    @property
    def whispers_in(self) -> list[Stream]:
        """Streams whose inbound audio is added to what this one says (snoop whisper in):
        its bridge hears it; the stream's own ``"in"`` taps still get the unmixed audio."""
        items = self._whispers_in
        if isinstance(items, tuple):  # the first time
            items = self._whispers_in = _Watched(items, self, "whispers")
        return items

    @whispers_in.setter
    def whispers_in(self, value: Iterable[Stream]) -> None:
        self._whispers_in = _Watched(value, self, "whispers")
        self._changed("whispers")

    @property
    def relaying(self) -> bool:
        """Set by the channel technology: what this stream says is carried straight to
        ``relay_peer``'s channel outside the tick (nothing is pushed meanwhile). When
        both members of a marked pair relay, the engine leaves the pair out of its tick
        until something changes (see the module docstring)."""
        return self._relaying

    @relaying.setter
    def relaying(self, value: bool) -> None:
        if value != self._relaying:
            self._relaying = value
            self._changed("relaying")

    def push(self, payload: bytes) -> None:
        """Queue audio the channel said (native format, any length)."""
        buf = self._buffer
        buf += payload
        limit = self._limit
        if len(buf) > limit:
            excess = len(buf) - limit
            excess -= excess % (1 if self.format.encoded else 2)
            del buf[:excess]
            self.dropped_bytes += excess
        if self._parked:  # someone else speaks for a relayed channel: back to the tick
            self._changed("push")

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)


@dataclass(eq=False)
class MixBridge:
    """A bridge's media: members, bridge players and bridge taps."""

    id: str
    kind: Literal["mixing", "holding"] = "mixing"
    members: list[Stream] = field(default_factory=list)
    players: list[AudioReader] = field(default_factory=list)
    """Heard by every member that hears (bridge playback, music on hold)."""
    taps: list[Tap] = field(default_factory=list)
    """Receive the whole bridge mix (bridge recording)."""
    passthrough_ticks: int = 0
    """Ticks its two members' payloads were relayed untouched (counted when the pair
    comes back to the tick for the ticks it was left out)."""
    _watch: Callable[[MixBridge], None] | None = field(default=None, repr=False)
    _parked_at: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.players = _Watched(self.players, self)
        self.taps = _Watched(self.taps, self)

    def _changed(self, kind: str = "media") -> None:
        watch = self._watch
        if watch is not None:
            watch(self)


_NONE = np.zeros(0, dtype=np.intp)
_NO_COLUMN = np.zeros((0, 1), dtype=np.int32)
"""Empty arrays the engines share (never written to: the tick only reads them)."""


class MediaEngine:
    """Streams, bridges and the tick that moves their audio."""

    def __init__(self, rate: int = 8000) -> None:
        if rate not in (8000, 16000):
            raise ValueError("the engine mixes at 8000 or 16000 Hz")
        self.rate = rate
        self.samples = rate // 50
        self.streams: dict[str, Stream] = {}
        self.bridges: dict[str, MixBridge] = {}
        self.bridge_players: list[AudioReader] = []
        self._dirty = True
        self._order: list[Stream] = []
        self._slot: dict[int, int] = {}
        self._whisper_in_rows: list[int] = []
        self._ids = itertools.count()
        # Topology caches, rebuilt when streams or bridges change.
        self._groups: dict[str, tuple[list[int], list[Stream]]] = {}
        self._mix_blocks: list[tuple[int, int, int]] = []
        self._mix_rows = _NONE
        self._mix_starts = _NONE
        self._mix_bridge_of = _NONE
        self._mix_contrib = _NO_COLUMN
        self._mix_hears = _NO_COLUMN
        self._mix_bridges: list[MixBridge] = []
        self._pass_rows = _NONE
        self._pass_peers = _NONE
        self._pass_bridges: list[MixBridge] = []
        self._peer_of: dict[int, int] = {}
        """Row → the other member's row, for members of passthrough bridges."""
        self._group_rows: dict[str, list[int]] = {}
        self.ticks = 0
        self._relayed: dict[Stream, Stream] = {}
        """Streams whose ``relay_peer`` is set → that peer."""
        self._relay_rows: set[int] = set()
        self._relay_stale = True
        self._parked: set[MixBridge] = set()
        """Bridges whose pair is relayed outside the tick in both directions and left out
        of it (see the module docstring)."""
        self._candidates: list[Stream] = []
        """Streams that started relaying (or had audio pushed while parked): checked at
        the next tick's start."""
        self._whisper_from: set[int] | None = None
        """Ids of the streams some stream whispers from (None: to be found again)."""
        self._lonely: list[MixBridge] = []
        self._check_parked = False
        """Bridges without members that still have players or taps."""

    # --- topology ------------------------------------------------------------------------

    def add_stream(
        self,
        stream_id: str | None = None,
        fmt: MediaFormat = SLIN,
        on_output: OutputCallback | None = None,
        **options: object,
    ) -> Stream:
        sid = stream_id if stream_id is not None else f"stream-{next(self._ids)}"
        if sid in self.streams:
            raise ValueError(f"stream {sid} exists")
        stream = Stream(sid, fmt, on_output, **options)  # type: ignore[arg-type]
        stream._watch = self._stream_changed
        if fmt.rate != self.rate:
            stream._down = Resampler(fmt.rate, self.rate)
            stream._up = Resampler(self.rate, fmt.rate)
        self.streams[sid] = stream
        self._dirty = True
        return stream

    def remove_stream(self, stream: Stream) -> None:
        if stream.bridge is not None:
            self.leave(stream)
        for other in self.streams.values():
            if stream in other._whispers:
                other._whispers.remove(stream)  # type: ignore[union-attr]
            if stream in other._whispers_in:
                other._whispers_in.remove(stream)  # type: ignore[union-attr]
        self.streams.pop(stream.id, None)
        stream._watch = None
        self._whisper_from = None
        self._dirty = True

    def add_bridge(
        self, bridge_id: str, kind: Literal["mixing", "holding"] = "mixing"
    ) -> MixBridge:
        if bridge_id in self.bridges:
            raise ValueError(f"bridge {bridge_id} exists")
        bridge = MixBridge(bridge_id, kind, _watch=self._bridge_changed)
        self.bridges[bridge_id] = bridge
        self._dirty = True
        return bridge

    def remove_bridge(self, bridge: MixBridge) -> None:
        for member in list(bridge.members):
            self.leave(member)
        self.bridges.pop(bridge.id, None)
        self._dirty = True

    def join(self, bridge: MixBridge, stream: Stream, role: Role = "participant") -> None:
        if stream.bridge is not None:
            self.leave(stream)
        self._unrelay(bridge)
        stream.bridge = bridge
        stream.role = role
        bridge.members.append(stream)
        self._dirty = True

    def _unrelay(self, bridge: MixBridge) -> None:
        """The bridge's members go back to the tick now (its members change)."""
        for member in bridge.members:
            self._unmark(member)

    def leave(self, stream: Stream) -> None:
        bridge = stream.bridge
        if bridge is not None:
            self._unrelay(bridge)
        if bridge is not None and stream in bridge.members:
            bridge.members.remove(stream)
        stream.bridge = None
        self._dirty = True

    def invalidate(self) -> None:
        """Call after changing roles; mutes, players, taps and whispers (of streams and
        bridges) tell the engine themselves."""
        self._dirty = True
        self._check_parked = True

    # --- relaying outside the tick -------------------------------------------------------

    def _set_peer(self, stream: Stream, peer: Stream | None) -> None:
        if stream.relay_peer is not peer:
            stream.relay_peer = peer
            if peer is not None and stream._relaying:  # (marked again, or another peer)
                self._candidates.append(stream)
            watch = stream.relay_watch
            if watch is not None:
                watch()

    def _unmark(self, stream: Stream) -> None:
        """``stream`` and its relay peer lose their mark now (and come back to the tick
        if they were left out of it)."""
        peer = stream.relay_peer
        if stream._parked:
            self._unpark(stream)
        for member in (stream, peer):
            if member is not None and member.relay_peer is not None:
                self._set_peer(member, None)
                self._relayed.pop(member, None)
                self._relay_stale = True

    def _unpark(self, stream: Stream) -> None:
        """``stream``'s pair comes back into the tick (still marked: the tick decides)."""
        bridge = stream.bridge
        for member in bridge.members if bridge is not None else (stream,):
            member._parked = False
        stream._parked = False
        if bridge is not None and bridge in self._parked:
            self._parked.discard(bridge)
            bridge.passthrough_ticks += self.ticks - bridge._parked_at
        self._dirty = True
        self._relay_stale = True

    @staticmethod
    def _special(stream: Stream) -> bool:
        """Something listens to or changes the stream's audio (it cannot be relayed)."""
        return bool(
            stream._player is not None
            or stream._whispers
            or stream._whispers_in
            or stream._taps_in
            or stream._taps_out
            or stream._mute_out
            or stream._mute_in
        )

    def _stream_changed(self, stream: Stream, kind: str) -> None:
        """A stream's player, taps, whispers, mutes or relaying changed (its watch)."""
        if kind == "relaying":
            if stream._relaying:
                self._candidates.append(stream)
            elif stream._parked:
                self._unpark(stream)
            return
        if kind == "push":  # parked, yet someone pushed audio: the tick carries it
            self._unpark(stream)
            self._candidates.append(stream)
            return
        if kind != "media":
            self._dirty = True  # mutes and whispers are in the tick's topology
        if kind == "whispers":
            self._whisper_from = None
            for other in (*stream._whispers, *stream._whispers_in):
                self._unmark(other)
        if self._special(stream):
            self._unmark(stream)

    def _bridge_changed(self, bridge: MixBridge) -> None:
        """A bridge's players or taps changed."""
        self._dirty = True
        if bridge.players or bridge.taps:
            for member in bridge.members:
                self._unmark(member)

    def _whisper_sources(self) -> set[int]:
        found = self._whisper_from
        if found is None:
            found = self._whisper_from = {
                id(other)
                for stream in self.streams.values()
                for other in (*stream._whispers, *stream._whispers_in)
            }
        return found

    def _park_candidates(self) -> None:
        """Leave out of the tick the marked pairs whose members both relay outside it."""
        waiting: list[Stream] = []
        whisper_from = self._whisper_sources()
        for stream in self._candidates:
            peer = stream.relay_peer
            bridge = stream.bridge
            if (
                stream._parked
                or peer is None
                or peer.relay_peer is not stream
                or not (stream._relaying and peer._relaying)
                or bridge is None
                or peer.bridge is not bridge
                or not self._passthrough(bridge)
                or self._special(stream)
                or self._special(peer)
                or id(stream) in whisper_from
                or id(peer) in whisper_from
            ):
                continue
            if stream._buffer or peer._buffer:
                waiting.append(stream)  # audio pushed into it goes through the tick first
                continue
            stream._parked = peer._parked = True
            bridge._parked_at = self.ticks
            self._parked.add(bridge)
            self._dirty = True
        self._candidates = waiting

    @staticmethod
    def _passthrough(bridge: MixBridge) -> bool:
        if bridge.kind != "mixing" or len(bridge.members) != 2 or bridge.players or bridge.taps:
            return False
        a, b = bridge.members
        return (
            a.format == b.format
            and not (a._mute_in or a._mute_out or b._mute_in or b._mute_out)
            and not (a._whispers or b._whispers or a._whispers_in or b._whispers_in)
        )

    def _check_parked_pairs(self) -> None:
        """After :meth:`invalidate`: pairs that no longer qualify come back in."""
        for bridge in list(self._parked):
            members = bridge.members
            if not self._passthrough(bridge) or not all(
                m._parked and m._relaying and m.relay_peer is not None for m in members
            ):
                for member in members:
                    self._unmark(member)
                self._parked.discard(bridge)

    def _rebuild(self) -> None:
        if self._check_parked:
            self._check_parked = False
            self._check_parked_pairs()
        parked = self._parked
        order = self._order = [s for s in self.streams.values() if not s._parked]
        slot = {id(s): i for i, s in enumerate(order)}
        self._slot = slot
        self._whisper_in_rows = [i for i, s in enumerate(order) if s._whispers_in]
        groups: dict[str, list[int]] = {}
        for i, s in enumerate(order):
            groups.setdefault(s.format.name, []).append(i)
        self._groups = {name: (rows, [order[r] for r in rows]) for name, rows in groups.items()}
        self._group_rows = groups
        rows: list[int] = []
        starts: list[int] = []
        bridge_of: list[int] = []
        contrib: list[int] = []
        hears: list[int] = []
        mix_bridges: list[MixBridge] = []
        pass_rows: list[int] = []
        pass_peers: list[int] = []
        pass_bridges: list[MixBridge] = []
        blocks: list[tuple[int, int, int]] = []
        bridges = sorted(
            (b for b in self.bridges.values() if b not in parked), key=lambda b: len(b.members)
        )
        self._lonely = [b for b in bridges if not b.members and (b.taps or b.players)]
        for bridge in bridges:
            if not bridge.members and not bridge.taps:
                continue
            if self._passthrough(bridge):
                a, b = bridge.members
                pass_rows += [slot[id(a)], slot[id(b)]]
                pass_peers += [slot[id(b)], slot[id(a)]]
                pass_bridges.append(bridge)
                continue
            if not bridge.members:
                continue
            size = len(bridge.members)
            if blocks and blocks[-1][0] == size:
                blocks[-1] = (size, blocks[-1][1], blocks[-1][2] + size)
            else:
                blocks.append((size, len(rows), len(rows) + size))
            starts.append(len(rows))
            index = len(mix_bridges)
            mix_bridges.append(bridge)
            for m in bridge.members:
                rows.append(slot[id(m)])
                bridge_of.append(index)
                if bridge.kind == "holding":
                    heard = m.role == "announcer"
                    hearing = m.role == "participant"
                else:
                    heard, hearing = True, True
                contrib.append(int(heard and not m.mute_in))
                hears.append(int(hearing))
        self._mix_blocks = blocks
        if rows:
            self._mix_rows = np.array(rows, dtype=np.intp)
            self._mix_starts = np.array(starts, dtype=np.intp)
            self._mix_bridge_of = np.array(bridge_of, dtype=np.intp)
            self._mix_contrib = np.array(contrib, dtype=np.int32).reshape(-1, 1)
            self._mix_hears = np.array(hears, dtype=np.int32).reshape(-1, 1)
        else:  # no mixing bridge (channels alone, in Stasis): the shared empty arrays
            self._mix_rows = self._mix_starts = self._mix_bridge_of = _NONE
            self._mix_contrib = self._mix_hears = _NO_COLUMN
        self._mix_bridges = mix_bridges
        if pass_rows:
            self._pass_rows = np.array(pass_rows, dtype=np.intp)
            self._pass_peers = np.array(pass_peers, dtype=np.intp)
        else:
            self._pass_rows = self._pass_peers = _NONE
        self._pass_bridges = pass_bridges
        self._peer_of = dict(zip(pass_rows, pass_peers, strict=True))
        self._relay_stale = True
        self._dirty = False

    def _mark_relays(self, relay_only: set[int]) -> None:
        """Set ``relay_peer`` on the streams that may be relayed outside the tick (the
        rows relayed untouched this tick), clear it on the others."""
        if not self._relay_stale and relay_only == self._relay_rows:
            return
        order = self._order
        peer_of = self._peer_of
        new = {order[row]: order[peer_of[row]] for row in relay_only}
        relayed = self._relayed
        for stream in [s for s in relayed if s not in new and not s._parked]:
            del relayed[stream]  # (parked ones keep their marks until something changes)
            self._set_peer(stream, None)
        for stream, peer in new.items():
            relayed[stream] = peer
            self._set_peer(stream, peer)
        self._relay_rows = set(relay_only)
        self._relay_stale = False

    # --- the tick ------------------------------------------------------------------------

    def process_tick(self, tick: int = 0) -> None:
        if self._candidates:
            self._park_candidates()
        if self._dirty:
            self._rebuild()
        n = self.samples
        order = self._order
        count = len(order)
        self.ticks += 1
        if not count and not self._lonely:  # every pair relayed outside the tick (or none)
            if self._relay_stale:
                self._mark_relays(set())
            return

        # Channels with their own media this tick (players, whispers, mutes, taps).
        special = [
            (row, stream)
            for row, stream in enumerate(order)
            if stream._player is not None
            or stream._whispers
            or stream._mute_out
            or stream._taps_in
            or stream._taps_out
        ]
        # Members of passthrough bridges are relayed untouched: they need no decoding
        # unless something listens to or changes their audio.
        peer_of = self._peer_of
        relay_only: set[int] = set()
        if peer_of:
            relay_only = set(peer_of)
            slot = self._slot
            for row, stream in special:
                relay_only.discard(row)
                relay_only.discard(peer_of.get(row, -1))
                for other in stream._whispers:
                    relay_only.discard(slot.get(id(other), -1))
            for row in self._whisper_in_rows:
                relay_only.discard(row)
                for other in order[row]._whispers_in:
                    relay_only.discard(slot.get(id(other), -1))
        self._mark_relays(relay_only)

        # 1. read ------------------------------------------------------------------------
        lin = np.zeros((count, n), dtype=np.int16)
        raw: list[bytes | None] = [None] * count
        group_rows = self._group_rows
        for name, (_rows, members) in self._groups.items():
            got_rows: list[int] = []
            payloads: list[bytes] = []
            size = members[0].format.bytes_per_frame
            for row, stream in zip(group_rows[name], members, strict=True):
                buf = stream._buffer
                if len(buf) >= size:
                    if len(buf) == size:
                        chunk = bytes(buf)
                        buf.clear()
                    else:
                        chunk = bytes(buf[:size])
                        del buf[:size]
                    raw[row] = chunk
                    stream.frames_in += 1
                    if row not in relay_only:
                        got_rows.append(row)
                        payloads.append(chunk)
            if not payloads:
                continue
            joined = b"".join(payloads)
            if name == "ulaw":
                lin[got_rows] = ULAW_DECODE[np.frombuffer(joined, dtype=np.uint8).reshape(-1, n)]
            elif name == "alaw":
                lin[got_rows] = ALAW_DECODE[np.frombuffer(joined, dtype=np.uint8).reshape(-1, n)]
            elif members[0].format.rate == self.rate:
                lin[got_rows] = np.frombuffer(joined, dtype="<i2").reshape(-1, n)
            else:
                width = members[0].format.samples_per_frame
                native = np.frombuffer(joined, dtype="<i2").reshape(-1, width)
                for k, row in enumerate(got_rows):
                    down = order[row]._down
                    assert down is not None
                    lin[row] = down.process(native[k])

        # Whisper "in": added to what the channel says before its bridge mixes it.
        said_alone: dict[int, Samples] = {}
        for row in self._whisper_in_rows:
            stream = order[row]
            acc = lin[row].astype(np.int32)
            for other in stream._whispers_in:
                other_row = self._slot.get(id(other))
                if other_row is not None:
                    acc += lin[other_row]
            said_alone[row] = lin[row].copy()
            lin[row] = np.clip(acc, -32768, 32767)

        # 2. mix -------------------------------------------------------------------------
        out = np.zeros((count, n), dtype=np.int16)
        produced = np.zeros(count, dtype=bool)
        if len(self._pass_rows):
            out[self._pass_rows] = lin[self._pass_peers]
            produced[self._pass_rows] = True
            for bridge in self._pass_bridges:
                bridge.passthrough_ticks += 1
        if len(self._mix_rows):
            x = lin[self._mix_rows].astype(np.int32) * self._mix_contrib
            # Bridges are ordered by size: each run of equal-sized bridges sums as one block.
            sums = np.concatenate(
                [x[a:b].reshape(-1, size, n).sum(axis=1) for size, a, b in self._mix_blocks]
            )
            for index, bridge in enumerate(self._mix_bridges):
                for player in bridge.players:
                    audio = player.read(n)
                    if audio is not None:
                        sums[index] += audio
                for tap in bridge.taps:
                    tap(np.clip(sums[index], -32768, 32767).astype(np.int16))
            heard = (sums[self._mix_bridge_of] - x) * self._mix_hears
            out[self._mix_rows] = np.clip(heard, -32768, 32767)
            produced[self._mix_rows] = self._mix_hears[:, 0] > 0
        for bridge in self._lonely:
            # An empty bridge still advances its players and feeds its taps.
            if not bridge.members and (bridge.taps or bridge.players):
                acc = np.zeros(n, dtype=np.int32)
                for player in bridge.players:
                    audio = player.read(n)
                    if audio is not None:
                        acc += audio
                mixed = np.clip(acc, -32768, 32767).astype(np.int16)
                for tap in bridge.taps:
                    tap(mixed)

        # 3. per-channel media: players, whispers, taps ----------------------------------
        for row, stream in special:
            if stream._player is not None:
                audio = stream._player.read(n)
                if audio is not None:
                    out[row] = audio
                    produced[row] = True
            if stream._whispers:
                acc = out[row].astype(np.int32)
                for other in stream._whispers:
                    other_row = self._slot.get(id(other))
                    if other_row is not None:
                        acc += lin[other_row]
                out[row] = np.clip(acc, -32768, 32767)
                produced[row] = True
            if stream._mute_out:
                out[row] = 0
            if stream._taps_in:
                said = said_alone.get(row, lin[row])
                for tap in stream._taps_in:
                    tap(said)
            if stream._taps_out:
                heard_row = out[row]
                for tap in stream._taps_out:
                    tap(heard_row)

        # 4. write -----------------------------------------------------------------------
        produced_rows = produced.tolist()
        for name, (_rows, members) in self._groups.items():
            fmt = members[0].format
            # relay what a passthrough peer said as it came; encode the rest in one go
            encode: list[tuple[int, Stream]] = []
            for row, stream in zip(group_rows[name], members, strict=True):
                callback = stream.on_output
                if callback is None:
                    continue
                if not produced_rows[row] and not stream.emit_silence:
                    continue
                peer = peer_of.get(row)
                if peer is not None and stream._player is None:
                    peer_raw = raw[peer]
                    if peer_raw is None:
                        if not stream.emit_silence:
                            continue
                    else:
                        stream.frames_out += 1
                        callback(stream, peer_raw)
                        continue
                encode.append((row, stream))
            if not encode:
                continue
            heard = out[[row for row, _stream in encode]]
            if name == "ulaw":
                encoded: npt.NDArray[np.generic] = ULAW_ENCODE[heard.view(np.uint16)]
            elif name == "alaw":
                encoded = ALAW_ENCODE[heard.view(np.uint16)]
            else:
                encoded = heard.astype("<i2", copy=False)
            for k, (_row, stream) in enumerate(encode):
                if fmt.rate != self.rate:
                    up = stream._up
                    assert up is not None
                    payload = up.process(encoded[k]).astype("<i2").tobytes()
                else:
                    payload = encoded[k].tobytes()
                stream.frames_out += 1
                callback = stream.on_output
                assert callback is not None
                callback(stream, payload)
