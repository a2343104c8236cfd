"""Media gaps closed against Asterisk 23: wideband recordings (``wav16``, ``sln16``),
the trailing silence of recordings that stop on silence, Background with
multi-digit extensions, holding bridge music."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import level, loud, tone, wav_samples
from conftest import make_server, wait_for
from pyari.config.embedded import write_samples
from pyari.media.files import read_audio
from pyari.media.recorder import Recorder, RecordingState
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


def _feed(rec: Recorder, samples: np.ndarray) -> None:
    for i in range(0, len(samples), 160):
        rec.feed(samples[i : i + 160])


def test_recording_stopped_by_silence_keeps_200_ms_of_it(tmp_path: Path) -> None:
    # 1.5 s talk, 1.2 s pause, 1 s talk, then silence until more than 2 s of it.
    rec = Recorder("t", tmp_path / "t.wav", "wav", max_silence_seconds=2)
    rec.start()
    talk = tone(500, 1500)
    audio = np.concatenate(
        [talk, np.zeros(9600, np.int16), talk[:8000], np.zeros(8000 * 4, np.int16)]
    )
    _feed(rec, audio)
    result = rec.result
    assert result is not None and result.cause == "max_silence"
    assert result.duration_ms == 1500 + 1200 + 1000 + 2020
    assert result.trimmed_ms == 1820
    back = read_audio(tmp_path / "t.wav").samples
    assert len(back) == (1500 + 1200 + 1000 + 200) * 8
    assert np.abs(back[-1600:]).max() == 0 and np.abs(back[-1760:-1600]).max() > 1000
    # Asterisk: 5 s written less 1 s of trailing silence; talk: 5 less (1200 + 2020 - 200) / 1000.
    assert (result.duration, result.talking_duration, result.silence_duration) == (4, 2, 2)


def test_recording_stopped_by_a_limit_or_a_digit_loses_its_trailing_silence(
    tmp_path: Path,
) -> None:
    limited = Recorder(
        "l", tmp_path / "l.sln", "sln", max_duration_seconds=3, max_silence_seconds=5
    )
    limited.start()
    _feed(limited, np.concatenate([tone(500, 1000), np.zeros(8000 * 3, np.int16)]))
    assert limited.result is not None and limited.result.cause == "max_duration"
    assert limited.result.trimmed_ms == 1800
    assert len(read_audio(tmp_path / "l.sln").samples) == 1200 * 8
    assert limited.result.duration == 2  # 3 less (2000 - 200) / 1000
    digit = Recorder("d", tmp_path / "d.wav", "wav", terminate_on="#", max_silence_seconds=5)
    digit.start()
    _feed(digit, np.concatenate([tone(500, 1000), np.zeros(4000, np.int16)]))
    assert digit.dtmf("#")
    assert digit.result is not None and digit.result.trimmed_ms == 300
    assert len(read_audio(tmp_path / "d.wav").samples) == 1200 * 8


def test_a_stopped_recording_or_one_without_silence_detection_is_not_trimmed(
    tmp_path: Path,
) -> None:
    stopped = Recorder("s", tmp_path / "s.wav", "wav", max_silence_seconds=5)
    stopped.start()
    _feed(stopped, np.concatenate([tone(500, 1000), np.zeros(12000, np.int16)]))
    stopped.stop()
    assert stopped.result is not None and stopped.result.state is RecordingState.DONE
    assert stopped.result.trimmed_ms == 0
    assert len(read_audio(tmp_path / "s.wav").samples) == 2500 * 8
    assert stopped.result.duration == 1  # 2 less (1500 - 200) / 1000 (duration still shrinks)
    plain = Recorder("p", tmp_path / "p.wav", "wav", max_duration_seconds=2)
    plain.start()
    _feed(plain, np.concatenate([tone(500, 500), np.zeros(12000, np.int16)]))
    assert plain.result is not None and plain.result.trimmed_ms == 0
    assert len(read_audio(tmp_path / "p.wav").samples) == 16000
    assert plain.result.duration == 2


def test_wideband_recording_trims_in_its_own_rate(tmp_path: Path) -> None:
    rec = Recorder("w", tmp_path / "w.wav16", "wav16", max_silence_seconds=1)
    rec.start()
    _feed(rec, np.concatenate([tone(500, 1000), np.zeros(8000 * 2, np.int16)]))
    assert rec.result is not None and rec.result.cause == "max_silence"
    audio = read_audio(tmp_path / "w.wav16")
    assert audio.rate == 16000 and len(audio.samples) == (1000 + 200) * 16


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


# --- Background and multi-digit extensions -------------------------------------------------

BACKGROUND_DIALPLAN = """
[bg]
exten => s,1,Answer()
 same => n,Set(TIMEOUT(digit)=1)
 same => n,Background(hello-world)
 same => n,Set(RESULT=no-key)
 same => n,Hangup()
