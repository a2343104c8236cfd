"""Codecs whose RTP payloads are not one byte per sample: G.722, Opus and GSM.

The media engine mixes signed linear audio; G.711 is converted inside its tick by table
lookups (:mod:`pyari.media.codecs`). G.722 and Opus are converted at the channel's
edge instead: a :class:`PayloadCodec` turns each received RTP payload into 20 ms of
signed linear audio (little-endian int16 at the codec's :attr:`~PayloadCodec.rate`, the
engine stream's format) and each 20 ms the engine gives the channel into an RTP
payload. G.722 is always slin16: in a bridge with a G.711 leg the engine resamples
16 ↔ 8 kHz as for any ``slin16`` stream (Asterisk's translation path
``g722 → slin16 → slin → ulaw``). Opus runs at the engine's own rate (8 kHz by
default, 16 kHz when the engine mixes wideband): libopus encodes and decodes any of
8/12/16/24/48 kHz, and audio mixed at 8 kHz has nothing above 4 kHz to carry, so
resampling to 16 kHz and back would cost CPU for nothing.

* **G.722** (``g722``, PyPI ``g722``: Sippy's libg722, public domain): 64 kbit/s,
  16 kHz audio, yet an RTP clock rate of 8000 (RFC 3551's historical error kept by
  every implementation): 160 timestamp units and 160 bytes per 20 ms.
* **Opus** (``opuslib-next`` over Debian's ``libopus0``): encoded and decoded at the
  engine rate (the RTP clock is always 48000, 960 per 20 ms).
  The SDP fmtp the peer sent and codecs.conf ``[opus]`` (:mod:`pyari.config.codecs`)
  decide the encoder: ``usedtx=1`` turns DTX on (the near-empty packets of silence
  are not sent; :meth:`PayloadCodec.encode` returns None), ``useinbandfec=1`` turns
  in-band FEC on; ``maxaveragebitrate`` caps the bitrate, ``maxplaybackrate`` the
  bandwidth. A lost packet is concealed by libopus's PLC. Complexity is 0 unless
  codecs.conf says otherwise (decision 0030: at 8 kHz it is SILK narrowband, where
  higher complexities cost up to four times as much for little).

* **GSM** 06.10 full rate (Debian's ``libgsm1`` through ctypes): 8 kHz, 33 bytes per
  20 ms, RTP payload type 3.

Decoding never raises on bad input: a payload the decoder refuses is concealed.
"""

from __future__ import annotations

from typing import Final, Protocol

from pyari.config.codecs import (
    BITRATE_MAX,
    DEFAULT_COMPLEXITY,
    OPUS_DEFAULTS,
    OpusSettings,
    opus_fmtp_values,
)

__all__ = [
    "OPUS_COMPLEXITY",
    "G722Codec",
    "GsmCodec",
    "OpusCodec",
    "OpusParams",
    "PayloadCodec",
    "make_codec",
    "parse_opus_fmtp",
]

RATE: Final = 16000
"""G.722's linear rate (slin16)."""
SAMPLES: Final = RATE // 50
"""Samples of one 20 ms frame at :data:`RATE`."""
FRAME_BYTES: Final = SAMPLES * 2
SILENCE: Final = bytes(FRAME_BYTES)

OPUS_COMPLEXITY: Final = DEFAULT_COMPLEXITY
"""libopus encoder complexity (0-10) unless codecs.conf ``[opus]`` sets one. Asterisk's
codec_opus uses 10; pyari encodes at the engine's 8 kHz (SILK narrowband), where 0 costs
a quarter of 10 and two thirds of 2 for a fraction of a dB (decision 0030)."""
MAX_PACKET: Final = 1500
CELT_BITRATE: Final = 24000
"""The bitrate of pyari's CELT-only encoder at 8 kHz (codecs.conf ``bitrate = auto``):
narrowband speech at 24 kbit/s keeps more of the waveform than SILK's automatic 10
kbit/s (decision 0030's measurements); below it pyari uses SILK."""


class PayloadCodec(Protocol):
    """One stream's encoder and decoder state (both directions)."""

    name: str
    rate: int
    """The linear audio's sample rate (the engine stream's format: slin or slin16)."""

    def decode(self, payload: bytes) -> bytes:
        """20 ms of linear audio for one received payload (concealment on a bad one)."""
        ...

    def conceal(self) -> bytes:
        """20 ms of linear audio for a lost packet."""
        ...

    def encode(self, pcm: bytes) -> bytes | None:
        """The RTP payload for 20 ms of linear audio; None when nothing is to be sent
        (DTX)."""
        ...


