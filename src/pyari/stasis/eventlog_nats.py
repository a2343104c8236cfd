"""Applications' event logs kept in NATS JetStream (docs/decisions/0024-jetstream-event-log.md).

:class:`JetStreamLogs` connects to NATS, loads what the streams hold at start, and
makes one :class:`JetStreamEventLog` per application.  Each log is a
:class:`~pyari.stasis.eventlog.MemoryEventLog` (Stasis reads it synchronously, as
today) that also writes every event, in order, to the application's stream
``PYARI_EV_<hex of the name>`` (subject ``pyari.events.<hex>``), whose stream
sequence *is* the application's sequence.  Writes are fire-and-forget from the
caller's point of view: one writer task sends them in order; :meth:`JetStreamLogs.flush`
waits until JetStream has acknowledged all of them.  Of the writes the writer takes at
once (up to 512), only each app's last is acknowledged, published with
``Nats-Expected-Last-Sequence`` = its sequence - 1: stored, it confirms the ones before
it; refused, they all count as failed and the app's next event starts a new stream.
A new process (a restart)
starts from what the streams kept: the same sequences, the same events.

Needs the optional ``cluster`` extra (``nats-py``); nothing imports this module
unless ari.conf says ``event_log = nats``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
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
_CHUNK = 512
"""The writer takes at most this many queued writes at a time; of each app's run of
events in them, only the last is acknowledged (and checked)."""


def _checked(ops: list[_Op | None]) -> list[bool]:
    """Which writes of ``ops`` get an acknowledgement: a ``pub`` that is the last of its
    app before the end of ``ops`` or before another kind of write for the same app."""
    out = [False] * len(ops)
    later: set[str] = set()
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        if op is None:
            continue
        if op[0] == "pub":
            out[i] = op[1] not in later
            later.add(op[1])
        else:
            later.discard(op[1])
    return out


def stream_name(app: str, space: str = "") -> str:
    """The JetStream stream of an application (names may hold any character: hex).

    ``space``: the cluster's name (cluster.conf ``cluster``), so that clusters sharing
    a NATS server keep apart (``PYARI_EV_<cluster>_<hex>``); empty for one node."""
    return (
        f"{STREAM_PREFIX}{space}_{app.encode().hex()}"
        if space
        else STREAM_PREFIX + app.encode().hex()
    )


def subject(app: str, space: str = "") -> str:
    """The subject an application's events are published on (``space``: as :func:`stream_name`)."""
    if space:
        return f"pyari.{space}.log.{app.encode().hex()}"
    return SUBJECT_PREFIX + app.encode().hex()


