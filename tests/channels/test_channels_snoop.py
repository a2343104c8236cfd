"""Snoop channels (channels/snoop.py): whisper into what a channel says or hears,
heard by the far end, the target or both; a spy hears the channel alone."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import level, tone, wav_samples
from conftest import wait_for
from core.core_helpers import NullTech
from pyari.channels.snoop import SnoopTech
from pyari.core.engine import Core
from pyari.core.tech import BadDialString
from pyari.media.service import MediaService
from pyari.server import Server


async def _whispered_pair(
    server: Server, http: aiohttp.ClientSession, whisper: str
) -> tuple[object, object]:
    """Sim alice and bob bridged, a snoop on alice whispering ``whisper`` plays 1500 Hz
    while alice says 700 Hz; returns the two phones once bob has heard enough."""
    alice = server.sim.phone("alice", listen=True)
    bob = server.sim.phone("bob", listen=True)
    async with app_events(http, "t") as events, app_events(http, "spy") as spy:
        a = await stasis_channel(http, events, endpoint="Sim/alice")
        b = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", "/bridges/pair")
        status, _ = await call(
            http, "POST", "/bridges/pair/addChannel", params={"channel": f"{a},{b}"}
        )
        assert status == 204
        status, snoop = await call(
            http,
            "POST",
            f"/channels/{a}/snoop/sn1",
            params={"app": "spy", "whisper": whisper},
        )
        assert status == 200, snoop
        await spy.wait("StasisStart", "sn1")
        status, _ = await call(
            http, "POST", "/channels/sn1/play/w1", params={"media": "tone:1500/1000"}
        )
        assert status == 201
        await spy.wait("PlaybackStarted")
        mark_bob, mark_alice = len(bob.heard()), len(alice.heard())
        await alice.play(tone(700, 800))
        await wait_for(lambda: len(bob.heard()) - mark_bob >= 6400)
        heard_bob = bob.heard()[mark_bob + 800 : mark_bob + 6400]
        heard_alice = alice.heard()[mark_alice + 800 :]
        await call(http, "DELETE", "/channels/sn1")
        await spy.wait("StasisEnd", "sn1")
    return heard_bob, heard_alice


async def test_whisper_in_is_heard_by_the_far_end_mixed_with_the_target_voice(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "in")
    assert level(bob, 700) > 2000  # alice's own voice still reaches bob
    assert level(bob, 1500) > 2000  # and the whisper is mixed into it
    assert level(alice, 1500) < 100  # alice herself does not hear the whisper


async def test_whisper_out_is_heard_by_the_target_only(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "out")
    assert level(bob, 700) > 2000
    assert level(bob, 1500) < 100
    assert level(alice, 1500) > 2000


async def test_whisper_both_is_heard_on_both_sides(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob, alice = await _whispered_pair(server, http, "both")
    assert level(bob, 700) > 2000 and level(bob, 1500) > 2000
    assert level(alice, 1500) > 2000


async def test_a_spy_in_does_not_hear_another_snoop_whispering_in(
    server: Server, http: aiohttp.ClientSession
) -> None:
    # Asterisk runs spy audiohooks before whisper ones: a spy hears the channel alone.
    alice = server.sim.phone("alice")
    async with app_events(http, "t") as events, app_events(http, "spy") as spy:
        a = await stasis_channel(http, events, endpoint="Sim/alice")
        for sid, params in (("w", {"whisper": "in"}), ("s", {"spy": "in"})):
            status, _ = await call(
                http, "POST", f"/channels/{a}/snoop/{sid}", params={"app": "spy", **params}
            )
            assert status == 200
            await spy.wait("StasisStart", sid)
        status, _ = await call(http, "POST", "/channels/w/play", params={"media": "tone:1500"})
        assert status == 201
        await spy.wait("PlaybackStarted")
        status, _ = await call(
            http,
            "POST",
            "/channels/s/record",
            params={"name": "spy-whisper", "format": "wav", "maxDurationSeconds": 1},
        )
        assert status == 201
        await spy.wait("RecordingStarted")
        await alice.play(tone(700, 1200))
        await spy.wait("RecordingFinished")
    spied = wav_samples(server.config.asterisk.astspooldir / "recording" / "spy-whisper.wav")
    assert level(spied, 700) > 1000
    assert level(spied, 1500) < 100


async def test_a_snoop_channel_is_up_shares_the_linkedid_and_takes_its_taps_away(
    tmp_path: Path,
) -> None:
    core = Core()
    media = MediaService(
        core, sounds_dir=lambda: tmp_path, recording_dir=lambda: tmp_path, moh_classes=dict
    )
    target = core.new_channel(NullTech(), "Null/1", state="Up")
    tech = SnoopTech()
    snoop = tech.snoop(core, media, target, spy="both", whisper="out", uniqueid="sn-1")
    assert snoop.name == f"Snoop/{target.id}-00000001" and snoop.id == "sn-1"
    assert snoop.state == "Up" and snoop.linkedid == target.linkedid
    assert core.channels["sn-1"] is snoop
    stream = media.stream(target)
    assert stream.taps_in and stream.taps_out and stream.whispers
    snoop.destroy()
    assert not stream.taps_in and not stream.taps_out and not stream.whispers
    with pytest.raises(BadDialString):
        tech.request(core, "x", uniqueid=None, other_id=None)
