"""examples/conference.py: three callers in one mixing bridge."""

from __future__ import annotations

import pytest

from examples.example_loader import load_example
from pyari.testing import Phones, PyariInstance, tone, wait_for

conference = load_example("conference")


@pytest.mark.pyari_dialplan(
    """
[conference]
exten => 300,1,Stasis(conference)
"""
)
async def test_conference_one_speaks_the_others_hear(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    core = pyari_server.server.core
    async with pyari_server.run_app(conference.main(ari_url, *ari_credentials), conference.APP):
        members = [phones.get(name) for name in ("alice", "bob", "carol")]
        for phone in members:
            await phone.call("300", "conference")
        for phone in members:
            await phone.wait_for_state("Up")
        await wait_for(lambda: len(core.bridges) == 1)
        bridge = next(iter(core.bridges.values()))
        await wait_for(lambda: len(bridge.channels) == 3)

        alice, bob, carol = members
        await alice.play(tone(600, 400))
        await bob.wait_heard_tone(600)
        await carol.wait_heard_tone(600)
        assert not alice.heard_tone(600)
        await carol.play(tone(1200, 400))
        await alice.wait_heard_tone(1200)
        await bob.wait_heard_tone(1200)

        for phone in members:
            await phone.hangup()
        await wait_for(lambda: not core.bridges)  # the last one out destroys it
