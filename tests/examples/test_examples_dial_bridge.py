"""examples/dial_bridge.py: the app dials the callee, bridges both, tears down."""

from __future__ import annotations

import pytest

from examples.example_loader import load_example
from pyari.testing import Phones, PyariInstance, tone, wait_for

dial_bridge = load_example("dial_bridge")

pytestmark = pytest.mark.pyari_dialplan(
    """
[dial]
exten => 200,1,Stasis(dial,Sim/bob)
"""
)


@pytest.mark.parametrize("who_hangs_up", ["alice", "bob"])
async def test_dial_bridge_carries_audio_both_ways_then_tears_down(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
    who_hangs_up: str,
) -> None:
    async with pyari_server.run_app(dial_bridge.main(ari_url, *ari_credentials), dial_bridge.APP):
        alice = phones.get("alice")
        bob = phones.get("bob", auto_answer=False)
        await alice.call("200", "dial")
        await bob.wait_for_call()
        await wait_for(lambda: "ringing" in alice.indications)  # the app rings the caller
        await bob.answer()
        await alice.wait_for_state("Up")
        await wait_for(lambda: len(pyari_server.server.core.bridges) == 1)
        bridge = next(iter(pyari_server.server.core.bridges.values()))
        await wait_for(lambda: len(bridge.channels) == 2)

        await alice.play(tone(440, 400))
        await bob.wait_heard_tone(440)
        await bob.play(tone(1000, 400))
        await alice.wait_heard_tone(1000)
        assert not alice.heard_tone(440)  # nobody hears themselves
        assert not bob.heard_tone(1000)

        hanging, other = (alice, bob) if who_hangs_up == "alice" else (bob, alice)
        await hanging.hangup()
        await other.wait_for_state("Hungup")
        await wait_for(lambda: not pyari_server.server.core.bridges)


async def test_dial_bridge_busy_callee_hangs_up_the_caller(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    async with pyari_server.run_app(dial_bridge.main(ari_url, *ari_credentials), dial_bridge.APP):
        phones.get("bob", busy=True)
        alice = phones.get("alice")
        await alice.call("200", "dial")
        await alice.wait_for_state("Hungup")
        assert not pyari_server.server.core.bridges
