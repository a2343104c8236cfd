"""codecs.conf's ``[opus]`` section: the Opus encoder and the fmtp pyari offers.

Asterisk's options (its codec_opus and res_format_attr_opus), all optional:

* ``max_playback_rate`` (8000-48000): the ``maxplaybackrate`` pyari puts in its SDP,
  asking peers (browsers) to send no wider audio than that, and the encoder's bandwidth
  cap. ``8000`` makes a browser send narrowband Opus at about 12 kbit/s, which pyari
  decodes for a third of the CPU of a browser's default full-band stream: the saving
  that matters when the engine mixes at 8 kHz (decision 0030).
* ``bitrate`` (``auto``, ``max`` or 500-512000): the encoder's bitrate, offered as
  ``maxaveragebitrate`` when a number.
* ``cbr``, ``fec``, ``dtx`` (booleans): offered as ``cbr=1``, ``useinbandfec=1``,
  ``usedtx=1`` and applied to the encoder (constant bitrate; in-band FEC; DTX).
* ``complexity`` (0-10), ``signal`` (``auto``, ``voice``, ``music``), ``application``
  (``voip``, ``audio``, ``low_delay``), ``max_bandwidth`` (``narrow``, ``medium``,
  ``wide``, ``super_wide``, ``full``), ``packet_loss`` (0-100): the encoder only.

Defaults are Asterisk's, and give Asterisk's SDP (Opus with no fmtp line), except two
encoder choices (decision 0030), both for CPU at the engine's 8 kHz: ``complexity``
is :data:`DEFAULT_COMPLEXITY` (0) where Asterisk's is 10, and without an
``application`` line an 8 kHz encoder is CELT-only (``low_delay``) at 24 kbit/s
unless in-band FEC or DTX is in use (then Asterisk's ``voip``). ``complexity = 10``
and ``application = voip`` restore Asterisk's encoder.

Only the ``[opus]`` section (``type = opus``) is read: Asterisk's custom formats of other
names (``[myopus]`` used in an endpoint's ``allow``) are not supported and are ignored.
The settings belong to one server, not to the process (two servers in one process, as
in a test suite, each follow their own codecs.conf): the server's PJSIP technology
holds its :class:`CodecSettings` (read at start, replaced by ``module reload
codec_opus.so``), and gives a call the ``[opus]`` in force when the call is made; the
call keeps them for its SDP (offers, answers, re-INVITEs) and its Opus streams, so a
reload changes the calls made after it, not those already up. Nothing here is global:
:func:`pyari.sip.sdp.create_offer`, :func:`pyari.sip.sdp.create_answer` and
:func:`pyari.media.rtp_codecs.make_codec` take the :class:`OpusSettings` to follow
(:data:`OPUS_DEFAULTS` when not given).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section
from pyari.config.values import parse_bool, parse_int

__all__ = [
    "DEFAULT_COMPLEXITY",
    "OPUS_DEFAULTS",
    "CodecSettings",
    "OpusSettings",
    "opus_fmtp_values",
]

DEFAULT_COMPLEXITY: Final = 0
"""pyari's Opus encoder complexity when codecs.conf does not set one (Asterisk: 10)."""

BITRATE_AUTO: Final = -1000
"""libopus's ``OPUS_AUTO``."""
BITRATE_MAX: Final = -1
"""libopus's ``OPUS_BITRATE_MAX``."""

SIGNALS: Final = ("auto", "voice", "music")
APPLICATIONS: Final = ("voip", "audio", "low_delay")
BANDWIDTHS: Final = ("narrow", "medium", "wide", "super_wide", "full")


