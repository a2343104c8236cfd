"""Dialplan applications (Set, Answer, Ringing, UserEvent, ...) and place_call()."""

from __future__ import annotations

import asyncio
import logging

import msgspec
import pytest

from conftest import wait_for
from dialplan.dialplan_rig import Rig
from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.tech import TechError
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import APPLICATIONS
from pyari.stasis.originate import place_call


async def park(chan: Channel) -> None:
    await chan.wait_hangup()


def test_applications_are_registered() -> None:
    for name in ("NoOp", "Answer", "Hangup", "Wait", "Set", "Goto", "GotoIf", "UserEvent"):
        assert APPLICATIONS[name.lower()][0] == name


# -- Set ----------------------------------------------------------------------------


async def test_set_channel_variable_publishes_varset() -> None:
    rig = Rig("[test]\nexten => 100,1,Set(FOO=bar baz)\nsame => n,Set(_INH=1)\n")
    chan = await rig.run("100")
    assert chan.get_var("FOO") == "bar baz"
    assert chan.get_var("INH") == "1"
    sets = [(e.variable, e.value) for e in rig.mine(chan, ev.ChannelVarset)]
    assert sets == [("FOO", "bar baz"), ("INH", "1")]


async def test_set_without_value_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig("[test]\nexten => 100,1,Set(NOVALUE)\nsame => n,Set(OK=1)\n")
    chan = await rig.run("100")
    assert chan.get_var("NOVALUE") is None
    assert chan.get_var("OK") == "1"
    assert "Set requires an argument" in caplog.text


async def test_set_global_is_shared_and_published_without_channel() -> None:
    rig = Rig(
        """
[test]
exten => 100,1,Set(GLOBAL(SHARED)=yes)
exten => 200,1,Set(SEEN=${SHARED}/${GLOBAL(SHARED)})
"""
    )
    first = await rig.run("100")
    assert rig.core.globals == {"SHARED": "yes"}
    assert first.get_var("SHARED") is None
    global_sets = [e for e in rig.of(ev.ChannelVarset) if e.channel is ev.UNSET]
    assert [(e.variable, e.value) for e in global_sets] == [("SHARED", "yes")]
    data = msgspec.json.decode(msgspec.json.encode(global_sets[0]))
    assert "channel" not in data
    second = await rig.run("200")
    assert second.get_var("SEEN") == "yes/yes"


async def test_set_callerid() -> None:
    rig = Rig(
        """
[test]
exten => 100,1,Set(CALLERID(num)=5551234)
same => n,Set(CALLERID(name)=Alice)
same => n,Set(SEEN=${CALLERID(name)} <${CALLERID(num)}>)
same => n,Set(CONNECTEDLINE(num)=42)
same => n,Set(CHANNEL(language)=fr)
"""
    )
    chan = await rig.run("100")
    assert (chan.caller.name, chan.caller.number) == ("Alice", "5551234")
    assert chan.get_var("SEEN") == "Alice <5551234>"
    assert chan.connected.number == "42"
    assert chan.language == "fr"
    # Function writes are not channel variables.
    assert "CALLERID(num)" not in chan.variables
    assert rig.mine(chan, ev.ChannelConnectedLine)


async def test_set_callerid_all_splits_name_and_number() -> None:
    rig = Rig('[test]\nexten => 100,1,Set(CALLERID(all)="Bob" <200>)\n')
    chan = await rig.run("100")
    assert (chan.caller.name, chan.caller.number) == ("Bob", "200")


async def test_global_function_reads_dialplan_globals() -> None:
    rig = Rig("[globals]\nG=from-globals\n[test]\nexten => 100,1,Set(X=${GLOBAL(G)})\n")
    chan = await rig.run("100")
    assert chan.get_var("X") == "from-globals"


# -- Answer, Ringing, Verbose, Echo ------------------------------------------------


async def test_answer_and_ringing() -> None:
    rig = Rig(
        """
[test]
exten => 100,1,Ringing()
same => n,Set(S1=${CHANNEL(state)})
same => n,Answer()
same => n,Set(S2=${CHANNEL(state)})
same => n,Ringing()
same => n,Set(S3=${CHANNEL(state)})
same => n,Progress()
"""
    )
    chan = await rig.run("100")
    assert (chan.get_var("S1"), chan.get_var("S2"), chan.get_var("S3")) == (
        "Ringing",
        "Up",
        "Up",
    )
    states = [e.channel.state for e in rig.mine(chan, ev.ChannelStateChange)]
    assert states == ["Ringing", "Up"]


@pytest.mark.parametrize(
    ("app", "answered", "status"),
    [
        ("Playback(hello-world)", True, "FAILED"),  # the Rig has no media: nothing plays
        ("Playback(hello-world,skip)", False, None),
        ("Playback(hello-world,noanswer)", False, "FAILED"),
    ],
)
async def test_playback_answers_unless_skip_or_noanswer(
    app: str, answered: bool, status: str | None
) -> None:
    rig = Rig(f"[test]\nexten => 100,1,{app}\nsame => n,Set(AFTER=${{CHANNEL(state)}})\n")
    chan = await rig.run("100")
    assert chan.get_var("AFTER") == ("Up" if answered else "Ring")
    assert chan.get_var("PLAYBACKSTATUS") == status


async def test_verbose_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyari.verbose")
    rig = Rig("[test]\nexten => 100,1,Verbose(3,hello there)\nsame => n,Verbose(plain)\n")
    await rig.run("100")
    assert "    -- hello there" in caplog.text
    assert "plain" in caplog.text