class G722Codec:
    """G.722 at 64 kbit/s (see the module docstring)."""

    name = "g722"
    rate = RATE

    def __init__(self) -> None:
        import G722  # type: ignore[import-not-found]

        self._enc = G722.G722(RATE, 64000)
        self._dec = G722.G722(RATE, 64000)
        self._last = SILENCE

    def decode(self, payload: bytes) -> bytes:
        import numpy as np

        if not payload:
            return self.conceal()
        out = self._dec.decode(payload)
        pcm: bytes = np.asarray(out, dtype=np.int16).astype("<i2").tobytes()
        if len(pcm) != FRAME_BYTES:
            # a payload that is not 20 ms (other ptime): pad or cut to the tick
            pcm = (pcm + bytes(FRAME_BYTES))[:FRAME_BYTES]
        self._last = pcm
        return pcm

    def conceal(self) -> bytes:
        # repeat the last frame at half level once, as G.711's simple concealment
        import numpy as np

        faded = (np.frombuffer(self._last, dtype="<i2") // 2).astype("<i2").tobytes()
        self._last = SILENCE
        return faded

    def encode(self, pcm: bytes) -> bytes | None:
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        payload: bytes = self._enc.encode(samples)
        return payload


class OpusParams:
    """The Opus fmtp parameters pyari reads (RFC 7587 §6.1; Asterisk's defaults)."""

    __slots__ = ("cbr", "dtx", "fec", "maxaveragebitrate", "maxplaybackrate", "stereo")

    def __init__(
        self,
        *,
        dtx: bool = False,
        fec: bool = False,
        cbr: bool = False,
        stereo: bool = False,
        maxaveragebitrate: int | None = None,
        maxplaybackrate: int = 48000,
    ) -> None:
        self.dtx = dtx
        self.fec = fec
        self.cbr = cbr
        self.stereo = stereo
        self.maxaveragebitrate = maxaveragebitrate
        self.maxplaybackrate = maxplaybackrate

    def __repr__(self) -> str:
        return (
            f"OpusParams(dtx={self.dtx}, fec={self.fec}, cbr={self.cbr}, "
            f"maxaveragebitrate={self.maxaveragebitrate}, maxplaybackrate={self.maxplaybackrate})"
        )


def parse_opus_fmtp(fmtp: str | None) -> OpusParams:
    """``a=fmtp`` parameters of an Opus payload type (unknown or bad ones ignored)."""
    values = opus_fmtp_values(fmtp)
    bitrate = values.get("maxaveragebitrate")
    return OpusParams(
        dtx=values.get("usedtx", 0) == 1,
        fec=values.get("useinbandfec", 0) == 1,
        cbr=values.get("cbr", 0) == 1,
        stereo=values.get("stereo", 0) == 1,
        maxaveragebitrate=bitrate if bitrate is not None and 6000 <= bitrate <= 510000 else None,
        maxplaybackrate=min(48000, max(8000, values.get("maxplaybackrate", 48000))),
    )


_BANDWIDTHS: Final = {
    "narrow": 1101,
    "medium": 1102,
    "wide": 1103,
    "super_wide": 1104,
    "full": 1105,
}
"""codecs.conf ``max_bandwidth`` words → libopus's ``OPUS_BANDWIDTH_*``."""
_APPLICATIONS: Final = {"voip": 2048, "audio": 2049, "low_delay": 2051}
_SIGNALS: Final = {"voice": 3001, "music": 3002}


def _playback_bandwidth(rate: int) -> str:
    """The widest Opus bandwidth a ``maxplaybackrate`` lets through."""
    if rate <= 8000:
        return "narrow"
    if rate <= 12000:
        return "medium"
    if rate <= 16000:
        return "wide"
    if rate <= 24000:
        return "super_wide"
    return "full"


class OpusCodec:
    """Opus, mono, 20 ms frames at ``rate`` (8000 or 16000; see the module docstring).

    ``params`` is what the *peer* asked for in its fmtp: it shapes what we send, with
    ``settings`` (codecs.conf ``[opus]`` of the call's server; the defaults when not
    given): DTX if either asks, FEC when ``params`` asks for it (:func:`make_codec`
    gives the joint format: FEC only if codecs.conf's ``fec`` is on too), the lower of
    the two bitrates and bandwidths, constant bitrate if either asks; complexity,
    signal, application and packet loss from ``settings`` alone. Without an
    ``application`` in codecs.conf, an 8 kHz encoder is CELT-only (restricted low
    delay) at :data:`CELT_BITRATE` unless FEC, DTX or a lower bitrate cap needs SILK
    (``voip``), and any other rate is ``voip``.
    """

    name = "opus"

    def __init__(
        self,
        params: OpusParams | None = None,
        rate: int = RATE,
        settings: OpusSettings = OPUS_DEFAULTS,
    ) -> None:
        import ctypes

        import opuslib_next  # type: ignore[import-untyped]
        from opuslib_next.api import libopus  # type: ignore[import-untyped]

        if rate not in (8000, 12000, 16000, 24000, 48000):
            raise ValueError(f"Opus cannot run at {rate} Hz")
        self.rate = rate
        self.samples = rate // 50
        self.frame_bytes = self.samples * 2
        self.params = params or OpusParams()
        self.settings = ours = settings
        self._error = opuslib_next.OpusError
        self.dtx = self.params.dtx or ours.dtx
        bitrate = self.params.maxaveragebitrate
        if ours.bitrate > 0:
            bitrate = ours.bitrate if bitrate is None else min(bitrate, ours.bitrate)
        application = ours.application
        if application is None:
            # pyari's choice (decision 0030): CELT alone at the 8 kHz engine rate, where
            # it costs less than half SILK's CPU; SILK when FEC or DTX (SILK features)
            # is in use or the bitrate allowed is below what CELT needs for speech
            celt = (
                rate == 8000
                and not self.dtx
                and not self.params.fec
                and (bitrate is None or bitrate >= CELT_BITRATE)
            )
            application = "low_delay" if celt else "voip"
            if celt and bitrate is None and ours.bitrate != BITRATE_MAX:
                bitrate = CELT_BITRATE
        self.mode = "celt" if application == "low_delay" else "silk"
        """``celt`` (restricted low delay: CELT only) or ``silk`` (SILK, or hybrid
        above 8 kHz, and CELT where libopus chooses it)."""
        enc = opuslib_next.Encoder(rate, 1, _APPLICATIONS[application])
        enc.complexity = ours.complexity
        if ours.signal in _SIGNALS:
            enc.signal = _SIGNALS[ours.signal]
        enc.dtx = int(self.dtx)
        enc.inband_fec = int(self.params.fec)
        loss = ours.packet_loss
        if self.params.fec and not loss:
            loss = 10  # FEC is only coded when loss is expected
        if loss:
            enc.packet_loss_perc = loss
        enc.vbr = int(not (self.params.cbr or ours.cbr))
        if bitrate is not None:
            enc.bitrate = bitrate
        elif ours.bitrate == BITRATE_MAX:
            enc.bitrate = BITRATE_MAX
        widths = list(_BANDWIDTHS)
        width = min(
            widths.index(ours.max_bandwidth),
            widths.index(_playback_bandwidth(self.params.maxplaybackrate)),
            widths.index(_playback_bandwidth(ours.max_playback_rate)),
        )
        if width < widths.index("full"):
            enc.max_bandwidth = _BANDWIDTHS[widths[width]]
        self._enc = enc
        self._dec = opuslib_next.Decoder(rate, 1)
        # libopus's own entry points, without opuslib's wrappers (which allocate and
        # convert sample lists per call) nor its ctypes prototypes (argument checks
        # per call): a frame's bytes go in as they are, the results are read from
        # buffers made once, through memoryviews
        lib = ctypes.CDLL(libopus._name)
        self._encode = lib.opus_encode
        self._decode = lib.opus_decode
        self._enc_state = ctypes.c_void_p(ctypes.addressof(enc.encoder_state.contents))
        self._dec_state = ctypes.c_void_p(ctypes.addressof(self._dec.decoder_state.contents))
        self._out = ctypes.create_string_buffer(MAX_PACKET)
        self._out_view = memoryview(self._out).cast("B")
        self._pcm_len = rate * 6 // 50  # 120 ms, Opus's longest packet
        self._pcm = (ctypes.c_int16 * self._pcm_len)()
        self._pcm_view = memoryview(self._pcm).cast("B")
        self.dtx_frames = 0
        """Frames not sent because the encoder chose DTX silence."""
        self.bad_payloads = 0

    def decode(self, payload: bytes) -> bytes:
        if not payload:
            return self.conceal()
        count: int = self._decode(
            self._dec_state, payload, len(payload), self._pcm, self._pcm_len, 0
        )
        if count == self.samples:
            return self._pcm_view[: self.frame_bytes].tobytes()
        if count <= 0:
            self.bad_payloads += 1
            return self.conceal()
        # a packet of another duration (10, 40, 60 ms): the tick takes 20 ms
        got = self._pcm_view[: 2 * min(count, self.samples)].tobytes()
        return got + bytes(self.frame_bytes - len(got))

    def decode_fec(self, next_payload: bytes) -> bytes:
        """The lost frame before ``next_payload``, from its in-band FEC data."""
        if not next_payload:
            return self.conceal()
        count = self._decode(
            self._dec_state, next_payload, len(next_payload), self._pcm, self.samples, 1
        )
        if count != self.samples:
            return self.conceal()
        return self._pcm_view[: self.frame_bytes].tobytes()

    def conceal(self) -> bytes:
        count = self._decode(self._dec_state, None, 0, self._pcm, self.samples, 0)
        if count != self.samples:
            return bytes(self.frame_bytes)
        return self._pcm_view[: self.frame_bytes].tobytes()

    def encode(self, pcm: bytes) -> bytes | None:
        if len(pcm) != self.frame_bytes or type(pcm) is not bytes:
            pcm = (bytes(pcm) + bytes(self.frame_bytes))[: self.frame_bytes]
        count: int = self._encode(self._enc_state, pcm, self.samples, self._out, MAX_PACKET)
        if count > 2:
            return self._out_view[:count].tobytes()
        if count < 0:
            raise ValueError(f"Opus encoding failed ({count})")
        if self.dtx:
            # libopus's DTX: a packet of at most 2 bytes means "nothing to send"
            self.dtx_frames += 1
            return None
        return self._out_view[:count].tobytes()


GSM_FRAME: Final = 33
"""Bytes of one 20 ms GSM 06.10 frame (160 samples)."""


def _libgsm() -> object:
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library("gsm") or "libgsm.so.1"
    lib = ctypes.CDLL(path)
    lib.gsm_create.restype = ctypes.c_void_p
    lib.gsm_create.argtypes = ()
    lib.gsm_destroy.argtypes = (ctypes.c_void_p,)
    lib.gsm_destroy.restype = None
    lib.gsm_encode.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
    lib.gsm_encode.restype = None
    lib.gsm_decode.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p)
    lib.gsm_decode.restype = ctypes.c_int
    return lib