exten => 1,1,Set(RESULT=one)
 same => n,Hangup()
exten => 12,1,Set(RESULT=twelve)
 same => n,Hangup()
exten => _4X,1,Set(RESULT=forty-${EXTEN:1})
 same => n,Hangup()
exten => 5,1,Set(RESULT=five)
 same => n,Hangup()
exten => i,1,Set(RESULT=invalid-${INVALID_EXTEN})
 same => n,Hangup()

[bg-noi]
exten => s,1,Answer()
 same => n,Background(hello-world)
 same => n,Set(RESULT=no-key)
exten => 77,1,Set(RESULT=77)
"""


@pytest.fixture
async def bg_server(tmp_path: Path) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    write_samples(conf)
    with (conf / "extensions.conf").open("a") as f:
        f.write(BACKGROUND_DIALPLAN)
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def _dial_keys(server: Server, keys: str, context: str = "bg") -> tuple[Any, float]:
    """Call ``s@context``, press ``keys`` during Background; the channel and the
    seconds from the last key to the end of the call."""
    phone = server.sim.phone("kim", listen=True)
    chan = phone.call("s", context)
    await wait_for(lambda: len(phone.heard()) >= 1600)
    await phone.send_dtmf(keys, duration_ms=80, between_ms=80)
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    await wait_for(lambda: chan.destroyed, timeout=10)
    return chan, loop.time() - pressed


async def test_background_collects_a_two_digit_extension(bg_server: Server) -> None:
    chan, elapsed = await _dial_keys(bg_server, "12")
    assert chan.variables["RESULT"] == "twelve"
    assert elapsed < 0.9  # no more key could match: no digit timeout
    chan, _ = await _dial_keys(bg_server, "47")
    assert chan.variables["RESULT"] == "forty-7"


async def test_background_waits_the_digit_timeout_for_a_longer_match(bg_server: Server) -> None:
    # "1" is an extension, but "12" could follow: the PBX waits TIMEOUT(digit) (1 s).
    chan, elapsed = await _dial_keys(bg_server, "1")
    assert chan.variables["RESULT"] == "one"
    assert elapsed >= 0.9
    assert chan.variables["TIMEOUT(digit)"] == "1.000"


async def test_background_single_key_and_invalid_extensions(bg_server: Server) -> None:
    chan, elapsed = await _dial_keys(bg_server, "5")
    assert chan.variables["RESULT"] == "five" and elapsed < 0.9
    chan, _ = await _dial_keys(bg_server, "13")
    assert chan.variables["RESULT"] == "invalid-13"
    chan, _ = await _dial_keys(bg_server, "4")  # _4X wants one more key: timeout, invalid
    assert chan.variables["RESULT"] == "invalid-4"
    # No i extension: the call ends (Asterisk: "no rule 'i' or 'e'"), not the next priority.
    chan, _ = await _dial_keys(bg_server, "78", context="bg-noi")
    assert "RESULT" not in chan.variables
    chan, _ = await _dial_keys(bg_server, "77", context="bg-noi")
    assert chan.variables["RESULT"] == "77"


# --- holding bridges -----------------------------------------------------------------------


async def test_ari_holding_bridge_participants_hear_no_music_until_asked(
    server: Server, http: aiohttp.ClientSession
) -> None:
    # Stasis puts holding participants in idle_mode "none" (Asterisk's bridge_stasis_push).
    waiting = server.sim.phone("waiting", listen=True)
    async with app_events(http, "t") as events:
        w = await stasis_channel(http, events, endpoint="Sim/waiting")
        await call(http, "POST", "/bridges/hold", params={"type": "holding"})
        status, _ = await call(http, "POST", "/bridges/hold/addChannel", params={"channel": w})
        assert status == 204
        await events.wait("ChannelEnteredBridge", w)
        engine = server.media.engine
        start = engine.ticks
        await wait_for(lambda: engine.ticks >= start + 50)  # one second of media
        assert len(loud(waiting.heard(), 50)) == 0
        status, _ = await call(http, "POST", "/bridges/hold/moh")
        assert status == 204
        await wait_for(lambda: len(loud(waiting.heard(), 50)) >= 4000)
