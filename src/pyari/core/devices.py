"""Device states (Asterisk's devicestate core and res_stasis_device_state).

Every device has a state, one of :data:`STATES`.  ``Stasis:<name>`` devices
are set by ARI and kept in the astdb (family ``StasisDeviceState``), so they
survive a restart.  Devices of channel technologies (``Local/1000@ctx``,
``Sim/alice``) take their state from their live channels.

A change is published as :class:`~pyari.core.events.DeviceStateChanged` on
the topic ``devicestate:<device name>``, which forwards into
``devicestate:all`` (``Core.all_devicestates``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from pyari.bus import Topic
from pyari.core import events as ev
from pyari.core.refusals import Conflict, Invalid, NotFound, Refused

if TYPE_CHECKING:
    from pyari.core.astdb import AstDb
    from pyari.core.engine import Core

__all__ = [
    "FAMILY",
    "SCHEME",
    "STATES",
    "DeviceError",
    "DeviceNameMissing",
    "DeviceState",
    "DeviceStates",
    "InvalidDeviceState",
    "UncontrolledDevice",
    "chan_state_to_device",
]

FAMILY = "StasisDeviceState"
SCHEME = "Stasis:"

STATES = (
    "UNKNOWN",
    "NOT_INUSE",
    "INUSE",
    "BUSY",
    "INVALID",
    "UNAVAILABLE",
    "RINGING",
    "RINGINUSE",
    "ONHOLD",
)
_SETTABLE = frozenset(STATES) - {"UNKNOWN"}

_CHAN_TO_DEVICE = {
    "Down": "NOT_INUSE",
    "Rsrvd": "INUSE",
    "OffHook": "INUSE",
    "Dialing": "INUSE",
    "Ring": "INUSE",
    "Ringing": "RINGING",
    "Up": "INUSE",
    "Busy": "BUSY",
    "Dialing Offhook": "INUSE",
    "Pre-ring": "RINGING",
}


def chan_state_to_device(state: str) -> str:
    """The device state a channel in ``state`` gives its device."""
    return _CHAN_TO_DEVICE.get(state, "UNKNOWN")


def device_of_channel(name: str) -> str:
    """``Sim/alice-00000001`` → ``Sim/alice``; ``Local/1@ctx-00000002;1`` → ``Local/1@ctx``."""
    base, sep, _ = name.rpartition("-")
    return base if sep else name


class DeviceState(msgspec.Struct, frozen=True):
    """ARI's DeviceState model."""

    name: str
    state: str


class DeviceError(Refused):
    """An update or delete of a device Asterisk refuses."""


class DeviceNameMissing(DeviceError, NotFound):
    """``Stasis:`` with no name after it."""


class UncontrolledDevice(DeviceError, Conflict):
    """A device that is not a ``Stasis:`` one (its state is not ARI's to set)."""


class InvalidDeviceState(DeviceError, Invalid):
    """A state an application may not set."""


ExtenExists = Callable[[str, str], bool]

_CHANNEL_CHANGES = (ev.ChannelCreated, ev.ChannelDestroyed, ev.ChannelStateChange)
"""What of a channel's messages can change its device's state."""


