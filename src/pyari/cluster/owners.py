"""Ownership: which node holds which channel, bridge, playback and live recording.

The ``OWNERS`` key-value bucket maps ``<kind>.<hex of the id's UTF-8>`` to the
owning node's name (entries live ``resource_ttl`` seconds without a new put;
each node puts its live objects again every half of that).  This node claims
its objects as they are created and deletes their records as they go: core's
bus (``channel:all``, ``bridge:all``) and the playbacks' and recordings'
watchers tell it, synchronously; the change is queued (bounded; a full queue
drops the write, counted and logged) and ONE writer task sends the queue to
NATS in order, so the call path never waits for NATS.

A record goes as a purge marker that itself expires (``MARKER_TTL``), so the
bucket does not keep one tombstone per call ever made.  A watcher keeps a
mirror of the whole bucket, so :meth:`Owners.owner` is a dict read: this
node's own objects first (core's tables), then the mirror.  The leader calls
:meth:`Owners.forget_node` for a node that was lost; a node that was only
taken for lost sees its records go and claims its live objects again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from pyari.bus.topic import Subscription, Topic
from pyari.cluster.directory import KINDS
from pyari.cluster.link import Link
from pyari.cluster.watch import BucketWatch
from pyari.core import events as ev
from pyari.core.engine import Core
from pyari.stasis.playback import Playbacks
from pyari.stasis.recording import LiveRecordings

log = logging.getLogger("pyari.cluster")

BUCKET = "OWNERS"
QUEUE_SIZE = 100_000
"""Writes waiting for NATS at most (beyond: dropped, counted in :attr:`Owners.dropped`)."""

MARKER_TTL = 60
BATCH = 512
"""Writes published at once before their acknowledgements are awaited."""
ACK_WAIT = 5.0
"""Seconds a batch waits for JetStream's acknowledgements (then: counted as failed)."""
"""Seconds the marker of a deleted record stays in the bucket (then nothing is left of it)."""

_Op = tuple[str, str]
"""(``put`` or ``del``, key)."""


def key(kind: str, ident: str) -> str:
    """The bucket key of ``ident`` of ``kind``: ``<kind>.<hex of its UTF-8>``."""
    return f"{kind}.{ident.encode().hex()}"


def parse_key(text: str) -> tuple[str, str] | None:
    """``(kind, id)`` of a bucket key, or None when it is not one of ours."""
    kind, sep, hexid = text.partition(".")
    if not sep or kind not in KINDS:
        return None
    try:
        return kind, bytes.fromhex(hexid).decode()
    except ValueError:
        return None


