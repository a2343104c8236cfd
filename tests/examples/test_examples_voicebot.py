"""examples/voicebot.py: the caller's speech reaches the brain, its answer is heard."""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
import pytest

from examples.example_loader import load_example
from pyari.testing import Phones, PyariInstance, has_tone, silence, tone, wait_for

voicebot = load_example("voicebot")

DIALPLAN = """
[voicebot]
exten => 500,1,Stasis(voicebot)
"""


def wav_samples(data: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 8000
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def snooping(pyari_server: PyariInstance) -> bool:
    """The app's snoop on the caller exists."""
    return any(c.name.startswith("Snoop/") for c in pyari_server.server.core.channels.values())


@pytest.mark.pyari_dialplan(DIALPLAN)
async def test_voicebot_echoes_each_turn(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    turns: list[Any] = []

    async def brain(turn: Any) -> str | None:
        turns.append(turn)
        answer: str | None = await voicebot.echo_brain(turn)
        return answer

    async with pyari_server.run_app(voicebot.main(ari_url, *ari_credentials, brain), voicebot.APP):
        alice = phones.get("alice")
        await alice.call("500", "voicebot")
        await alice.wait_heard_sound("hello")  # the greeting
        await wait_for(lambda: snooping(pyari_server))
        await alice.play(tone(500, 600))
        await alice.play(silence(100))
        await wait_for(lambda: len(turns) == 1, timeout=5)
        await alice.wait_heard_tone(500, timeout=5)  # its answer: the echo

        await alice.play(tone(900, 600))
        await wait_for(lambda: len(turns) == 2, timeout=5)
        await alice.wait_heard_tone(900, timeout=5)
        await alice.hangup()
        # The snoop and its recordings went away with the call.
        await wait_for(lambda: not pyari_server.server.core.channels)

    first, second = (wav_samples(t.audio) for t in turns)
    assert has_tone(first, 500) and not has_tone(first, 900)
    assert has_tone(second, 900) and not has_tone(second, 500)
    assert [t.number for t in turns] == [1, 2]


@pytest.mark.pyari_dialplan(DIALPLAN)
async def test_voicebot_brain_answering_none_hangs_up(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    async def brain(turn: Any) -> str | None:
        return None

    async with pyari_server.run_app(voicebot.main(ari_url, *ari_credentials, brain), voicebot.APP):
        bob = phones.get("bob")
        await bob.call("500", "voicebot")
        await bob.wait_heard_sound("hello")
        await wait_for(lambda: snooping(pyari_server))
        await bob.play(tone(700, 500))
        await bob.wait_for_state("Hungup", timeout=5)


@pytest.mark.pyari_dialplan(DIALPLAN)
async def test_streaming_voicebot_hears_the_caller_and_answers_at_once(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    core = pyari_server.server.core
    app = voicebot.main(ari_url, *ari_credentials, streaming=voicebot.echo_stream)
    async with pyari_server.run_app(app, voicebot.APP):
        alice = phones.get("alice")
        await alice.call("500", "voicebot")
        # The caller is bridged with a WebSocket media channel whose far end is the brain.
        await wait_for(
            lambda: any(
                len(b.channels) == 2
                and any(c.name.startswith("WebSocket/INCOMING/") for c in b.channels)
                for b in core.bridges.values()
            )
        )
        await alice.play(tone(600, 600))
        await alice.wait_heard_tone(600, timeout=5)  # the echo, streamed back
        await alice.hangup()
        await wait_for(lambda: not core.channels)
