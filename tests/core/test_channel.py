"""Core channels: states, snapshots, variables, hangups and destruction."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
import pytest

from conftest import wait_for
from pyari.bus import Topic
from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.core.tech import TechError


class FakeTech:
    name = "Fake"
    description = "Fake technology for tests"

    def __init__(self) -> None:
        self.answered_chans: list[Channel] = []
        self.hungup_chans: list[Channel] = []
        self.requests: list[tuple[str, str | None, str | None]] = []

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        self.requests.append((resource, uniqueid, other_id))
        chan = Channel(core, self, f"Fake/{resource}", uniqueid=uniqueid or core.new_uniqueid())
        core.channel_added(chan)
        return chan

    def call(self, chan: Channel, timeout: float | None) -> None:
        pass

    def answered(self, chan: Channel) -> None:
        self.answered_chans.append(chan)

    def hangup(self, chan: Channel) -> None:
        self.hungup_chans.append(chan)


class Rig:
    def __init__(self) -> None:
        self.core = Core()
        self.tech = FakeTech()
        self.core.register_tech(self.tech)
        self.events: list[ev.Event] = []
        self.core.all_channels.subscribe(self._on)

    def _on(self, topic: Topic, message: Any) -> None:
        self.events.append(message)

    def new(self, name: str = "a", **kw: Any) -> Channel:
        chan = Channel(
            self.core, self.tech, f"Fake/{name}", uniqueid=self.core.new_uniqueid(), **kw
        )
        self.core.channel_added(chan)
        return chan

    def of(self, etype: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, etype)]

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


async def test_new_channel_is_registered_and_announced() -> None:
    rig = Rig()
    chan = rig.new("a")
    assert rig.core.channels[chan.id] is chan
    assert rig.core.find_channel(chan.id) is chan
    assert rig.core.find_channel("Fake/a") is chan
    assert rig.core.find_channel("nope") is None
    assert rig.names() == ["ChannelCreated"]
    created = rig.events[0]
    assert isinstance(created, ev.ChannelCreated)
    assert created.channel.id == chan.id
    assert created.channel.state == "Down"
    assert chan.linkedid == chan.id
    assert rig.core.bus.get(f"channel:{chan.id}") is chan.topic
    assert chan.topic.detail == "Fake/a"


async def test_unique_ids_are_epoch_dot_sequence() -> None:
    core = Core()
    ids = [core.new_uniqueid() for _ in range(3)]
    for i, uid in enumerate(ids):
        m = re.fullmatch(r"(\d+)\.(\d+)", uid)
        assert m is not None
        assert int(m.group(1)) == int(core.startup)
        assert int(m.group(2)) == i
    assert len(set(ids)) == 3


async def test_state_changes_publish_and_same_state_does_not() -> None:
    rig = Rig()
    chan = rig.new()
    chan.set_state("Ringing")
    chan.set_state("Ringing")
    chan.set_state("Up")
    changes = rig.of(ev.ChannelStateChange)
    assert [c.channel.state for c in changes] == ["Ringing", "Up"]
    assert chan.up


async def test_snapshot_is_cached_until_a_change() -> None:
    rig = Rig()
    chan = rig.new()
    s1 = chan.snapshot()
    assert chan.snapshot() is s1
    chan.set_location("ctx", "100", 3)
    s2 = chan.snapshot()
    assert s2 is not s1
    assert (s2.dialplan.context, s2.dialplan.exten, s2.dialplan.priority) == ("ctx", "100", 3)
    # The old snapshot is immutable and unchanged.
    assert s1.dialplan.context == "default"
    with pytest.raises(AttributeError):
        s1.state = "Up"  # type: ignore[misc]
    chan.set_caller("Alice", "100")
    s3 = chan.snapshot()
    assert s3 is not s2
    assert (s3.caller.name, s3.caller.number) == ("Alice", "100")
    chan.set_caller(number="200")
    assert (chan.snapshot().caller.name, chan.snapshot().caller.number) == ("Alice", "200")
    chan.set_app("Wait", "5", publish=False)
    s4 = chan.snapshot()
    assert (s4.dialplan.app_name, s4.dialplan.app_data) == ("Wait", "5")
    chan.set_state("Up")
    assert chan.snapshot().state == "Up"


async def test_set_app_publishes_channel_dialplan() -> None:
    rig = Rig()
    chan = rig.new()
    chan.set_app("NoOp", "hi")
    chan.set_app("Quiet", "", publish=False)
    dialplans = rig.of(ev.ChannelDialplan)
    assert len(dialplans) == 1
    assert (dialplans[0].dialplan_app, dialplans[0].dialplan_app_data) == ("NoOp", "hi")
    assert dialplans[0].channel.dialplan.app_name == "NoOp"


async def test_snapshot_encodes_as_ari_json() -> None:
    rig = Rig()
    chan = rig.new()
    data = msgspec.json.decode(msgspec.json.encode(chan.snapshot()))
    assert list(data) == [
        "id",
        "name",
        "state",
        "protocol_id",
        "caller",
        "connected",
        "accountcode",
        "dialplan",
        "creationtime",
        "language",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", data["creationtime"])


async def test_channelvars_appear_in_snapshots() -> None:
    rig = Rig()
    rig.core.snapshot_channelvars = ("FOO", "CHANNEL(state)")
    chan = rig.new()
    assert chan.snapshot().channelvars == {"FOO": "", "CHANNEL(state)": "Down"}
    chan.set_var("FOO", "bar")
    assert chan.snapshot().channelvars == {"FOO": "bar", "CHANNEL(state)": "Down"}


async def test_a_snapshot_is_made_anew_only_for_what_it_shows() -> None:
    rig = Rig()
    chan = rig.new()
    first = chan.snapshot()
    chan.set_var("FOO", "1")
    chan.destroy()
    assert chan.snapshot() is first  # variables and the hangup cause are not in it
    assert rig.of(ev.ChannelDestroyed)[0].channel is first
    rig.core.snapshot_channelvars = ("FOO", "HANGUPCAUSE")
    chan = rig.new("other")
    first = chan.snapshot()
    chan.set_var("FOO", "1")
    assert chan.snapshot().channelvars == {"FOO": "1", "HANGUPCAUSE": "0"}
    chan.destroy()
    assert chan.snapshot().channelvars == {"FOO": "1", "HANGUPCAUSE": "16"}


async def test_variables_and_varset_events() -> None:
    rig = Rig()
    chan = rig.new()
    before = chan.snapshot()
    chan.set_var("FOO", "1")
    chan.set_var("_INHERIT", "2")
    chan.set_var("__ALWAYS", "3")
    assert chan.get_var("FOO") == "1"
    assert chan.get_var("INHERIT") == "2"
    assert chan.get_var("ALWAYS") == "3"
    assert chan.get_var("MISSING") is None
    sets = rig.of(ev.ChannelVarset)
    assert [(s.variable, s.value) for s in sets] == [
        ("FOO", "1"),
        ("INHERIT", "2"),
        ("ALWAYS", "3"),
    ]
    assert all(isinstance(s.channel, type(before)) and s.channel.id == chan.id for s in sets)
    # Without ari.conf channelvars a variable is not in the snapshot: it is kept.
    assert chan.snapshot() is before


async def test_builtin_variables() -> None:
    rig = Rig()
    chan = rig.new("b", context="ctx", exten="42", priority=7)
    chan.set_caller("Bob", "555")
    assert chan.get_var("CHANNEL") == "Fake/b"
    assert chan.get_var("CHANNEL(name)") == "Fake/b"
    assert chan.get_var("UNIQUEID") == chan.id
    assert chan.get_var("EXTEN") == "42"
    assert chan.get_var("CONTEXT") == "ctx"
    assert chan.get_var("PRIORITY") == "7"
    assert chan.get_var("CALLERID(num)") == "555"
    assert chan.get_var("CALLERID(name)") == "Bob"
    assert chan.get_var("CHANNEL(state)") == "Down"
    assert chan.get_var("HANGUPCAUSE") == "0"
    # A channel variable of the same name wins.
    chan.set_var("EXTEN", "override")
    assert chan.get_var("EXTEN") == "override"


async def test_answer_sets_up_once_and_tells_the_tech() -> None:
    rig = Rig()
    chan = rig.new()
    chan.answer()
    chan.answer()
    assert chan.state == "Up"
    assert rig.tech.answered_chans == [chan]
    assert await chan.wait_answered(0)


async def test_answer_after_hangup_request_does_nothing() -> None:
    rig = Rig()
    chan = rig.new()
    chan.start(chan.wait_hangup)
    chan.request_hangup()
    chan.answer()
    assert chan.state == "Down"
    assert rig.tech.answered_chans == []
    await wait_for(lambda: chan.destroyed)


async def test_wait_answered_times_out_and_stops_on_hangup() -> None:
    rig = Rig()
    chan = rig.new()
    assert await chan.wait_answered(0.01) is False
    waiter = asyncio.ensure_future(chan.wait_answered(None))
    await asyncio.sleep(0)
    chan.set_state("Up")
    assert await waiter is True

    other = rig.new("b")
    other.task = asyncio.current_task()  # someone runs it: no automatic destroy
    waiter = asyncio.ensure_future(other.wait_answered(None))
    await asyncio.sleep(0)
    other.request_hangup()
    assert await waiter is False


async def test_waits_begun_after_the_answer_or_the_hangup_end_at_once() -> None:
    # The channel's answered and hung-up events are made when first waited for.
    rig = Rig()
    chan = rig.new()
    chan.task = asyncio.current_task()
    chan.set_state("Up")
    chan.set_state("Ringing")
    assert await asyncio.wait_for(chan.wait_answered(None), 1) is True
    chan.request_hangup()
    await asyncio.wait_for(chan.wait_hangup(), 1)
    other = rig.new("b")
    other.task = asyncio.current_task()
    other.request_hangup()
    assert await asyncio.wait_for(other.wait_answered(None), 1) is False
    assert await other.sleep(30) is False


async def test_request_hangup_is_a_soft_hangup_with_the_flag_as_cause() -> None:
    rig = Rig()
    chan = rig.new()
    chan.task = asyncio.current_task()
    chan.request_hangup(causes.USER_BUSY)
    chan.request_hangup(causes.CALL_REJECTED)  # already requested: no second event
    reqs = rig.of(ev.ChannelHangupRequest)
    assert len(reqs) == 1
    assert reqs[0].cause == causes.SOFTHANGUP_EXPLICIT == 32
    assert reqs[0].soft is True
    assert chan.hungup
    assert chan.hangupcause == causes.USER_BUSY
    data = msgspec.json.decode(msgspec.json.encode(reqs[0]))
    assert data["type"] == "ChannelHangupRequest"
    assert data["cause"] == 32
    assert data["soft"] is True


async def test_request_hangup_can_replace_the_cause() -> None:
    # ARI's hangup with a reason: its cause wins over one the channel has.
    rig = Rig()
    chan = rig.new()
    chan.task = asyncio.current_task()
    chan.hangupcause = causes.USER_BUSY
    chan.request_hangup(causes.CALL_REJECTED, replace_cause=True)
    assert chan.hangupcause == causes.CALL_REJECTED
    assert chan.hungup
    assert len(rig.of(ev.ChannelHangupRequest)) == 1


async def test_take_caller_details_copies_connected_line_and_language() -> None:
    rig = Rig()
    caller, callee = rig.new("a"), rig.new("b")
    caller.set_caller("Carol", "100")
    caller.language = "fr"
    before = len(rig.events)
    callee.take_caller_details(caller)
    assert (callee.connected.name, callee.connected.number) == ("Carol", "100")
    assert callee.language == "fr"
    assert callee.snapshot().language == "fr"
    assert len(rig.events) == before  # as Asterisk's dial: no event of its own


async def test_queue_hangup_carries_the_cause_and_no_soft_flag() -> None:
    rig = Rig()
    chan = rig.new()
    chan.task = asyncio.current_task()
    chan.queue_hangup(causes.USER_BUSY)
    chan.queue_hangup(causes.NORMAL_CLEARING)  # ignored once hung up
    reqs = rig.of(ev.ChannelHangupRequest)
    assert len(reqs) == 1
    assert reqs[0].cause == causes.USER_BUSY
    data = msgspec.json.decode(msgspec.json.encode(reqs[0]))
    assert "soft" not in data
    assert chan.hungup
    assert chan.hangupcause == causes.USER_BUSY


async def test_hangup_of_an_unowned_channel_destroys_it() -> None:
    rig = Rig()
    chan = rig.new()
    chan.request_hangup(causes.USER_BUSY)
    assert not chan.destroyed  # destroyed on the next loop turn
    await wait_for(lambda: chan.destroyed)
    assert chan.id not in rig.core.channels
    assert rig.names() == ["ChannelCreated", "ChannelHangupRequest", "ChannelDestroyed"]
    destroyed = rig.of(ev.ChannelDestroyed)[0]
    assert destroyed.cause == 17
    assert destroyed.cause_txt == "User busy"
    assert rig.tech.hungup_chans == [chan]


async def test_destroy_publishes_once_with_default_cause_and_drops_the_topic() -> None:
    rig = Rig()
    chan = rig.new()
    topic_name = chan.topic.name
    assert rig.core.all_channels.upstream == 1
    chan.destroy()
    chan.destroy()
    destroyed = rig.of(ev.ChannelDestroyed)
    assert len(destroyed) == 1
    assert (destroyed[0].cause, destroyed[0].cause_txt) == (16, "Normal Clearing")
    assert rig.core.bus.get(topic_name) is None
    assert rig.core.all_channels.upstream == 0
    assert chan.id not in rig.core.channels
    assert rig.core.find_channel("Fake/a") is None
    assert rig.core.calls_processed == 1
    assert chan.hungup
    # Hangup requests on a dead channel are ignored.
    chan.request_hangup()
    chan.queue_hangup()
    assert len(rig.events) == 2


async def test_sleep_runs_full_time_or_stops_at_hangup() -> None:
    rig = Rig()
    chan = rig.new()
    chan.task = asyncio.current_task()
    assert await chan.sleep(0) is True
    assert await chan.sleep(0.01) is True
    sleeper = asyncio.ensure_future(chan.sleep(30))
    await asyncio.sleep(0)
    assert not sleeper.done()
    chan.request_hangup()
    assert await asyncio.wait_for(sleeper, 1) is False
    # Once hung up, sleep returns at once.
    assert await chan.sleep(30) is False


async def test_start_runs_work_then_destroys() -> None:
    rig = Rig()
    chan = rig.new()
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()

    chan.start(work)
    await wait_for(lambda: chan.destroyed)
    assert ran.is_set()


async def test_failing_work_still_destroys_the_channel(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    chan = rig.new()

    async def work() -> None:
        raise RuntimeError("app crashed")

    chan.start(work)
    await wait_for(lambda: chan.destroyed)
    assert "task failed" in caplog.text
    assert rig.of(ev.ChannelDestroyed)


async def test_request_hangup_wakes_a_running_task() -> None:
    rig = Rig()
    chan = rig.new()
    chan.start(chan.wait_hangup)
    await asyncio.sleep(0)
    assert not chan.destroyed
    chan.request_hangup(causes.CALL_REJECTED)
    await wait_for(lambda: chan.destroyed)
    destroyed = rig.of(ev.ChannelDestroyed)[0]
    assert (destroyed.cause, destroyed.cause_txt) == (21, "Call Rejected")


async def test_set_connected_publishes() -> None:
    rig = Rig()
    chan = rig.new()
    chan.set_connected("Carol", "300")
    conn = rig.of(ev.ChannelConnectedLine)
    assert len(conn) == 1
    assert (conn[0].channel.connected.name, conn[0].channel.connected.number) == ("Carol", "300")


async def test_core_request_errors_and_dispatch() -> None:
    rig = Rig()
    with pytest.raises(TechError, match="Invalid endpoint specified"):
        rig.core.request("Fake")
    with pytest.raises(TechError, match="No such channel technology 'Nope'"):
        rig.core.request("Nope/x")
    chan = rig.core.request("fake/x", uniqueid="my-id", other_id="other")
    assert chan.id == "my-id"
    assert rig.tech.requests == [("x", "my-id", "other")]
    assert rig.core.id_in_use("my-id")


async def test_core_start_pbx_without_dialplan() -> None:
    rig = Rig()
    chan = rig.new()
    with pytest.raises(RuntimeError):
        rig.core.start_pbx(chan)


async def test_hangup_all() -> None:
    rig = Rig()
    a, b = rig.new("a"), rig.new("b")
    rig.core.hangup_all()
    await wait_for(lambda: not rig.core.channels)
    assert a.destroyed and b.destroyed
    assert rig.core.calls_processed == 2


def test_cause_texts() -> None:
    assert causes.cause_text(16) == "Normal Clearing"
    assert causes.cause_text(17) == "User busy"
    assert causes.cause_text(21) == "Call Rejected"
    assert causes.cause_text(19) == "User alerting, no answer"
    assert causes.cause_text(34) == "Circuit/channel congestion"
    assert causes.cause_text(0) == "Unknown"
    assert causes.cause_text(12345) == "Unknown"
    assert causes.HANGUP_REASONS["busy"] == 17
    assert causes.HANGUP_REASONS["normal"] == 16
    assert causes.HANGUP_REASONS["congestion"] == 34
    assert causes.SOFTHANGUP_DEV == 1
    assert causes.SOFTHANGUP_APPUNLOAD == 16
    assert causes.SOFTHANGUP_EXPLICIT == 32
