"""Dialplan media: Playback and Background heard by a simulated phone, TALK_DETECT."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ari.media_audio_helpers import best_correlation, sound, tone
from conftest import make_server, wait_for
from pyari.config.embedded import write_samples
from pyari.server import Server

EXTRA = """
[audio]
exten => 100,1,Playback(hello&no-such-sound&beep)
 same => n,Set(RESULT=${PLAYBACKSTATUS})
 same => n,Hangup()
exten => 101,1,Playback(hello)
 same => n,Set(RESULT=${PLAYBACKSTATUS})
 same => n,Hangup()
exten => 200,1,Answer()
 same => n,Background(hello-world)
 same => n,Set(RESULT=no-key)
 same => n,Hangup()
exten => 5,1,Set(RESULT=pressed-5)
 same => n,Hangup()
exten => 300,1,Answer()
 same => n,Set(TALK_DETECT(set)=200)
 same => n,Wait(3)
 same => n,Hangup()
"""


@pytest.fixture
async def audio_server(tmp_path: Path) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    write_samples(conf)
    with (conf / "extensions.conf").open("a") as f:
        f.write(EXTRA)
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def test_playback_app_is_heard_and_reports_status(audio_server: Server) -> None:
    phone = audio_server.sim.phone("alice", listen=True)
    chan = phone.call("100", "audio")
    await wait_for(lambda: chan.destroyed, timeout=10)
    assert chan.variables["RESULT"] == "FAILED"
    heard = phone.heard()
    assert best_correlation(heard, sound("hello")) > 0.95
    assert best_correlation(heard, sound("beep")) > 0.95
    ok = phone.call("101", "audio")
    await wait_for(lambda: ok.destroyed, timeout=10)
    assert ok.variables["RESULT"] == "SUCCESS"


async def test_background_jumps_to_the_key_pressed(audio_server: Server) -> None:
    phone = audio_server.sim.phone("bob", listen=True)
    chan = phone.call("200", "audio")
    await wait_for(lambda: len(phone.heard()) >= 2400)
    await phone.send_dtmf("5")
    await wait_for(lambda: chan.destroyed, timeout=10)
    assert chan.variables["RESULT"] == "pressed-5"
    assert len(phone.heard()) < len(sound("hello-world"))
    other = phone.call("200", "audio")
    await wait_for(lambda: other.destroyed, timeout=10)
    assert other.variables["RESULT"] == "no-key"


async def test_talk_detect_from_the_dialplan(audio_server: Server) -> None:
    from pyari.core import events as ev

    seen: list[ev.Event] = []
    audio_server.core.all_channels.subscribe(lambda _t, m: seen.append(m))
    phone = audio_server.sim.phone("carol")
    chan = phone.call("300", "audio")
    await wait_for(lambda: chan.up)
    await wait_for(lambda: chan.media is not None and chan.media.talk is not None)
    await phone.play(tone(440, 400))
    await wait_for(lambda: any(isinstance(m, ev.ChannelTalkingFinished) for m in seen), timeout=5)
    finished = next(m for m in seen if isinstance(m, ev.ChannelTalkingFinished))
    assert 300 <= finished.duration <= 500
    assert any(isinstance(m, ev.ChannelTalkingStarted) for m in seen)
    phone.hangup()
