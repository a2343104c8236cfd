"""Channel technologies: Local (two halves back to back) and Sim (simulated phones)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conftest import wait_for
from pyari.bus import Topic
from pyari.channels.local import LocalTech
from pyari.channels.sim import SimTech
from pyari.config import parse_text
from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.core.tech import BadDialString, DuplicateId
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import Pbx
from pyari.dialplan.loader import build_dialplan
from pyari.stasis.originate import place_call

DIALPLAN = """
[test]
exten => answer,1,Answer()
same => n,Wait(30)

exten => quick,1,Answer()
same => n,Hangup()

exten => ring,1,Wait(30)

exten => busy,1,Hangup(17)

exten => phone,1,Answer()
same => n,Set(SEEN=${CALLERID(num)})
same => n,Wait(30)
"""


class Rig:
    def __init__(self, conf: str = DIALPLAN) -> None:
        self.core = Core()
        self.local = LocalTech()
        self.sim = SimTech(self.core)
        self.core.register_tech(self.local)
        self.core.register_tech(self.sim)
        self.pbx = Pbx(self.core, build_dialplan(parse_text(conf)))
        self.events: list[Any] = []
        self.core.all_channels.subscribe(self._on)

    def _on(self, topic: Topic, message: Any) -> None:
        self.events.append(message)

    def of(self, etype: type[ev.Event], name: str | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, etype)
            and (name is None or getattr(getattr(e, "channel", None), "name", None) == name)
        ]

    def trace(self, chan: Channel) -> list[str]:
        return [
            type(e).__name__
            for e in self.events
            if getattr(getattr(e, "channel", None), "id", None) == chan.id
            or getattr(getattr(e, "peer", None), "id", None) == chan.id
        ]


async def park(chan: Channel) -> None:
    await chan.wait_hangup()


# -- Local ------------------------------------------------------------------------


async def test_local_request_makes_two_halves() -> None:
    rig = Rig()
    one = rig.core.request("Local/answer@test")
    two = one.peer
    assert two is not None and two.peer is one
    assert one.name.endswith(";1") and two.name.endswith(";2")
    assert one.name[:-2] == two.name[:-2]
    assert one.name.startswith("Local/answer@test-")
    assert one.state == "Down"
    assert two.state == "Ring"
    assert (two.context, two.exten) == ("test", "answer")
    assert two.linkedid == one.linkedid == one.id
    created = rig.of(ev.ChannelCreated)
    assert [c.channel.name for c in created] == [one.name, two.name]
    # Neither half runs anything yet: a hangup destroys both.
    one.request_hangup()
    await wait_for(lambda: one.destroyed and two.destroyed)


async def test_local_request_errors_and_ids() -> None:
    rig = Rig()
    with pytest.raises(BadDialString, match="Invalid endpoint specified"):
        rig.core.request("Local/@test")
    one = rig.core.request("Local/answer", uniqueid="u1", other_id="u2")
    assert one.id == "u1"
    assert one.peer is not None and one.peer.id == "u2"
    assert one.context == "default"
    with pytest.raises(DuplicateId):
        rig.core.request("Local/x@test", uniqueid="u2")
    with pytest.raises(DuplicateId):
        rig.core.request("Local/x@test", other_id="u1")
    # Both ids are checked before either half is made: a refusal leaves nothing behind.
    with pytest.raises(DuplicateId):
        rig.core.request("Local/x@test", uniqueid="u3", other_id="u1")
    with pytest.raises(DuplicateId):
        rig.core.request("Local/x@test", uniqueid="u4", other_id="u4")
    assert sorted(rig.core.channels) == ["u1", "u2"]
    one.request_hangup()
    await wait_for(lambda: not rig.core.channels)


async def test_local_answer_on_2_answers_1() -> None:
    rig = Rig()
    one = place_call(rig.core, "Local/answer@test", park)
    two = one.peer
    assert two is not None
    await wait_for(lambda: one.up)
    assert two.up
    # ;2 went Up first, then ;1 followed.
    ups = [e.channel.name for e in rig.of(ev.ChannelStateChange) if e.channel.state == "Up"]
    assert ups == [two.name, one.name]
    one.request_hangup()
    await wait_for(lambda: not rig.core.channels)


async def test_local_hangup_of_1_hangs_up_2() -> None:
    rig = Rig()
    one = place_call(rig.core, "Local/answer@test", park)
    two = one.peer
    assert two is not None
    await wait_for(lambda: one.up)
    one.request_hangup(causes.USER_BUSY)
    await wait_for(lambda: two.destroyed)
    assert one.destroyed
    # ;2 got the far end's hangup with the cause, not as a soft hangup.
    reqs = [e for e in rig.of(ev.ChannelHangupRequest) if e.channel.id == two.id]
    assert reqs[0].cause == causes.USER_BUSY
    assert reqs[0].soft is ev.UNSET
    d1 = next(e for e in rig.of(ev.ChannelDestroyed) if e.channel.id == one.id)
    d2 = next(e for e in rig.of(ev.ChannelDestroyed) if e.channel.id == two.id)
    assert d1.cause == d2.cause == causes.USER_BUSY
    assert d2.cause_txt == "User busy"


async def test_local_hangup_of_2_hangs_up_1() -> None:
    rig = Rig()
    started, done = asyncio.Event(), asyncio.Event()

    async def after(chan: Channel) -> None:
        started.set()
        await chan.wait_hangup()
        done.set()

    one = place_call(rig.core, "Local/answer@test", after)
    two = one.peer
    assert two is not None
    await asyncio.wait_for(started.wait(), 5)
    two.request_hangup()
    await asyncio.wait_for(done.wait(), 5)
    await wait_for(lambda: one.destroyed and two.destroyed)
    reqs = [e for e in rig.of(ev.ChannelHangupRequest) if e.channel.id == one.id]
    assert reqs and reqs[0].cause == causes.NORMAL_CLEARING
    assert rig.trace(one)[-1] == "ChannelDestroyed"
    assert not rig.core.channels


async def test_local_call_with_dead_peer_hangs_up() -> None:
    rig = Rig()
    one = rig.core.request("Local/answer@test")
    two = one.peer
    assert two is not None
    two.destroy()
    await wait_for(lambda: one.destroyed)


# -- Sim --------------------------------------------------------------------------


async def test_sim_phone_answers_after_delay() -> None:
    rig = Rig()
    rig.sim.phone("alice", answer_after=0.05)
    answered = asyncio.Event()
    loop = asyncio.get_running_loop()
    answered_at: list[float] = []

    async def after(chan: Channel) -> None:
        answered_at.append(loop.time())
        answered.set()
        await chan.wait_hangup()

    start = loop.time()
    chan = place_call(rig.core, "Sim/alice", after)
    assert chan.name.startswith("Sim/alice-")
    await wait_for(lambda: chan.state != "Down")
    await asyncio.wait_for(answered.wait(), 5)
    # It rang for (about) answer_after seconds before answering.
    assert answered_at[0] - start >= 0.04
    assert chan.up
    states = [e.channel.state for e in rig.of(ev.ChannelStateChange)]
    assert states == ["Ringing", "Up"]
    dials = [e.dialstatus for e in rig.of(ev.Dial)]
    assert dials == ["", "ANSWER"]
    chan.request_hangup()
    await wait_for(lambda: chan.destroyed)
    assert rig.sim.phones["alice"].channels == []


async def test_sim_phone_that_never_answers_times_out() -> None:
    rig = Rig()
    rig.sim.phone("bob", answer_after=None)
    ran: list[Channel] = []

    async def after(chan: Channel) -> None:
        ran.append(chan)

    chan = place_call(rig.core, "Sim/bob", after, timeout=0.05)
    await wait_for(lambda: chan.destroyed)
    assert ran == []
    assert [e.dialstatus for e in rig.of(ev.Dial)] == ["", "NOANSWER"]
    destroyed = rig.of(ev.ChannelDestroyed)[0]
    assert destroyed.cause == causes.NO_ANSWER


async def test_sim_busy_phone_is_user_busy() -> None:
    rig = Rig()
    rig.sim.phone("carol", busy=True)
    ran: list[Channel] = []

    async def after(chan: Channel) -> None:
        ran.append(chan)

    chan = place_call(rig.core, "Sim/carol", after)
    await wait_for(lambda: chan.destroyed)
    assert ran == []
    assert [e.dialstatus for e in rig.of(ev.Dial)] == ["", "BUSY"]
    destroyed = rig.of(ev.ChannelDestroyed)[0]
    assert (destroyed.cause, destroyed.cause_txt) == (17, "User busy")


async def test_sim_phone_settings_are_checked() -> None:
    rig = Rig()
    with pytest.raises(TypeError):
        rig.sim.phone("x", volume=11)
    phone = rig.sim.phone("x", busy=True)
    assert rig.sim.phone("x") is phone
    assert phone.busy
    with pytest.raises(BadDialString):
        rig.core.request("Sim/")


async def test_sim_phone_call_places_a_call_into_the_dialplan() -> None:
    rig = Rig()
    phone = rig.sim.phone("dave", context="test")
    chan = phone.call("phone")
    assert chan.state == "Ring"
    assert (chan.caller.name, chan.caller.number) == ("dave", "dave")
    await wait_for(lambda: chan.get_var("SEEN") == "dave")
    assert chan.up
    assert phone.channels == [chan]
    apps = [e.dialplan_app for e in rig.of(ev.ChannelDialplan)]
    assert apps == ["Answer", "Set", "Wait"]
    phone.hangup()
    await wait_for(lambda: chan.destroyed)
    assert phone.channels == []
    reqs = [e for e in rig.of(ev.ChannelHangupRequest) if e.channel.id == chan.id]
    assert reqs[0].cause == causes.NORMAL_CLEARING


async def test_sim_phone_hangup_with_cause() -> None:
    rig = Rig()
    phone = rig.sim.phone("erin")
    chan = phone.call("answer", "test")
    await wait_for(lambda: chan.up)
    phone.hangup(causes.CALL_REJECTED)
    await wait_for(lambda: chan.destroyed)
    destroyed = next(e for e in rig.of(ev.ChannelDestroyed) if e.channel.id == chan.id)
    assert destroyed.cause == causes.CALL_REJECTED


async def test_unregistered_phone_cannot_call() -> None:
    from pyari.channels.sim import SimPhone

    with pytest.raises(RuntimeError):
        SimPhone("lonely").call("100")
