"""A PBX over the Sim and Local technologies that records every channel event."""

from __future__ import annotations

from typing import Any

from conftest import wait_for
from pyari.bus import Topic
from pyari.channels.local import LocalTech
from pyari.channels.sim import SimTech
from pyari.config import parse_text
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.dialplan import apps as _apps  # noqa: F401  (registers applications)
from pyari.dialplan.executor import Pbx
from pyari.dialplan.loader import build_dialplan
from pyari.stasis.registry import Registry


class Rig:
    def __init__(self, conf: str, *, stasis: bool = False) -> None:
        """The dialplan ``conf`` on a fresh core; ``stasis`` gives it a Stasis registry."""
        self.core = Core()
        self.core.register_tech(LocalTech())
        self.sim = SimTech(self.core)
        self.core.register_tech(self.sim)
        self.pbx = Pbx(self.core, build_dialplan(parse_text(conf)))
        if stasis:
            self.pbx.provide(Registry(self.core))
        self.events: list[Any] = []
        self.core.all_channels.subscribe(self._on)

    def _on(self, topic: Topic, message: Any) -> None:
        self.events.append(message)

    def call(self, exten: str, context: str = "test") -> Channel:
        return self.sim.phone("p").call(exten, context)

    async def run(self, exten: str, context: str = "test") -> Channel:
        """Run a call to ``exten`` until its channel is gone."""
        chan = self.call(exten, context)
        await wait_for(lambda: chan.destroyed)
        return chan

    def of(self, etype: type[ev.Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, etype)]

    def mine(self, chan: Channel, etype: type[ev.Event] = ev.Event) -> list[Any]:
        """The events of type ``etype`` about ``chan`` (as the channel or the peer)."""
        return [
            e
            for e in self.of(etype)
            if getattr(getattr(e, "channel", None), "id", None) == chan.id
            or getattr(getattr(e, "peer", None), "id", None) == chan.id
        ]

    def apps(self, chan: Channel) -> list[tuple[str, str]]:
        """The applications ``chan`` ran, with their arguments."""
        return [(e.dialplan_app, e.dialplan_app_data) for e in self.mine(chan, ev.ChannelDialplan)]

    def where(self, chan: Channel) -> list[tuple[str, int, str]]:
        """Extension, priority and application of each step ``chan`` ran."""
        return [
            (e.channel.dialplan.exten, e.channel.dialplan.priority, e.dialplan_app)
            for e in self.mine(chan, ev.ChannelDialplan)
        ]

    async def drain(self) -> None:
        self.core.hangup_all()
        await wait_for(lambda: not self.core.channels)
