"""Audio through channels: Local halves relay, simulated phones speak and hear,
mixing bridges mix, inband DTMF, talk detection, snoop."""

from __future__ import annotations

import aiohttp
import numpy as np

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import best_correlation, level, loud, sound, tone, wav_samples
from conftest import wait_for
from pyari.server import Server


def recdir(server: Server):  # type: ignore[no-untyped-def]
    return server.config.asterisk.astspooldir / "recording"


async def test_tone_on_one_local_half_is_recorded_on_the_other(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as t, app_events(http, "hello") as hello:
        status, one = await call(
            http, "POST", "/channels", params={"endpoint": "Local/1000@ARI-test", "app": "t"}
        )
        assert status == 200
        await t.wait("StasisStart", one["id"])
        two = (await hello.wait("StasisStart"))["channel"]["id"]
        status, rec = await call(
            http,
            "POST",
            f"/channels/{one['id']}/record",
            params={"name": "local-tone", "format": "wav", "maxDurationSeconds": 1},
        )
        assert status == 201, rec
        await t.wait("RecordingStarted", None)
        status, _ = await call(http, "POST", f"/channels/{two}/play", params={"media": "tone:1000"})
        assert status == 201
        finished = await t.wait("RecordingFinished")
        assert finished["recording"]["duration"] == 1
    samples = wav_samples(recdir(server) / "local-tone.wav")
    assert len(samples) == 8000
    assert level(samples, 1000) > 1000
    assert level(samples, 1000) > 20 * level(samples, 700)


async def test_a_phone_speaking_in_a_mixing_bridge_is_heard_by_the_others(
    server: Server, http: aiohttp.ClientSession
) -> None:
    alice = server.sim.phone("alice")
    bob = server.sim.phone("bob", listen=True)
    carol = server.sim.phone("carol", listen=True, codec="alaw")
    async with app_events(http, "t") as events:
        ids = [
            await stasis_channel(http, events, endpoint=f"Sim/{name}")
            for name in ("alice", "bob", "carol")
        ]
        await call(http, "POST", "/bridges/mix")
        status, _ = await call(
            http, "POST", "/bridges/mix/addChannel", params={"channel": ",".join(ids)}
        )
        assert status == 204
        await alice.play(tone(700, 600))
        await carol.play(tone(1300, 600))
        await wait_for(lambda: len(loud(bob.heard())) >= 8000)
    heard_bob = loud(bob.heard())
    heard_carol = loud(carol.heard())
    assert level(heard_bob, 700) > 1000 and level(heard_bob, 1300) > 1000
    # Mix minus: carol hears alice, not herself.
    assert level(heard_carol, 700) > 1000
    assert level(heard_carol, 1300) < 100
    assert len(loud(alice.heard())) > 0 and level(loud(alice.heard()), 700) < 100


async def test_two_party_same_codec_bridge_passes_frames_through(
    server: Server, http: aiohttp.ClientSession
) -> None:
    alice = server.sim.phone("alice")
    bob = server.sim.phone("bob", listen=True)
    async with app_events(http, "t") as events:
        a = await stasis_channel(http, events, endpoint="Sim/alice")
        b = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", "/bridges/pair")
        await call(http, "POST", "/bridges/pair/addChannel", params={"channel": f"{a},{b}"})
        await alice.play(sound("hello"))
        await wait_for(lambda: len(loud(bob.heard())) > 4000)
    assert server.media.engine.bridges["pair"].passthrough_ticks > 0
    assert best_correlation(bob.heard(), sound("hello")) > 0.95


async def test_inband_dtmf_from_a_phone_is_detected(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = server.sim.phone("alice", dtmf_mode="inband")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events, endpoint="Sim/alice")
        await phone.send_dtmf("4#", duration_ms=120)
        await events.wait("ChannelDtmfReceived", cid, count=2)
        got = [(e["digit"], e["duration_ms"]) for e in events.of("ChannelDtmfReceived", cid)]
    assert [d for d, _ in got] == ["4", "#"]
    assert all(100 <= ms <= 160 for _, ms in got)


async def test_dtmf_sent_to_a_phone_and_out_of_band_from_it(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events, endpoint="Sim/alice")
        status, _ = await call(
            http, "POST", f"/channels/{cid}/dtmf", params={"dtmf": "12", "duration": 50}
        )
        assert status == 204
        await wait_for(lambda: phone.received_dtmf == ["1", "2"])
        await phone.send_dtmf("9")
        event = await events.wait("ChannelDtmfReceived", cid)
        assert event["digit"] == "9"


async def test_talk_detection_set_through_the_channel_variable(
    server: Server, http: aiohttp.ClientSession
) -> None:
    phone = server.sim.phone("alice")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events, endpoint="Sim/alice")
        status, _ = await call(
            http,
            "POST",
            f"/channels/{cid}/variable",
            params={"variable": "TALK_DETECT(set)", "value": "300"},
        )
        assert status == 204
        await phone.play(tone(440, 500))
        await events.wait("ChannelTalkingStarted", cid)
        finished = await events.wait("ChannelTalkingFinished", cid)
        assert 400 <= finished["duration"] <= 600
        status, _ = await call(
            http,
            "POST",
            f"/channels/{cid}/variable",
            params={"variable": "TALK_DETECT(remove)", "value": ""},
        )
        assert status == 204
        await phone.play(tone(440, 200))
        assert len(events.of("ChannelTalkingStarted", cid)) == 1


async def test_snoop_spies_and_whispers(server: Server, http: aiohttp.ClientSession) -> None:
    alice = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events, app_events(http, "spy") as spy:
        cid = await stasis_channel(http, events, endpoint="Sim/alice")
        status, snoop = await call(
            http,
            "POST",
            f"/channels/{cid}/snoop/snoop1",
            params={"app": "spy", "spy": "in", "whisper": "out", "appArgs": "a,b"},
        )
        assert status == 200, snoop
        assert snoop["id"] == "snoop1"
        assert snoop["name"].startswith(f"Snoop/{cid}-")
        start = await spy.wait("StasisStart", "snoop1")
        assert start["args"] == ["a", "b"]
        status, _ = await call(
            http,
            "POST",
            "/channels/snoop1/record",
            params={"name": "spied", "format": "wav", "maxDurationSeconds": 1},
        )
        assert status == 201
        await spy.wait("RecordingStarted")
        await alice.play(tone(900, 600))
        await spy.wait("RecordingFinished")
        status, _ = await call(http, "POST", "/channels/snoop1/play", params={"media": "tone:1500"})
        assert status == 201
        await wait_for(lambda: level(alice.heard()[-1600:], 1500) > 500)
        status, _ = await call(http, "DELETE", f"/channels/{cid}")
        await spy.wait("StasisEnd", "snoop1")
    spied = wav_samples(recdir(server) / "spied.wav")
    assert level(spied, 900) > 1000
    assert np.abs(spied).max() > 0
