"""Stasis applications: registration, replacement, StasisStart/End, subscriptions, filters."""

from __future__ import annotations

from typing import Any

from conftest import wait_for
from pyari.channels.local import LocalTech
from pyari.config import parse_text
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import Pbx
from pyari.dialplan.loader import build_dialplan
from pyari.stasis import dialplan_app as _stasis_app  # noqa: F401
from pyari.stasis.originate import place_call
from pyari.stasis.registry import Registry

DIALPLAN = """
[test]
exten => 1000,1,NoOp()
same => n,Answer()
same => n,Stasis(hello,one,two)
same => n,Set(AFTER=${STASISSTATUS})
same => n,Wait(30)

exten => park,1,Answer()
same => n,Wait(30)
"""


class App:
    """A fake event socket: records what its handler receives."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    def __call__(self, event: ev.Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def of(self, etype: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, etype)]

    def seen(self, etype: type[ev.Event], chan: Channel) -> list[Any]:
        return [
            e for e in self.of(etype) if getattr(e, "channel", None) and e.channel.id == chan.id
        ]


class Rig:
    def __init__(self) -> None:
        self.core = Core()
        self.core.register_tech(LocalTech())
        self.pbx = Pbx(self.core, build_dialplan(parse_text(DIALPLAN)))
        self.stasis = Registry(self.core)
        self.pbx.provide(self.stasis)

    def call(self, exten: str = "1000") -> tuple[Channel, Channel]:
        """Local/<exten>@test with ;1 parked (never in Stasis)."""

        async def park(chan: Channel) -> None:
            await chan.wait_hangup()

        one = place_call(self.core, f"Local/{exten}@test", park)
        assert one.peer is not None
        return one, one.peer

    async def drain(self) -> None:
        self.core.hangup_all()
        await wait_for(lambda: not self.core.channels)


async def test_register_creates_the_app_and_its_topic() -> None:
    rig = Rig()
    h = App()
    app = rig.stasis.register("hello", h)
    assert rig.stasis.get("hello") is app
    assert rig.stasis.names() == ["hello"]
    assert app.active
    assert rig.core.bus.get("ari:application/hello") is app.topic
    app.send(ev.ApplicationReplaced())
    assert h.types() == ["ApplicationReplaced"]


async def test_register_again_replaces_the_old_handler() -> None:
    rig = Rig()
    old, new = App(), App()
    first = rig.stasis.register("hello", old)
    second = rig.stasis.register("hello", new)
    assert first is second
    assert old.types() == ["ApplicationReplaced"]
    assert new.types() == []
    second.send(ev.StasisEnd(channel=rig.core.request("Local/park@test").snapshot()))
    assert old.types() == ["ApplicationReplaced"]
    assert new.types() == ["StasisEnd"]
    # The old socket closing later does not deactivate the new one.
    rig.stasis.unregister("hello", old)
    assert second.handler is new
    await rig.drain()


async def test_unregister_of_an_idle_app_removes_it() -> None:
    rig = Rig()
    h = App()
    rig.stasis.register("hello", h)
    rig.stasis.unregister("nope", h)
    rig.stasis.unregister("hello", h)
    assert rig.stasis.get("hello") is None
    assert rig.stasis.names() == []
    assert rig.core.bus.get("ari:application/hello") is None


async def test_stasis_without_app_fails_and_dialplan_continues() -> None:
    rig = Rig()
    _one, two = rig.call()
    await wait_for(lambda: two.get_var("AFTER") is not None)
    assert two.get_var("STASISSTATUS") == "FAILED"
    assert two.get_var("AFTER") == "FAILED"
    assert two.stasis_app is None
    await rig.drain()


async def test_stasis_start_and_end_for_a_dialplan_channel() -> None:
    rig = Rig()
    h = App()
    app = rig.stasis.register("hello", h)
    _one, two = rig.call()
    await wait_for(lambda: "StasisStart" in h.types())
    start = h.of(ev.StasisStart)[0]
    assert start.args == ["one", "two"]
    assert start.channel.id == two.id
    assert start.channel.dialplan.app_name == "Stasis"
    assert start.channel.dialplan.app_data == "hello,one,two"
    assert two.stasis_app == "hello"
    assert two.control is not None
    assert app.channels_in_app == {two.id}
    assert app.ids("channel") == [two.id]
    # STASISSTATUS was reset before the app was subscribed (as Asterisk):
    # the app's first event about a dialplan channel is its StasisStart.
    assert h.types()[:1] == ["StasisStart"]
    assert two.get_var("STASISSTATUS") == ""

    two.request_hangup()
    await wait_for(lambda: two.destroyed)
    assert h.types() == ["StasisStart", "ChannelHangupRequest", "StasisEnd"]
    # Entered from the dialplan: unsubscribed at StasisEnd, the app is gone
    # from the channel's topic and sees no ChannelDestroyed.
    assert app.ids("channel") == []
    assert app.channels_in_app == set()
    assert two.stasis_app is None and two.control is None
    await rig.drain()


async def test_channel_leaving_the_app_goes_on_in_the_dialplan() -> None:
    rig = Rig()
    h = App()
    rig.stasis.register("hello", h)
    _one, two = rig.call()
    await wait_for(lambda: two.control is not None)
    two.control.leave()
    await wait_for(lambda: two.get_var("AFTER") is not None)
    assert two.get_var("AFTER") == "SUCCESS"
    assert h.types() == ["StasisStart", "StasisEnd"]
    # Back in the dialplan with the app it ran restored (no new ChannelDialplan for it).
    await wait_for(lambda: two.app_name == "Wait")
    await rig.drain()


async def test_originate_subscription_outlives_stasis_end() -> None:
    rig = Rig()
    h = App()
    rig.stasis.register("hello", h)

    async def in_app(chan: Channel) -> None:
        await rig.stasis.run(chan, "hello", [], dialplan=False)

    def subscribe(chan: Channel) -> None:
        rig.stasis.subscribe_channel("hello", chan)

    one = place_call(rig.core, "Local/park@test", in_app, on_created=subscribe)
    await wait_for(lambda: "StasisStart" in h.types())
    one.request_hangup()
    await wait_for(lambda: one.destroyed)
    mine = [
        type(e).__name__
        for e in h.events
        if getattr(getattr(e, "channel", None), "id", None) == one.id
    ]
    # Within one app: ChannelHangupRequest, StasisEnd, ChannelDestroyed.
    assert mine.index("ChannelHangupRequest") < mine.index("StasisEnd")
    assert mine.index("StasisEnd") < mine.index("ChannelDestroyed")
    assert mine[-1] == "ChannelDestroyed"
    # ... and the STASISSTATUS=SUCCESS set after StasisEnd was seen too.
    after_end = mine[mine.index("StasisEnd") :]
    assert "ChannelVarset" in after_end
    await rig.drain()


async def test_subscription_refcounts() -> None:
    rig = Rig()
    h = App()
    app = rig.stasis.register("hello", h)
    chan = rig.core.request("Local/park@test")
    source = chan.topic.name
    app.subscribe(source)
    app.subscribe(source)
    assert app.sources[source][1] == 2
    assert chan.topic.upstream == 0
    assert app.topic.upstream == 1
    assert app.unsubscribe(source) is True
    assert app.ids("channel") == [chan.id]
    chan.set_var("X", "1")
    assert h.types() == ["ChannelVarset"]
    assert app.unsubscribe(source) is True
    assert app.unsubscribe(source) is False
    assert app.ids("channel") == []
    assert app.topic.upstream == 0
    chan.set_var("X", "2")
    assert h.types() == ["ChannelVarset"]
    # all_refs drops every reference at once.
    app.subscribe(source)
    app.subscribe(source)
    app.unsubscribe(source, all_refs=True)
    assert source not in app.sources
    # Subscribing to something that does not exist is a no-op.
    app.subscribe("channel:nope")
    assert "channel:nope" not in app.sources
    await rig.drain()


async def test_app_with_channels_survives_deactivation_and_is_taken_over() -> None:
    rig = Rig()
    first = App()
    app = rig.stasis.register("hello", first)
    _one, two = rig.call()
    await wait_for(lambda: "StasisStart" in first.types())
    rig.stasis.unregister("hello", first)
    # Still there: a channel is in it.
    assert rig.stasis.get("hello") is app
    assert not app.active
    assert two.stasis_app == "hello"
    two.set_var("WHILE_AWAY", "1")  # nobody listens: dropped
    second = App()
    assert rig.stasis.register("hello", second) is app
    assert first.types() == ["StasisStart"]
    two.set_var("BACK", "1")
    # No new StasisStart for the new handler, but the channel's events flow.
    assert second.types() == ["ChannelVarset"]
    two.request_hangup()
    await wait_for(lambda: two.destroyed)
    assert second.types() == ["ChannelVarset", "ChannelHangupRequest", "StasisEnd"]
    rig.stasis.unregister("hello", second)
    assert rig.stasis.get("hello") is None
    await rig.drain()


async def test_deactivated_app_disappears_when_its_last_channel_leaves() -> None:
    rig = Rig()
    h = App()
    rig.stasis.register("hello", h)
    _one, two = rig.call()
    await wait_for(lambda: two.control is not None)
    rig.stasis.unregister("hello", h)
    assert rig.stasis.get("hello") is not None
    two.request_hangup()
    await wait_for(lambda: two.destroyed)
    assert rig.stasis.get("hello") is None
    await rig.drain()


async def test_subscribe_all_sees_every_channel_and_is_dropped_on_unregister() -> None:
    rig = Rig()
    h = App()
    app = rig.stasis.register("all", h, subscribe_all=True)
    assert app.subscribe_all
    chan = rig.core.request("Local/park@test")
    assert "ChannelCreated" in h.types()
    rig.stasis.unregister("all", h)
    assert rig.stasis.get("all") is None
    chan.set_var("X", "1")
    assert "ChannelVarset" not in h.types()
    await rig.drain()


async def test_event_filters() -> None:
    rig = Rig()
    h = App()
    app = rig.stasis.register("hello", h)
    chan = rig.core.request("Local/park@test")
    app.subscribe(chan.topic.name)

    app.events_allowed = [{"type": "ChannelVarset"}]
    chan.set_var("A", "1")
    chan.set_state("Ringing")
    assert h.types() == ["ChannelVarset"]

    app.events_allowed = []
    app.events_disallowed = [{"type": "ChannelVarset"}]
    chan.set_var("B", "1")
    chan.set_state("Up")
    assert h.types() == ["ChannelVarset", "ChannelStateChange"]

    # Disallowed beats allowed.
    app.events_allowed = [{"type": "ChannelVarset"}, {"type": "ChannelDialplan"}]
    chan.set_var("C", "1")
    chan.set_app("NoOp", "")
    assert h.types() == ["ChannelVarset", "ChannelStateChange", "ChannelDialplan"]

    app.events_allowed, app.events_disallowed = [], []
    chan.set_var("D", "1")
    assert h.types()[-1] == "ChannelVarset"
    await rig.drain()


async def test_run_directly_returns_status_and_restores_app() -> None:
    rig = Rig()
    h = App()
    rig.stasis.register("hello", h)
    chan = rig.core.request("Local/park@test")
    chan.set_app("Before", "x", publish=False)
    result: list[str] = []

    async def work() -> None:
        result.append(await rig.stasis.run(chan, "hello", ["a"], dialplan=False))

    chan.start(work)
    await wait_for(lambda: chan.control is not None)
    chan.control.leave()
    await wait_for(lambda: chan.destroyed)
    assert result == ["SUCCESS"]
    assert chan.get_var("STASISSTATUS") == "SUCCESS"
    assert (chan.app_name, chan.app_data) == ("Before", "x")
    assert rig.stasis.get("hello") is not None
    # Not registered at all: FAILED at once.
    other = rig.core.request("Local/park@test")
    assert await rig.stasis.run(other, "nobody", [], dialplan=True) == "FAILED"
    assert other.get_var("STASISSTATUS") == "FAILED"
    await rig.drain()


async def test_stasis_with_no_app_name_fails() -> None:
    rig = Rig()
    rig.pbx.swap(build_dialplan(parse_text("[test]\nexten => s,1,Stasis()\nsame => n,Set(X=1)\n")))
    chan = rig.core.request("Local/s@test")
    two = chan.peer
    assert two is not None
    rig.core.start_pbx(two)
    await wait_for(lambda: two.get_var("X") == "1")
    assert two.get_var("STASISSTATUS") == "FAILED"
    await rig.drain()
