"""Core.new_channel, the one way technologies make channels, and the typed request errors."""

from __future__ import annotations

from typing import Any

import pytest

from pyari.bus import Topic
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.core.tech import (
    BadDialString,
    DuplicateId,
    TechError,
    UnknownTechnology,
    pvt_of,
    pvt_or_none,
)


class Pvt:
    """A technology's private state."""

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.registered_at_setup = chan.id in chan.core.channels


class Other:
    """Another technology's private state."""


class Tech:
    name = "T"
    description = "Technology for tests"

    def __init__(self) -> None:
        self.setups: list[Channel] = []

    def setup(self, chan: Channel) -> Pvt:
        self.setups.append(chan)
        return Pvt(chan)

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        return core.new_channel(self, f"T/{resource}", uniqueid=uniqueid, setup=self.setup)

    def call(self, chan: Channel, timeout: float | None) -> None:
        pass

    def answered(self, chan: Channel) -> None:
        pass

    def hangup(self, chan: Channel) -> None:
        pass


class Rig:
    def __init__(self) -> None:
        self.core = Core()
        self.tech = Tech()
        self.core.register_tech(self.tech)
        self.created: list[str] = []
        self.core.all_channels.subscribe(self._on)

    def _on(self, topic: Topic, message: Any) -> None:
        if isinstance(message, ev.ChannelCreated):
            self.created.append(message.channel.id)


def test_new_channel_sets_up_then_registers_and_announces() -> None:
    rig = Rig()
    chan = rig.core.new_channel(
        rig.tech, "T/a", setup=rig.tech.setup, state="Ring", context="c", exten="100"
    )
    pvt = pvt_of(chan, Pvt)
    assert pvt.chan is chan
    assert pvt.registered_at_setup is False  # nobody saw the channel before its setup
    assert rig.core.channels[chan.id] is chan
    assert rig.core.find_channel("T/a") is chan
    assert rig.created == [chan.id]
    assert (chan.state, chan.context, chan.exten) == ("Ring", "c", "100")


def test_new_channel_takes_the_requested_id_or_a_fresh_one() -> None:
    rig = Rig()
    given = rig.core.new_channel(rig.tech, "T/a", uniqueid="mine")
    fresh = rig.core.new_channel(rig.tech, "T/b")
    assert given.id == "mine"
    assert fresh.id not in ("mine", "")
    assert given.tech_pvt is None  # no setup: no private state


def test_a_taken_id_is_refused_before_anything_is_built() -> None:
    rig = Rig()
    rig.core.new_channel(rig.tech, "T/a", uniqueid="taken")
    with pytest.raises(DuplicateId) as caught:
        rig.core.new_channel(rig.tech, "T/b", uniqueid="taken", setup=rig.tech.setup)
    assert caught.value.uniqueid == "taken"
    assert str(caught.value) == "Channel with given unique ID already exists"
    assert isinstance(caught.value, TechError)
    assert rig.tech.setups == []  # the setup (which may allocate) never ran
    assert rig.created == ["taken"]
    assert rig.core.find_channel("T/b") is None


def test_unannounced_channel_waits_for_channel_added() -> None:
    rig = Rig()
    chan = rig.core.new_channel(rig.tech, "T/a", announce=False)
    assert chan.id not in rig.core.channels
    assert rig.created == []
    rig.core.channel_added(chan)
    assert rig.created == [chan.id]


def test_check_ids_refuses_a_taken_or_repeated_id() -> None:
    rig = Rig()
    rig.core.new_channel(rig.tech, "T/a", uniqueid="u1")
    rig.core.check_ids(None, "u2", None)
    with pytest.raises(DuplicateId):
        rig.core.check_ids("u2", "u1")
    with pytest.raises(DuplicateId) as caught:
        rig.core.check_ids("u3", "u3")
    assert caught.value.uniqueid == "u3"


def test_request_errors_are_typed() -> None:
    rig = Rig()
    with pytest.raises(BadDialString, match=r"^Invalid endpoint specified$"):
        rig.core.request("no-slash")
    with pytest.raises(UnknownTechnology) as caught:
        rig.core.request("Nope/x")
    assert str(caught.value) == "No such channel technology 'Nope'"
    assert isinstance(caught.value, BadDialString)
    chan = rig.core.request("t/x", uniqueid="u1")  # technology names are case-insensitive
    assert isinstance(chan.tech_pvt, Pvt)
    with pytest.raises(DuplicateId):
        rig.core.request("T/y", uniqueid="u1")


def test_pvt_of_reads_a_technology_state_by_its_type() -> None:
    rig = Rig()
    chan = rig.core.new_channel(rig.tech, "T/a", setup=rig.tech.setup)
    assert pvt_of(chan, Pvt) is chan.tech_pvt
    assert pvt_or_none(chan, Pvt) is chan.tech_pvt
    with pytest.raises(TypeError, match="T/a holds no Other"):
        pvt_of(chan, Other)
    assert pvt_or_none(chan, Other) is None
    chan.tech_pvt = None  # the technology let go of it at hangup
    assert pvt_or_none(chan, Pvt) is None
    with pytest.raises(TypeError):
        pvt_of(chan, Pvt)
