"""Sound files: reading the formats Asterisk plays and writing crash-safe recordings.

Readers return :class:`Audio` (int16 samples + rate). Supported, by extension
(the extensions Asterisk's format modules register):

=====================  =========  ====================================
extension              format     content
=====================  =========  ====================================
``wav``                slin       RIFF/WAVE PCM 16-bit mono, 8 or 16 kHz
``wav16``              slin16     RIFF/WAVE PCM 16-bit mono, 16 kHz
``sln slin raw``       slin       headerless int16 little-endian, 8 kHz
``sln16``              slin16     headerless int16 little-endian, 16 kHz
``ulaw pcm ul mu ulw`` ulaw       headerless G.711 µ-law, 8 kHz
``alaw al alw``        alaw       headerless G.711 A-law, 8 kHz
``g722``               g722       headerless G.722 at 64 kbit/s, 16 kHz (needs the
                                  ``g722`` package, the webrtc extra)
``gsm``                gsm        headerless GSM 06.10 frames of 33 bytes, 8 kHz
                                  (needs Debian's ``libgsm1``)
=====================  =========  ====================================

Anything else (``wav49``, stereo or 8-bit WAV, other rates) raises
:class:`UnsupportedMediaError`; a malformed WAV raises :class:`CorruptMediaError`.
A WAV whose size fields do not match the file (left by a killed recorder, or
written with "unknown" sizes) is read up to the end of the file, like Asterisk.

All functions here block: call them in a thread (the ``*_async`` helpers do).

Writers (:class:`WavWriter`, :class:`RawWriter`) append audio and keep the file
playable at all times: every :meth:`~WavWriter.append` writes the samples with
``os.write`` and then rewrites the RIFF and data sizes in place, so a process
killed at any moment leaves a valid WAV of everything appended so far (the
kernel keeps written data when a process dies; ``sync`` adds an fsync for power
loss).
"""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from pyari.media.codecs import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from pyari.media.frames import Samples


class MediaError(Exception):
    """A media problem the ARI layer reports (failed playback, 4xx)."""


class UnsupportedMediaError(MediaError):
    """A file or format pyari cannot play or write."""


class CorruptMediaError(MediaError):
    """A file whose content does not match its format."""


class MediaNotFoundError(MediaError):
    """No file for a sound id / recording name."""


EXTENSION_FORMATS: Final[dict[str, str]] = {
    "wav": "slin",
    "wav16": "slin16",
    "sln": "slin",
    "slin": "slin",
    "raw": "slin",
    "sln16": "slin16",
    "ulaw": "ulaw",
    "pcm": "ulaw",
    "ul": "ulaw",
    "mu": "ulaw",
    "ulw": "ulaw",
    "alaw": "alaw",
    "al": "alaw",
    "alw": "alaw",
    "g722": "g722",
    "gsm": "gsm",
}
"""File extension → the media format Asterisk reports for it (``/ari/sounds`` ``format``)."""

FORMAT_EXTENSIONS: Final[dict[str, str]] = {
    "slin": "sln",
    "slin16": "sln16",
    "ulaw": "ulaw",
    "alaw": "alaw",
    "wav": "wav",
}
"""Recording format name (ARI ``format``) → file extension written."""

RECORDING_FORMATS: Final = frozenset(
    {"wav", "wav16", "ulaw", "alaw", "sln", "slin", "slin16", "sln16"}
)
"""Formats ``record`` accepts (anything else: 422 ``specified format is unknown``)."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded audio: mono int16 samples at ``rate`` Hz."""

    samples: Samples
    rate: int

    @property
    def duration_ms(self) -> int:
        return len(self.samples) * 1000 // self.rate


def extension_of(path: str | os.PathLike[str]) -> str:
    return Path(path).suffix.lower().lstrip(".")


def _decode_raw(ext: str, raw: bytes) -> Audio:
    fmt = EXTENSION_FORMATS.get(ext)
    if fmt in ("slin", "slin16"):
        usable = len(raw) - len(raw) % 2
        samples = np.frombuffer(raw[:usable], dtype="<i2").astype(np.int16)
        return Audio(samples, 16000 if fmt == "slin16" else 8000)
    codes = np.frombuffer(raw, dtype=np.uint8)
    if fmt == "ulaw":
        return Audio(ulaw_decode(codes), 8000)
    if fmt == "alaw":
        return Audio(alaw_decode(codes), 8000)
    if fmt == "g722":
        return _decode_g722(raw)
    if fmt == "gsm":
        return _decode_gsm(raw)
    raise UnsupportedMediaError(f"unsupported sound file format '{ext}'")


