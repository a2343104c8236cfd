"""The media engine: bridges carry audio, mix-minus, roles, passthrough, players, taps."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from pyari.media.codecs import ulaw_decode, ulaw_encode
from pyari.media.frames import ALAW, SLIN, SLIN16, ULAW, MediaFormat
from pyari.media.mixer import MediaEngine, MixBridge, Stream
from pyari.media.sources import BufferSource


def level(samples: np.ndarray, freq: float, rate: int = 8000) -> float:
    n = np.arange(len(samples))
    term = np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(term) / len(samples))


def tone(freq: float, ms: int, rate: int = 8000, amp: int = 6000) -> np.ndarray:
    t = np.arange(ms * rate // 1000) / rate
    return np.rint(amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def encode(fmt: MediaFormat, samples: np.ndarray) -> bytes:
    if fmt == ULAW:
        return ulaw_encode(samples).tobytes()
    if fmt == ALAW:
        from pyari.media.codecs import alaw_encode

        return alaw_encode(samples).tobytes()
    return samples.astype("<i2").tobytes()


def decode(fmt: MediaFormat, payload: bytes) -> np.ndarray:
    if fmt == ULAW:
        return ulaw_decode(np.frombuffer(payload, np.uint8))
    if fmt == ALAW:
        from pyari.media.codecs import alaw_decode

        return alaw_decode(np.frombuffer(payload, np.uint8))
    return np.frombuffer(payload, "<i2").astype(np.int16)


class Ears:
    """Collects what each stream hears."""

    def __init__(self) -> None:
        self.heard: dict[str, list[bytes]] = defaultdict(list)

    def __call__(self, stream: Stream, payload: bytes) -> None:
        self.heard[stream.id].append(payload)

    def audio(self, stream: Stream) -> np.ndarray:
        chunks = [decode(stream.format, p) for p in self.heard[stream.id]]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


def bridged(
    engine: MediaEngine, ears: Ears, bridge_id: str, *members: tuple[str, MediaFormat]
) -> tuple[MixBridge, list[Stream]]:
    """A mixing bridge joined by new streams, each given as (id, format), in order."""
    bridge = engine.add_bridge(bridge_id)
    streams = [engine.add_stream(stream_id, fmt, ears) for stream_id, fmt in members]
    for stream in streams:
        engine.join(bridge, stream)
    return bridge, streams


def speak(engine: MediaEngine, speakers: dict[Stream, np.ndarray], ticks: int) -> None:
    for i in range(ticks):
        for stream, samples in speakers.items():
            n = stream.format.samples_per_frame
            stream.push(encode(stream.format, samples[i * n : (i + 1) * n]))
        engine.process_tick()


def test_tone_spoken_into_a_mixing_bridge_reaches_every_other_member() -> None:
    engine, ears = MediaEngine(), Ears()
    _, (alice, bob, carol) = bridged(
        engine, ears, "conf", ("alice", ULAW), ("bob", ALAW), ("carol", SLIN)
    )
    speak(engine, {alice: tone(1000, 500), carol: tone(600, 500)}, 25)
    for listener in (bob, carol, alice):
        assert len(ears.heard[listener.id]) == 25
    bob_heard = ears.audio(bob)
    assert level(bob_heard, 1000) > 5000 and level(bob_heard, 600) > 5000
    # Mix minus: nobody hears themselves.
    assert level(ears.audio(alice), 1000) < 100 and level(ears.audio(alice), 600) > 5000
    assert level(ears.audio(carol), 600) < 100 and level(ears.audio(carol), 1000) > 5000


def test_many_bridges_in_one_tick_stay_separate() -> None:
    engine, ears = MediaEngine(), Ears()
    pairs = []
    for b in range(30):
        size = 2 + b % 4
        _, members = bridged(
            engine, ears, f"b{b}", *((f"s{b}-{k}", SLIN if k else ULAW) for k in range(size))
        )
        pairs.append((members[0], members[1], 300 + 50 * b))
    speak(engine, {a: tone(freq, 300) for a, _, freq in pairs}, 15)
    for _, listener, freq in pairs:
        heard = ears.audio(listener)
        assert level(heard, freq) > 5000
        assert level(heard, freq + 50) < 200  # the neighbouring bridge's tone


def test_mixing_clips_instead_of_wrapping() -> None:
    engine, ears = MediaEngine(), Ears()
    _, streams = bridged(engine, ears, "loud", *((f"s{i}", SLIN) for i in range(4)))
    loud = np.full(160, 30000, dtype=np.int16)
    speak(engine, {streams[0]: loud, streams[1]: loud, streams[2]: loud}, 1)
    assert ears.audio(streams[3]).min() == 32767


def test_two_party_same_codec_bridge_passes_payloads_through() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge, (a, _) = bridged(engine, ears, "pair", ("a", ULAW), ("b", ULAW))
    # Payload bytes that transcoding would change: 0x7F (µ-law "-0") becomes 0xFF.
    odd = bytes([0x7F, 0x00, 0x12] * 53 + [0x7F])
    a.push(odd)
    engine.process_tick()
    assert ears.heard["b"] == [odd]
    assert bridge.passthrough_ticks == 1
    # A third member turns it into a mixing bridge (payload re-encoded).
    c = engine.add_stream("c", ULAW, ears)
    engine.join(bridge, c)
    a.push(odd)
    engine.process_tick()
    assert ears.heard["b"][-1] != odd
    assert bridge.passthrough_ticks == 1


def test_two_party_different_codecs_are_transcoded() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge, (a, b) = bridged(engine, ears, "pair", ("a", ULAW), ("b", SLIN16))
    speak(engine, {a: tone(1200, 400), b: tone(500, 400, 16000)}, 20)
    heard_by_b = ears.audio(b)
    assert len(heard_by_b) == 20 * 320
    assert level(heard_by_b[640:], 1200, 16000) > 5000
    assert level(ears.audio(a)[320:], 500) > 5000
    assert bridge.passthrough_ticks == 0


def test_holding_bridge_roles() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge = engine.add_bridge("hold", "holding")
    announcer = engine.add_stream("ann", SLIN, ears)
    p1 = engine.add_stream("p1", SLIN, ears)
    p2 = engine.add_stream("p2", SLIN, ears)
    engine.join(bridge, announcer, "announcer")
    engine.join(bridge, p1)
    engine.join(bridge, p2)
    speak(engine, {announcer: tone(800, 200), p1: tone(400, 200)}, 10)
    assert level(ears.audio(p2), 800) > 5000  # participants hear the announcer
    assert level(ears.audio(p2), 400) < 100  # ... but not each other
    assert ears.audio(announcer).size == 0  # the announcer hears nothing


def test_mute_and_bridge_players() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge, (a, b, _) = bridged(engine, ears, "b", ("a", SLIN), ("b", SLIN), ("c", SLIN))
    a.mute_in = True
    engine.invalidate()
    bridge.players.append(BufferSource(tone(1500, 200), 8000))
    speak(engine, {a: tone(900, 200)}, 10)
    assert level(ears.audio(b), 900) < 100  # a is muted
    assert level(ears.audio(b), 1500) > 5000  # the bridge playback is heard by all
    assert level(ears.audio(a), 1500) > 5000


def test_channel_player_overrides_the_bridge_and_taps_see_audio() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge, (a, b) = bridged(engine, ears, "b", ("a", SLIN), ("b", SLIN))
    said: list[np.ndarray] = []
    heard: list[np.ndarray] = []
    mix: list[np.ndarray] = []
    b.taps_in.append(lambda x: said.append(x.copy()))
    b.taps_out.append(lambda x: heard.append(x.copy()))
    bridge.taps.append(lambda x: mix.append(x.copy()))
    engine.invalidate()
    b.player = BufferSource(tone(2000, 100), 8000)
    speak(engine, {a: tone(700, 200), b: tone(300, 200)}, 10)
    first, rest = ears.audio(b)[:800], ears.audio(b)[800:]
    assert level(first, 2000) > 5000 and level(first, 700) < 100
    assert level(rest, 700) > 5000  # back to the bridge when the file ends
    assert level(np.concatenate(said), 300) > 5000
    assert level(np.concatenate(heard)[:800], 2000) > 5000
    whole = np.concatenate(mix)
    assert level(whole, 700) > 5000 and level(whole, 300) > 5000


def test_unbridged_stream_hears_its_player_or_silence() -> None:
    engine, ears = MediaEngine(), Ears()
    alone = engine.add_stream("alone", ULAW, ears)
    engine.add_stream("quiet", ULAW, ears, emit_silence=True)
    alone.player = BufferSource(tone(440, 60), 8000)
    for _ in range(5):
        engine.process_tick()
    assert len(ears.heard["alone"]) == 3
    assert level(ears.audio(alone), 440) > 5000
    assert ears.heard["quiet"] == [bytes([0xFF]) * 160] * 5


def test_whisper_adds_the_snooper_to_what_the_target_hears() -> None:
    engine, ears = MediaEngine(), Ears()
    target = engine.add_stream("target", SLIN, ears)
    snoop = engine.add_stream("snoop", SLIN, ears)
    target.whispers.append(snoop)
    speak(engine, {snoop: tone(1100, 100)}, 5)
    assert level(ears.audio(target), 1100) > 5000
    engine.remove_stream(snoop)
    assert target.whispers == []


def test_taps_and_whispers_are_made_when_first_asked_for_and_stay_the_same_lists() -> None:
    engine, ears = MediaEngine(), Ears()
    target = engine.add_stream("target", SLIN, ears)
    snoop = engine.add_stream("snoop", SLIN, ears)
    engine.process_tick()
    assert not engine._dirty
    taps = target.taps_in
    assert taps == [] and target.taps_in is taps and target.whispers_in is target.whispers_in
    heard: list[int] = []
    taps.append(lambda samples: heard.append(len(samples)))
    speak(engine, {target: tone(300, 40)}, 2)
    assert heard == [160, 160]
    taps.clear()
    assert target.taps_in is taps  # an emptied list is kept, not made again
    whispers = target.whispers_in
    whispers.append(snoop)
    assert engine._dirty  # a whisper is in the tick's topology
    engine.remove_stream(snoop)
    assert target.whispers_in is whispers and whispers == []
    made = engine.add_stream("made", SLIN, ears, taps_out=[print], whispers=[target])
    assert made.taps_out == [print] and made.whispers == [target] and made.taps_in == []


def test_a_rebuild_without_bridges_shares_the_empty_arrays() -> None:
    engine, ears = MediaEngine(), Ears()
    first, second = MediaEngine(), MediaEngine()
    for eng in (first, second):
        eng.add_stream("a", ULAW, ears)
        eng.process_tick()
    assert first._mix_rows is second._mix_rows and len(first._mix_rows) == 0
    assert first._mix_contrib is second._mix_contrib and first._mix_contrib.shape == (0, 1)
    assert first._group_rows == {"ulaw": [0]} and first._groups["ulaw"][1] == [first.streams["a"]]
    bridge, _members = bridged(engine, ears, "b", ("a", SLIN), ("b", SLIN), ("c", SLIN))
    engine.process_tick()
    assert engine._mix_rows.tolist() == [0, 1, 2] and engine._mix_contrib.shape == (3, 1)
    engine.remove_bridge(bridge)
    engine.process_tick()
    assert len(engine._mix_rows) == 0 and engine._mix_hears is first._mix_hears


def test_buffer_accepts_any_packet_size_and_bounds_latency() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge = engine.add_bridge("b")
    a = engine.add_stream("a", SLIN, ears, max_buffer_frames=3)
    b = engine.add_stream("b", SLIN, ears)
    engine.join(bridge, a)
    engine.join(bridge, b)
    pcm = tone(500, 100)
    a.push(pcm[:240].astype("<i2").tobytes())  # 30 ms packet
    engine.process_tick()
    assert a.buffered_bytes == 160
    a.push(pcm.astype("<i2").tobytes())  # 100 ms burst: only 60 ms are kept
    assert a.buffered_bytes == 3 * 320 and a.dropped_bytes > 0


def test_topology_changes() -> None:
    engine, ears = MediaEngine(), Ears()
    bridge, (a, b) = bridged(engine, ears, "b", ("a", SLIN), ("b", SLIN))
    other = engine.add_bridge("other")
    engine.join(other, b)  # moves b
    assert b.bridge is other and bridge.members == [a]
    engine.remove_bridge(other)
    assert b.bridge is None
    engine.remove_stream(a)
    assert "a" not in engine.streams and bridge.members == []
    with pytest.raises(ValueError):
        engine.add_bridge("b")
    engine.process_tick()  # an empty bridge is fine
