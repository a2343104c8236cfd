"""Simulated phones: ``Sim/<name>`` channels for tests and demos.

A :class:`SimPhone` behaves like a simple handset: called, it rings and
answers after ``answer_after`` seconds (or never, or is busy); it can place
calls into the dialplan, and hang up on command.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from pyari.core import causes
from pyari.core.channel import Channel
from pyari.core.endpoint import Endpoint, Refer, TextMessage
from pyari.core.engine import Core
from pyari.core.tech import TechError


@dataclass
class SimPhone:
    """A simulated phone and how it behaves."""

    name: str
    answer_after: float | None = 0.0
    """Seconds of ringing before it answers; None never answers."""
    busy: bool = False
    context: str = "default"
    """Where its outgoing calls start in the dialplan."""
    channels: list[Channel] = field(default_factory=list)
    tech: SimTech | None = None
    messages: list[TextMessage] = field(default_factory=list)
    """Out-of-call messages this phone received."""
    refers: list[Refer] = field(default_factory=list)
    """Out-of-call REFERs this phone received."""
    endpoint: Endpoint | None = None
    """Its endpoint ``Sim/<name>`` (online while the phone exists)."""
    received_dtmf: list[str] = field(default_factory=list)
    """Digits sent to this phone (e.g. by ARI ``sendDTMF``), in order."""
    indications: list[str] = field(default_factory=list)
    """Indications signalled to this phone: ringing, progress, hold, unhold ..."""

    def call(self, exten: str, context: str | None = None) -> Channel:
        """Place a call from this phone to ``exten`` in the dialplan."""
        if self.tech is None or self.tech.core is None:
            raise RuntimeError("phone is not registered with a running core")
        return self.tech.originate_from(self, exten, context or self.context)

    def hangup(self, cause: int = causes.NORMAL_CLEARING) -> None:
        """Hang up every call of this phone."""
        for chan in list(self.channels):
            chan.queue_hangup(cause)

    def set_online(self, online: bool) -> None:
        """Take the phone's endpoint online or offline (EndpointStateChange)."""
        if self.endpoint is not None:
            self.endpoint.set_state("online" if online else "offline")

    def send_message(
        self, body: str, to: str = "sim:pyari", variables: dict[str, str] | None = None
    ) -> None:
        """Send an out-of-call message: TextMessageReceived for the apps following it."""
        if self.endpoint is None:
            raise RuntimeError("phone is not registered with a running core")
        self.endpoint.text_message_received(
            TextMessage(to=to, sender=f"sim:{self.name}", body=body, variables=variables or {})
        )


class SimTech:
    name = "Sim"
    description = "Simulated phones for testing"

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self.phones: dict[str, SimPhone] = {}
        self._core: Core | None = None

    @property
    def core(self) -> Core | None:
        return self._core

    @core.setter
    def core(self, core: Core | None) -> None:
        if core is self._core:
            return
        self._core = core
        if core is not None:
            core.endpoints.register_message_tech("sim", self._deliver_message)
            core.endpoints.register_refer_tech("sim", self._deliver_refer)
            for phone in self.phones.values():
                self._attach(phone)

    def _attach(self, phone: SimPhone) -> None:
        if self._core is not None:
            phone.endpoint = self._core.endpoints.create(self.name, phone.name, "online")

    def _phone_of(self, uri: str) -> SimPhone | None:
        """The phone of a ``sim:<name>`` URI (``@host`` or ``/...`` ignored)."""
        name = uri.partition(":")[2].split("@", 1)[0].split("/", 1)[0]
        return self.phones.get(name)

    def _deliver_message(self, message: TextMessage) -> bool:
        phone = self._phone_of(message.to)
        if phone is None:
            return False
        phone.messages.append(message)
        return True

    def _deliver_refer(self, refer: Refer) -> bool:
        phone = self._phone_of(refer.to)
        if phone is None or not refer.sender or not refer.refer_to:
            return False
        phone.refers.append(refer)
        return True

    def phone(self, name: str, **behaviour: object) -> SimPhone:
        """The phone called ``name``, created on first use."""
        phone = self.phones.get(name)
        if phone is None:
            phone = self.phones[name] = SimPhone(name, tech=self)
            self._attach(phone)
        for key, value in behaviour.items():
            if not hasattr(phone, key):
                raise TypeError(f"SimPhone has no setting {key!r}")
            setattr(phone, key, value)
        return phone

    def _new_channel(
        self, core: Core, phone: SimPhone, uniqueid: str | None, state: str
    ) -> Channel:
        if uniqueid is not None and core.id_in_use(uniqueid):
            raise TechError("Channel with given unique ID already exists")
        chan = Channel(
            core,
            self,
            f"Sim/{phone.name}-{next(self._seq):08x}",
            uniqueid=uniqueid or core.new_uniqueid(),
            state=state,
        )
        chan.tech_pvt = phone
        phone.channels.append(chan)
        if phone.endpoint is None:
            self._attach(phone)
        if phone.endpoint is not None:
            phone.endpoint.add_channel(chan)
        core.channel_added(chan)
        return chan

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        self.core = core
        name = resource.partition("/")[0]
        if not name:
            raise TechError("Invalid endpoint specified")
        phone = self.phone(name)
        return self._new_channel(core, phone, uniqueid, "Down")

    def originate_from(self, phone: SimPhone, exten: str, context: str) -> Channel:
        assert self.core is not None
        chan = self._new_channel(self.core, phone, None, "Ring")
        chan.set_caller(phone.name, phone.name)
        chan.set_location(context, exten, 1)
        self.core.start_pbx(chan)
        return chan

    def call(self, chan: Channel, timeout: float | None) -> None:
        phone: SimPhone = chan.tech_pvt
        if phone.busy:
            chan.core.loop_call_soon(lambda: chan.queue_hangup(causes.USER_BUSY))
            return
        chan.set_state("Ringing")
        if phone.answer_after is None:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(phone.answer_after, chan.answer)

    def answered(self, chan: Channel) -> None:
        pass

    def send_digit(self, chan: Channel, digit: str, duration_ms: int) -> None:
        """A DTMF digit sent out on ``chan`` reaches the phone."""
        phone: SimPhone = chan.tech_pvt
        phone.received_dtmf.append(digit)

    def indicate(self, chan: Channel, condition: str, data: str | None) -> None:
        """An indication (ringing, hold ...) sent out on ``chan`` reaches the phone."""
        phone: SimPhone = chan.tech_pvt
        phone.indications.append(condition)

    def hangup(self, chan: Channel) -> None:
        phone: SimPhone = chan.tech_pvt
        if chan in phone.channels:
            phone.channels.remove(chan)
        if phone.endpoint is not None:
            phone.endpoint.remove_channel(chan)