async def test_echo_stays_until_hangup() -> None:
    rig = Rig("[test]\nexten => 100,1,Answer()\nsame => n,Echo()\nsame => n,Set(AFTER=1)\n")
    chan = rig.call("100")
    await wait_for(lambda: chan.app_name == "Echo")
    assert not chan.destroyed
    chan.request_hangup()
    await wait_for(lambda: chan.destroyed)
    assert chan.get_var("AFTER") is None


# -- UserEvent -------------------------------------------------------------------------


async def test_user_event() -> None:
    rig = Rig("[test]\nexten => 100,1,UserEvent(MyEvent,foo: bar,count:2,ignored)\n")
    chan = await rig.run("100")
    events = rig.mine(chan, ev.ChannelUserevent)
    assert len(events) == 1
    event = events[0]
    assert event.eventname == "MyEvent"
    assert event.userevent == {"foo": "bar", "count": "2", "eventname": "MyEvent"}
    data = msgspec.json.decode(msgspec.json.encode(event))
    assert data["type"] == "ChannelUserevent"
    assert data["channel"]["id"] == chan.id
    assert "bridge" not in data


async def test_user_event_needs_a_name(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig("[test]\nexten => 100,1,UserEvent()\nsame => n,Set(OK=1)\n")
    chan = await rig.run("100")
    assert rig.of(ev.ChannelUserevent) == []
    assert chan.get_var("OK") == "1"
    assert "UserEvent requires an argument" in caplog.text


# -- originate ---------------------------------------------------------------------------


DIAL_PLAN = """
[test]
exten => answer,1,Answer()
same => n,Wait(30)
exten => quick,1,Answer()
same => n,Hangup()
"""


async def test_originate_local_answer() -> None:
    rig = Rig(DIAL_PLAN)
    started = asyncio.Event()

    async def after(chan: Channel) -> None:
        started.set()
        await chan.wait_hangup()

    chan = place_call(
        rig.core,
        "Local/answer@test",
        after,
        caller_name="Me",
        caller_number="123",
        variables={"V1": "x"},
    )
    assert chan.name.endswith(";1")
    assert (chan.caller.name, chan.caller.number) == ("Me", "123")
    assert chan.get_var("V1") == "x"
    assert (chan.app_name, chan.app_data) == ("AppDial2", "(Outgoing Line)")
    await asyncio.wait_for(started.wait(), 5)
    dials = rig.mine(chan, ev.Dial)
    assert [d.dialstatus for d in dials] == ["", "ANSWER"]
    assert all(d.dialstring == "answer@test" for d in dials)
    assert dials[0].peer.state == "Down"
    assert dials[1].peer.state == "Up"
    assert dials[0].caller is ev.UNSET
    await rig.drain()


async def test_originate_on_created_and_ids() -> None:
    rig = Rig(DIAL_PLAN)
    created: list[Channel] = []
    chan = place_call(
        rig.core,
        "Local/answer@test",
        park,
        uniqueid="one",
        other_id="two",
        on_created=created.append,
    )
    assert created == [chan]
    assert chan.id == "one"
    assert chan.peer is not None and chan.peer.id == "two"
    with pytest.raises(TechError):
        place_call(rig.core, "Bogus/x", park)
    with pytest.raises(TechError):
        place_call(rig.core, "nodialstring", park)
    await rig.drain()


async def test_originate_noanswer_on_timeout() -> None:
    rig = Rig(DIAL_PLAN)
    rig.sim.phone("slow", answer_after=None)
    ran: list[Channel] = []

    async def after(chan: Channel) -> None:
        ran.append(chan)

    chan = place_call(rig.core, "Sim/slow", after, timeout=0.05)
    await wait_for(lambda: chan.destroyed)
    assert ran == []
    assert [d.dialstatus for d in rig.mine(chan, ev.Dial)] == ["", "NOANSWER"]


async def test_originate_busy() -> None:
    rig = Rig(DIAL_PLAN)
    rig.sim.phone("busy", busy=True)
    chan = place_call(rig.core, "Sim/busy", park)
    await wait_for(lambda: chan.destroyed)
    assert [d.dialstatus for d in rig.mine(chan, ev.Dial)] == ["", "BUSY"]
    assert rig.mine(chan, ev.ChannelDestroyed)[0].cause == causes.USER_BUSY


async def test_originate_cancelled_by_hangup_while_ringing() -> None:
    rig = Rig(DIAL_PLAN)
    rig.sim.phone("never", answer_after=None)
    chan = place_call(rig.core, "Sim/never", park, timeout=None)
    await wait_for(lambda: chan.state == "Ringing")
    chan.request_hangup()
    await wait_for(lambda: chan.destroyed)
    assert [d.dialstatus for d in rig.mine(chan, ev.Dial)] == ["", "CANCEL"]


async def test_originate_negative_timeout_waits_forever() -> None:
    rig = Rig(DIAL_PLAN)
    rig.sim.phone("late", answer_after=0.1)
    started = asyncio.Event()

    async def after(chan: Channel) -> None:
        started.set()

    chan = place_call(rig.core, "Sim/late", after, timeout=-1)
    await asyncio.wait_for(started.wait(), 5)
    await wait_for(lambda: chan.destroyed)
    assert [d.dialstatus for d in rig.mine(chan, ev.Dial)] == ["", "ANSWER"]


async def test_originate_answer_then_immediate_hangup_is_answered() -> None:
    rig = Rig(DIAL_PLAN)
    ran: list[Channel] = []

    async def after(chan: Channel) -> None:
        ran.append(chan)

    chan = place_call(rig.core, "Local/quick@test", after)
    await wait_for(lambda: chan.destroyed)
    assert [d.dialstatus for d in rig.mine(chan, ev.Dial)] == ["", "ANSWER"]
    assert ran == [chan]
