"""Applications' event logs kept in NATS JetStream (docs/decisions/0024-jetstream-event-log.md).

:class:`JetStreamLogs` connects to NATS, loads what the streams hold at start, and
makes one :class:`JetStreamEventLog` per application.  Each log is a
:class:`~pyari.stasis.eventlog.MemoryEventLog` (Stasis reads it synchronously, as
today) that also writes every event, in order, to the application's stream
``PYARI_EV_<hex of the name>`` (subject ``pyari.events.<hex>``), whose stream
sequence *is* the application's sequence.  Writes are fire-and-forget from the
caller's point of view: one writer task sends them in order; :meth:`JetStreamLogs.flush`
waits until JetStream has acknowledged all of them.  A new process (a restart)
starts from what the streams kept: the same sequences, the same events.

Needs the optional ``cluster`` extra (``nats-py``); nothing imports this module
unless ari.conf says ``event_log = nats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import nats
from nats.js import api
from nats.js.errors import NotFoundError

from pyari import wallclock
from pyari.stasis.eventlog import Clock, Entry, MemoryEventLog

log = logging.getLogger("pyari.stasis")

STREAM_PREFIX = "PYARI_EV_"
SUBJECT_PREFIX = "pyari.events."
_LOAD_TIMEOUT = 5.0

_Op = tuple[str, str, int, bytes, float, int]
"""(kind, app, seq, data, retention, max_bytes); kind: ``pub``, ``drop``, ``conf``."""


def stream_name(app: str) -> str:
    """The JetStream stream of an application (names may hold any character: hex)."""
    return STREAM_PREFIX + app.encode().hex()


def subject(app: str) -> str:
    """The subject an application's events are published on."""
    return SUBJECT_PREFIX + app.encode().hex()


def app_name(stream: str) -> str | None:
    """The application of a stream name (None: not one of pyari's)."""
    if not stream.startswith(STREAM_PREFIX):
        return None
    try:
        return bytes.fromhex(stream[len(STREAM_PREFIX) :]).decode()
    except ValueError:
        return None


class JetStreamEventLog(MemoryEventLog):
    """A memory log whose events are also written, in order, to the app's stream."""

    __slots__ = ("_name", "_store")

    def __init__(
        self,
        store: JetStreamLogs,
        name: str,
        retention: float,
        max_bytes: int,
        *,
        start: int = 0,
        clock: Clock = wallclock.monotonic,
    ) -> None:
        super().__init__(retention, max_bytes, start=start, clock=clock)
        self._store = store
        self._name = name

    def append(self, data: bytes) -> int:
        seq = super().append(data)
        if self.retention > 0 and len(data) <= self.max_bytes:
            self._store.send(("pub", self._name, seq, data, self.retention, self.max_bytes))
        else:
            # The memory log keeps nothing now: neither does the stream.
            self._store.send(("drop", self._name, seq, b"", 0.0, 0))
        return seq

    def configure(self, retention: float, max_bytes: int) -> None:
        super().configure(retention, max_bytes)
        self._store.send(("conf", self._name, 0, b"", retention, max_bytes))

    def load(self, entries: list[Entry]) -> None:
        """Take the events a stream kept (at start, before any append)."""
        for entry in entries:
            self._entries.append(entry)
            self.bytes += len(entry.data)
        if entries:
            self._last = max(self._last, entries[-1].seq)
        self._expire(self._clock())