class GsmCodec:
    """GSM 06.10 full rate (see the module docstring): slin at 8 kHz both ways."""

    name = "gsm"
    rate = 8000

    def __init__(self) -> None:
        import ctypes

        self._lib = _libgsm()
        lib = self._lib
        self._enc = lib.gsm_create()  # type: ignore[attr-defined]
        self._dec = lib.gsm_create()  # type: ignore[attr-defined]
        if not self._enc or not self._dec:
            raise MemoryError("gsm_create failed")
        self._encode = lib.gsm_encode  # type: ignore[attr-defined]
        self._decode = lib.gsm_decode  # type: ignore[attr-defined]
        self._pcm = ctypes.create_string_buffer(320)
        self._frame = ctypes.create_string_buffer(GSM_FRAME)
        self._last = bytes(320)
        self.bad_payloads = 0

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is not None:
            for state in (getattr(self, "_enc", None), getattr(self, "_dec", None)):
                if state:
                    lib.gsm_destroy(state)  # type: ignore[attr-defined]

    def decode(self, payload: bytes) -> bytes:
        if len(payload) < GSM_FRAME:
            self.bad_payloads += 1
            return self.conceal()
        # one frame a tick; a packet of several (40 ms ...) keeps its first
        if self._decode(self._dec, payload[:GSM_FRAME], self._pcm) != 0:
            self.bad_payloads += 1
            return self.conceal()
        out: bytes = self._pcm.raw
        self._last = out
        return out

    def conceal(self) -> bytes:
        import numpy as np

        faded = (np.frombuffer(self._last, dtype="<i2") // 2).astype("<i2").tobytes()
        self._last = bytes(320)
        return faded

    def encode(self, pcm: bytes) -> bytes | None:
        if len(pcm) != 320:
            pcm = (bytes(pcm) + bytes(320))[:320]
        self._encode(self._enc, pcm, self._frame)
        out: bytes = self._frame.raw
        return out


def make_codec(
    name: str,
    fmtp: str | None = None,
    rate: int = 8000,
    opus: OpusSettings = OPUS_DEFAULTS,
) -> PayloadCodec | None:
    """The codec state for a negotiated format (``rate``: the engine's, which Opus runs
    at; ``opus``: codecs.conf ``[opus]`` of the call's server), None for formats the
    engine converts itself (G.711, slin)."""
    if name == "gsm":
        return GsmCodec()
    if name == "g722":
        return G722Codec()
    if name == "opus":
        # the joint format (res_format_attr_opus): FEC only when both sides want it
        params = parse_opus_fmtp(fmtp)
        params.fec = params.fec and opus.fec
        return OpusCodec(params, rate, opus)
    return None
