"""Two-party same-codec bridges relay payloads without decoding them, unless something
listens to or changes a member's audio: taps, players and whispers added at any time
(without :meth:`MediaEngine.invalidate`) still get real audio."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from pyari.media import mixer
from pyari.media.codecs import ULAW_DECODE, ulaw_decode, ulaw_encode
from pyari.media.frames import ULAW
from pyari.media.mixer import MediaEngine, Stream
from pyari.media.sources import BufferSource


def tone(freq: float, ms: int, amp: int = 6000) -> np.ndarray:
    t = np.arange(ms * 8) / 8000
    samples: np.ndarray = np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return samples


def level(samples: np.ndarray, freq: float) -> float:
    n = np.arange(len(samples))
    term = np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * n / 8000))
    return float(2 * abs(term) / max(len(samples), 1))


class Ears:
    def __init__(self) -> None:
        self.heard: dict[str, list[bytes]] = defaultdict(list)

    def __call__(self, stream: Stream, payload: bytes) -> None:
        self.heard[stream.id].append(payload)

    def audio(self, stream_id: str) -> np.ndarray:
        chunks = [ulaw_decode(np.frombuffer(p, np.uint8)) for p in self.heard[stream_id]]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


class CountingTable(np.ndarray):
    """A decode table that counts the frames (rows) looked up through it."""

    rows = 0

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, np.ndarray) and key.ndim == 2:
            CountingTable.rows += key.shape[0]
        return np.asarray(super().__getitem__(key))


def pair(engine: MediaEngine, ears: Ears, name: str) -> tuple[Stream, Stream]:
    bridge = engine.add_bridge(name)
    a = engine.add_stream(f"{name}-a", ULAW, ears)
    b = engine.add_stream(f"{name}-b", ULAW, ears)
    engine.join(bridge, a)
    engine.join(bridge, b)
    return a, b


def say(stream: Stream, samples: np.ndarray, tick: int) -> None:
    stream.push(ulaw_encode(samples[tick * 160 : (tick + 1) * 160]).tobytes())


def test_relayed_pairs_are_not_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mixer, "ULAW_DECODE", ULAW_DECODE.view(CountingTable))
    CountingTable.rows = 0
    engine, ears = MediaEngine(), Ears()
    pairs = [pair(engine, ears, f"p{n}") for n in range(3)]
    conference = engine.add_bridge("conf")
    for n in range(3):
        engine.join(conference, engine.add_stream(f"c{n}", ULAW, ears))
    voice = tone(600, 20)
    for stream in engine.streams.values():
        say(stream, voice, 0)
    engine.process_tick()
    assert CountingTable.rows == 3  # the conference members only
    for a, b in pairs:
        assert ears.heard[b.id] == [ulaw_encode(voice).tobytes()]  # relayed as said
        assert ears.heard[a.id] == [ulaw_encode(voice).tobytes()]


def test_taps_added_to_a_relayed_member_hear_real_audio() -> None:
    engine, ears = MediaEngine(), Ears()
    a, b = pair(engine, ears, "p")
    c, _d = pair(engine, ears, "q")
    speech = tone(700, 200)
    engine.process_tick()  # the topology is built: both pairs are relayed
    heard: list[np.ndarray] = []
    said: list[np.ndarray] = []
    b.taps_out.append(lambda x: heard.append(x.copy()))  # no invalidate()
    c.taps_in.append(lambda x: said.append(x.copy()))
    for tick in range(10):
        say(a, speech, tick)
        say(c, speech, tick)
        engine.process_tick()
    assert level(np.concatenate(heard), 700) > 5000  # what b hears: a, decoded
    assert level(np.concatenate(said), 700) > 5000  # what c says
    assert level(ears.audio(b.id), 700) > 5000


def test_player_on_a_relayed_member_then_back_to_the_peer() -> None:
    engine, ears = MediaEngine(), Ears()
    a, b = pair(engine, ears, "p")
    speech = tone(700, 200)
    engine.process_tick()
    b.player = BufferSource(tone(2000, 60), 8000)
    for tick in range(10):
        say(a, speech, tick)
        engine.process_tick()
    first, rest = ears.audio(b.id)[:480], ears.audio(b.id)[480:]
    assert level(first, 2000) > 5000 and level(first, 700) < 100
    assert level(rest, 700) > 5000  # the ended player still attached: decoded, re-encoded


def test_whisper_from_a_relayed_member() -> None:
    engine, ears = MediaEngine(), Ears()
    a, _b = pair(engine, ears, "p")
    spy = engine.add_stream("spy", ULAW, ears)
    engine.process_tick()
    spy.whispers.append(a)  # spy hears what a says, a stays relayed to b
    speech = tone(900, 200)
    for tick in range(10):
        say(a, speech, tick)
        engine.process_tick()
    assert level(ears.audio("spy"), 900) > 5000


def test_relayed_member_with_silence_hears_silence_when_the_peer_is_quiet() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge = engine.add_bridge("p")
    a = engine.add_stream("a", ULAW, ears)
    b = engine.add_stream("b", ULAW, ears, emit_silence=True)
    engine.join(bridge, a)
    engine.join(bridge, b)
    engine.process_tick()
    assert ears.heard["b"] == [b"\xff" * 160]
    assert ears.heard["a"] == []


# --- pairs relayed outside the tick (left out of it until something changes) ----------------


def relayed_pair(engine: MediaEngine, ears: Ears, name: str) -> tuple[Stream, Stream]:
    """A pair marked at one tick whose technology then relays both ways outside the tick
    (as RTP does), left out of the next tick."""
    a, b = pair(engine, ears, name)
    engine.process_tick()
    assert a.relay_peer is b and b.relay_peer is a
    a.relaying = b.relaying = True
    engine.process_tick()
    assert a._parked and b._parked
    return a, b


def test_a_pair_relayed_both_ways_is_left_out_of_the_tick() -> None:
    engine, ears = MediaEngine(), Ears()
    a, b = relayed_pair(engine, ears, "p")
    c, d = pair(engine, ears, "q")
    c.relaying = True  # one way only: the tick still carries d's audio to c
    voice = tone(600, 20)
    say(d, voice, 0)
    engine.process_tick()
    assert a not in engine._order and b not in engine._order
    assert not c._parked and ears.heard[c.id] == [ulaw_encode(voice).tobytes()]
    for _ in range(5):
        engine.process_tick()
    assert a.relay_peer is b and b.relay_peer is a  # the marks stay
    assert ears.heard[a.id] == [] and ears.heard[b.id] == []
    a.relaying = False  # the technology carries it on the tick again: back at once
    assert not a._parked and not b._parked
    engine.process_tick()
    assert a in engine._order and b in engine._order
    assert engine.bridges["p"].passthrough_ticks == engine.ticks  # carried or left out


def test_everything_relayed_the_tick_does_nothing() -> None:
    engine, ears = MediaEngine(), Ears()
    for n in range(3):
        relayed_pair(engine, ears, f"p{n}")
    engine.process_tick()
    assert engine._order == [] and len(engine._parked) == 3


def _back_at_once(change: Callable[[Stream, Stream, MediaEngine, Ears], None]) -> None:
    """``change`` on a relayed pair clears both marks at once (no tick needed) and the
    next tick carries the pair."""
    engine, ears = MediaEngine(), Ears()
    a, b = relayed_pair(engine, ears, "p")
    other_a, other_b = relayed_pair(engine, ears, "q")
    watched: list[str] = []
    a.relay_watch = lambda: watched.append("a")
    b.relay_watch = lambda: watched.append("b")
    change(a, b, engine, ears)
    assert a.relay_peer is None and b.relay_peer is None
    assert sorted(watched) == ["a", "b"]  # the technology is told (RTP: next tick it stops)
    assert not a._parked and not b._parked
    assert other_a._parked and other_b._parked  # the other pair stays out of the tick
    engine.process_tick()
    assert a in engine._order and b in engine._order
    assert other_a.relay_peer is other_b


def test_a_tap_brings_a_relayed_pair_back_at_once() -> None:
    heard: list[np.ndarray] = []

    def change(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        b.taps_out.append(lambda x: heard.append(x.copy()))  # no invalidate()

    _back_at_once(change)
    assert len(heard) == 1


def test_a_player_brings_a_relayed_pair_back_at_once() -> None:
    def change(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        b.player = BufferSource(tone(2000, 60), 8000)

    _back_at_once(change)


def test_a_mute_brings_a_relayed_pair_back_at_once() -> None:
    def change(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        a.mute_in = True

    _back_at_once(change)


def test_a_third_member_brings_a_relayed_pair_back_at_once() -> None:
    def change(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        assert a.bridge is not None
        engine.join(a.bridge, engine.add_stream("c", ULAW, ears))

    _back_at_once(change)


def test_a_bridge_recording_or_playback_brings_a_relayed_pair_back_at_once() -> None:
    def record(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        assert a.bridge is not None
        a.bridge.taps.append(lambda x: None)  # no invalidate()

    def play(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        assert a.bridge is not None
        a.bridge.players.append(BufferSource(tone(2000, 60), 8000))

    _back_at_once(record)
    _back_at_once(play)


def test_a_whisper_from_a_relayed_member_brings_its_pair_back_at_once() -> None:
    def change(a: Stream, b: Stream, engine: MediaEngine, ears: Ears) -> None:
        engine.add_stream("spy", ULAW, ears).whispers.append(a)

    _back_at_once(change)


def test_audio_pushed_into_a_relayed_member_goes_through_the_tick_then_it_is_left_out() -> None:
    engine, ears = MediaEngine(), Ears()
    a, b = relayed_pair(engine, ears, "p")
    voice = tone(600, 40)
    say(a, voice, 0)  # e.g. a simulated speaker: the peer hears it
    assert not a._parked and a.relay_peer is b
    engine.process_tick()
    assert ears.heard[b.id] == [ulaw_encode(voice[:160]).tobytes()]
    engine.process_tick()  # drained: left out again
    assert a._parked and b._parked
    engine.process_tick()
    assert a not in engine._order


def test_a_relayed_pair_that_stops_being_one_is_put_back_on_rebuild() -> None:
    engine, ears = MediaEngine(), Ears()
    a, _b = relayed_pair(engine, ears, "p")
    assert a.bridge is not None
    a.bridge.kind = "holding"  # something the stream does not watch, then invalidate()
    engine.invalidate()
    engine.process_tick()
    assert not a._parked and a.relay_peer is None and a in engine._order


def test_a_pair_marked_again_while_its_members_still_relay_is_left_out_again() -> None:
    engine, ears = MediaEngine(), Ears()
    a, b = relayed_pair(engine, ears, "p")

    def tap(x: np.ndarray) -> None:
        pass

    b.taps_out.append(tap)
    engine.process_tick()
    assert a.relay_peer is None and a in engine._order
    b.taps_out.remove(tap)
    engine.process_tick()  # marked again; the members never stopped relaying
    assert a.relay_peer is b
    engine.process_tick()
    assert a._parked and b._parked and a not in engine._order
