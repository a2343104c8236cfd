"""Tones: indications.conf zones and the tone-string generator (Asterisk's playtones).

Tone string syntax (``main/indications.c``): parts separated by ``,`` (or ``|``
when the string has one); each part is ``f1[+f2][/ms]`` (sum of two sines),
``f1*f2[/ms]`` (f1 amplitude-modulated by f2), or the same with ``M``-prefixed
MIDI note numbers (``M69`` = 440 Hz). A missing duration (or 0) plays forever.
A part prefixed with ``!`` plays once; after the last part playback loops back to
the first part without ``!``; if every part has ``!``, the tone ends. Parts
that do not parse are skipped; a string with no valid part is an error.

Each sine has amplitude 7219 (Asterisk's default, about -8 dBm0) and its phase
restarts at 0 with each part, as in Asterisk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pyari.media.frames import Samples

DEFAULT_VOLUME = 7219


class ToneError(ValueError):
    """A tone string with no valid part, or an unknown zone."""


@dataclass(frozen=True, slots=True)
class TonePart:
    freq1: float
    freq2: float = 0.0
    duration_ms: int = 0
    """0: forever."""
    modulate: bool = False
    once: bool = False


_PART = re.compile(
    r"^(?P<m1>M)?(?P<f1>\d+)(?:(?P<op>[+*])(?P<m2>M)?(?P<f2>\d+))?(?:/(?P<ms>\d+))?$"
)


def _midi(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12) if note <= 127 else 0.0


def parse_part(text: str) -> TonePart | None:
    """One part (without ``!``); ``None`` when it does not parse."""
    m = _PART.match(text.strip())
    if m is None:
        return None
    midi = m["m1"] is not None
    if m["m2"] is not None and not midi:
        return None
    if midi and m["op"] and m["m2"] is None:
        return None
    f1 = int(m["f1"])
    f2 = int(m["f2"]) if m["f2"] else 0
    return TonePart(
        freq1=_midi(f1) if midi else float(f1),
        freq2=(_midi(f2) if midi and m["f2"] else float(f2)),
        duration_ms=int(m["ms"]) if m["ms"] else 0,
        modulate=m["op"] == "*",
    )


@dataclass(frozen=True, slots=True)
class ToneSpec:
    parts: tuple[TonePart, ...]
    repeat_from: int
    """Index looped back to after the last part; -1: the tone ends."""

    @property
    def finite(self) -> bool:
        return self.repeat_from == -1 and all(p.duration_ms for p in self.parts)


def parse_tone(text: str) -> ToneSpec:
    """Parse an Asterisk tone string; :class:`ToneError` if no part is valid."""
    separator = "|" if "|" in text else ","
    parts: list[TonePart] = []
    repeat_from = -1
    for raw in text.split(separator):
        item = raw.strip()
        if not item:
            break  # Asterisk stops at the first empty part
        once = item.startswith("!")
        if once:
            item = item[1:]
        part = parse_part(item)
        if part is None:
            continue
        if not once and repeat_from == -1:
            repeat_from = len(parts)
        parts.append(TonePart(part.freq1, part.freq2, part.duration_ms, part.modulate, once))
    if not parts:
        raise ToneError(f"no valid tone parts in '{text}'")
    return ToneSpec(tuple(parts), repeat_from)


class ToneGenerator:
    """Produces the samples of a :class:`ToneSpec`, frame after frame."""

    __slots__ = ("_index", "_pos", "done", "rate", "spec", "volume")

    def __init__(self, spec: ToneSpec, rate: int = 8000, volume: int = DEFAULT_VOLUME) -> None:
        self.spec = spec
        self.rate = rate
        self.volume = volume
        self._index = 0
        self._pos = 0
        self.done = False

    def _part_samples(self, part: TonePart, start: int, count: int) -> Samples:
        t = (np.arange(start, start + count, dtype=np.float64) + 1) / self.rate
        s1 = np.sin(2 * math.pi * part.freq1 * t) if part.freq1 else np.zeros(count)
        s2 = np.sin(2 * math.pi * part.freq2 * t) if part.freq2 else np.zeros(count)
        out = self.volume * s1 * (0.55 + 0.45 * s2) if part.modulate else self.volume * (s1 + s2)
        result: Samples = np.rint(out).astype(np.int16)
        return result

    def read(self, count: int) -> Samples:
        """The next ``count`` samples (silence once a finite tone has ended)."""
        out = np.zeros(count, dtype=np.int16)
        filled = 0
        while filled < count and not self.done:
            part = self.spec.parts[self._index]
            if part.duration_ms:
                length = part.duration_ms * self.rate // 1000
                take = min(count - filled, length - self._pos)
            else:
                take = count - filled
            out[filled : filled + take] = self._part_samples(part, self._pos, take)
            filled += take
            self._pos += take
            if part.duration_ms and self._pos >= part.duration_ms * self.rate // 1000:
                self._pos = 0
                self._index += 1
                if self._index >= len(self.spec.parts):
                    if self.spec.repeat_from == -1:
                        self.done = True
                    else:
                        self._index = self.spec.repeat_from
        return out


# --- indications.conf ------------------------------------------------------------------------


@dataclass(slots=True)
class ToneZone:
    country: str
    description: str = ""
    ringcadence: tuple[int, ...] = ()
    tones: dict[str, str] = field(default_factory=dict)


US_ZONE = ToneZone(
    country="us",
    description="United States / North America",
    ringcadence=(2000, 4000),
    tones={
        "dial": "350+440",
        "busy": "480+620/500,0/500",
        "ring": "440+480/2000,0/4000",
        "congestion": "480+620/250,0/250",
        "callwaiting": "440/300,0/10000",
        "dialrecall": "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440",
        "record": "1400/500,0/15000",
        "info": "!950/330,!1400/330,!1800/330,0",
        "stutter": ",".join(["!350+440/100,!0/100"] * 6 + ["350+440"]),
    },
)


@dataclass(slots=True)
class Indications:
    """The tone zones of indications.conf and the default country."""

    zones: dict[str, ToneZone] = field(default_factory=lambda: {"us": US_ZONE})
    default_country: str = "us"

    def zone(self, country: str | None = None) -> ToneZone | None:
        return self.zones.get(country or self.default_country)

    def resolve(self, tone: str, country: str | None = None) -> ToneSpec:
        """An indication name in the zone (``ring``, ``busy`` …) or a tone string."""
        zone = self.zone(country)
        if zone is None and country is not None:
            zone = self.zone(None)
        data = zone.tones.get(tone) if zone else None
        return parse_tone(data if data is not None else tone)


def parse_indications(sections: Mapping[str, Mapping[str, str]]) -> Indications:
    """Build :class:`Indications` from parsed indications.conf sections.

    ``sections`` maps section name → options (as the config parser yields them):
    ``[general]`` with ``country=``, one section per zone with ``description``,
    ``ringcadence`` and tone names. ``alias`` is ignored (deprecated in Asterisk).
    The built-in ``us`` zone is kept unless the file defines its own.
    """
    result = Indications()
    for name, options in sections.items():
        if name == "general":
            continue
        zone = ToneZone(country=name)
        for key, value in options.items():
            if key == "description":
                zone.description = value
            elif key == "ringcadence":
                zone.ringcadence = tuple(int(v) for v in value.split(",") if v.strip().isdigit())
            elif key != "alias":
                zone.tones[key] = value.strip()
        result.zones[name] = zone
    general = sections.get("general", {})
    country = general.get("country")
    if country:
        result.default_country = country
    return result
