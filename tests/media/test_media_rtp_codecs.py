"""G.722 and Opus at the RTP edge (media/rtp_codecs.py): round trips keep a tone's
frequency (FFT), DTX and FEC follow the peer's fmtp, bad payloads are concealed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyari.media.rtp_codecs import (
    FRAME_BYTES,
    G722Codec,
    GsmCodec,
    OpusCodec,
    make_codec,
    parse_opus_fmtp,
)

RATE = 16000


def _tone(freq: float, seconds: float = 1.0, level: float = 8000.0) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * np.pi * freq * t) * level).astype(np.int16)


def _peak(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def _round_trip(codec: G722Codec | OpusCodec, signal: np.ndarray) -> np.ndarray:
    out = []
    for frame in signal.reshape(-1, 320):
        payload = codec.encode(frame.astype("<i2").tobytes())
        pcm = codec.decode(payload) if payload is not None else codec.conceal()
        assert len(pcm) == FRAME_BYTES
        out.append(np.frombuffer(pcm, dtype="<i2"))
    return np.concatenate(out)


@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0])
def test_g722_round_trip_keeps_the_tone(freq: float) -> None:
    codec = G722Codec()
    out = _round_trip(codec, _tone(freq))
    # skip the codec's start-up; the peak is the tone's (5 kHz: wideband survives)
    assert abs(_peak(out[1600:]) - freq) < 20
    assert np.sqrt(np.mean(out[1600:].astype(np.float64) ** 2)) > 3000


def test_g722_payload_is_160_bytes_for_20_ms() -> None:
    codec = G722Codec()
    payload = codec.encode(_tone(1000)[:320].tobytes())
    assert payload is not None and len(payload) == 160


@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0])
def test_opus_round_trip_keeps_the_tone(freq: float) -> None:
    codec = OpusCodec()
    out = _round_trip(codec, _tone(freq))
    assert abs(_peak(out[3200:]) - freq) < 20
    assert np.sqrt(np.mean(out[3200:].astype(np.float64) ** 2)) > 2000


def test_opus_dtx_sends_nothing_in_silence_when_the_peer_asks() -> None:
    with_dtx = OpusCodec(parse_opus_fmtp("minptime=10;usedtx=1"))
    without = OpusCodec(parse_opus_fmtp("minptime=10"))
    silence = bytes(FRAME_BYTES)
    sent_dtx = [with_dtx.encode(silence) for _ in range(50)]
    sent = [without.encode(silence) for _ in range(50)]
    assert sum(p is None for p in sent_dtx) > 30
    assert all(p is not None for p in sent)


def test_opus_fec_recovers_a_lost_frame_better_than_plc() -> None:
    sender = OpusCodec(parse_opus_fmtp("useinbandfec=1"))
    assert sender.params.fec
    signal = _tone(700)
    payloads = [sender.encode(f.tobytes()) for f in signal.reshape(-1, 320)]
    assert all(p is not None for p in payloads)
    receiver = OpusCodec()
    lost = 30
    for p in payloads[:lost]:
        assert p is not None
        receiver.decode(p)
    next_payload = payloads[lost + 1]
    assert next_payload is not None
    recovered = np.frombuffer(receiver.decode_fec(next_payload), dtype="<i2")
    assert len(recovered) == 320
    assert np.sqrt(np.mean(recovered.astype(np.float64) ** 2)) > 1000


def test_opus_fmtp_parsing_as_asterisk_reads_it() -> None:
    params = parse_opus_fmtp(
        "maxplaybackrate=16000; sprop-maxcapturerate=16000;"
        "maxaveragebitrate=20000;stereo=1;useinbandfec=1;usedtx=0"
    )
    assert params.maxplaybackrate == 16000
    assert params.maxaveragebitrate == 20000
    assert params.fec and not params.dtx and params.stereo
    odd = parse_opus_fmtp("maxaveragebitrate=99999999999;usedtx=yes;=;;x")
    assert odd.maxaveragebitrate is None and not odd.dtx


@pytest.mark.parametrize(
    "payload", [b"", b"\xff", b"\x00" * 3, bytes(range(256)) * 6, b"\xfc\xff\xff\xff"]
)
def test_bad_payloads_are_concealed_never_raised(payload: bytes) -> None:
    for codec in (OpusCodec(), G722Codec()):
        assert len(codec.decode(payload)) == FRAME_BYTES


def test_make_codec() -> None:
    assert make_codec("ulaw") is None
    assert isinstance(make_codec("g722"), G722Codec)
    opus = make_codec("opus", "usedtx=1")
    assert isinstance(opus, OpusCodec) and opus.params.dtx


def test_g722_sound_files_are_listed_and_play(tmp_path: Path) -> None:
    """A ``.g722`` prompt (Asterisk's format_g722) is in /sounds' formats and decodes
    to slin16; a wav of the same sound is preferred unless the channel is G.722."""
    from pyari.media.files import read_audio
    from pyari.media.sounds import build_index, choose_file

    encoder = G722Codec()
    payload = b"".join(
        encoder.encode(frame.astype("<i2").tobytes()) or b""
        for frame in _tone(1000).reshape(-1, 320)
    )
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hd-prompt.g722").write_bytes(payload)
    audio = read_audio(tmp_path / "en" / "hd-prompt.g722")
    assert audio.rate == 16000 and len(audio.samples) == RATE
    assert abs(_peak(audio.samples[1600:]) - 1000) < 20
    listed = [s for s in build_index(tmp_path).sounds() if s.id == "hd-prompt"]
    assert listed and [f.format for f in listed[0].formats] == ["g722"]
    files = {"g722": tmp_path / "a.g722", "slin": tmp_path / "a.wav"}
    assert choose_file(files) == files["slin"]
    assert choose_file(files, native="g722") == files["g722"]


def _tone8(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (np.sin(2 * np.pi * freq * t) * 8000).astype(np.int16)


@pytest.mark.parametrize("freq", [440.0, 1000.0, 2500.0])
def test_gsm_round_trip_keeps_the_tone(freq: float) -> None:
    codec = GsmCodec()
    out = []
    for frame in _tone8(freq).reshape(-1, 160):
        payload = codec.encode(frame.astype("<i2").tobytes())
        assert payload is not None and len(payload) == 33 and payload[0] >> 4 == 0xD
        out.append(np.frombuffer(codec.decode(payload), dtype="<i2"))
    decoded = np.concatenate(out)
    assert abs(_peak(decoded[800:], 8000) - freq) < 20


@pytest.mark.parametrize("payload", [b"", b"\x00" * 33, b"\x12" * 10, bytes(range(66))])
def test_gsm_bad_payloads_are_concealed(payload: bytes) -> None:
    codec = GsmCodec()
    assert len(codec.decode(payload)) == 320


def test_gsm_sound_files_play(tmp_path: Path) -> None:
    from pyari.media.files import read_audio

    codec = GsmCodec()
    frames = _tone8(1000).reshape(-1, 160)
    data = b"".join(codec.encode(f.astype("<i2").tobytes()) or b"" for f in frames)
    (tmp_path / "prompt.gsm").write_bytes(data)
    audio = read_audio(tmp_path / "prompt.gsm")
    assert audio.rate == 8000 and len(audio.samples) == 8000
    assert abs(_peak(audio.samples[800:], 8000) - 1000) < 20


# --- codecs.conf [opus] and the encoder as pyari runs it (decision 0030)


def _toc_bandwidth(payload: bytes) -> str:
    """The audio bandwidth of an Opus packet, from its TOC byte (RFC 6716 §3.1)."""
    config = payload[0] >> 3
    if config < 12:
        return ("narrow", "medium", "wide")[config // 4]
    if config < 16:
        return ("super_wide", "full")[(config - 12) // 2]
    return ("narrow", "wide", "super_wide", "full")[(config - 16) // 4]


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_opus_at_the_engine_rate_keeps_the_tone(freq: float) -> None:
    """8 kHz, complexity 0 (the default): the tone survives a round trip at its level."""
    codec = OpusCodec(rate=8000)
    assert codec._enc.complexity == 0
    out = []
    for frame in _tone8(freq).reshape(-1, 160):
        payload = codec.encode(frame.tobytes())
        assert payload is not None and _toc_bandwidth(payload) == "narrow"
        out.append(np.frombuffer(codec.decode(payload), dtype="<i2"))
    decoded = np.concatenate(out)[1600:].astype(np.float64)
    assert abs(_peak(decoded, 8000) - freq) < 20
    assert np.sqrt(np.mean(decoded**2)) > 0.5 * 8000 / np.sqrt(2)


def test_opus_settings_shape_the_encoder() -> None:
    from pyari.config.codecs import OpusSettings

    settings = OpusSettings(
        complexity=7,
        signal="voice",
        application="audio",
        bitrate=24000,
        cbr=True,
        dtx=True,
        packet_loss=3,
    )
    codec = OpusCodec(parse_opus_fmtp("maxaveragebitrate=32000"), 48000, settings)
    enc = codec._enc
    assert enc.complexity == 7 and enc.signal == 3001 and enc.application == 2049
    assert enc.bitrate == 24000  # the lower of ours and the peer's
    assert enc.vbr == 0 and enc.dtx == 1 and codec.dtx and enc.packet_loss_perc == 3
    lower = OpusCodec(parse_opus_fmtp("maxaveragebitrate=12000"), 48000, settings)
    assert lower._enc.bitrate == 12000


@pytest.mark.parametrize(
    ("ours", "peer", "expected"),
    [
        (48000, 48000, "full"),
        (8000, 48000, "narrow"),
        (48000, 8000, "narrow"),
        (16000, 48000, "wide"),
        (24000, 12000, "medium"),
    ],
)
def test_opus_bandwidth_is_the_narrower_playback_rate(ours: int, peer: int, expected: str) -> None:
    from pyari.config.codecs import OpusSettings

    codec = OpusCodec(
        parse_opus_fmtp(f"maxplaybackrate={peer}"),
        48000,
        OpusSettings(max_playback_rate=ours, bitrate=64000),
    )
    t = np.arange(48000) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 8000 + np.sin(2 * np.pi * 9000 * t) * 3000).astype("<i2")
    widths = {_toc_bandwidth(codec.encode(f.tobytes()) or b"\x00") for f in tone.reshape(-1, 960)}
    assert widths == {expected}


def test_opus_encode_takes_any_bytes_like_frame() -> None:
    codec = OpusCodec(rate=8000)
    frame = _tone8(1000)[:160].tobytes()
    for pcm in (bytearray(frame), memoryview(frame), frame[:100]):
        payload = codec.encode(pcm)  # type: ignore[arg-type]
        assert payload is not None and len(payload) > 2


def test_opus_packets_of_other_durations_fill_one_tick() -> None:
    """A 40 ms packet from a peer decodes to the tick's 20 ms; a 10 ms one is padded."""
    import opuslib_next  # type: ignore[import-untyped]

    receiver = OpusCodec(rate=8000)
    peer = opuslib_next.Encoder(48000, 1, opuslib_next.APPLICATION_VOIP)
    t = np.arange(1920) / 48000
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    assert len(receiver.decode(peer.encode(tone, 1920))) == 320
    assert len(receiver.decode(peer.encode(tone[:960], 480))) == 320
    assert receiver.bad_payloads == 0


def test_opus_mode_at_the_engine_rate() -> None:
    """8 kHz: CELT only at 24 kbit/s unless FEC, DTX or a lower cap needs SILK; other
    rates and an explicit application keep Asterisk's voip (decision 0030)."""
    from pyari.config.codecs import OpusSettings

    celt = OpusCodec(rate=8000)
    assert celt.mode == "celt" and celt._enc.application == 2051
    assert celt._enc.bitrate == 24000
    assert OpusCodec(parse_opus_fmtp("maxaveragebitrate=40000"), 8000).mode == "celt"
    for fmtp in ("usedtx=1", "useinbandfec=1", "maxaveragebitrate=16000"):
        silk = OpusCodec(parse_opus_fmtp(fmtp), 8000)
        assert silk.mode == "silk" and silk._enc.application == 2048, fmtp
    assert OpusCodec(rate=16000).mode == "silk"
    assert OpusCodec(rate=8000, settings=OpusSettings(application="voip")).mode == "silk"
    assert OpusCodec(rate=8000, settings=OpusSettings(dtx=True)).mode == "silk"


def test_make_codec_fec_is_the_joint_format() -> None:
    """As res_format_attr_opus joins them: FEC only when codecs.conf and the peer want it."""
    from pyari.config.codecs import OpusSettings

    chrome = "minptime=10;useinbandfec=1"
    opus = make_codec("opus", chrome)
    assert isinstance(opus, OpusCodec) and not opus.params.fec and opus._enc.inband_fec == 0
    fec = OpusSettings(fec=True)
    opus = make_codec("opus", chrome, 8000, fec)
    assert isinstance(opus, OpusCodec) and opus.params.fec and opus.mode == "silk"
    assert opus.settings is fec
    opus = make_codec("opus", "minptime=10", 8000, fec)
    assert isinstance(opus, OpusCodec) and not opus.params.fec
    # the settings go with the call: the next codec made without them has the defaults
    opus = make_codec("opus", chrome)
    assert isinstance(opus, OpusCodec) and not opus.params.fec and opus.settings == OpusSettings()


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_opus_celt_at_8khz_plays_at_a_browsers_48khz(freq: float) -> None:
    """What pyari sends a browser (CELT narrowband) decodes at 48 kHz to the tone, with
    nothing of note above the 4 kHz it carries."""
    sender = OpusCodec(rate=8000)
    browser = OpusCodec(rate=48000)
    out = []
    for frame in _tone8(freq).reshape(-1, 160):
        payload = sender.encode(frame.tobytes())
        assert payload is not None
        out.append(np.frombuffer(browser.decode(payload), dtype="<i2"))
    decoded = np.concatenate(out)[9600:].astype(np.float64)
    assert abs(_peak(decoded, 48000) - freq) < 20
    spectrum = np.abs(np.fft.rfft(decoded * np.hanning(len(decoded)))) ** 2
    above = spectrum[int(len(spectrum) * 4400 / 24000) :].sum()
    assert above < 0.01 * spectrum.sum()
