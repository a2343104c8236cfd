"""The core: live channels and bridges, global variables, id allocation."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import gc
import itertools
import logging
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Unpack

from pyari.bus import Bus
from pyari.core import events as ev
from pyari.core.endpoint import Endpoints
from pyari.core.tech import BadDialString, ChannelTech, DuplicateId, UnknownTechnology

if TYPE_CHECKING:
    from pyari.core.bridge import Bridge
    from pyari.core.channel import Channel, ChannelFields
    from pyari.core.media_hooks import MediaHooks

log = logging.getLogger(__name__)

PbxStarter = Callable[["Channel"], None]

RELEASE_AFTER_PEAK = 64
"""Channels live at once before memory is worth giving back once they are all gone."""
RELEASE_DELAY = 0.5
"""Seconds with no channel before memory is given back (debounce)."""


@functools.cache
def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere: other libcs and systems)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def shrink(d: dict[Any, Any] | set[Any]) -> None:
    """Give back a dict's or set's table grown by a peak (they never shrink when emptied)."""
    kept = d.copy()
    d.clear()  # frees the table
    if kept:
        d.update(kept)  # type: ignore[arg-type]


class Core:
    """Everything live in one pyari process."""

    def __init__(
        self,
        *,
        entity_id: str = "02:fc:00:00:00:01",
        system_name: str = "",
        snapshot_channelvars: tuple[str, ...] = (),
    ) -> None:
        self.bus = Bus()
        self.all_channels = self.bus.topic("channel:all", "All channels")
        self.all_bridges = self.bus.topic("bridge:all", "All bridges")
        self.all_devicestates = self.bus.topic("devicestate:all", "All device states")
        """DeviceStateChanged of every device (each ``devicestate:<name>`` forwards here)."""
        self.endpoints = Endpoints(self.bus)
        """Endpoints (``Sim/alice`` ...), their topics and message routing."""
        self.entity_id = entity_id
        self.system_name = system_name
        self.startup = time.time()
        self.last_reload = self.startup
        self._epoch = int(self.startup)
        self._seq = itertools.count()
        self.id_prefix = ""
        """Put before every unique id made here (a cluster node: ``<node>-``, as Asterisk
        prefixes ``systemname``), so ids stay unique across nodes started together."""
        self.channels: dict[str, Channel] = {}
        self.channels_by_name: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.globals: dict[str, str] = {}
        self.techs: dict[str, ChannelTech] = {}
        self.snapshot_channelvars = snapshot_channelvars
        """ari.conf ``channelvars``: the variables every channel snapshot carries."""
        self.pbx_starter: PbxStarter | None = None
        """Set by the dialplan: runs a channel's dialplan on its own task."""
        self.tasks: set[asyncio.Task[Any]] = set()
        self.calls_processed = 0
        self.media: MediaHooks | None = None
        """What channels and bridges tell the media service, when the server runs one."""
        self.peak_channels = 0
        """Most channels live at once since memory was last given back."""
        self.memory_releases = 0
        self._release: asyncio.TimerHandle | None = None
        self.release_hooks: list[Callable[[], None]] = []
        """Run when memory is given back: components drop what they keep of the peak."""

    # -- ids and tasks ---------------------------------------------------------

    def new_uniqueid(self) -> str:
        return f"{self.id_prefix}{self._epoch}.{next(self._seq)}"

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def loop_call_soon(self, fn: Callable[[], Any]) -> None:
        asyncio.get_running_loop().call_soon(fn)

    # -- technologies ------------------------------------------------------------

    def register_tech(self, tech: ChannelTech) -> None:
        self.techs[tech.name.lower()] = tech

    def request(
        self, endpoint: str, *, uniqueid: str | None = None, other_id: str | None = None
    ) -> Channel:
        """Create an outgoing channel for a ``Tech/resource`` dial string."""
        tech_name, sep, resource = endpoint.partition("/")
        if not sep:
            raise BadDialString()
        tech = self.techs.get(tech_name.lower())
        if tech is None:
            raise UnknownTechnology(tech_name)
        return tech.request(self, resource, uniqueid=uniqueid, other_id=other_id)

    # -- channels --------------------------------------------------------------

    def id_in_use(self, uniqueid: str) -> bool:
        return uniqueid in self.channels

    def check_ids(self, *uniqueids: str | None) -> None:
        """Raise :class:`DuplicateId` when a requested id is taken (or asked for twice)."""
        seen: set[str] = set()
        for uniqueid in uniqueids:
            if uniqueid is None:
                continue
            if uniqueid in self.channels or uniqueid in seen:
                raise DuplicateId(uniqueid)
            seen.add(uniqueid)

    def new_channel(
        self,
        tech: ChannelTech,
        name: str,
        *,
        uniqueid: str | None = None,
        setup: Callable[[Channel], object] | None = None,
        announce: bool = True,
        **fields: Unpack[ChannelFields],
    ) -> Channel:
        """Make a channel of ``tech``: the one way a technology creates its channels.

        ``uniqueid`` (None: a fresh one) must be free, else :class:`DuplicateId`
        is raised before anything is built or allocated. ``setup`` runs on the
        new channel before anyone sees it (private state, endpoint, wiring); what
        it returns becomes ``chan.tech_pvt``. The channel is then registered and
        announced (ChannelCreated), unless ``announce`` is False: then the caller
        calls :meth:`channel_added` itself (Local links its two halves first).
        """
        from pyari.core.channel import Channel

        if uniqueid:
            self.check_ids(uniqueid)
        else:
            uniqueid = self.new_uniqueid()
        chan = Channel(self, tech, name, uniqueid=uniqueid, **fields)
        if setup is not None:
            chan.tech_pvt = setup(chan)
        if announce:
            self.channel_added(chan)
        return chan

    def channel_added(self, chan: Channel) -> None:
        """Register a new channel and announce it (ChannelCreated)."""
        channels = self.channels
        channels[chan.id] = chan
        self.channels_by_name[chan.name] = chan
        if len(channels) > self.peak_channels:
            self.peak_channels = len(channels)
        chan.topic.publish(ev.ChannelCreated(channel=chan.snapshot()))

    def channel_gone(self, chan: Channel) -> None:
        self.channels.pop(chan.id, None)
        if self.channels_by_name.get(chan.name) is chan:
            del self.channels_by_name[chan.name]
        self.calls_processed += 1
        if not self.channels and self.peak_channels >= RELEASE_AFTER_PEAK and self._release is None:
            with contextlib.suppress(RuntimeError):  # no running loop: nothing to schedule
                loop = asyncio.get_running_loop()
                self._release = loop.call_later(RELEASE_DELAY, self.release_memory)

    def release_memory(self) -> None:
        """After a peak of channels, all gone: shrink the registries, collect, trim the heap.

        Freed Python objects return to pymalloc arenas, and emptied dicts keep their
        tables; glibc keeps freed heap pages. Components drop what they keep of
        the peak first (:attr:`release_hooks`). Run off the hot path, once the
        process has had no channel for :data:`RELEASE_DELAY` seconds.
        """
        self._release = None
        if self.channels:
            return  # busy again: the next time the count drops to zero re-arms
        self.peak_channels = 0
        self.memory_releases += 1
        for hook in self.release_hooks:
            hook()
        for d in (self.channels, self.channels_by_name, self.bridges, self.bus.topics):
            shrink(d)
        shrink(self.tasks)
        gc.collect()
        trim = malloc_trim()
        if trim is not None:
            trim(0)

    def new_bridge(self, bridge_id: str | None = None, **kwargs: Any) -> Bridge:
        """Create and announce a bridge (BridgeCreated)."""
        from pyari.core.bridge import Bridge

        bridge = Bridge(self, bridge_id or str(uuid.uuid4()), **kwargs)
        self.bridges[bridge.id] = bridge
        bridge.topic.publish(ev.BridgeCreated(bridge=bridge.snapshot()))
        return bridge

    def drop_topic(self, chan: Channel) -> None:
        self.bus.remove(chan.topic.name)

    def find_channel(self, key: str) -> Channel | None:
        """A channel by unique id, or by name."""
        return self.channels.get(key) or self.channels_by_name.get(key)

    def start_pbx(self, chan: Channel) -> None:
        if self.pbx_starter is None:
            raise RuntimeError("no dialplan loaded")
        self.pbx_starter(chan)

    # -- shutdown --------------------------------------------------------------

    def hangup_all(self) -> None:
        from pyari.core.causes import NORMAL_CLEARING

        for chan in list(self.channels.values()):
            chan.request_hangup(NORMAL_CLEARING)