class JetStreamLogs:
    """The NATS connection, the streams' content at start and the writer of events."""

    def __init__(self, url: str, *, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.options = options
        """``nats.connect`` options replacing the URL's defaults (the cluster's: servers,
        credentials, TLS)."""
        self._nc: Any = None
        self._js: Any = None
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._next: dict[str, int] = {}
        """Per app: the sequence its stream expects next (absent: no stream known)."""
        self._loaded: dict[str, tuple[int, list[tuple[int, float, bytes]]]] = {}
        """Per app, from the streams at start: last sequence, (seq, wall time, data)."""
        self._idle = asyncio.Event()
        self._idle.set()
        self.errors = 0
        """Writes JetStream refused or that failed (logged)."""

    # -- life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and load every pyari stream (raises on a connection failure)."""
        options = self.options or {
            "servers": [u.strip() for u in self.url.split(",")],
            "connect_timeout": 2,
            "max_reconnect_attempts": -1,
        }
        wait = 2.0 * len(options["servers"]) + 1.0  # it would retry a refused connection for ever
        try:
            self._nc = await asyncio.wait_for(nats.connect(**options), wait)
        except TimeoutError:
            raise ConnectionError("no NATS server answered") from None
        self._js = self._nc.jetstream()
        for info in await self._js.streams_info():
            name = app_name(info.config.name)
            if name is None:
                continue
            entries = await self._read(info)
            self._loaded[name] = (info.state.last_seq, entries)
            self._next[name] = info.state.last_seq + 1
        self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _read(self, info: api.StreamInfo) -> list[tuple[int, float, bytes]]:
        state = info.state
        if not state.messages:
            return []
        sub = await self._js.subscribe(
            (info.config.subjects or [""])[0],
            stream=info.config.name,
            ordered_consumer=True,
            deliver_policy=api.DeliverPolicy.ALL,
        )
        out: list[tuple[int, float, bytes]] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=_LOAD_TIMEOUT)
                except nats.errors.TimeoutError:
                    break
                meta = msg.metadata
                out.append((meta.sequence.stream, meta.timestamp.timestamp(), msg.data))
                if meta.sequence.stream >= state.last_seq:
                    break
        finally:
            await sub.unsubscribe()
        return out

    async def flush(self) -> None:
        """Wait until every event sent so far is stored by JetStream."""
        await self._queue.join()
        await self._js.publish_async_completed()

    async def reload(self, name: str) -> None:
        """Read application ``name``'s stream again (another node of a cluster wrote it,
        and flushed): the app's next :meth:`make` starts from what it holds now, and
        this node's writes go on in it."""
        await self.flush()
        try:
            info = await self._js.stream_info(stream_name(name))
        except NotFoundError:
            self._loaded.pop(name, None)
            self._next.pop(name, None)
            return
        self._loaded[name] = (info.state.last_seq, await self._read(info))
        self._next[name] = info.state.last_seq + 1

    async def close(self) -> None:
        """Flush, stop the writer, disconnect."""
        if self._writer is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), 10)
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer, 5)
        self._writer = None
        await self._nc.close()

    # -- logs ---------------------------------------------------------------------

    def make(
        self, name: str, retention: float, max_bytes: int, start: int, clock: Clock
    ) -> JetStreamEventLog:
        """The log of application ``name``, holding what its stream kept at start."""
        last, stored = self._loaded.pop(name, (0, []))
        lg = JetStreamEventLog(
            self, name, retention, max_bytes, start=max(start, last), clock=clock
        )
        if stored and retention > 0:
            now_wall, now = time.time(), clock()
            entries = [Entry(seq, now - (now_wall - t), data) for seq, t, data in stored]
            # The memory log's entries have no holes: keep the run that ends at ``last``.
            run = len(entries)
            while run > 1 and entries[run - 2].seq == entries[run - 1].seq - 1:
                run -= 1
            lg.load(entries[run - 1 :] if entries[-1].seq == last else [])
        lg.configure(retention, max_bytes)
        return lg

    def send(self, op: _Op) -> None:
        self._queue.put_nowait(op)

    # -- the writer ---------------------------------------------------------------

    async def _write(self) -> None:
        queue = self._queue
        while True:
            op = await queue.get()
            try:
                if op is None:
                    return
                await self._apply(op)
            except Exception as exc:
                self.errors += 1
                log.warning("event log: JetStream write failed: %s", exc)
            finally:
                queue.task_done()

    async def _apply(self, op: _Op) -> None:
        kind, name, seq, data, retention, max_bytes = op
        js = self._js
        stream = stream_name(name)
        if kind == "pub":
            if self._next.get(name) != seq:
                # No stream, or one whose sequence is not the app's (events not
                # written meanwhile): a new stream starting at this sequence.
                await self._delete(stream)
                await js.add_stream(self._config(name, retention, max_bytes, seq))
            self._next[name] = seq + 1
            fut = await js.publish_async(subject(name), data)
            fut.add_done_callback(self._acked)
        elif kind == "drop":
            if name in self._next:
                await self._delete(stream)
                del self._next[name]
        elif kind == "conf":
            if name not in self._next:
                return
            if retention <= 0:
                await self._delete(stream)
                del self._next[name]
            else:
                await js.update_stream(self._config(name, retention, max_bytes, None))

    async def _delete(self, stream: str) -> None:
        # Writes still unacknowledged would never be once their stream is gone.
        await self._js.publish_async_completed()
        with contextlib.suppress(NotFoundError):
            await self._js.delete_stream(stream)

    def _acked(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.errors += 1
            log.warning("event log: JetStream refused an event: %s", exc)

    @staticmethod
    def _config(name: str, retention: float, max_bytes: int, first: int | None) -> api.StreamConfig:
        return api.StreamConfig(
            name=stream_name(name),
            subjects=[subject(name)],
            description=f"pyari events of application {name!r}"[:256],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=retention,
            max_bytes=max_bytes,
            first_seq=first,
        )
