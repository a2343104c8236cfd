"""Following a key-value bucket: its content at start, then every change.

nats-py's KV watcher is an ordered push consumer; after NATS restarts it only
notices its consumer is gone when idle heartbeats stop coming (many seconds).
:meth:`BucketWatch.restart` (run when the connection comes back) replaces it
with a new watcher at once, which delivers the bucket's content again; keys
it no longer holds are reported through ``on_snapshot`` so a mirror drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("pyari.cluster")

EntryHandler = Callable[[str, bytes, bool], None]
"""``handler(key, value, deleted)`` for each entry delivered."""

SnapshotHandler = Callable[[set[str]], None]
"""``handler(keys)`` once the watcher has delivered the bucket's content (its keys)."""


class BucketWatch:
    """One watcher of a whole bucket at a time, feeding synchronous handlers."""

    def __init__(
        self,
        kv: Any,
        on_entry: EntryHandler,
        *,
        on_snapshot: SnapshotHandler | None = None,
        name: str = "bucket",
    ) -> None:
        self.kv = kv
        self.on_entry = on_entry
        self.on_snapshot = on_snapshot
        self.name = name
        self.ready = asyncio.Event()
        """Set once the first watcher has delivered the bucket's content."""
        self.restarts = 0
        self._watcher: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        watcher = await self.kv.watchall()
        self._watcher = watcher
        self._task = asyncio.get_running_loop().create_task(
            self._run(watcher), name=f"cluster-watch-{self.name}"
        )

    async def restart(self) -> None:
        """A new watcher in place of the current one (after NATS came back)."""
        await self.stop()
        await self.start()
        self.restarts += 1

    async def stop(self) -> None:
        task, self._task = self._task, None
        watcher, self._watcher = self._watcher, None
        # Cancelled until done: Python 3.11's wait_for (in nats-py) can swallow a
        # cancellation, and the loop would go on for ever.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.1)
        if watcher is not None:
            with contextlib.suppress(Exception):
                await watcher.stop()

    async def _run(self, watcher: Any) -> None:
        keys: set[str] | None = set()
        async for entry in watcher:
            if entry is None:  # the bucket's content so far has been delivered
                if keys is not None and self.on_snapshot is not None:
                    self._call(self.on_snapshot, keys)
                keys = None
                self.ready.set()
                continue
            if keys is not None:
                keys.add(entry.key)
            deleted = entry.operation in ("DEL", "PURGE")
            self._call(self.on_entry, entry.key, entry.value or b"", deleted)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("cluster: %s watcher: a handler failed", self.name)