class DeviceStates:
    """The device states of one pyari."""

    def __init__(self, core: Core, astdb: AstDb, exten_exists: ExtenExists | None = None) -> None:
        self.core = core
        self.astdb = astdb
        self.exten_exists = exten_exists
        """Whether ``exten@context`` exists (for Local devices)."""
        self.all: Topic = core.bus.topic("devicestate:all", "All device states")
        self._last: dict[str, str] = {}
        self._by_device: dict[str, list[str]] = {}
        """Live channel ids of each channel device, oldest first."""
        self._sub = core.all_channels.subscribe(self._on_channel, only=_CHANNEL_CHANGES)

    def close(self) -> None:
        self._sub.unsubscribe()

    # -- topics --------------------------------------------------------------------

    def topic(self, device: str) -> Topic:
        """The topic of one device (``devicestate:<name>``), forwarding into the all-topic."""
        topic = self.core.bus.topic(f"devicestate:{device}", device)
        # The topic may have been made by a subscriber before the first change.
        for fwd in topic.forwards:
            if fwd.active and fwd.target is self.all:
                return topic
        topic.forward_to(self.all)
        return topic

    def _publish(self, device: str, state: str) -> None:
        self._last[device] = state
        self.topic(device).publish(ev.DeviceStateChanged(device_state=DeviceState(device, state)))

    # -- reading -----------------------------------------------------------------------

    def state(self, device: str) -> str:
        """The state of any device, as ``ast_device_state`` finds it."""
        tech, slash, resource = device.partition("/")
        if not slash:
            provider, colon, rest = device.partition(":")
            if not colon:
                return "INVALID"
            if provider.lower() != SCHEME[:-1].lower():
                return "INVALID"
            value = self.astdb.get(FAMILY, rest) if rest else None
            return value.upper() if value and value.upper() in _SETTABLE else "UNKNOWN"
        oldest = self._oldest_channel(device)
        lowered = tech.lower()
        if lowered == "local":
            return self._local_state(resource, oldest is not None)
        if lowered not in self.core.techs:
            return "INVALID"
        if oldest is not None:
            return _CHAN_TO_DEVICE.get(oldest.state, "UNKNOWN")
        if lowered == "sim":
            phones = getattr(self.core.techs["sim"], "phones", {})
            if resource in phones:
                return "NOT_INUSE"
        return "UNKNOWN"

    def _local_state(self, resource: str, in_use: bool) -> str:
        exten, at, context = resource.partition("@")
        if not at:
            return "INVALID"
        context = context.partition("/")[0]
        if in_use:
            return "INUSE"
        if self.exten_exists is not None and self.exten_exists(context, exten):
            return "NOT_INUSE"
        return "INVALID"

    def _oldest_channel(self, device: str) -> Any:
        """The device's oldest live channel (None: it has none)."""
        channels = self.core.channels
        for i in self._by_device.get(device, ()):
            chan = channels.get(i)
            if chan is not None:
                return chan
        return None

    def controlled(self) -> list[DeviceState]:
        """Every ``Stasis:`` device stored, with its state (``GET /deviceStates``)."""
        return [
            DeviceState(SCHEME + name, self.state(SCHEME + name))
            for name in self.astdb.tree(FAMILY)
        ]

    # -- Stasis: devices ----------------------------------------------------------------

    @staticmethod
    def controlled_name(device: str) -> str:
        if device[: len(SCHEME)].lower() != SCHEME.lower():
            raise UncontrolledDevice("Uncontrolled device specified")
        name = device[len(SCHEME) :]
        if not name:
            raise DeviceNameMissing("Device name is missing")
        return name

    def update(self, device: str, state: str) -> None:
        """Set a ``Stasis:`` device; raises :class:`DeviceError` as Asterisk refuses."""
        name = self.controlled_name(device)
        value = state.upper()
        if value not in _SETTABLE:
            raise InvalidDeviceState("Invalid value for parameter deviceState")
        self.astdb.put(FAMILY, name, value)
        self._publish(SCHEME + name, value)

    def delete(self, device: str) -> None:
        """Forget a ``Stasis:`` device; it reads back ``UNKNOWN``."""
        name = self.controlled_name(device)
        if self.astdb.delete(FAMILY, name) or self._last.get(SCHEME + name) not in (
            None,
            "UNKNOWN",
        ):
            self._publish(SCHEME + name, "UNKNOWN")

    # -- channel devices ----------------------------------------------------------------

    def _on_channel(self, _topic: Topic, msg: Any) -> None:
        if isinstance(msg, ev.ChannelCreated):
            device = device_of_channel(msg.channel.name)
            self._by_device.setdefault(device, []).append(msg.channel.id)
        elif isinstance(msg, ev.ChannelDestroyed):
            device = device_of_channel(msg.channel.name)
            ids = self._by_device.get(device)
            if ids is not None:
                if msg.channel.id in ids:
                    ids.remove(msg.channel.id)
                if not ids:
                    del self._by_device[device]
        else:  # ChannelStateChange
            device = device_of_channel(msg.channel.name)
        state = self.state(device)
        if self._last.get(device) != state:
            self._publish(device, state)
