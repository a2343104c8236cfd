"""Audio frames: 20 ms of one format.

Every stream in the media engine moves in 20 ms frames. Signed linear audio is
kept as ``numpy.int16`` arrays; G.711 payloads as ``numpy.uint8`` arrays (one
byte per sample). Frames are small immutable-by-convention values: code that
wants to change samples copies first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Samples = npt.NDArray[np.int16]
    Payload = npt.NDArray[np.uint8]

TICK_MS: Final = 20
"""Length of one frame and of one media clock tick, in milliseconds."""


def __getattr__(name: str) -> Any:
    # The formats are needed by every channel technology at start-up, numpy only
    # once audio flows: the array aliases are made (importing numpy) on first use.
    if name in ("Samples", "Payload"):
        import numpy as np
        import numpy.typing as npt

        alias = npt.NDArray[np.int16] if name == "Samples" else npt.NDArray[np.uint8]
        globals()[name] = alias
        return alias
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class MediaFormat:
    """A media format as Asterisk names it (``slin``, ``slin16``, ``ulaw``, ``alaw``)."""

    name: str
    rate: int
    encoded: bool
    """True for G.711 (one byte per sample), False for signed linear (two bytes)."""

    @property
    def samples_per_frame(self) -> int:
        return self.rate * TICK_MS // 1000

    @property
    def bytes_per_frame(self) -> int:
        return self.samples_per_frame * (1 if self.encoded else 2)

    def __str__(self) -> str:
        return self.name


SLIN: Final = MediaFormat("slin", 8000, False)
SLIN16: Final = MediaFormat("slin16", 16000, False)
ULAW: Final = MediaFormat("ulaw", 8000, True)
ALAW: Final = MediaFormat("alaw", 8000, True)

FORMATS: Final[dict[str, MediaFormat]] = {f.name: f for f in (SLIN, SLIN16, ULAW, ALAW)}


def get_format(name: str) -> MediaFormat:
    """The format called ``name``; ``KeyError`` when pyari has no such format."""
    return FORMATS[name]


def slin_for_rate(rate: int) -> MediaFormat:
    """The signed linear format for a sample rate (8000 or 16000)."""
    if rate == 8000:
        return SLIN
    if rate == 16000:
        return SLIN16
    raise ValueError(f"no signed linear format at {rate} Hz")


@dataclass(frozen=True, slots=True)
class Frame:
    """One 20 ms frame: ``data`` is int16 samples (slin) or uint8 codes (G.711)."""

    format: MediaFormat
    data: Samples | Payload

    @classmethod
    def silence(cls, fmt: MediaFormat) -> Frame:
        import numpy as np

        if fmt.encoded:
            # The G.711 code for a zero sample.
            code = 0xFF if fmt.name == "ulaw" else 0xD5
            return cls(fmt, np.full(fmt.samples_per_frame, code, dtype=np.uint8))
        return cls(fmt, np.zeros(fmt.samples_per_frame, dtype=np.int16))

    @classmethod
    def from_bytes(cls, fmt: MediaFormat, raw: bytes) -> Frame:
        """A frame from wire bytes (slin is little-endian, as Asterisk's ``slin``)."""
        import numpy as np

        if len(raw) != fmt.bytes_per_frame:
            raise ValueError(f"a {fmt.name} frame has {fmt.bytes_per_frame} bytes, got {len(raw)}")
        if fmt.encoded:
            return cls(fmt, np.frombuffer(raw, dtype=np.uint8).copy())
        return cls(fmt, np.frombuffer(raw, dtype="<i2").astype(np.int16))

    def to_bytes(self) -> bytes:
        import numpy as np

        if self.format.encoded:
            return self.data.astype(np.uint8, copy=False).tobytes()
        return self.data.astype("<i2", copy=False).tobytes()

    @property
    def samples(self) -> int:
        return int(self.data.shape[0])


def frames_of(samples: Samples, fmt: MediaFormat) -> list[Frame]:
    """Cut signed linear samples into whole frames, padding the last with silence."""
    import numpy as np

    n = fmt.samples_per_frame
    count = -(-len(samples) // n)
    padded = np.zeros(count * n, dtype=np.int16)
    padded[: len(samples)] = samples
    return [Frame(fmt, padded[i * n : (i + 1) * n]) for i in range(count)]