@dataclass(frozen=True, slots=True)
class OpusSettings:
    """codecs.conf ``[opus]`` (see the module docstring)."""

    max_playback_rate: int = 48000
    bitrate: int = BITRATE_AUTO
    """Bits per second, or :data:`BITRATE_AUTO` / :data:`BITRATE_MAX`."""
    cbr: bool = False
    fec: bool = False
    dtx: bool = False
    complexity: int = DEFAULT_COMPLEXITY
    signal: str = "auto"
    application: str | None = None
    """``voip``, ``audio`` or ``low_delay``; None (not set): pyari's choice (CELT only
    at 8 kHz unless FEC or DTX is in use; Asterisk's ``voip`` otherwise)."""
    max_bandwidth: str = "full"
    packet_loss: int = 0

    def fmtp(self) -> str:
        """The fmtp parameters of pyari's Opus offer: the values that differ from the
        defaults, in res_format_attr_opus's order ("" for none: no fmtp line)."""
        out: list[str] = []
        if self.max_playback_rate != 48000:
            out.append(f"maxplaybackrate={self.max_playback_rate}")
        if self.bitrate > 0:
            out.append(f"maxaveragebitrate={self.bitrate}")
        if self.cbr:
            out.append("cbr=1")
        if self.fec:
            out.append("useinbandfec=1")
        if self.dtx:
            out.append("usedtx=1")
        return ";".join(out)


OPUS_DEFAULTS: Final = OpusSettings()
"""``[opus]`` when codecs.conf sets nothing (a constant: the defaults of the functions
that take the settings of a server)."""


def opus_fmtp_values(fmtp: str | None) -> dict[str, int]:
    """The parameters of an Opus ``a=fmtp`` value (``key=value;...``, RFC 7587 §6.1) that
    have a number: lower-case names, values of up to 7 digits (anything else left out)."""
    values: dict[str, int] = {}
    for item in (fmtp or "").split(";"):
        key, _, value = item.strip().partition("=")
        value = value.strip()
        if key and value.isdigit() and len(value) <= 7:
            values[key.strip().lower()] = int(value)
    return values


@dataclass(frozen=True, slots=True)
class CodecSettings:
    """codecs.conf as pyari reads it."""

    opus: OpusSettings = OpusSettings()

    @classmethod
    def from_sections(cls, sections: Iterable[Section]) -> CodecSettings:
        """The settings of codecs.conf's parsed sections (:class:`ConfigError` on a bad
        value of a known option; unknown options are ignored)."""
        opus = OpusSettings()
        for section in sections:
            if section.is_template or section.name.casefold() != "opus":
                continue
            kind = section.get("type")
            if kind is not None and kind.strip().casefold() != "opus":
                continue
            for entry in section.entries:
                opus = _opus_option(opus, entry)
        return cls(opus=opus)


def _choice(entry: Entry, words: tuple[str, ...]) -> str:
    word = entry.value.strip().casefold()
    if word not in words:
        raise ConfigError(
            entry.file, entry.line, f"{entry.key} = {entry.value!r}: use one of {', '.join(words)}"
        )
    return word


def _opus_option(opus: OpusSettings, entry: Entry) -> OpusSettings:
    key = entry.key.strip().casefold()
    if key == "max_playback_rate":
        return replace(opus, max_playback_rate=parse_int(entry, 8000, 48000))
    if key == "bitrate":
        word = entry.value.strip().casefold()
        if word == "auto":
            return replace(opus, bitrate=BITRATE_AUTO)
        if word == "max":
            return replace(opus, bitrate=BITRATE_MAX)
        return replace(opus, bitrate=parse_int(entry, 500, 512000))
    if key == "cbr":
        return replace(opus, cbr=parse_bool(entry))
    if key == "fec":
        return replace(opus, fec=parse_bool(entry))
    if key == "dtx":
        return replace(opus, dtx=parse_bool(entry))
    if key == "complexity":
        return replace(opus, complexity=parse_int(entry, 0, 10))
    if key == "packet_loss":
        return replace(opus, packet_loss=parse_int(entry, 0, 100))
    if key == "signal":
        return replace(opus, signal=_choice(entry, SIGNALS))
    if key == "application":
        return replace(opus, application=_choice(entry, APPLICATIONS))
    if key == "max_bandwidth":
        return replace(opus, max_bandwidth=_choice(entry, BANDWIDTHS))
    return opus
