"""Tone strings, indications and the tone generator."""

from __future__ import annotations

import numpy as np
import pytest

from pyari.media.tones import (
    Indications,
    ToneError,
    ToneGenerator,
    parse_indications,
    parse_part,
    parse_tone,
)


def level(samples: np.ndarray, freq: float, rate: int = 8000) -> float:
    n = np.arange(len(samples))
    term = np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * n / rate))
    return float(2 * abs(term) / len(samples))


def test_part_syntax() -> None:
    assert parse_part("350+440") is not None
    p = parse_part("480+620/500")
    assert p is not None and (p.freq1, p.freq2, p.duration_ms) == (480, 620, 500)
    m = parse_part("440*40/1000")
    assert m is not None and m.modulate
    midi = parse_part("M69+M81/100")
    assert (
        midi is not None and midi.freq1 == pytest.approx(440) and midi.freq2 == pytest.approx(880)
    )
    assert parse_part("abc") is None and parse_part("1+M2") is None


def test_one_shot_and_repeat_positions() -> None:
    info = parse_tone("!950/330,!1400/330,!1800/330,0")
    assert info.repeat_from == 3 and len(info.parts) == 4
    assert all(p.once for p in info.parts[:3])
    beep = parse_tone("!1000/200")
    assert beep.repeat_from == -1 and beep.finite
    busy = parse_tone("480+620/500,0/500")
    assert busy.repeat_from == 0 and not busy.finite
    assert len(parse_tone("440|bad|480").parts) == 2
    with pytest.raises(ToneError):
        parse_tone("garbage")


def test_generator_plays_the_frequencies_and_the_cadence() -> None:
    gen = ToneGenerator(parse_tone("480+620/500,0/500"))
    on = gen.read(4000)  # 500 ms of tone
    off = gen.read(4000)  # 500 ms of silence
    again = gen.read(800)
    assert level(on, 480) == pytest.approx(7219, rel=0.02)
    assert level(on, 620) == pytest.approx(7219, rel=0.02)
    assert level(on, 1000) < 200
    assert np.abs(off).max() == 0
    assert level(again, 480) > 6000  # repeats
    assert not gen.done


def test_one_shot_tone_ends() -> None:
    gen = ToneGenerator(parse_tone("!1000/100"))
    first = gen.read(1600)
    assert level(first[:800], 1000) == pytest.approx(7219, rel=0.02)
    assert np.abs(first[800:]).max() == 0
    assert gen.done


def test_info_tone_sequence() -> None:
    gen = ToneGenerator(parse_tone("!950/330,!1400/330,!1800/330,0"))
    chunks = [gen.read(2640) for _ in range(3)]  # 330 ms each
    for chunk, freq in zip(chunks, (950, 1400, 1800), strict=True):
        assert level(chunk, freq) > 6500
    assert np.abs(gen.read(800)).max() == 0  # then silence forever
    assert not gen.done


def test_modulated_tone_has_sidebands() -> None:
    gen = ToneGenerator(parse_tone("1000*100"))
    x = gen.read(8000)
    assert level(x, 1000) > 3000
    assert level(x, 1100) > 1000 and level(x, 900) > 1000


def test_indications_zones() -> None:
    ind = Indications()
    assert ind.resolve("ring").parts[0].freq2 == 480
    assert ind.resolve("1000/2500").parts[0].duration_ms == 2500
    custom = parse_indications(
        {
            "general": {"country": "fr"},
            "fr": {"description": "France", "ringcadence": "1500,3500", "ring": "440/1500,0/3500"},
        }
    )
    assert custom.default_country == "fr"
    assert custom.zones["fr"].ringcadence == (1500, 3500)
    assert custom.resolve("ring").parts[0].freq1 == 440
    assert custom.resolve("ring", "us").parts[0].freq2 == 480
    # An unknown zone falls back to the default one (fr), which has no busy tone,
    # so "busy" is then read as a tone string and fails.
    assert custom.resolve("ring", "xx").parts[0].freq1 == 440
    with pytest.raises(ToneError):
        custom.resolve("busy", "xx")