def _decode_g722(raw: bytes) -> Audio:
    """A ``.g722`` file (Asterisk's format_g722: raw 64 kbit/s G.722) as slin16."""
    try:
        from pyari.media.rtp_codecs import G722Codec

        codec = G722Codec()
    except ImportError:
        raise UnsupportedMediaError("g722 files need the g722 package") from None
    chunks = [codec.decode(raw[i : i + 160]) for i in range(0, len(raw) - len(raw) % 160, 160)]
    return Audio(np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.int16), 16000)


def _decode_gsm(raw: bytes) -> Audio:
    """A ``.gsm`` file (Asterisk's format_gsm: 33-byte GSM 06.10 frames) as slin."""
    try:
        from pyari.media.rtp_codecs import GSM_FRAME, GsmCodec

        codec = GsmCodec()
    except OSError:
        raise UnsupportedMediaError("gsm files need libgsm") from None
    frames = range(0, len(raw) - len(raw) % GSM_FRAME, GSM_FRAME)
    pcm = b"".join(codec.decode(raw[i : i + GSM_FRAME]) for i in frames)
    return Audio(np.frombuffer(pcm, dtype="<i2").astype(np.int16), 8000)


def parse_wav(data: bytes, *, name: str = "wav") -> Audio:
    """Decode a RIFF/WAVE file held in memory (PCM 16-bit mono 8/16 kHz only)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise CorruptMediaError(f"{name}: not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise CorruptMediaError(f"{name}: truncated fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: the sub-format tag
                (tag,) = struct.unpack_from("<H", data, body + 24)
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise CorruptMediaError(f"{name}: data chunk before fmt chunk")
            tag, channels, rate, bits = fmt
            if tag != 1 or bits != 16:
                raise UnsupportedMediaError(
                    f"{name}: only 16-bit PCM WAV is supported (format tag {tag}, {bits} bits)"
                )
            if channels != 1:
                raise UnsupportedMediaError(
                    f"{name}: only mono WAV is supported ({channels} channels)"
                )
            if rate not in (8000, 16000):
                raise UnsupportedMediaError(
                    f"{name}: only 8 and 16 kHz WAV is supported ({rate} Hz)"
                )
            end = len(data) if size in (0, 0xFFFFFFFF) else min(body + size, len(data))
            # A killed writer may leave sizes smaller than what it wrote: the data
            # chunk is the last one then, so read to the end of the file.
            if body + size < len(data) and not _has_chunk_after(data, body + size):
                end = len(data)
            end -= (end - body) % 2
            samples = np.frombuffer(data[body:end], dtype="<i2").astype(np.int16)
            return Audio(samples, rate)
        pos = body + size + (size & 1)
    raise CorruptMediaError(f"{name}: no audio data")


def _has_chunk_after(data: bytes, pos: int) -> bool:
    pos += pos & 1
    if pos + 8 > len(data):
        return False
    return data[pos : pos + 4] in _TRAILING_CHUNKS


_TRAILING_CHUNKS: Final = frozenset(
    {
        b"LIST",
        b"fact",
        b"cue ",
        b"smpl",
        b"inst",
        b"id3 ",
        b"ID3 ",
        b"bext",
        b"JUNK",
        b"junk",
        b"PAD ",
    }
)


def read_audio(path: str | os.PathLike[str]) -> Audio:
    """Read and decode one sound file (blocking)."""
    ext = extension_of(path)
    if ext not in EXTENSION_FORMATS:
        raise UnsupportedMediaError(f"unsupported sound file format '{ext}'")
    try:
        data = Path(path).read_bytes()
    # Messages name the file, not its folder: they may reach a client.
    except FileNotFoundError as exc:
        raise MediaNotFoundError(f"{Path(path).name}: no such file") from exc
    except OSError as exc:
        raise MediaError(f"{Path(path).name}: {exc.strerror}") from exc
    if ext in ("wav", "wav16"):
        return parse_wav(data, name=Path(path).name)
    return _decode_raw(ext, data)


async def read_audio_async(path: str | os.PathLike[str]) -> Audio:
    """:func:`read_audio` in a worker thread."""
    return await asyncio.to_thread(read_audio, path)


# --- writers -------------------------------------------------------------------------------


def wav_header(rate: int, data_bytes: int) -> bytes:
    """A 44-byte PCM 16-bit mono WAV header."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        data_bytes,
    )


class _Writer:
    """Common append-only file writer (blocking; used from a worker thread)."""

    def __init__(self, path: str | os.PathLike[str], *, append: bool = False, sync: bool = False):
        self.path = Path(path)
        self.sync = sync
        self.closed = False
        self.data_bytes = 0
        self._fd = -1
        self._open(append)

    def _open(self, append: bool) -> None:
        raise NotImplementedError

    def append(self, samples: Samples) -> None:
        raise NotImplementedError

    sample_width = 2

    def drop_tail(self, samples: int) -> None:
        """Cut the last ``samples`` samples off the file (trailing silence)."""
        cut = min(max(samples, 0) * self.sample_width, self.data_bytes)
        if cut:
            self.data_bytes -= cut
            self._resize()

    def _resize(self) -> None:
        os.ftruncate(self._fd, self.data_bytes)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.sync:
                os.fsync(self._fd)
            os.close(self._fd)

    def discard(self) -> None:
        """Close and delete the file (cancelled recording)."""
        self.close()
        self.path.unlink(missing_ok=True)

    @property
    def duration_ms(self) -> int:
        raise NotImplementedError


