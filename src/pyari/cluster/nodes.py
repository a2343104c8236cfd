"""Membership: which nodes are in the cluster, and which of them are alive.

Every node puts its heartbeat in the ``NODES`` key-value bucket (key: the node's
name; value: JSON ``{"node", "sip", "http", "channels", "started", "time"}``)
every ``heartbeat`` seconds, and watches the bucket.  A node is *alive* while
its last heartbeat, by this node's own monotonic clock at the moment the
update arrived, is at most ``node_timeout`` old; then it is *lost*: the
``on_lost`` handlers run (once), and the leader — the live node with the
lowest name — is told to forget it (:attr:`Nodes.forget`, wired to the
ownership records).  While this node is cut off from NATS it declares nobody
lost (it cannot tell), and when the connection comes back every node gets a
fresh ``node_timeout`` to be heard again.  A lost node that heartbeats again is alive again.  A node
that stops cleanly deletes its key: the others see it *leave* at once (no
``on_lost``), and the leader forgets its records too.

Entries of the bucket live ``node_timeout`` seconds without a new put, so a
node starting later never sees long-gone nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyari.cluster.directory import LostHandler
from pyari.cluster.link import Link
from pyari.cluster.watch import BucketWatch

log = logging.getLogger("pyari.cluster")

BUCKET = "NODES"

Clock = Callable[[], float]


@dataclass(slots=True)
class NodeInfo:
    """A node as its last heartbeat described it."""

    name: str
    sip: str = ""
    """``host:port`` of its first SIP transport ("" when it has none)."""
    http: str = ""
    """``host:port`` of its HTTP server ("" when it has none)."""
    channels: int = 0
    started: float = 0.0
    """Its start, wall-clock seconds."""
    time: float = 0.0
    """When it sent the heartbeat, wall-clock seconds (its clock)."""
    seen: float = 0.0
    """When this node received the heartbeat, by its monotonic clock."""
    lost: bool = False

    @classmethod
    def parse(cls, name: str, data: bytes, seen: float) -> NodeInfo:
        """From a heartbeat's JSON (fields missing or of the wrong type are left default)."""
        info = cls(name, seen=seen)
        try:
            doc = json.loads(data)
        except ValueError:
            return info
        if not isinstance(doc, dict):
            return info
        for key in ("sip", "http"):
            if isinstance(doc.get(key), str):
                setattr(info, key, doc[key])
        for key in ("channels",):
            if isinstance(doc.get(key), int) and not isinstance(doc.get(key), bool):
                info.channels = doc[key]
        for key in ("started", "time"):
            value = doc.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                setattr(info, key, float(value))
        return info


Heartbeat = Callable[[], dict[str, Any]]
"""This node's facts for its heartbeat: ``sip``, ``http``, ``channels``, ``started``."""


