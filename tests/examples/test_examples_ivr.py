"""examples/ivr.py: a caller presses a key and hears the prompt of that choice."""

from __future__ import annotations

import pytest

from examples.example_loader import load_example
from pyari.testing import Phones, PyariInstance

ivr = load_example("ivr")

DIALPLAN = """
[ivr]
exten => 100,1,Stasis(ivr)
"""


@pytest.mark.pyari_dialplan(DIALPLAN)
@pytest.mark.parametrize(
    ("key", "expected", "not_expected"),
    [("2", "hello-world", "tt-weasels"), ("7", "pbx-invalid", "hello-world")],
)
async def test_ivr_plays_the_prompt_of_the_key_pressed(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
    key: str,
    expected: str,
    not_expected: str,
) -> None:
    async with pyari_server.run_app(ivr.main(ari_url, *ari_credentials), ivr.APP):
        alice = phones.get("alice")
        await alice.call("100", "ivr")
        await alice.wait_heard_sound("hello")  # the menu has started
        await alice.send_dtmf(key)
        await alice.wait_heard_sound("vm-goodbye", timeout=15)
        await alice.wait_for_state("Hungup")  # the app hangs up after goodbye
        assert await alice.heard_sound(expected)
        assert not await alice.heard_sound(not_expected)
        # The key cut the menu short: its last prompt was never heard.
        assert not await alice.heard_sound("digits/2")


@pytest.mark.pyari_dialplan(DIALPLAN)
async def test_ivr_caller_hanging_up_mid_menu_leaves_the_app_running(
    pyari_server: PyariInstance,
    phones: Phones,
    ari_url: str,
    ari_credentials: tuple[str, str],
) -> None:
    async with pyari_server.run_app(ivr.main(ari_url, *ari_credentials), ivr.APP):
        bob = phones.get("bob")
        await bob.call("100", "ivr")
        await bob.wait_for_state("Up")
        await bob.hangup()
        # A second caller is served normally.
        carol = phones.get("carol")
        await carol.call("100", "ivr")
        await carol.wait_heard_sound("hello")
        await carol.send_dtmf("1")
        await carol.wait_heard_sound("tt-weasels", timeout=15)