def app_name(stream: str, space: str = "") -> str | None:
    """The application of a stream name of ``space`` (None: not one of its streams)."""
    prefix = f"{STREAM_PREFIX}{space}_" if space else STREAM_PREFIX
    if not stream.startswith(prefix):
        return None
    try:  # another space's stream (``_`` is no hex digit) is not read as one of these
        return bytes.fromhex(stream[len(prefix) :]).decode()
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

    def __init__(self, url: str, *, options: dict[str, Any] | None = None, space: str = "") -> None:
        self.url = url
        self.space = space
        """The cluster's name in stream names and subjects (:func:`stream_name`)."""
        self.options = options
        """``nats.connect`` options replacing the URL's defaults (the cluster's: servers,
        credentials, TLS)."""
        self._nc: Any = None
        self._js: Any = None
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._next: dict[str, int] = {}
        """Per app: the sequence its stream expects next (absent: no stream known)."""
        self._unchecked: dict[str, int] = {}
        """Per app: writes sent without acknowledgement since its last checked one."""
        self._names: dict[str, tuple[str, str]] = {}
        """Per app: its stream and subject."""
        self._inbox = ""
        self._tokens = itertools.count()
        self._acks: dict[str, tuple[str, int, int]] = {}
        """Checked writes awaiting JetStream's answer, by reply token: (app, sequence,
        how many writes the answer confirms)."""
        self._answered = asyncio.Event()
        self._answered.set()
        self.answer_timeout = 5.0
        """How long :meth:`flush` (and the writer, before deleting a stream) waits for the
        answers of checked writes; one still missing then (lost in a reconnection) is
        counted as failed and its app's next event starts a new stream."""
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
        # nats-py's publish_async leaves a future pending for ever when JetStream answers
        # with some errors (400 "wrong last sequence" among them): answers are read here.
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(self._inbox + ".*", cb=self._on_answer)
        for info in await self._js.streams_info():
            name = app_name(info.config.name, self.space)
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
        await self._answers()

    async def reload(self, name: str) -> None:
        """Read application ``name``'s stream again (another node of a cluster wrote it,
        and flushed): the app's next :meth:`make` starts from what it holds now, and
        this node's writes go on in it."""
        await self.flush()
        try:
            info = await self._js.stream_info(stream_name(name, self.space))
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
        if stored and start > last:
            # The app's sequence went past the stream's end (another node's writes not
            # all stored): a memory log has no holes, so it keeps none of them and a
            # resume before ``start`` is told what is missing.
            log.warning(
                "event log: the stream of %r ends at %d, before the sequence %d of its app",
                name, last, start,
            )  # fmt: skip
            stored = []
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
            ops = [await queue.get()]
            if queue.qsize() < _CHUNK:
                # One turn of the loop: what else is being delivered joins this take
                # (fewer acknowledged writes when events come a few at a time).
                await asyncio.sleep(0)
            while len(ops) < _CHUNK and not queue.empty():
                ops.append(queue.get_nowait())
            try:
                for op, checked in zip(ops, _checked(ops), strict=True):
                    if op is None:
                        return
                    try:
                        await self._apply(op, checked)
                    except Exception as exc:
                        self._failed(op, exc)
            finally:
                for _ in ops:
                    queue.task_done()

    async def _apply(self, op: _Op, checked: bool) -> None:
        kind, name, seq, data, retention, max_bytes = op
        js = self._js
        names = self._names.get(name)
        if names is None:
            names = self._names[name] = (stream_name(name, self.space), subject(name, self.space))
        stream, subj = names
        if kind == "pub":
            if self._next.get(name) != seq:
                # No stream, or one whose sequence is not the app's (events not
                # written meanwhile): a new stream starting at this sequence.
                await self._delete(stream)
                self._unchecked.pop(name, None)
                await js.add_stream(self._config(stream, subj, name, retention, max_bytes, seq))
            self._next[name] = seq + 1
            if not checked:
                # No acknowledgement: the app's next checked write confirms this one.
                await self._nc.publish(subj, data)
                self._unchecked[name] = self._unchecked.get(name, 0) + 1
                return
            # Stored only if the stream's last sequence is the one before: so every
            # write of this app sent before it was stored, in order, at its sequence.
            expect = {api.Header.EXPECTED_LAST_SEQUENCE: str(seq - 1)}
            token = str(next(self._tokens))
            self._acks[token] = (name, seq, self._unchecked.get(name, 0) + 1)
            self._answered.clear()
            try:
                await self._nc.publish(subj, data, reply=f"{self._inbox}.{token}", headers=expect)
            except BaseException:
                self._answer(token)
                raise
            self._unchecked.pop(name, None)
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
                await js.update_stream(self._config(stream, subj, name, retention, max_bytes, None))

    def _failed(self, op: _Op, exc: Exception) -> None:
        kind, name = op[0], op[1]
        failed = 1
        if kind == "pub":
            # Not known to be stored, nor the writes since the last checked one:
            # the app's next event starts a new stream at its own sequence.
            failed += self._unchecked.pop(name, 0)
            self._next.pop(name, None)
        self.errors += failed
        log.warning("event log: JetStream write failed (%s, %d event(s)): %s", kind, failed, exc)

    async def _delete(self, stream: str) -> None:
        # Writes still unacknowledged would never be once their stream is gone (and
        # their refusals must be seen before a new stream is made).
        await self._answers()
        with contextlib.suppress(NotFoundError):
            await self._js.delete_stream(stream)

    def _answer(self, token: str) -> tuple[str, int, int] | None:
        entry = self._acks.pop(token, None)
        if not self._acks:
            self._answered.set()
        return entry

    async def _answers(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._answered.wait(), self.answer_timeout)
            return
        missing = list(self._acks.values())
        self._acks.clear()
        self._answered.set()
        for name, seq, writes in missing:
            self._refused(name, seq, writes, f"no answer in {self.answer_timeout:g} s")

    def _refused(self, name: str, seq: int, writes: int, why: str) -> None:
        self.errors += writes
        log.warning(
            "event log: JetStream refused %d event(s) of application %r up to %d: %s",
            writes, name, seq, why,
        )  # fmt: skip
        # The stream's sequence is no longer the app's: the app's next event starts a
        # new stream at its own sequence (what was not stored reads as lost).
        self._next.pop(name, None)

    async def _on_answer(self, msg: Any) -> None:
        """JetStream's answer to a checked write: refused, it and the unchecked writes of
        its app before it are counted as failed."""
        entry = self._answer(msg.subject[len(self._inbox) + 1 :])
        if entry is None:
            return
        name, seq, writes = entry
        if msg.headers and msg.headers.get("Status") == "503":
            why = "no stream answered"
        else:
            try:
                answer = json.loads(msg.data)
                error = answer.get("error")
                stored = answer.get("seq")
            except (ValueError, AttributeError):
                error, stored = f"unreadable answer {msg.data[:80]!r}", None
            if error is None and stored == seq:
                # Stored at its sequence: so was every earlier write of its app, whose
                # answers, if still awaited, were lost (a reconnection).
                for token in [t for t, e in self._acks.items() if e[0] == name and e[1] < seq]:
                    self._answer(token)
                return
            why = str(error.get("description", error) if isinstance(error, dict) else error)
            if error is None:
                why = f"stored as {stored}"
        self._refused(name, seq, writes, why)

    @staticmethod
    def _config(
        stream: str, subj: str, name: str, retention: float, max_bytes: int, first: int | None
    ) -> api.StreamConfig:
        return api.StreamConfig(
            name=stream,
            subjects=[subj],
            description=f"pyari events of application {name!r}"[:256],
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=retention,
            max_bytes=max_bytes,
            first_seq=first,
        )