class Nodes:
    """This node's view of the cluster's members (and its own heartbeats)."""

    def __init__(
        self,
        link: Link,
        facts: Heartbeat,
        *,
        clock: Clock = time.monotonic,
        wallclock: Clock = time.time,
    ) -> None:
        self.link = link
        self.name = link.node
        self.heartbeat = link.settings.heartbeat
        self.timeout = link.settings.node_timeout
        self.facts = facts
        self.clock = clock
        self.wallclock = wallclock
        self.table: dict[str, NodeInfo] = {}
        """Every node seen (alive or lost), by name; a node that left is removed."""
        self.forget: Callable[[str], object] | None = None
        """Run by the leader for a node that was lost or left (drops its records)."""
        self.kv: Any = None
        self.beats = 0
        """Heartbeats put so far."""
        self.beat_errors = 0
        self.storing = True
        """This node's heartbeats are being stored (False while puts fail: JetStream
        down or still recovering; nobody's silence counts then)."""
        self._lost_handlers: list[LostHandler] = []
        self._left_handlers: list[LostHandler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.watch: BucketWatch | None = None
        self._beater: asyncio.Task[None] | None = None

    # -- the directory's part ------------------------------------------------------

    def alive(self) -> list[str]:
        """The live nodes' names, this node's included, sorted."""
        names = {n for n, info in self.table.items() if not info.lost}
        names.add(self.name)
        return sorted(names)

    def is_alive(self, node: str) -> bool:
        if node == self.name:
            return True
        info = self.table.get(node)
        return info is not None and not info.lost

    @property
    def leader(self) -> str:
        """The live node with the lowest name."""
        return self.alive()[0]

    def load(self, node: str) -> int:
        """The channels of ``node`` by its last heartbeat (this node: now)."""
        if node == self.name:
            return int(self.facts().get("channels", 0))
        info = self.table.get(node)
        return info.channels if info is not None else 0

    def on_lost(self, handler: LostHandler) -> None:
        """``handler(node)`` when ``node`` is declared lost (before its records go)."""
        self._lost_handlers.append(handler)

    def on_left(self, handler: LostHandler) -> None:
        """``handler(node)`` when ``node`` left cleanly (deleted its heartbeat)."""
        self._left_handlers.append(handler)

    # -- life --------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the bucket, put the first heartbeat, load the members and watch them."""
        self.kv = await self.link.bucket(BUCKET, ttl=self.timeout)
        await self.beat()
        self.watch = BucketWatch(self.kv, self._entry, name="nodes")
        await self.watch.start()
        self.link.on_reconnect(self._reconnected)
        loop = asyncio.get_running_loop()
        self._beater = loop.create_task(self._beating(), name="cluster-heartbeat")
        self._tasks = [
            self._beater,
            loop.create_task(self._checking(), name="cluster-node-check"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.watch.ready.wait(), 5)

    async def stop(self) -> None:
        """Stop beating and watching; delete this node's key (the others see it leave)."""
        for task in self._tasks:
            # Cancelled until done: Python 3.11's wait_for (in nats-py's requests) can
            # swallow a cancellation, and the loop would go on for ever.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
        self._tasks = []
        self._beater = None
        if self.watch is not None:
            await self.watch.stop()
        if self.kv is not None:
            try:
                await asyncio.wait_for(self.kv.delete(self.name), 2)
            except Exception as exc:
                log.warning("cluster: could not delete this node's heartbeat: %s", exc)

    def pause(self) -> None:
        """Stop heartbeating (the others declare this node lost): a node cut off, in tests."""
        if self._beater is not None:
            self._beater.cancel()
            self._beater = None

    def resume(self) -> None:
        """Heartbeat again after :meth:`pause` (the others see this node come back)."""
        if self._beater is None and self._tasks:
            self._beater = asyncio.get_running_loop().create_task(
                self._beating(first=True), name="cluster-heartbeat"
            )
            self._tasks.append(self._beater)

    # -- heartbeats ----------------------------------------------------------------------

    def heartbeat_value(self) -> bytes:
        facts = self.facts()
        doc = {
            "node": self.name,
            "sip": str(facts.get("sip", "")),
            "http": str(facts.get("http", "")),
            "channels": int(facts.get("channels", 0)),
            "started": float(facts.get("started", 0.0)),
            "time": self.wallclock(),
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    async def beat(self) -> None:
        await self.kv.put(self.name, self.heartbeat_value())
        self.beats += 1

    async def _beating(self, *, first: bool = False) -> None:
        failing = False
        while True:
            if not first:
                await asyncio.sleep(self.heartbeat)
            first = False
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.beat_errors += 1
                if not failing:
                    log.warning("cluster: heartbeat not stored (NATS down?): %s", exc)
                failing = True
                self.storing = False
            else:
                if failing:
                    log.info("cluster: heartbeats stored again")
                    self._hear_everyone_afresh()
                failing = False
                self.storing = True

    # -- the watcher --------------------------------------------------------------------------

    def _hear_everyone_afresh(self) -> None:
        """Nobody's silence counted while this node could not hear (or store): every
        live node gets a fresh ``node_timeout`` from now."""
        now = self.clock()
        for info in self.table.values():
            if not info.lost:
                info.seen = max(info.seen, now)

    async def _reconnected(self) -> None:
        """Back on NATS: nobody's silence counted while this node could not hear."""
        self._hear_everyone_afresh()
        if self.watch is not None:
            await self.watch.restart()

    def _entry(self, name: str, value: bytes, deleted: bool) -> None:
        self.update(name, value, deleted=deleted)

    def update(self, name: str, value: bytes | None, *, deleted: bool = False) -> None:
        """One change of the bucket: a heartbeat of ``name``, or its key deleted."""
        if deleted:
            self.table.pop(name, None)
            if name != self.name:
                log.info("cluster: node %s left", name)
                self._run(self._left_handlers, name)
                self._forget(name)
            return
        info = NodeInfo.parse(name, value or b"", self.clock())
        old = self.table.get(name)
        self.table[name] = info
        if (old is None or old.lost) and name != self.name:
            log.info("cluster: node %s %s", name, "is back" if old else "joined")

    # -- lost nodes --------------------------------------------------------------------------

    async def _checking(self) -> None:
        interval = min(self.heartbeat, self.timeout / 4)
        while True:
            await asyncio.sleep(interval)
            self.check()

    def check(self) -> list[str]:
        """Declare lost the nodes silent for longer than ``node_timeout``; return them.

        Not while this node is cut off from NATS, nor while its own heartbeats are not
        stored (JetStream recovering after a restart): it cannot tell who is silent."""
        if not self.link.connected or not self.storing:
            return []
        now = self.clock()
        lost = [
            info.name
            for info in self.table.values()
            if not info.lost and info.name != self.name and now - info.seen > self.timeout
        ]
        for name in lost:
            self.table[name].lost = True
            log.warning("cluster: node %s lost (no heartbeat for %gs)", name, self.timeout)
            self._run(self._lost_handlers, name)
            self._forget(name)
        return lost

    def _forget(self, name: str) -> None:
        if self.forget is not None and self.leader == self.name:
            try:
                self.forget(name)
            except Exception:
                log.exception("cluster: forgetting node %s failed", name)

    @staticmethod
    def _run(handlers: list[LostHandler], name: str) -> None:
        for handler in list(handlers):
            try:
                handler(name)
            except Exception:
                log.exception("cluster: a handler of node %s's end failed", name)
