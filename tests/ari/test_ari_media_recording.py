"""Live recording of channels and bridges: files with the expected audio, limits,
DTMF termination, ifExists, live operations and their 409s, failures."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import numpy as np

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import level, tone, wav_samples
from conftest import wait_for
from pyari.media.codecs import alaw_decode, ulaw_decode
from pyari.server import Server


def recdir(server: Server) -> Path:
    return server.config.asterisk.astspooldir / "recording"


async def record(
    http: aiohttp.ClientSession, cid: str, **params: object
) -> tuple[int, dict, dict[str, str]]:
    async with http.post(f"/ari/channels/{cid}/record", params=params) as r:
        return r.status, await r.json(), dict(r.headers)


async def test_recording_a_channel_captures_what_the_phone_says(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body, headers = await record(
            http, cid, name="calls/one", format="wav", maxDurationSeconds=2
        )
        assert status == 201
        assert headers["Location"] == "/ari/recordings/live/calls%2Fone"
        assert body == {
            "name": "calls/one",
            "format": "wav",
            "state": "queued",
            "target_uri": f"channel:{cid}",
        }
        started = await events.wait("RecordingStarted")
        assert started["recording"]["state"] == "recording"
        status, live = await call(http, "GET", "/recordings/live/calls%2Fone")
        assert (status, live["state"]) == (200, "recording")
        await phone.play(tone(1200, 800))
        finished = await events.wait("RecordingFinished")
    assert finished["recording"] == {
        "name": "calls/one",
        "format": "wav",
        "state": "done",
        "target_uri": f"channel:{cid}",
        "duration": 2,
    }
    samples = wav_samples(recdir(server) / "calls" / "one.wav")
    assert len(samples) == 16000
    assert level(samples, 1200) > 1000
    status, body = await call(http, "GET", "/recordings/stored/calls%2Fone")
    assert (status, body) == (200, {"name": "calls/one", "format": "wav"})
    status, body = await call(http, "GET", "/recordings/live/calls%2Fone")
    assert (status, body) == (404, {"message": "Recording not found"})


async def test_g711_and_slin_formats(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        for fmt in ("ulaw", "alaw", "sln"):
            status, _, _ = await record(http, cid, name=f"f-{fmt}", format=fmt)
            assert status == 201
            await events.wait("RecordingStarted", count=("ulaw", "alaw", "sln").index(fmt) + 1)
            await phone.play(tone(800, 400))
            status, _ = await call(http, "POST", f"/recordings/live/f-{fmt}/stop")
            assert status == 204
            await events.wait("RecordingFinished", count=("ulaw", "alaw", "sln").index(fmt) + 1)
    raw = {fmt: (recdir(server) / f"f-{fmt}.{fmt}").read_bytes() for fmt in ("ulaw", "alaw", "sln")}
    decoded = {
        "ulaw": ulaw_decode(np.frombuffer(raw["ulaw"], np.uint8)),
        "alaw": alaw_decode(np.frombuffer(raw["alaw"], np.uint8)),
        "sln": np.frombuffer(raw["sln"], "<i2"),
    }
    for fmt, samples in decoded.items():
        assert level(samples, 800) > 500, fmt


async def test_max_silence_and_durations(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _, _ = await record(http, cid, name="quiet", format="wav", maxSilenceSeconds=1)
        assert status == 201
        await events.wait("RecordingStarted")
        await phone.play(tone(500, 1100))
        finished = await events.wait("RecordingFinished")
    rec = finished["recording"]
    assert rec["state"] == "done"
    # Talking time is the length less the silence beyond 200 ms (whole seconds): 1 or 2
    # depending on how much silence preceded the tone.
    assert 1 <= rec["talking_duration"] <= 2
    assert rec["duration"] == 2
    assert rec["silence_duration"] == rec["duration"] - rec["talking_duration"]


async def test_terminate_on_dtmf_and_beep(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _, _ = await record(
            http, cid, name="keyed", format="wav", terminateOn="#", beep="true"
        )
        assert status == 201
        await events.wait("RecordingStarted")
        await phone.send_dtmf("1")
        await phone.send_dtmf("#")
        finished = await events.wait("RecordingFinished")
        assert finished["recording"]["state"] == "done"
    assert (recdir(server) / "keyed.wav").exists()
    assert len(events.of("RecordingFinished")) == 1


async def test_if_exists_rules(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice")
    (recdir(server)).mkdir(parents=True, exist_ok=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _, _ = await record(http, cid, name="x", format="wav", maxDurationSeconds=1)
        await events.wait("RecordingFinished")
        # Another format of the same name also exists for ifExists=fail.
        status, body, _ = await record(http, cid, name="x", format="ulaw")
        assert (status, body) == (
            409,
            {"message": "Recording 'x' already exists and can not be overwritten"},
        )
        status, _, _ = await record(
            http, cid, name="x", format="wav", ifExists="append", maxDurationSeconds=1
        )
        assert status == 201
        await events.wait("RecordingFinished", count=2)
        assert len(wav_samples(recdir(server) / "x.wav")) == 16000
        status, _, _ = await record(
            http, cid, name="x", format="wav", ifExists="overwrite", maxDurationSeconds=1
        )
        assert status == 201
        await phone.play(tone(600, 100))
        await events.wait("RecordingFinished", count=3)
        assert len(wav_samples(recdir(server) / "x.wav")) == 8000
        status, body, _ = await record(http, cid, name="../../escape", format="wav")
        assert (status, body) == (400, {"message": "Recording name invalid"})


async def test_live_operations_and_conflicts(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        # A playback holds the channel's commands: the recording waits, queued.
        await call(http, "POST", f"/channels/{cid}/play/hold", params={"media": "tone:440"})
        status, body, _ = await record(http, cid, name="later", format="wav")
        assert body["state"] == "queued"
        for method, op in [("POST", "/pause"), ("DELETE", "/pause"), ("POST", "/mute")]:
            status, body = await call(http, method, f"/recordings/live/later{op}")
            assert (status, body) == (409, {"message": "Recording not in session"}), op
        status, _ = await call(http, "DELETE", "/recordings/live/later")
        assert status == 204
        status, body, _ = await record(http, cid, name="live", format="wav")
        status, _ = await call(http, "DELETE", "/playbacks/hold")
        finished = await events.wait("RecordingFinished")
        assert finished["recording"]["name"] == "later"
        assert finished["recording"]["state"] == "canceled"
        await events.wait("RecordingStarted")
        for method, op, state in [
            ("POST", "/pause", "paused"),
            ("POST", "/pause", "paused"),
            ("POST", "/mute", "paused"),
            ("DELETE", "/pause", "recording"),
            ("DELETE", "/mute", "recording"),
        ]:
            status, _ = await call(http, method, f"/recordings/live/live{op}")
            assert status == 204, op
            status, body = await call(http, "GET", "/recordings/live/live")
            assert body["state"] == state, op
        status, _ = await call(http, "DELETE", "/recordings/live/live")
        assert status == 204
        finished = await events.wait("RecordingFinished", count=2)
        assert finished["recording"]["state"] == "canceled"
        await wait_for(lambda: not (recdir(server) / "live.wav").exists())
        assert not (recdir(server) / "later.wav").exists()


async def test_recording_in_a_bridge_fails_and_blocks_joining(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        other = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", "/bridges/b1")
        status, _, _ = await record(http, cid, name="rec1", format="wav")
        await events.wait("RecordingStarted")
        status, body = await call(http, "POST", "/bridges/b1/addChannel", params={"channel": cid})
        assert (status, body) == (409, {"message": f"Channel {cid} currently recording"})
        await call(http, "POST", "/recordings/live/rec1/stop")
        await events.wait("RecordingFinished")
        await call(http, "POST", "/bridges/b1/addChannel", params={"channel": other})
        await events.wait("ChannelEnteredBridge", other)
        status, _, _ = await record(http, other, name="rec2", format="wav")
        assert status == 201
        failed = await events.wait("RecordingFailed")
    assert failed["recording"]["state"] == "failed"
    assert failed["recording"]["cause"] == "Cannot record channel while in bridge"


async def test_recording_a_bridge_captures_the_mix(
    server: Server, http: aiohttp.ClientSession
) -> None:
    alice = server.sim.phone("alice")
    bob = server.sim.phone("bob")
    async with app_events(http, "t") as events:
        ids = [await stasis_channel(http, events, endpoint=f"Sim/{n}") for n in ("alice", "bob")]
        await call(http, "POST", "/bridges/mix")
        await call(http, "POST", "/bridges/mix/addChannel", params={"channel": ",".join(ids)})
        async with http.post(
            "/ari/bridges/mix/record", params={"name": "conf", "format": "wav"}
        ) as r:
            assert r.status == 201
            assert r.headers["Location"] == "/ari/recordings/live/conf"
            assert (await r.json())["target_uri"] == "bridge:mix"
        await events.wait("RecordingStarted")
        await alice.play(tone(700, 400))
        await bob.play(tone(1100, 400))
        status, _ = await call(http, "POST", "/recordings/live/conf/stop")
        assert status == 204
        finished = await events.wait("RecordingFinished")
        assert finished["recording"]["target_uri"] == "bridge:mix"
    samples = wav_samples(recdir(server) / "conf.wav")
    assert level(samples, 700) > 500 and level(samples, 1100) > 500