class WavWriter(_Writer):
    """PCM 16-bit mono WAV whose header is kept correct after every append."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        rate: int = 8000,
        *,
        append: bool = False,
        sync: bool = False,
    ) -> None:
        self.rate = rate
        super().__init__(path, append=append, sync=sync)

    def _open(self, append: bool) -> None:
        if append and self.path.exists() and self.path.stat().st_size > 0:
            existing = parse_wav(self.path.read_bytes(), name=self.path.name)
            if existing.rate != self.rate:
                raise UnsupportedMediaError(
                    f"{self.path.name}: cannot append {self.rate} Hz audio to {existing.rate} Hz"
                )
            # Rewrite as a canonical file, then append to it.
            body = existing.samples.astype("<i2").tobytes()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(self._fd, wav_header(self.rate, len(body)) + body)
            self.data_bytes = len(body)
            return
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(self._fd, wav_header(self.rate, 0))

    def append(self, samples: Samples) -> None:
        body = samples.astype("<i2", copy=False).tobytes()
        if not body:
            return
        os.pwrite(self._fd, body, 44 + self.data_bytes)
        self.data_bytes += len(body)
        os.pwrite(self._fd, struct.pack("<I", 36 + self.data_bytes), 4)
        os.pwrite(self._fd, struct.pack("<I", self.data_bytes), 40)

    def _resize(self) -> None:
        os.ftruncate(self._fd, 44 + self.data_bytes)
        os.pwrite(self._fd, struct.pack("<I", 36 + self.data_bytes), 4)
        os.pwrite(self._fd, struct.pack("<I", self.data_bytes), 40)

    @property
    def duration_ms(self) -> int:
        return self.data_bytes // 2 * 1000 // self.rate


class RawWriter(_Writer):
    """Headerless file: ``sln``/``sln16`` (int16 LE), ``ulaw`` or ``alaw`` (one byte a sample)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: str,
        *,
        append: bool = False,
        sync: bool = False,
    ) -> None:
        if fmt not in ("slin", "slin16", "ulaw", "alaw"):
            raise UnsupportedMediaError(f"cannot write raw format '{fmt}'")
        self.fmt = fmt
        self.rate = 16000 if fmt == "slin16" else 8000
        self.sample_width = 2 if fmt in ("slin", "slin16") else 1
        super().__init__(path, append=append, sync=sync)

    def _open(self, append: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        self._fd = os.open(self.path, flags, 0o644)
        self.data_bytes = os.fstat(self._fd).st_size if append else 0

    def append(self, samples: Samples) -> None:
        if self.fmt == "ulaw":
            body = ulaw_encode(samples).tobytes()
        elif self.fmt == "alaw":
            body = alaw_encode(samples).tobytes()
        else:
            body = samples.astype("<i2", copy=False).tobytes()
        os.write(self._fd, body)
        self.data_bytes += len(body)

    @property
    def duration_ms(self) -> int:
        width = 2 if self.fmt in ("slin", "slin16") else 1
        return self.data_bytes // width * 1000 // self.rate


def open_writer(
    path: str | os.PathLike[str], fmt: str, *, append: bool = False, sync: bool = False
) -> WavWriter | RawWriter:
    """A writer for an ARI recording format (``wav``, ``wav16``, ``ulaw``, ``alaw``, ``sln``,
    ``sln16``)."""
    if fmt == "wav":
        return WavWriter(path, 8000, append=append, sync=sync)
    if fmt == "wav16":
        return WavWriter(path, 16000, append=append, sync=sync)
    if fmt in ("sln", "slin"):
        return RawWriter(path, "slin", append=append, sync=sync)
    if fmt in ("sln16", "slin16"):
        return RawWriter(path, "slin16", append=append, sync=sync)
    if fmt in ("ulaw", "alaw"):
        return RawWriter(path, fmt, append=append, sync=sync)
    raise UnsupportedMediaError(f"unknown recording format '{fmt}'")


def recording_rate(fmt: str) -> int:
    """The sample rate a recording format is written at."""
    return 16000 if fmt in ("wav16", "sln16", "slin16") else 8000


def recording_extension(fmt: str) -> str:
    """File extension for an ARI recording format."""
    return {"slin": "sln", "slin16": "sln16"}.get(fmt, fmt)