class Owners:
    """This node's claims in the ``OWNERS`` bucket and a mirror of everyone's."""

    def __init__(
        self,
        link: Link,
        core: Core,
        playbacks: Playbacks | None = None,
        recordings: LiveRecordings | None = None,
        *,
        alive: Callable[[str], bool] | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.link = link
        self.node = link.node
        self.core = core
        self.playbacks = playbacks
        self.recordings = recordings
        self.alive = alive
        """Whether a node is alive (records of a node that is not read as no owner)."""
        self.mirror: dict[tuple[str, str], str] = {}
        """(kind, id) → owner, of the whole bucket as the watcher delivered it."""
        self.kv: Any = None
        self.dropped = 0
        """Writes dropped because the queue was full (NATS down for long)."""
        self.errors = 0
        """Writes NATS refused or that failed."""
        self.written = 0
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue(queue_size)
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.watch: BucketWatch | None = None
        self._stopping = False
        self._failing = False

    # -- lookups -----------------------------------------------------------------------

    def local(self, kind: str, ident: str) -> bool:
        """Whether this node holds ``ident`` of ``kind`` now."""
        if kind == "channel":
            return ident in self.core.channels
        if kind == "bridge":
            return ident in self.core.bridges
        if kind == "playback":
            return self.playbacks is not None and ident in self.playbacks
        if kind == "recording":
            return self.recordings is not None and ident in self.recordings
        return False

    def owner(self, kind: str, ident: str) -> str | None:
        """This node for its own objects, else the mirror's owner if that node is alive."""
        if self.local(kind, ident):
            return self.node
        node = self.mirror.get((kind, ident))
        if node is None or node == self.node:
            return None  # a record of ours for an object gone (its delete is on its way)
        if self.alive is not None and not self.alive(node):
            return None
        return node

    def records(self) -> list[tuple[str, str, str]]:
        """Every record of the mirror: (kind, id, owner), sorted."""
        return sorted((kind, ident, node) for (kind, ident), node in self.mirror.items())

    def mine(self) -> list[tuple[str, str]]:
        """This node's live objects: (kind, id)."""
        out = [("channel", i) for i in list(self.core.channels)]
        out += [("bridge", i) for i in list(self.core.bridges)]
        if self.playbacks is not None:
            out += [("playback", i) for i in list(self.playbacks.by_id)]
        if self.recordings is not None:
            out += [("recording", i) for i in list(self.recordings.by_name)]
        return out

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the bucket, claim what exists, follow core's objects, mirror the bucket."""
        ttl = self.link.settings.resource_ttl
        self.kv = await self.link.bucket(BUCKET, ttl=ttl)
        self._subs = [
            self.core.all_channels.subscribe(self._on_channel),
            self.core.all_bridges.subscribe(self._on_bridge),
        ]
        if self.playbacks is not None:
            self.playbacks.watchers.append(self._on_playback)
        if self.recordings is not None:
            self.recordings.watchers.append(self._on_recording)
        self.claim_all()
        self.watch = BucketWatch(self.kv, self._entry, on_snapshot=self._snapshot, name="owners")
        await self.watch.start()
        self.link.on_reconnect(self.watch.restart)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._write(), name="cluster-owners-writer"),
            loop.create_task(self._refreshing(ttl / 2), name="cluster-owners-refresh"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.watch.ready.wait(), 5)

    async def stop(self, *, timeout: float = 3.0) -> None:
        """Stop following; delete this node's records; send what is queued; stop."""
        self._stopping = True
        for sub in self._subs:
            sub.unsubscribe()
        self._subs = []
        if self.playbacks is not None and self._on_playback in self.playbacks.watchers:
            self.playbacks.watchers.remove(self._on_playback)
        if self.recordings is not None and self._on_recording in self.recordings.watchers:
            self.recordings.watchers.remove(self._on_recording)
        for kind, ident in self.mine():
            self._send("del", key(kind, ident))
        self.forget_node(self.node)
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.flush(), timeout)
        for task in self._tasks:
            # Cancelled until done: Python 3.11's wait_for (in nats-py's requests) can
            # swallow a cancellation, and the loop would go on for ever.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
        self._tasks = []
        if self.watch is not None:
            await self.watch.stop()

    async def flush(self) -> None:
        """Wait until every write queued so far has been sent (or has failed)."""
        await self._queue.join()

    # -- claims ---------------------------------------------------------------------------

    def claim(self, kind: str, ident: str) -> None:
        self._send("put", key(kind, ident))

    def release(self, kind: str, ident: str) -> None:
        self._send("del", key(kind, ident))

    def claim_all(self) -> None:
        """Put a record for every live object of this node (at start, then to refresh them)."""
        for kind, ident in self.mine():
            self.claim(kind, ident)

    def forget_node(self, node: str) -> int:
        """Delete every record of ``node`` (a lost node; the leader does it); the count."""
        doomed = [(kind, ident) for (kind, ident), owner in self.mirror.items() if owner == node]
        for kind, ident in doomed:
            self._send("del", key(kind, ident))
        if doomed:
            log.info("cluster: forgetting %d record(s) of node %s", len(doomed), node)
        return len(doomed)

    def _on_channel(self, topic: Topic, message: Any) -> None:
        kind = type(message)
        if kind is ev.ChannelCreated:
            self.claim("channel", message.channel.id)
        elif kind is ev.ChannelDestroyed:
            self.release("channel", message.channel.id)

    def _on_bridge(self, topic: Topic, message: Any) -> None:
        kind = type(message)
        if kind is ev.BridgeCreated:
            self.claim("bridge", message.bridge.id)
        elif kind is ev.BridgeDestroyed:
            self.release("bridge", message.bridge.id)

    def _on_playback(self, ident: str, live: bool) -> None:
        self._send("put" if live else "del", key("playback", ident))

    def _on_recording(self, ident: str, live: bool) -> None:
        self._send("put" if live else "del", key("recording", ident))

    def _send(self, op: str, text: str) -> None:
        try:
            self._queue.put_nowait((op, text))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "cluster: ownership writes dropped (NATS unreachable?): %d so far",
                    self.dropped,
                )

    # -- the writer -------------------------------------------------------------------------

    async def _write(self) -> None:
        """Send the queue in order, pipelined: a batch of what is waiting is published
        at once (one socket write for many), then its acknowledgements are awaited."""
        queue = self._queue
        while True:
            batch = [await queue.get()]
            while len(batch) < BATCH and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                ops = [op for op in batch if op is not None]
                if ops:
                    await self._send_batch(ops)
            finally:
                for _ in batch:
                    queue.task_done()
            if None in batch:
                return

    async def _send_batch(self, ops: list[_Op]) -> None:
        js = self.link.js
        prefix = f"$KV.{self.link.bucket_name(BUCKET)}."  # the KV protocol's subjects
        value = self.node.encode()
        futures: list[asyncio.Future[Any]] = []
        failed = 0
        error: BaseException | None = None
        try:
            for op, text in ops:
                if op == "put":
                    futures.append(await js.publish_async(prefix + text, value))
                else:
                    # A purge marker that expires: no tombstone per call ever made.
                    headers = {"KV-Operation": "PURGE", "Nats-Rollup": "sub"}
                    futures.append(
                        await js.publish_async(
                            prefix + text, b"", headers=headers, msg_ttl=MARKER_TTL
                        )
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # not sent (NATS gone for long, buffer full)
            failed += len(ops) - len(futures)
            error = exc
        if futures:
            done, pending = await asyncio.wait(futures, timeout=ACK_WAIT)
            for fut in pending:
                fut.cancel()
            failed += len(pending)
            for fut in done:
                refused = fut.exception()
                if refused is not None:
                    failed += 1
                    error = refused
            if pending and error is None:
                error = TimeoutError(f"no acknowledgement in {ACK_WAIT:g}s")
        self.written += len(ops) - failed
        self.errors += failed
        if failed and not self._failing:
            log.warning("cluster: ownership writes failed (%d): %s", failed, error)
        elif not failed and self._failing:
            log.info("cluster: ownership writes stored again")
        self._failing = bool(failed)

    async def _refreshing(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.claim_all()

    # -- the mirror ----------------------------------------------------------------------

    def _entry(self, text: str, value: bytes, deleted: bool) -> None:
        parsed = parse_key(text)
        if parsed is None:
            return
        if deleted:
            self.mirror.pop(parsed, None)
            if self.local(*parsed) and not self._stopping:
                # Forgotten while this node was taken for lost: claim it again.
                self.claim(*parsed)
        else:
            self.mirror[parsed] = value.decode(errors="replace")

    def _snapshot(self, keys: set[str]) -> None:
        """A (new) watcher delivered the bucket: records it no longer holds are gone."""
        held = {parsed for parsed in map(parse_key, keys) if parsed is not None}
        for gone in [k for k in self.mirror if k not in held]:
            del self.mirror[gone]
        if self.watch is not None and self.watch.restarts:
            self.claim_all()  # what was written while NATS was away may be lost
