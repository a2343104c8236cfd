"""What ARI recordings write: wideband files (``wav16``, ``sln16``) at 16 kHz with the
right pitch and length, and the trailing silence of a recording stopped by silence
(200 ms kept, as Asterisk)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import numpy as np

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import level, tone, wav_samples
from pyari.media.files import read_audio
from pyari.server import Server


def recdir(server: Server) -> Path:
    return server.config.asterisk.astspooldir / "recording"


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


# --- wideband recordings -------------------------------------------------------------------


async def _record_tone(server: Server, http: aiohttp.ClientSession, fmt: str) -> np.ndarray:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        speaking = phone.play(tone(1000, 2000))
        status, body = await call(
            http,
            "POST",
            f"/channels/{cid}/record",
            params={"name": f"wide-{fmt}", "format": fmt, "maxDurationSeconds": 1},
        )
        assert status == 201, body
        assert body["format"] == fmt
        finished = await events.wait("RecordingFinished")
        assert finished["recording"]["duration"] == 1
        await speaking
    audio = read_audio(recdir(server) / f"wide-{fmt}.{fmt}")
    assert audio.rate == 16000
    return audio.samples


async def test_wav16_recording_is_16_khz_with_the_right_pitch_and_length(
    server: Server, http: aiohttp.ClientSession
) -> None:
    samples = await _record_tone(server, http, "wav16")
    assert len(samples) == 16000  # one second at 16 kHz
    assert abs(peak_frequency(samples[1600:], 16000) - 1000) < 5
    assert level(samples[1600:], 1000, rate=16000) > 5000
    # No image of the 8 kHz mix above 4 kHz (the upsampler filters it).
    assert level(samples[1600:], 7000, rate=16000) < 100


async def test_sln16_recording_is_16_khz(server: Server, http: aiohttp.ClientSession) -> None:
    samples = await _record_tone(server, http, "sln16")
    assert len(samples) == 16000
    assert abs(peak_frequency(samples[1600:], 16000) - 1000) < 5


async def test_wav16_bridge_recording_and_unknown_slin16(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        # Asterisk knows sln16 and wav16 as file formats; "slin16" is a codec name.
        status, body = await call(
            http, "POST", f"/channels/{cid}/record", params={"name": "x", "format": "slin16"}
        )
        assert (status, body) == (422, {"message": "specified format is unknown on this system"})
        await call(http, "POST", "/bridges/b16")
        status, _ = await call(http, "POST", "/bridges/b16/addChannel", params={"channel": cid})
        assert status == 204
        status, _ = await call(http, "POST", "/bridges/b16/play", params={"media": "tone:600"})
        assert status == 201
        status, body = await call(
            http,
            "POST",
            "/bridges/b16/record",
            params={"name": "bridge16", "format": "wav16", "maxDurationSeconds": 1},
        )
        assert status == 201, body
        await events.wait("RecordingFinished")
    samples = read_audio(recdir(server) / "bridge16.wav16").samples
    assert len(samples) == 16000
    assert abs(peak_frequency(samples[1600:], 16000) - 600) < 5


# --- trailing silence ----------------------------------------------------------------------


async def test_ari_recording_ends_200_ms_after_the_talk_when_stopped_by_silence(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        speaking = phone.play(tone(700, 1500))
        status, _ = await call(
            http,
            "POST",
            f"/channels/{cid}/record",
            params={"name": "trimmed", "format": "wav", "maxSilenceSeconds": 1},
        )
        assert status == 201
        await events.wait("RecordingStarted")
        await speaking
        finished = (await events.wait("RecordingFinished"))["recording"]
    samples = wav_samples(recdir(server) / "trimmed.wav")
    frames = np.abs(samples[: len(samples) // 160 * 160].astype(np.int32)).reshape(-1, 160)
    loud = np.flatnonzero(frames.mean(axis=1) > 256)
    assert len(loud) > 0
    tail = len(frames) - 1 - loud[-1]  # silent frames after the last loud one
    assert 9 <= tail <= 11  # 200 ms kept, not the whole second
    captured_ms = len(samples) // 8 + 820
    assert finished["duration"] == captured_ms // 1000
    assert finished["talking_duration"] == captured_ms // 1000
    assert finished["silence_duration"] == 0
