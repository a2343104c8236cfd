"""The pyari pytest plugin's fixtures, markers and phone helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from pyari.client import AriClient, ChannelDtmfReceived, StasisStart
from pyari.testing import Phones, PyariInstance, tone, wait_for, wait_for_event

STASIS = """
[t]
exten => 100,1,Stasis(pyari-test,one,two)
exten => 101,1,Answer()
 same => n,Playback(hello)
 same => n,Hangup()
"""


async def test_pyari_server_serves_ari_with_its_credentials(
    pyari_server: PyariInstance, ari_url: str, ari_credentials: tuple[str, str]
) -> None:
    assert ari_url.startswith("http://127.0.0.1:")
    assert ari_url.rsplit(":", 1)[1] != "8088"
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": aiohttp.encode_basic_auth(*ari_credentials)}
        async with http.get(f"{ari_url}/ari/asterisk/info", headers=auth) as resp:
            assert resp.status == 200
        async with http.get(f"{ari_url}/ari/asterisk/info") as resp:
            assert resp.status == 401
    # The embedded defaults: the walkthrough's user and [ARI-test] context.
    assert ari_credentials == ("testARI", "Sup3rM3ga$tr0ng")
    assert pyari_server.server.dialplan.exists("ARI-test", "1000")


@pytest.mark.pyari_dialplan(STASIS)
async def test_dialplan_marker_adds_to_the_defaults(pyari_server: PyariInstance) -> None:
    assert pyari_server.server.dialplan.exists("t", "100")
    assert pyari_server.server.dialplan.exists("ARI-test", "1000")


@pytest.mark.pyari_dialplan("[only]\nexten => 1,1,Hangup()\n", replace=True)
async def test_dialplan_marker_can_replace_the_dialplan(pyari_server: PyariInstance) -> None:
    assert pyari_server.server.dialplan.exists("only", "1")
    assert not pyari_server.server.dialplan.exists("ARI-test", "1000")


@pytest.mark.parametrize(
    "pyari_dialplan", ["[p1]\nexten => 1,1,Hangup()", "[p2]\nexten => 2,1,Hangup()"]
)
async def test_dialplan_fixture_can_be_parametrised(
    pyari_server: PyariInstance, pyari_dialplan: str
) -> None:
    context = pyari_dialplan[1:3]
    assert pyari_server.server.dialplan.exists(context, context[1])


async def test_config_dir_without_ari_user_gets_a_test_user(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from pyari.testing import running_pyari

    conf = tmp_path_factory.mktemp("conf")
    (conf / "extensions.conf").write_text("[x]\nexten => 1,1,Hangup()\n")
    state = tmp_path_factory.mktemp("state")
    async with running_pyari(conf, state_dir=state) as inst:
        assert inst.username == "pyari-test"
        assert inst.server.config.http.enabled  # no http.conf, served all the same
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": aiohttp.encode_basic_auth(*inst.credentials)}
            async with http.get(f"{inst.url}/ari/applications", headers=auth) as resp:
                assert resp.status == 200
        assert inst.recording_dir.is_relative_to(state)


@pytest.mark.pyari_dialplan(STASIS)
async def test_ari_client_and_wait_for_event(ari_client: AriClient, phones: Phones) -> None:
    assert ari_client.connected
    assert ari_client.apps == ["pyari-test"]
    alice = phones.get("alice")
    started = wait_for_event(
        ari_client, "StasisStart", lambda e: e.channel.caller.number == "alice"
    )
    await alice.call("100", "t")
    event = await started
    assert isinstance(event, StasisStart)
    assert event.args == ["one", "two"]
    assert event.channel.id == alice.channel_id

    digits = wait_for_event(ari_client, ChannelDtmfReceived)
    await alice.send_dtmf("5")
    assert (await digits).digit == "5"

    await event.channel.answer()
    await alice.wait_for_state("Up")
    ended = wait_for_event(ari_client, "StasisEnd")
    await alice.hangup()
    await ended
    assert alice.state() == "Hungup"
    assert not alice.in_call


@pytest.mark.pyari_apps("one", "two")
async def test_pyari_apps_marker_names_the_client_apps(
    ari_client: AriClient, pyari_server: PyariInstance
) -> None:
    assert ari_client.apps == ["one", "two"]
    assert pyari_server.app_registered("one") and pyari_server.app_registered("two")


async def test_wait_for_event_times_out_with_an_assertion(ari_client: AriClient) -> None:
    with pytest.raises(AssertionError, match="no StasisStart event matched"):
        await wait_for_event(ari_client, "StasisStart", timeout=0.05)
    with pytest.raises(AssertionError, match="never"):
        await wait_for(lambda: False, 0.02, message="never")


async def test_phone_answers_by_hand_and_hears_audio(
    ari_client: AriClient, phones: Phones, pyari_server: PyariInstance
) -> None:
    bob = phones.get("bob", auto_answer=False)
    assert not bob.auto_answer
    carol = phones.get("carol")
    assert carol.auto_answer
    chan_b = await ari_client.channels.originate(bob.endpoint, app="pyari-test")
    chan_c = await ari_client.channels.originate(carol.endpoint, app="pyari-test")
    await carol.wait_for_state("Up")
    await wait_for(lambda: bob.calls)
    await bob.wait_for_state("Ringing")
    assert bob.channel_id == chan_b.id
    await bob.answer()
    await bob.wait_for_state("Up")
    bridge = await ari_client.bridges.create(type="mixing")
    await bridge.add_channel([chan_b, chan_c])
    await wait_for(lambda: len(pyari_server.server.core.bridges[bridge.id].channels) == 2)
    await bob.play(tone(440, 300))
    await carol.wait_heard_tone(440)
    assert not carol.heard_tone(1300)
    assert not bob.heard_tone(440)
    await carol.play("sound:beep")
    await bob.wait_heard_sound("beep")
    assert await bob.sound_score("beep") > 0.95
    assert not await bob.heard_sound("hello")
    await ari_client.channels.send_dtmf(chan_c.id, dtmf="12")
    await wait_for(lambda: carol.received_dtmf == ["1", "2"])


@pytest.mark.pyari_dialplan(STASIS)
async def test_wait_for_state_reports_a_hangup_before_the_state(phones: Phones) -> None:
    dave = phones.get("dave")
    await dave.call("101", "t")  # answered, plays hello, hangs up
    await dave.wait_heard_sound("hello")
    await dave.wait_for_state("Hungup")
    with pytest.raises(AssertionError, match="hung up before reaching Ringing"):
        await dave.wait_for_state("Ringing", timeout=0.1)
    with pytest.raises(LookupError):
        _ = phones.get("nobody").channel_id
    assert len(phones.get("nobody").heard()) == 0


async def test_busy_phone_refuses_calls(ari_client: AriClient, phones: Phones) -> None:
    erin = phones.get("erin", busy=True)
    assert erin.busy
    destroyed = wait_for_event(ari_client, "ChannelDestroyed")
    await ari_client.channels.originate(erin.endpoint, app="pyari-test")
    assert (await destroyed).cause == 17


async def test_run_app_reraises_an_app_that_crashed(pyari_server: PyariInstance) -> None:
    async def broken() -> None:
        raise RuntimeError("app bug")

    with pytest.raises(RuntimeError, match="app bug"):
        async with pyari_server.run_app(broken(), "never"):
            pass


def test_plugin_import_has_no_side_effects() -> None:
    code = (
        "import sys, pyari.testing.plugin;"
        "names = ('pyari.server', 'pyari.testing.phones', 'numpy');"
        "heavy = [m for m in names if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent)


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    names = {e.name: e.value for e in entry_points(group="pytest11")}
    assert names.get("pyari") == "pyari.testing.plugin"
