"""Playback state machine: media lists, failures, controls, async loading."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from pyari.media.files import MediaNotFoundError
from pyari.media.mixer import MediaEngine, Stream
from pyari.media.player import OperationResult, PlaybackState, Player
from pyari.media.sounds import build_index
from pyari.media.sources import BufferSource, Source
from pyari.media.uris import MediaResolver

P = PlaybackState


def ramp(ms: int) -> np.ndarray:
    """Samples that encode their own position (to check seeks)."""
    return (np.arange(ms * 8) % 30000).astype(np.int16)


def opener(sounds: dict[str, int]):
    def open_(uri: str) -> Source:
        _, _, name = uri.partition(":")
        if name not in sounds:
            raise MediaNotFoundError(f"{uri} not found")
        return BufferSource(ramp(sounds[name]), 8000)

    return open_


def run(player: Player, ticks: int) -> list[np.ndarray | None]:
    return [player.read(160) for _ in range(ticks)]


def test_media_list_states_and_next_media_uri() -> None:
    updates: list[tuple[str, str, str | None]] = []
    player = Player(
        ["sound:a", "sound:b"],
        opener({"a": 40, "b": 60}),
        on_update=lambda p: updates.append((str(p.state), p.media_uri, p.next_media_uri)),
    )
    assert player.state is P.QUEUED
    frames = run(player, 10)
    assert updates == [
        ("playing", "sound:a", "sound:b"),
        ("continuing", "sound:a", "sound:b"),
        ("playing", "sound:b", None),
        ("done", "sound:b", None),
    ]
    audio = [f for f in frames if f is not None]
    assert len(audio) == 2 + 3
    assert player.finished and player.read(160) is None


def test_missing_media_fails_or_continues_like_asterisk() -> None:
    middle = Player(["sound:nope", "sound:a"], opener({"a": 20}))
    run(middle, 5)
    assert [s for s, _ in middle.history] == [P.PLAYING, P.CONTINUING, P.PLAYING, P.DONE]
    last = Player(["sound:a", "sound:nope"], opener({"a": 20}))
    run(last, 5)
    assert [s for s, _ in last.history] == [P.PLAYING, P.CONTINUING, P.PLAYING, P.FAILED]
    assert last.error is not None and "nope" in last.error


def test_pause_unpause_and_operation_table() -> None:
    player = Player(["sound:a"], opener({"a": 200}))
    assert player.operation("pause") is OperationResult.NOT_PLAYING  # queued
    run(player, 2)
    assert player.operation("pause") is OperationResult.OK
    assert player.state is P.PAUSED
    assert run(player, 3) == [None, None, None]  # nothing while paused
    assert player.operation("forward") is OperationResult.NOT_PLAYING
    assert player.operation("unpause") is OperationResult.OK
    frame = player.read(160)
    assert frame is not None and frame[0] == 2 * 160  # resumes where it paused
    with pytest.raises(ValueError, match="Invalid operation"):
        player.operation("rewind")
    assert player.operation("stop") is OperationResult.OK
    assert player.state is P.DONE
    assert player.operation("stop") is OperationResult.OK  # noop once done
    assert player.operation("pause") is OperationResult.NOT_PLAYING


def test_skip_restart_and_offset() -> None:
    player = Player(["sound:a"], opener({"a": 10000}), skipms=500, offsetms=1000)
    first = player.read(160)
    assert first is not None and first[0] == 8000  # offsetms
    player.operation("forward")
    f = player.read(160)
    assert f is not None and f[0] == 8000 + 160 + 4000
    player.operation("reverse")
    player.operation("reverse")
    f = player.read(160)
    assert f is not None and f[0] == 8000 + 320 + 4000 - 8000
    player.operation("restart")
    f = player.read(160)
    assert f is not None and f[0] == 0


def test_stop_while_queued_and_uncontrollable_media() -> None:
    queued = Player(["sound:a"], opener({"a": 20}))
    queued.stop()
    assert [s for s, _ in queued.history] == [P.DONE]
    numbers = Player(["number:5"], lambda uri: BufferSource(ramp(100), 8000))
    numbers.read(160)
    assert numbers.operation("pause") is OperationResult.FAILED  # not controllable
    assert numbers.operation("stop") is OperationResult.OK


async def test_async_opener_plays_after_loading(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "beep.sln").write_bytes(np.full(800, 1000, "<i2").tobytes())
    resolver = MediaResolver(build_index(tmp_path))
    finished = asyncio.Event()
    player = Player(
        ["sound:beep", "sound:missing", "tone:!1000/100"],
        lambda uri: resolver.open(uri, "en"),
        on_update=lambda p: finished.set() if p.finished else None,
    )
    engine = MediaEngine()
    heard: list[bytes] = []
    stream: Stream = engine.add_stream("chan", on_output=lambda s, b: heard.append(b))
    stream.player = player
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    # Tick until the tone (third item) plays; file loading happens in a thread.
    while not (player.index == 2 and player.state is P.PLAYING and len(heard) > 5):
        assert loop.time() < deadline
        engine.process_tick()
        await asyncio.sleep(0.001)
    assert heard  # the beep played
    assert np.frombuffer(heard[0], "<i2")[0] == 1000
    states = [s for s, _ in player.history]
    assert states[:4] == [P.PLAYING, P.CONTINUING, P.PLAYING, P.CONTINUING]
    player.operation("stop")  # tones play until stopped, as in Asterisk
    await asyncio.wait_for(finished.wait(), 1)
    assert player.state is P.DONE
