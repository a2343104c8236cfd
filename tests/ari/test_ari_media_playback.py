"""Playback on channels and bridges: events of media lists, what the caller hears,
controls and their 409s, failures that do not stall anyone else."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import best_correlation, level, loud, sound
from conftest import wait_for
from pyari.server import Server

PLAYBACK_EVENTS = ("PlaybackStarted", "PlaybackContinuing", "PlaybackFinished")


def playback_events(items: list[dict], pid: str) -> list[tuple[str, dict]]:
    return [
        (e["type"], e["playback"])
        for e in items
        if e["type"] in PLAYBACK_EVENTS and e["playback"]["id"] == pid
    ]


async def test_media_list_is_one_playback_with_events_per_item(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        async with http.post(
            f"/ari/channels/{cid}/play/pb1", params={"media": "sound:beep,sound:digits/1"}
        ) as r:
            assert r.status == 201
            assert r.headers["Location"] == "/ari/playbacks/pb1"
            body = await r.json()
        assert body == {
            "id": "pb1",
            "media_uri": "sound:beep",
            "next_media_uri": "sound:digits/1",
            "target_uri": f"channel:{cid}",
            "language": "en",
            "state": "queued",
        }
        await events.wait("PlaybackFinished")
        got = playback_events(events.items, "pb1")
    base = {"id": "pb1", "target_uri": f"channel:{cid}", "language": "en"}
    assert got == [
        ("PlaybackStarted", {**base, "media_uri": "sound:beep",
                             "next_media_uri": "sound:digits/1", "state": "playing"}),
        ("PlaybackContinuing", {**base, "media_uri": "sound:beep",
                                "next_media_uri": "sound:digits/1", "state": "continuing"}),
        ("PlaybackStarted", {**base, "media_uri": "sound:digits/1", "state": "playing"}),
        ("PlaybackFinished", {**base, "media_uri": "sound:digits/1", "state": "done"}),
    ]  # fmt: skip
    status, body = await call(http, "GET", "/playbacks/pb1")
    assert (status, body) == (404, {"message": "Playback not found"})


async def test_a_phone_hears_the_sound_file(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _ = await call(
            http, "POST", f"/channels/{cid}/play", params={"media": "sound:hello", "lang": "en"}
        )
        assert status == 201
        await events.wait("PlaybackFinished")
    heard = loud(phone.heard())
    reference = sound("hello")
    assert abs(len(heard) - len(loud(reference))) < 1600
    assert best_correlation(phone.heard(), reference) > 0.95


async def test_offsetms_skips_the_start(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        await call(
            http,
            "POST",
            f"/channels/{cid}/play",
            params={"media": "sound:hello-world", "offsetms": 600},
        )
        await events.wait("PlaybackFinished")
    reference = sound("hello-world")
    assert best_correlation(phone.heard(), reference[4800:]) > 0.95
    assert best_correlation(phone.heard(), reference[1600:4800]) < 0.6


async def test_bad_media_fails_without_stalling_another_call(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    bob = server.sim.phone("bob", listen=True)
    async with app_events(http, "t") as events:
        alice_id = await stasis_channel(http, events, endpoint="Sim/alice")
        bob_id = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", f"/channels/{bob_id}/play/good", params={"media": "sound:hello"})
        bad = ["sound:no-such-sound", "foo:bar", f"sound:{tmp_path}/corrupt", "number:x"]
        for i, uri in enumerate(bad):
            status, _ = await call(
                http, "POST", f"/channels/{alice_id}/play/bad{i}", params={"media": uri}
            )
            assert status == 201
        for i in range(len(bad)):
            await wait_for(
                lambda i=i: any(
                    t == "PlaybackFinished" for t, _ in playback_events(events.items, f"bad{i}")
                )
            )
            got = playback_events(events.items, f"bad{i}")
            assert [(t, p["state"]) for t, p in got] == [
                ("PlaybackStarted", "playing"),
                ("PlaybackFinished", "failed"),
            ], bad[i]
        # A failed item in a list continues with the next one.
        await call(
            http,
            "POST",
            f"/channels/{alice_id}/play/mixed",
            params={"media": "sound:no-such-sound,sound:beep"},
        )
        await wait_for(
            lambda: any(t == "PlaybackFinished" for t, _ in playback_events(events.items, "mixed"))
        )
        got = playback_events(events.items, "mixed")
        assert [(t, p["media_uri"], p["state"]) for t, p in got] == [
            ("PlaybackStarted", "sound:no-such-sound", "playing"),
            ("PlaybackContinuing", "sound:no-such-sound", "continuing"),
            ("PlaybackStarted", "sound:beep", "playing"),
            ("PlaybackFinished", "sound:beep", "done"),
        ]
        await wait_for(
            lambda: any(t == "PlaybackFinished" for t, _ in playback_events(events.items, "good"))
        )
    assert best_correlation(bob.heard(), sound("hello")) > 0.95
    assert server.media.clock.stats.errors == 0


async def test_controls_and_their_conflicts(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        await call(http, "POST", f"/channels/{cid}/play/first", params={"media": "tone:440"})
        await call(http, "POST", f"/channels/{cid}/play/second", params={"media": "sound:beep"})
        await events.wait("PlaybackStarted")
        status, body = await call(http, "GET", "/playbacks/second")
        assert (status, body["state"]) == (200, "queued")
        status, body = await call(http, "POST", "/playbacks/second/control?operation=pause")
        assert (status, body) == (409, {"message": "Can only pause while media is playing"})
        status, body = await call(http, "POST", "/playbacks/second/control?operation=forward")
        assert (status, body) == (409, {"message": "Can only forward while media is playing"})
        status, body = await call(http, "POST", "/channels/" + cid + "/play/first?media=x:y")
        assert (status, body) == (409, {"message": "Playback with id 'first' already exists"})
        status, _ = await call(http, "POST", "/playbacks/first/control?operation=pause")
        assert status == 204
        status, body = await call(http, "GET", "/playbacks/first")
        assert body["state"] == "paused"
        status, body = await call(http, "POST", "/playbacks/first/control?operation=restart")
        assert (status, body) == (409, {"message": "Can only restart while media is playing"})
        status, _ = await call(http, "POST", "/playbacks/first/control?operation=unpause")
        assert status == 204
        await events.wait("PlaybackStarted", count=2)  # unpause announces playing again
        status, _ = await call(http, "DELETE", "/playbacks/first")
        assert status == 204
        await wait_for(
            lambda: any(t == "PlaybackStarted" for t, _ in playback_events(events.items, "second"))
        )
        await wait_for(
            lambda: any(t == "PlaybackFinished" for t, _ in playback_events(events.items, "second"))
        )
        first = playback_events(events.items, "first")
        assert [t for t, _ in first] == [
            "PlaybackStarted",
            "PlaybackStarted",
            "PlaybackFinished",
        ]
        assert first[-1][1]["state"] == "done"
    status, body = await call(http, "DELETE", "/playbacks/first")
    assert (status, body) == (404, {"message": "Playback not found"})


async def test_bridge_playback_is_heard_by_every_member(
    server: Server, http: aiohttp.ClientSession
) -> None:
    bob = server.sim.phone("bob", listen=True)
    carol = server.sim.phone("carol", listen=True)
    async with app_events(http, "t") as events:
        ids = [await stasis_channel(http, events, endpoint=f"Sim/{n}") for n in ("bob", "carol")]
        await call(http, "POST", "/bridges/conf")
        await call(http, "POST", "/bridges/conf/addChannel", params={"channel": ",".join(ids)})
        await events.wait("ChannelEnteredBridge", count=2)
        async with http.post("/ari/bridges/conf/play", params={"media": "sound:hello"}) as r:
            assert r.status == 201
            body = await r.json()
            assert r.headers["Location"] == f"/ari/playbacks/{body['id']}"
        assert body["target_uri"] == "bridge:conf"
        finished = await events.wait("PlaybackFinished")
        assert finished["playback"]["state"] == "done"
    for phone in (bob, carol):
        assert best_correlation(phone.heard(), sound("hello")) > 0.95


async def test_tone_playback_and_language(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        await call(
            http, "POST", f"/channels/{cid}/play/t1", params={"media": "tone:1000", "lang": "fr"}
        )
        started = await events.wait("PlaybackStarted")
        assert started["playback"]["language"] == "fr"
        await wait_for(lambda: len(loud(phone.heard())) >= 4000)
        await call(http, "DELETE", "/playbacks/t1")
        await events.wait("PlaybackFinished")
    heard = loud(phone.heard())
    assert level(heard, 1000) > 1000
