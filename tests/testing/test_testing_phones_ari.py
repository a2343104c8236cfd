"""Calls placed *to* a simulated phone over ARI, written as docs/testing.md
tells a user to write them: originate to ``phone.endpoint``, then wait on the
phone.  A call that already ended is still the phone's call."""

from __future__ import annotations

import pytest

from pyari.client import AriClient
from pyari.testing import Phones, wait_for_event


async def test_a_call_originated_to_a_phone_and_hung_up(
    ari_client: AriClient, phones: Phones
) -> None:
    alice = phones.get("alice")
    channel = await ari_client.channels.originate(alice.endpoint, app="pyari-test")
    await ari_client.channels.hangup(channel.id)

    assert await alice.wait_for_call() == channel.id
    await alice.wait_for_state("Hungup")
    assert [c.id for c in alice.calls] == [channel.id]
    assert alice.state() == "Hungup"
    assert not alice.in_call


async def test_a_phone_answers_an_originated_call_then_the_app_hangs_up(
    ari_client: AriClient, phones: Phones
) -> None:
    alice = phones.get("alice")
    started = wait_for_event(ari_client, "StasisStart")
    channel = await ari_client.channels.originate(alice.endpoint, app="pyari-test")
    call_id = await alice.wait_for_call()
    await alice.wait_for_state("Up")
    assert (await started).channel.id == call_id == channel.id

    await channel.hangup()
    await alice.wait_for_state("Hungup")
    assert alice.channel_id == channel.id


async def test_wait_for_call_returns_each_call_once_in_order(
    ari_client: AriClient, phones: Phones
) -> None:
    bob = phones.get("bob", auto_answer=False)
    first = await ari_client.channels.originate(bob.endpoint, app="pyari-test")
    second = await ari_client.channels.originate(bob.endpoint, app="pyari-test")
    await bob.call("1000", "ARI-test")  # placed by bob: not a call to bob
    assert await bob.wait_for_call() == first.id
    assert await bob.wait_for_call() == second.id
    with pytest.raises(AssertionError, match="no call reached bob"):
        await bob.wait_for_call(timeout=0.05)
    assert len(bob.calls) == 3


async def test_a_phone_without_calls_fails_its_waits_with_assertions(phones: Phones) -> None:
    carol = phones.get("carol")
    with pytest.raises(AssertionError, match="no call reached carol"):
        await carol.wait_for_state("Hungup", timeout=0.05)
    with pytest.raises(AssertionError, match="no call reached carol"):
        await carol.wait_for_state("Up", timeout=0.05)
    with pytest.raises(AssertionError, match="no call reached carol"):
        await carol.hangup(timeout=0.05)
    assert carol.calls == []


async def test_a_phone_looked_up_after_its_call_ended_still_has_it(
    ari_client: AriClient, phones: Phones
) -> None:
    ended = wait_for_event(ari_client, "ChannelDestroyed")
    channel = await ari_client.channels.originate("Sim/dave", app="pyari-test")
    await ari_client.channels.hangup(channel.id)
    await ended
    dave = phones.get("dave")
    assert [c.id for c in dave.calls] == [channel.id]
    assert await dave.wait_for_call() == channel.id
    await dave.wait_for_state("Hungup")
