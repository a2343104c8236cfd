"""CPU per stream of the candidate codec libraries (issue #17, decision 0028).

For each library: one stream encodes and decodes 1 s of audio (50 frames of 20 ms, a
speech-like signal: two tones with a slow envelope and a little noise) in the way
pyari would call it from the media tick, frame by frame. The figure is CPU
milliseconds per stream-second (encode + decode), min / median / max of ``--rounds``.

    .venv/bin/python -m bench.codec_libraries [--rounds 7]

Libraries that are not installed are listed as such (the evaluation was run in a
scratch venv holding every candidate: g722, av, opuslib, opuslib-next).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

FRAMES = 50


def _signal(rate: int) -> np.ndarray:
    t = np.arange(rate) / rate
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    x = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1850 * t)
    x = x * envelope + 0.02 * np.random.default_rng(1).standard_normal(rate)
    return (x * 9000).astype(np.int16)


Runner = Callable[[], None]


def _g711() -> Runner:
    from pyari.media.codecs import ulaw_decode, ulaw_encode

    frames = _signal(8000).reshape(FRAMES, 160)

    def run() -> None:
        for frame in frames:
            ulaw_decode(ulaw_encode(frame))

    return run


def _g722_sippy() -> Runner:
    import G722  # type: ignore[import-not-found]

    enc = G722.G722(16000, 64000)
    dec = G722.G722(16000, 64000)
    frames = _signal(16000).reshape(FRAMES, 320)

    def run() -> None:
        for frame in frames:
            np.frombuffer(dec.decode(enc.encode(frame)), dtype=np.int16)

    return run


def _g722_pyav() -> Runner:
    import av  # type: ignore[import-not-found]

    enc = av.CodecContext.create("g722", "w")
    enc.sample_rate = 16000
    enc.format = "s16"
    enc.layout = "mono"
    enc.open()
    dec = av.CodecContext.create("g722", "r")
    dec.sample_rate = 16000
    dec.layout = "mono"
    dec.open()
    frames = _signal(16000).reshape(FRAMES, 320)

    def run() -> None:
        for frame in frames:
            af = av.AudioFrame.from_ndarray(frame.reshape(1, -1), format="s16", layout="mono")
            af.sample_rate = 16000
            for packet in enc.encode(af):
                for out in dec.decode(av.Packet(bytes(packet))):
                    out.to_ndarray()

    return run


def _opus_ctypes(module: str, rate: int) -> Runner:
    lib = __import__(module)
    enc = lib.Encoder(rate, 1, "voip")
    dec = lib.Decoder(rate, 1)
    n = rate // 50
    frames = _signal(rate).reshape(FRAMES, n)

    def run() -> None:
        for frame in frames:
            packet = enc.encode(frame.tobytes(), n)
            np.frombuffer(dec.decode(packet, n), dtype=np.int16)

    return run


def _opus_pyav(rate: int) -> Runner:
    import av

    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate = 48000
    enc.format = "s16"
    enc.layout = "mono"
    enc.options = {"application": "voip", "frame_duration": "20"}
    enc.open()
    dec = av.CodecContext.create("libopus", "r")
    dec.sample_rate = 48000
    dec.layout = "mono"
    dec.open()
    # libopus in FFmpeg takes 48 kHz input: a 16 kHz stream needs a resampler each way
    resample_in = av.AudioResampler(format="s16", layout="mono", rate=48000)
    resample_out = av.AudioResampler(format="s16", layout="mono", rate=rate)
    n = rate // 50
    frames = _signal(rate).reshape(FRAMES, n)

    def run() -> None:
        for frame in frames:
            af = av.AudioFrame.from_ndarray(frame.reshape(1, -1), format="s16", layout="mono")
            af.sample_rate = rate
            for up in resample_in.resample(af):
                for packet in enc.encode(up):
                    for out in dec.decode(av.Packet(bytes(packet))):
                        for down in resample_out.resample(out):
                            down.to_ndarray()

    return run


def _pyari_opus(narrowband: bool, complexity: int | None = None) -> Runner:
    """pyari's Opus as the PJSIP channel makes it for a browser's offer (8 kHz engine
    rate; codecs.conf defaults, or ``complexity`` with Asterisk's ``voip``), decoding
    what Chromium sends: full band at 32 kbit/s, or narrowband when pyari's SDP says
    ``maxplaybackrate=8000``."""
    from bench.codecs import BROWSER_FMTP, browser_opus, speech
    from pyari.config.codecs import OpusSettings
    from pyari.media.rtp_codecs import OpusCodec, parse_opus_fmtp

    params = parse_opus_fmtp(BROWSER_FMTP)
    params.fec = False  # the joint format: codecs.conf has no fec
    if complexity is None:
        ours = OpusCodec(params, 8000)
    else:
        ours = OpusCodec(params, 8000, OpusSettings(complexity=complexity, application="voip"))
    frames = speech(8000, FRAMES / 50, seed=2).reshape(FRAMES, 160)
    packets = browser_opus(speech(48000, FRAMES / 50), narrowband=narrowband)

    def run() -> None:
        for frame, packet in zip(frames, packets, strict=True):
            ours.encode(frame.tobytes())
            ours.decode(packet)

    return run


CANDIDATES: dict[str, Callable[[], Runner]] = {
    "G.711 u-law tables (baseline)": _g711,
    "G.722: g722 (sippy libg722)": _g722_sippy,
    "G.722: av (FFmpeg g722)": _g722_pyav,
    "Opus 16 kHz: opuslib-next (libopus0, ctypes)": lambda: _opus_ctypes("opuslib_next", 16000),
    "Opus 16 kHz: opuslib (libopus0, ctypes)": lambda: _opus_ctypes("opuslib", 16000),
    "Opus 48 kHz: opuslib-next (libopus0, ctypes)": lambda: _opus_ctypes("opuslib_next", 48000),
    "Opus 16 kHz: av (FFmpeg libopus + swresample)": lambda: _opus_pyav(16000),
    "Opus as pyari ran it before decision 0030 (8 kHz, SILK complexity 2), browser's stream": (
        lambda: _pyari_opus(False, 2)
    ),
    "Opus as pyari runs it (8 kHz, CELT 24 kbit/s complexity 0), browser's stream": (
        lambda: _pyari_opus(False)
    ),
    "the same, browser sending narrowband (max_playback_rate = 8000)": (lambda: _pyari_opus(True)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print("| library | CPU ms per stream-second (enc+dec), min / median / max |")
    print("|---|---|")
    for name, make in CANDIDATES.items():
        try:
            run = make()
        except Exception as exc:  # not installed, or no such codec in this build
            print(f"| {name} | not available ({type(exc).__name__}: {exc}) |")
            continue
        run()  # warm up
        cpu: list[float] = []
        for _ in range(args.rounds):
            start = time.process_time()
            run()
            cpu.append((time.process_time() - start) * 1000)
        print(f"| {name} | {min(cpu):.2f} / {statistics.median(cpu):.2f} / {max(cpu):.2f} |")


if __name__ == "__main__":
    main()
