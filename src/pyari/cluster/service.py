"""The cluster as one node runs it: :class:`Cluster` (started by ``Server`` when
cluster.conf says ``enabled = yes``).

It owns the NATS :class:`~pyari.cluster.link.Link`, membership
(:class:`~pyari.cluster.nodes.Nodes`) and ownership
(:class:`~pyari.cluster.owners.Owners`), implements the
:class:`~pyari.cluster.directory.Directory` the other parts use, and starts
them: REST forwarding (``pyari.cluster.forward.Forwarder(link, directory, ari)``)
and the applications' events (``pyari.cluster.apps.ClusterApps(link, directory,
stasis, ari)``), each when its module is there.  :meth:`Cluster.stop` stops
everything in the reverse order.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pyari.cluster.directory import LostHandler
from pyari.cluster.link import Link
from pyari.cluster.nodes import Nodes
from pyari.cluster.owners import Owners
from pyari.config.cluster import ClusterSettings
from pyari.core.engine import Core

if TYPE_CHECKING:
    from pyari.ari.service import AriService
    from pyari.stasis.playback import Playbacks
    from pyari.stasis.recording import LiveRecordings
    from pyari.stasis.registry import Registry

log = logging.getLogger("pyari.cluster")

Addresses = Callable[[], tuple[str, str]]
"""This node's ``(sip, http)`` addresses as ``host:port`` ("" when it has none)."""


class Part(Protocol):
    """A part of the cluster started after membership and ownership (forward, apps)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Cluster:
    """This node's membership in the cluster: the :class:`Directory` of the other parts."""

    def __init__(
        self,
        settings: ClusterSettings,
        core: Core,
        *,
        stasis: Registry | None = None,
        ari: AriService | None = None,
        playbacks: Playbacks | None = None,
        recordings: LiveRecordings | None = None,
        addresses: Addresses | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self.stasis = stasis
        self.ari = ari
        self.addresses = addresses
        self.started = time.time()
        if not core.id_prefix:
            # Channels' unique ids must not collide across nodes started in the same second.
            core.id_prefix = f"{settings.node_name}-"
        self.link = Link(settings)
        self.nodes = Nodes(self.link, self.facts)
        self.owners = Owners(self.link, core, playbacks, recordings, alive=self.nodes.is_alive)
        self.nodes.forget = self.owners.forget_node
        self.parts: list[Part] = []
        """The other parts started (forward, apps), in order."""
        self.forwarder: Any = None
        """``pyari.cluster.forward.Forwarder`` once started (None: not there)."""
        self.apps: Any = None
        """``pyari.cluster.apps.ClusterApps`` once started (None: not there)."""
        self.running = False

    # -- Directory ------------------------------------------------------------------

    @property
    def node(self) -> str:
        """This node's name."""
        return self.link.node

    def alive(self) -> list[str]:
        """The live nodes' names, this node's included, sorted."""
        return self.nodes.alive()

    def load(self, node: str) -> int:
        """The channels on ``node`` by its last heartbeat (this node: now)."""
        return self.nodes.load(node)

    def owner(self, kind: str, ident: str) -> str | None:
        """The node that owns ``ident`` of ``kind``: this one for its own, else by record."""
        return self.owners.owner(kind, ident)

    def on_lost(self, handler: LostHandler) -> None:
        """``handler(node)`` when a node is declared lost (before its records go)."""
        self.nodes.on_lost(handler)

    @property
    def leader(self) -> str:
        return self.nodes.leader

    # -- life -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to NATS, join (heartbeats), claim this node's objects, start the parts.

        Raises when NATS cannot be reached (the caller says so and stops)."""
        await self.link.connect()
        await self.nodes.start()
        await self.owners.start()
        self.forwarder = await self._start_part(
            "pyari.cluster.forward", "Forwarder", self.link, self, self.ari
        )
        self.apps = await self._start_part(
            "pyari.cluster.apps", "ClusterApps", self.link, self, self.stasis, self.ari
        )
        self.running = True
        log.info(
            "cluster %s: node %s joined (%d live)",
            self.settings.cluster,
            self.node,
            len(self.alive()),
        )

    async def _start_part(self, module: str, name: str, *args: Any) -> Any:
        if importlib.util.find_spec(module) is None:
            return None  # that part is not built yet
        part = getattr(importlib.import_module(module), name)(*args)
        await part.start()
        self.parts.append(part)
        return part

    async def announce(self) -> None:
        """Heartbeat now (after the node bound its SIP and HTTP addresses)."""
        with contextlib.suppress(Exception):
            await self.nodes.beat()

    async def stop(self) -> None:
        """Stop the parts (last started first), ownership, membership; disconnect."""
        self.running = False
        for part in reversed(self.parts):
            try:
                await part.stop()
            except Exception:
                log.exception("cluster: stopping %s failed", type(part).__name__)
        self.parts = []
        if self.link.nc is not None:
            await self.owners.stop()
            await self.nodes.stop()
        await self.link.close()

    # -- facts -------------------------------------------------------------------------

    def facts(self) -> dict[str, Any]:
        """This node's heartbeat facts: ``sip``, ``http``, ``channels``, ``started``."""
        sip, http = ("", "")
        if self.addresses is not None:
            with contextlib.suppress(Exception):
                sip, http = self.addresses()
        return {
            "sip": sip,
            "http": http,
            "channels": len(self.core.channels),
            "started": self.started,
        }
