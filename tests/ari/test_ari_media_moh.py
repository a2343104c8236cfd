"""Music on hold (musiconhold.conf default class: Debian's opsound files), channel
silence, holding bridges with participants and announcers."""

from __future__ import annotations

import aiohttp
import numpy as np

from ari.ari_ops_helpers import app_events, call, stasis_channel
from ari.media_audio_helpers import MOH_DIR, best_correlation, level, loud, tone
from conftest import wait_for
from pyari.media.files import read_audio
from pyari.server import Server

FIRST_MOH = MOH_DIR / "macroform-cold_day.wav"


def moh_start() -> np.ndarray:
    return read_audio(FIRST_MOH).samples[:16000]


async def test_default_class_is_debian_opsound(server: Server) -> None:
    cls = server.moh["default"]
    assert cls.directory == MOH_DIR
    assert cls.mode == "files"


async def test_channel_music_on_hold(server: Server, http: aiohttp.ClientSession) -> None:
    phone = server.sim.phone("alice", listen=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, _ = await call(http, "POST", f"/channels/{cid}/moh")
        assert status == 204
        await wait_for(lambda: len(loud(phone.heard(), 50)) >= 8000)
        status, _ = await call(http, "DELETE", f"/channels/{cid}/moh")
        assert status == 204
        heard_until = len(phone.heard())
        await wait_for(lambda: len(phone.heard()) >= heard_until + 4000)
    # Alphabetical order: the first file of the class, from its start.
    assert best_correlation(phone.heard(), moh_start()[:4000]) > 0.9
    after = phone.heard()[heard_until + 800 :]
    assert np.abs(after).max() == 0


async def test_channel_silence(server: Server, http: aiohttp.ClientSession) -> None:
    async with app_events(http, "t") as t, app_events(http, "hello") as hello:
        status, one = await call(
            http, "POST", "/channels", params={"endpoint": "Local/1000@ARI-test", "app": "t"}
        )
        two = (await hello.wait("StasisStart"))["channel"]["id"]
        await t.wait("StasisStart", one["id"])
        status, _ = await call(http, "POST", f"/channels/{two}/silence")
        assert status == 204
        await wait_for(lambda: two in server.media.engine.streams)
        stream = server.media.engine.streams[two]
        await wait_for(lambda: stream.frames_out >= 5)
        status, _ = await call(http, "DELETE", f"/channels/{two}/silence")
        assert status == 204
        await wait_for(lambda: not stream.emit_silence)
        sent = stream.frames_out
        clock = server.media.clock
        ticks = clock.ticks
        await wait_for(lambda: clock.ticks >= ticks + 5)
        assert stream.frames_out <= sent + 1


async def test_bridge_music_on_hold(server: Server, http: aiohttp.ClientSession) -> None:
    bob = server.sim.phone("bob", listen=True)
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events, endpoint="Sim/bob")
        await call(http, "POST", "/bridges/b")
        await call(http, "POST", "/bridges/b/addChannel", params={"channel": cid})
        status, _ = await call(http, "POST", "/bridges/b/moh", params={"mohClass": "default"})
        assert status == 204
        await wait_for(lambda: len(loud(bob.heard(), 50)) >= 8000)
        status, _ = await call(http, "DELETE", "/bridges/b/moh")
        assert status == 204
    assert best_correlation(bob.heard(), moh_start()[:4000]) > 0.9


async def test_holding_bridge_participants_and_announcer(
    server: Server, http: aiohttp.ClientSession
) -> None:
    waiting = server.sim.phone("waiting", listen=True)
    host = server.sim.phone("host", listen=True)
    async with app_events(http, "t") as events:
        w = await stasis_channel(http, events, endpoint="Sim/waiting")
        h = await stasis_channel(http, events, endpoint="Sim/host")
        await call(http, "POST", "/bridges/hold", params={"type": "holding"})
        await call(http, "POST", "/bridges/hold/addChannel", params={"channel": w})
        await events.wait("ChannelEnteredBridge", w)
        # ARI holding bridge participants have idle_mode none: no music on hold.
        await call(
            http, "POST", "/bridges/hold/addChannel", params={"channel": h, "role": "announcer"}
        )
        await events.wait("ChannelEnteredBridge", h)
        mark = len(waiting.heard())
        await host.play(tone(1000, 600))
        await wait_for(lambda: level(waiting.heard()[mark:], 1000) > 500)
        # The participant is not heard by the announcer.
        await waiting.play(tone(600, 300))
        assert level(host.heard(), 600) < 50


async def test_holding_bridge_participants_hear_no_music_until_asked(
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
