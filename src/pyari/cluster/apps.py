"""Applications in a cluster: every node's events of an app reach the node holding its socket.

Decision 0025 ("Applications"), docs/event-streams.md ("In a cluster").

* **Homes** — bucket ``APPS``, key = hex of the app name's UTF-8, value
  ``{"node": <home>, "active": bool}``: the home is the node whose events socket
  holds the application (or held it last and keeps it, ``event_retention``). It
  is the only writer of the app's log (and JetStream stream, decision 0024).
* **Forwarders** — every other node, while an app has a home, registers it in
  its own :class:`~pyari.stasis.registry.Registry` with a *remote handler*:
  ``Stasis(app)`` works there and the events of its channels are encoded there
  (as the home's socket encodes them, with this node's ``asterisk_id``) and
  published, in order, on ``pyari.<cluster>.events.<hex app>.<node>.<epoch>.<n>``
  (``epoch``: this process; ``n``: 1, 2, 3 ... per app). While the home's socket
  is away the handler stays but the app is not *active* there
  (:attr:`StasisApp.remote_away`): channels entering Stasis() wait
  (``stasis_grace``) as on one node, and are let in when the app comes back.
* **The home** subscribes to ``...events.<hex app>.>`` and appends each message
  to the app's log and socket, in arrival order (:meth:`StasisApp.inject`). It
  remembers the last snapshot of each channel of the app on each other node;
  when a node is lost it gives the app ``StasisEnd`` and ``ChannelDestroyed``
  (cause 38, "Network out of order") for each of them.
* **A home moves** when a socket opens the app on another node: before the
  socket registers (:attr:`Registry.before_open`) the new home subscribes, asks
  the old one to let go (``pyari.<cluster>.apps.<old home>.release``, a NATS
  request: a dead node has no subscription, the request fails at once; a live
  one takes what it received before the request, becomes a forwarder, flushes
  its JetStream writes and answers with where it was — sequence, resume point,
  the last message taken from each sender, the app's channels by node), loads
  the app's stream (``event_log = nats``; with memory logs the events stay
  behind: the new log goes on from the old home's sequence, so a resuming
  socket is told ``EventsLost``), finds in it the channels still in Stasis,
  then registers the socket, takes the messages that arrived meanwhile and the
  old home had not taken, and claims the key.
* **A home dies**: its channels are found in the log by the next home; until a
  socket opens the app again, the leader of the live nodes keeps it (as if its
  socket had left there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from pyari.ari.events_ws import EventEncoder
from pyari.cluster.directory import Directory
from pyari.cluster.link import Link
from pyari.cluster.watch import BucketWatch
from pyari.core import events as ev
from pyari.core.causes import cause_text
from pyari.core.snapshots import ChannelSnapshot
from pyari.stasis.app import Injected, StasisApp
from pyari.stasis.registry import Registry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from nats.js.kv import KeyValue

    from pyari.ari.service import AriService

log = logging.getLogger("pyari.cluster")

NODE_LOST_CAUSE = 38
"""Q.850 "Network out of order": the cause of the ChannelDestroyed a home sends for
the channels of a node that was lost."""


class _Head(msgspec.Struct):
    type: str = ""
    channel: msgspec.Raw = msgspec.Raw(b"")
    asterisk_id: str = ""


class _Ident(msgspec.Struct):
    id: str = ""


_head = msgspec.json.Decoder(_Head)
_ident = msgspec.json.Decoder(_Ident)
_snapshot = msgspec.json.Decoder(ChannelSnapshot)
_ENDS = frozenset(("StasisEnd", "ChannelDestroyed"))


def app_key(app: str) -> str:
    """The APPS key (and subject token) of an application: its name's UTF-8 in hex."""
    return app.encode().hex()


def app_of_key(key: str) -> str | None:
    try:
        return bytes.fromhex(key).decode()
    except ValueError:
        return None


@dataclass
class _Home:
    """An application this node is the home of."""

    app: str
    sub: Any = None
    """The NATS subscription to the app's events subject."""
    buffering: bool = True
    """Messages wait in :attr:`buffer` (a move in progress) instead of being taken."""
    buffer: list[tuple[str, int, bytes]] = field(default_factory=list)
    """(sender token, n, data) received while :attr:`buffering`."""
    seen: dict[str, int] = field(default_factory=dict)
    """Sender token (``<node>.<epoch>``) → the last ``n`` taken from it."""
    channels: dict[str, dict[str, msgspec.Raw]] = field(default_factory=dict)
    """Node → channel id → last snapshot JSON of the app's channels in Stasis there
    (other nodes')."""
    live: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the move is over (:meth:`ClusterApps._go_live`)."""
    received: int = 0
    """Messages the subscription handed over so far."""
    asking: str | None = None
    """While moving: the node being asked to let the app go ("" between two asks)."""
    term: int = 0
    """The number of this home among the app's homes: each move takes a higher one,
    so a late record of an older home is known as such."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the subscription is in place (the key may be claimed)."""


class ClusterApps:
    """The applications' homes, remote handlers and event forwarding of this node."""

    def __init__(
        self,
        link: Link,
        directory: Directory,
        stasis_registry: Registry,
        ari_service: AriService,
        *,
        release_timeout: float = 5.0,
    ) -> None:
        self.link = link
        self.directory = directory
        self.registry = stasis_registry
        self.node = link.node
        self.encoder = EventEncoder(ari_service.ctx.core.entity_id, False)
        """Encodes events for forwarding as the home's socket logs them."""
        self.release_timeout = release_timeout
        """Seconds a new home waits for the old one to let an application go (its
        JetStream writes flushed; a dead node is known at once: no one answers)."""
        self.epoch = secrets.token_hex(4)
        """This process among the node's lives (senders' counters start again at 1)."""
        self.records: dict[str, tuple[str, bool]] = {}
        """App → (home, active): the APPS bucket as this node saw it last."""
        self.aids: dict[str, str] = {self.node: self.encoder.asterisk_id}
        """Node → its ``asterisk_id`` (bucket key ``aid.<node>``, and forwarded events)."""
        self.every: set[str] = set()
        """Apps whose home's socket subscribed to every object (``subscribeAll``):
        the other nodes subscribe their remote handler to all of theirs too."""
        self.terms: dict[str, int] = {}
        """App → the highest home term seen in its records."""
        self._revs: dict[str, int] = {}
        """App → the revision of its record last seen (written only over that one)."""
        self.homes: dict[str, _Home] = {}
        self.remotes: dict[str, Callable[[ev.Event], None]] = {}
        """App → the remote handler this node registers it with (one per app, kept)."""
        self._counters: dict[str, int] = {}
        self._out: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._kv_ops: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._kv: KeyValue | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Future[None]] = set()
        self._watch: BucketWatch | None = None
        self._release_sub: Any = None
        self.forwarded = 0
        """Events published for homes on other nodes."""
        self.taken = 0
        """Events taken from other nodes (as a home)."""
        self.errors = 0
        """Publications or bucket writes that failed (logged)."""
        self._released_to: dict[str, str] = {}
        """App → the node this node let it go to last."""
        self.let_go = 0
        """Applications this node let go to a new home that asked (release requests)."""
        self.running = False

    @property
    def _base(self) -> int:
        return len(self.link.subject("events", "x").split("."))

    def _subject(self, app: str) -> str:
        return self.link.subject("events", app_key(app))

    # -- life ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Read the APPS bucket, follow it, and follow this node's applications."""
        self._kv = await self.link.bucket("APPS")
        await self._kv.put(f"aid.{self.node}", self.encoder.asterisk_id.encode())
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._sending()), loop.create_task(self._writing())]
        self._release_sub = await self.link.nc.subscribe(
            self.link.subject("apps", self.node, "release"), cb=self._on_release
        )
        self._watch = BucketWatch(
            self._kv, self._on_entry, on_snapshot=self._on_snapshot, name="apps"
        )
        await self._watch.start()
        self.link.on_reconnect(self._watch.restart)  # (its consumer may be gone)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._watch.ready.wait(), 5)
        self.registry.watchers.append(self._on_local)
        self.registry.before_open = self._before_open
        self.directory.on_lost(self._on_lost)
        self.running = True
        for name, record in list(self.records.items()):
            if record[0] != self.node:
                self._on_record(name, record)  # forward for the apps homed elsewhere
            elif name not in self.homes:
                app = self.registry.get(name)
                if app is None or not app.active:
                    self._kv_ops.put_nowait(("drop", name))  # a record of an earlier life
        for app in list(self.registry.apps.values()):
            if self._held_here(app):
                self._become_home(app.name)

    async def stop(self) -> None:
        """Stop following; this node's homes are left as away (their sockets go with it)."""
        if not self.running:
            return
        self.running = False
        with contextlib.suppress(ValueError):
            self.registry.watchers.remove(self._on_local)
        if self.registry.before_open == self._before_open:
            self.registry.before_open = None
        for name in list(self.homes):
            self._kv_ops.put_nowait(("away", name))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._kv_ops.join(), 2)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._drain_out(), 2)
        for home in self.homes.values():
            if home.sub is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(home.sub.unsubscribe(), 1)
        self.homes.clear()
        for name, handler in list(self.remotes.items()):
            self.registry.unregister(name, handler)
        if self._watch is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watch.stop(), 2)
        if self._release_sub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._release_sub.unsubscribe(), 1)
        for task in [*self._tasks, *self._spawned]:
            # Cancelled until done: Python 3.11's wait_for (in nats-py's requests) can
            # swallow a cancellation, and the loop would go on for ever.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.1)
        self._tasks = []

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _drain_out(self) -> None:
        while self._out:
            await asyncio.sleep(0.005)

    # -- the bucket ---------------------------------------------------------------------

    def _on_entry(self, key: str, value: bytes, deleted: bool) -> None:
        """A record of the APPS bucket (:class:`BucketWatch`)."""
        if key.startswith("aid."):
            if not deleted and value:
                self.aids[key[4:]] = value.decode(errors="replace")
            return
        name = app_of_key(key)
        if name is None:
            return
        record: tuple[str, bool] | None = None
        term = 0
        if not deleted and value:
            try:
                doc = json.loads(value)
                record = (str(doc["node"]), bool(doc["active"]))
                term = int(doc.get("term", 0))
                self.terms[name] = max(self.terms.get(name, 0), term)
                if doc.get("all"):
                    self.every.add(name)
                else:
                    self.every.discard(name)
            except (ValueError, KeyError, TypeError):
                log.warning("cluster: bad APPS record of %r: %r", name, value)
        self._on_record(name, record, term)

    def _on_snapshot(self, keys: set[str]) -> None:
        """The bucket's content was delivered again (NATS came back): records gone
        meanwhile are gone here too."""
        for name in [n for n in self.records if app_key(n) not in keys]:
            self._on_record(name, None)

    def _on_record(self, name: str, record: tuple[str, bool] | None, term: int = 0) -> None:
        home = self.homes.get(name)
        if (
            record is not None
            and home is not None
            and not home.buffering
            and record[0] != self.node
            and (term, record[0]) < (home.term, self.node)
        ):
            # A late record of an older home (written as this one took over): ignored,
            # and this home's record written again.
            self._kv_ops.put_nowait(("claim", name))
            return
        if (
            record is not None
            and home is not None
            and not home.buffering
            and record[0] != self.node
            and not record[1]
            and (held := self.registry.get(name)) is not None
            and self._held_here(held)
        ):
            # A keeper's record (a node that took this one for lost: a NATS outage or a
            # pause looks so) while this node's socket holds the app: the socket wins.
            # Claimed back with a higher term; the keeper lets go when it reads it.
            home.term = max(home.term, term, self.terms.get(name, 0)) + 1
            log.warning(
                "cluster: '%s' is still held here; %s kept it meanwhile: claimed back",
                name,
                record[0],
            )
            self._kv_ops.put_nowait(("claim", name))
            return
        if record is None:
            self.records.pop(name, None)
        else:
            self.records[name] = record
        if not self.running:
            return
        if record is not None and record[0] == self.node:
            return  # this node's own claim
        taken = False
        if home is not None:
            if home.buffering or record is None:
                return  # moving here (the claim follows), or a delete this node's claim follows
            log.debug(
                "cluster %s: '%s' taken over by %s (term %s > %s)",
                self.node,
                name,
                record[0],
                term,
                home.term,
            )
            self._stop_home(name, flush=True)  # another node took the app over
            taken = True
        if record is None:
            self._drop_remote(name)
        else:
            # (an app this node kept while away forwards what its channels do from now on)
            self._ensure_remote(name, away=not record[1], force=taken)

    async def _writing(self) -> None:
        queue = self._kv_ops
        failures: dict[tuple[str, str], int] = {}
        while True:
            what, name = await queue.get()
            try:
                await self._write(what, name)
                failures.pop((what, name), None)
            except Exception as exc:
                self.errors += 1
                count = failures[(what, name)] = failures.get((what, name), 0) + 1
                log.warning("cluster: APPS %s of '%s' failed: %s", what, name, exc)
                if count <= 20 and self.running:
                    # (NATS or JetStream coming back: the write says the state of then)
                    asyncio.get_running_loop().call_later(0.5, queue.put_nowait, (what, name))
                else:
                    failures.pop((what, name), None)
            finally:
                queue.task_done()

    async def _write(self, what: str, name: str) -> None:
        """``claim`` (a move: whatever the record), ``sync``/``away`` (this node's record,
        only over the revision last seen: a node that took the app over meanwhile wins),
        ``drop`` (the app is gone: its record goes if it is still this node's)."""
        kv = self._kv
        assert kv is not None
        key = app_key(name)
        if what == "drop":
            record = self.records.get(name)
            if name in self.homes or record is None or record[0] != self.node:
                return
            with contextlib.suppress(KeyNotFoundError, KeyDeletedError):
                entry = await kv.get(key)
                if entry.value and json.loads(entry.value).get("node") == self.node:
                    await kv.delete(key, last=entry.revision)
            return
        home = self.homes.get(name)
        if home is None or home.buffering:
            return  # released meanwhile, or moving here (its claim follows)
        await home.ready.wait()
        if self.homes.get(name) is not home:
            return
        app = self.registry.get(name)
        active = what != "away" and app is not None and self._held_here(app)
        every = app is not None and app.subscribe_all
        if (
            what != "claim"
            and self.records.get(name) == (self.node, active)
            and (name in self.every) == every
        ):
            return
        fields: dict[str, object] = {"node": self.node, "active": active, "term": home.term}
        if every:
            fields["all"] = True
        value = json.dumps(fields).encode()
        if what == "claim":
            rev = await kv.put(key, value)
        else:
            rev = 0
            for _ in range(3):
                try:
                    if name in self.records:
                        rev = await kv.update(key, value, last=self._revs.get(name))
                    else:
                        rev = await kv.create(key, value)
                    break
                except KeyWrongLastSequenceError:  # written meanwhile (or deleted)
                    try:
                        entry = await kv.get(key)
                    except (KeyNotFoundError, KeyDeletedError):
                        self.records.pop(name, None)  # deleted: create it
                        continue
                    self._revs[name] = int(entry.revision or 0)
                    if entry.value and json.loads(entry.value).get("node") != self.node:
                        return  # another node holds the app now
                    self.records[name] = (self.node, not active)
            if not rev:
                raise RuntimeError("the record kept changing")
        self._revs[name] = max(self._revs.get(name, 0), rev)
        self.records[name] = (self.node, active)
        if every:
            self.every.add(name)
        else:
            self.every.discard(name)

    def _held_here(self, app: StasisApp) -> bool:
        """A socket of this node holds ``app`` (not a remote handler)."""
        return app.handler is not None and app.handler is not self.remotes.get(app.name)

    # -- this node's registry -----------------------------------------------------------

    def _on_local(self, what: str, app: StasisApp) -> None:
        name = app.name
        if what == "held":
            if self._held_here(app):
                self._become_home(name)
        elif what == "away":
            if name in self.homes:
                self._kv_ops.put_nowait(("sync", name))
        elif what == "gone" and name in self.homes:
            self._stop_home(name, flush=False)
            self._kv_ops.put_nowait(("drop", name))

    def _become_home(self, name: str) -> None:
        home = self.homes.get(name)
        log.debug("cluster %s: '%s' held here (home before: %s)", self.node, name, home is not None)
        if home is None:
            home = self.homes[name] = _Home(name, buffering=False)
            home.term = self.terms.get(name, 0) + 1
            self._spawn(self._subscribe(home))
        self._kv_ops.put_nowait(("sync", name))

    async def _subscribe(self, home: _Home) -> None:
        name = home.app

        async def on_message(msg: Any) -> None:
            await self._on_message(home, msg)

        try:
            home.sub = await self.link.nc.subscribe(self._subject(name) + ".>", cb=on_message)
            await self.link.nc.flush()
        except Exception as exc:
            self.errors += 1
            log.warning("cluster: cannot follow the events of '%s': %s", name, exc)
        home.ready.set()
        if self.homes.get(name) is not home and home.sub is not None:
            with contextlib.suppress(Exception):
                await home.sub.unsubscribe()

    def _stop_home(self, name: str, *, flush: bool) -> None:
        """This node is no longer the home of ``name`` (it forwards, if the app lives on)."""
        home = self.homes.pop(name, None)
        if home is None:
            return
        home.live.set()
        app = self.registry.get(name)
        if app is not None:
            app.encode = None  # a forwarder logs nothing
        self._spawn(self._unsubscribe(home, flush))

    async def _unsubscribe(self, home: _Home, flush: bool) -> None:
        if flush:
            await self._flush_log()
        await home.ready.wait()
        if home.sub is not None:
            with contextlib.suppress(Exception):
                await home.sub.unsubscribe()

    async def _flush_log(self) -> None:
        flush = getattr(self.registry.log_factory, "flush", None)
        if flush is not None:
            try:
                await asyncio.wait_for(flush(), self.release_timeout * 0.8)
            except Exception as exc:
                log.warning("cluster: flushing the event logs failed: %s", exc)

    # -- forwarding (the other nodes) ---------------------------------------------------

    def _remote(self, name: str) -> Callable[[ev.Event], None]:
        handler = self.remotes.get(name)
        if handler is not None:
            return handler
        prefix = f"{self._subject(name)}.{self.node}.{self.epoch}."
        compact = self.encoder.compact
        counters = self._counters
        out = self._out
        wake = self._wake

        def forward(event: ev.Event) -> None:
            if isinstance(event, (ev.ApplicationReplaced, Injected)):
                return  # (a socket on this node took the app: it is no event of the app's)
            n = counters[name] = counters.get(name, 0) + 1
            out.append((prefix + str(n), compact(event, name)))
            wake.set()

        self.remotes[name] = forward
        return forward

    def _ensure_remote(self, name: str, *, away: bool, force: bool = False) -> None:
        """Forward ``name``'s events from this node (``away``: its home's socket is away;
        ``force``: even when nothing of the app is here yet)."""
        handler = self._remote(name)
        app = self.registry.get(name)
        every = name in self.every
        if app is not None and app.handler is handler and (app.subscribe_all or not every):
            was_away = app.remote_away
            app.remote_away = away
            if was_away and not away:
                self.registry.wake(name)
            return
        if away and (app is None or (app.handler is None and not force)):
            return  # nothing of the app here: channels wait for it to come back
        app = self.registry.register(name, handler, subscribe_all=every, remote_away=away)
        app.encode = None
        app.kept = False

    def _drop_remote(self, name: str) -> None:
        handler = self.remotes.get(name)
        app = self.registry.get(name)
        if handler is not None and app is not None and app.handler is handler:
            self.registry.unregister(name, handler)

    async def _sending(self) -> None:
        out = self._out
        wake = self._wake
        while True:
            await wake.wait()
            wake.clear()
            nc = self.link.nc
            while out:
                subject, data = out.popleft()
                try:
                    await nc.publish(subject, data)
                    self.forwarded += 1
                except Exception as exc:
                    self.errors += 1
                    log.warning("cluster: an event for %s was not sent: %s", subject, exc)

    # -- the home -----------------------------------------------------------------------

    async def _on_message(self, home: _Home, msg: Any) -> None:
        tokens = msg.subject.split(".")
        base = self._base  # the tokens before the sender's
        home.received += 1
        if len(tokens) != base + 3 or self.homes.get(home.app) is not home:
            return
        try:
            n = int(tokens[base + 2])
        except ValueError:
            return
        token = f"{tokens[base]}.{tokens[base + 1]}"
        if home.buffering:
            home.buffer.append((token, n, msg.data))
            return
        self._take(home, token, n, msg.data)

    def _take(self, home: _Home, token: str, n: int, data: bytes) -> None:
        home.seen[token] = n
        try:
            head = _head.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("cluster: a forwarded event of '%s' is not JSON; dropped", home.app)
            return
        if head.channel:
            node = token.partition(".")[0]
            if head.asterisk_id and self.aids.get(node) != head.asterisk_id:
                self.aids[node] = head.asterisk_id
            self._track(home, head, node)
        app = self.registry.get(home.app)
        if app is None:
            return
        self.taken += 1
        app.inject(data, head.type)

    def _track(self, home: _Home, head: _Head, node: str | None) -> None:
        """Remember the app's channels in Stasis by node (for :meth:`_on_lost`): from
        StasisStart to StasisEnd (or ChannelDestroyed), the last snapshot. ``node``:
        where the event comes from (None: find it out, for a StasisStart)."""
        etype = head.type
        if node is not None and etype != "StasisStart" and node not in home.channels:
            return
        try:
            ident = _ident.decode(head.channel).id
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if node is None:
            node = self._node_of(ident, head.asterisk_id)
            if node is None:
                return
        chans = home.channels.get(node)
        if etype == "StasisStart":
            if chans is None:
                chans = home.channels[node] = {}
            chans[ident] = head.channel
        elif chans is not None and ident in chans:
            if etype in _ENDS:
                del chans[ident]
            else:
                chans[ident] = head.channel

    def _node_of(self, ident: str, aid: str) -> str | None:
        """The node of a channel seen in a log: its owner; else the node its id names
        (a cluster's nodes make ids ``<node>-<time>.<n>``); else the only node with its
        ``asterisk_id`` (None: unknown, or this node)."""
        node = self.directory.owner("channel", ident)
        if node is None:
            prefix = ident.rpartition("-")[0]
            if prefix in self.aids:
                node = prefix
            else:
                nodes = [n for n, a in self.aids.items() if a == aid]
                node = nodes[0] if len(nodes) == 1 else None
        return None if node == self.node else node

    def _scan(self, home: _Home, app: StasisApp) -> None:
        """The app's channels in Stasis on other nodes, from what its log holds (a new
        home: the old one may be dead); those of nodes no longer alive end now."""
        for entry in app.log.after(0)[1]:
            if b'"channel"' not in entry.data:
                continue
            try:
                head = _head.decode(entry.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if head.channel:
                if head.type == "StasisStart":
                    self._track(home, head, None)
                else:
                    for node, chans in home.channels.items():
                        if chans:
                            self._track(home, head, node)
        alive = set(self.directory.alive())
        for node in list(home.channels):
            if node not in alive:
                self._end_channels(node, only=home)

    def _on_lost(self, node: str) -> None:
        """``node`` is lost: its channels of this node's apps end, with cause 38; the
        apps it was the home of wait for a socket (the leader keeps their logs)."""
        if node == self.node or not self.running:
            return
        self._end_channels(node)
        orphans = [name for name, (home, _) in self.records.items() if home == node]
        if not orphans:
            return
        for name in orphans:
            self._ensure_remote(name, away=True)
        survivors = [n for n in self.directory.alive() if n != node]
        if survivors and min(survivors) == self.node:
            for name in orphans:
                self._spawn(self._adopt(name, node))

    async def _adopt(self, name: str, lost: str) -> None:
        """Become the home of ``name``, whose home ``lost`` died, as if its socket had
        left here: its log loaded and kept, the other nodes' events logged, until a
        socket opens it (here, or on a node that then moves it)."""
        if name in self.homes or self.records.get(name, ("",))[0] != lost:
            return
        log.warning("cluster: node %s lost: this node keeps the events of '%s'", lost, name)
        home = self.homes[name] = _Home(name)
        home.term = self.terms.get(name, 0) + 1
        await self._subscribe(home)
        reload = getattr(self.registry.log_factory, "reload", None)
        if reload is not None:
            try:
                await reload(name)
            except Exception as exc:
                log.warning("cluster: the stream of '%s' could not be read: %s", name, exc)
        if self.homes.get(name) is not home:
            return
        app = self.registry.renew_log(name)
        if app.handler is not None and app.handler is self.remotes.get(name):
            app.handler = None
            app.remote_away = False
        if app.handler is None:
            compact = self.encoder.compact
            app.encode = lambda event: compact(event, name)
            # What the dead home's socket was written is unknown: taken as all of it.
            app.held = True
            app.written = app.acked = app.log.last
            app.ack_used = False
            self.registry.keep(app)
        self._scan(home, app)
        self._go_live(home)

    def _end_channels(self, node: str, only: _Home | None = None) -> None:
        """The apps' channels on ``node`` end: StasisEnd and ChannelDestroyed, cause 38."""
        encoder = EventEncoder(self.aids.get(node) or self.encoder.asterisk_id, False)
        for home in [only] if only is not None else list(self.homes.values()):
            for token in [t for t in home.seen if t.partition(".")[0] == node]:
                del home.seen[token]
            chans = home.channels.pop(node, None)
            app = self.registry.get(home.app)
            if not chans or app is None:
                continue
            log.warning(
                "cluster: node %s lost: %d channel(s) of '%s' end", node, len(chans), home.app
            )
            for raw in chans.values():
                try:
                    snapshot = _snapshot.decode(raw)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                end = ev.StasisEnd(channel=snapshot)
                app.inject(encoder.compact(end, home.app), "StasisEnd")
                gone = ev.ChannelDestroyed(
                    cause=NODE_LOST_CAUSE, cause_txt=cause_text(NODE_LOST_CAUSE), channel=snapshot
                )
                app.inject(encoder.compact(gone, home.app), "ChannelDestroyed")

    # -- moving a home here -------------------------------------------------------------

    def _before_open(
        self, apps: list[str], wanted: Callable[[], bool]
    ) -> Awaitable[Callable[[], None] | None] | None:
        """An events socket of this node is about to register ``apps``: bring those
        homed elsewhere (or whose stream another node may have written) here first."""
        if not self.running:
            return None
        nats_logs = hasattr(self.registry.log_factory, "reload")
        moving = [
            name
            for name in dict.fromkeys(apps)
            if name not in self.homes
            and (nats_logs or self.records.get(name, (self.node,))[0] != self.node)
        ]
        waiting = [
            (name, home.live)
            for name in apps
            if (home := self.homes.get(name)) is not None and home.buffering
        ]
        if not moving and not waiting:
            log.debug(
                "cluster %s: %s open here at once (homes: %s)", self.node, apps, list(self.homes)
            )
            return None
        homes = []
        for name in moving:  # (at once: a second socket of the app waits for this move)
            home = self.homes[name] = _Home(name)
            homes.append(home)
        return self._move_here(homes, waiting, wanted)

    async def _move_here(
        self,
        homes: list[_Home],
        waiting: list[tuple[str, asyncio.Event]],
        wanted: Callable[[], bool],
    ) -> Callable[[], None] | None:
        """Move the apps of ``homes`` here; first wait for the moves of another socket's
        apps (``waiting``: a second socket registers after the first). A socket that
        closed before the old home was asked takes nothing away from it."""
        for _, event in waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), 2 * self.release_timeout + 5)
        for name, _ in waiting:
            if name not in self.homes and wanted():
                # Let go meanwhile (another node asked as the move ended): moved again.
                home = self.homes[name] = _Home(name)
                homes.append(home)
        names = [home.app for home in homes]
        for home in homes:
            await self._subscribe(home)
        if not wanted():
            for home in homes:
                if self.homes.get(home.app) is home:
                    del self.homes[home.app]
                home.live.set()
                self._spawn(self._unsubscribe(home, False))
            return None
        log.debug("cluster %s: moving %s here", self.node, names)
        states = await asyncio.gather(*(self._ask_release(home) for home in homes))
        log.debug(
            "cluster %s: moving %s here: let go %s",
            self.node,
            names,
            [s is not None for s in states],
        )
        reload = getattr(self.registry.log_factory, "reload", None)
        for name, state in zip(names, states, strict=True):
            # The sequence goes on from the old home's at least, whatever the stream
            # holds: one the old home could not flush in time must not make this home
            # hand out its numbers again (a resuming socket would take the new events
            # for ones it has; it is told EventsLost for what the stream lacks instead).
            start = int(state.get("last", 0)) if state is not None else 0
            if reload is not None:
                try:
                    await reload(name)
                except Exception as exc:
                    log.warning("cluster: the stream of '%s' could not be read: %s", name, exc)
            if reload is not None or state is not None:
                app = self.registry.renew_log(name, start)
                if state is not None:
                    app.held = bool(state.get("held"))
                    app.written = int(state.get("written", 0))
                    app.acked = int(state.get("acked", 0))
                    app.ack_used = bool(state.get("ack_used"))
            seen = state.get("seen", {}) if state is not None else {}
            moved = self.homes.get(name)
            if moved is not None:
                told = int(state.get("term", 0)) if state is not None else 0
                moved.term = max(told, self.terms.get(name, 0)) + 1
            if moved is not None and isinstance(seen, dict):
                moved.seen = {str(k): int(v) for k, v in seen.items()}
            if moved is not None and state is not None:
                self._take_channels(moved, state.get("channels"))
            logged = self.registry.get(name)
            if moved is not None and logged is not None:
                self._scan(moved, logged)

        log.debug("cluster %s: moving %s here: logs loaded", self.node, names)

        def opened() -> None:
            for home in homes:
                self._go_live(home)

        return opened

    def _channels_of(self, home: _Home) -> dict[str, Any]:
        """The app's channels in Stasis by node, this node's included (for a new home:
        what a memory log cannot give it)."""
        out: dict[str, Any] = {
            node: {i: json.loads(bytes(raw)) for i, raw in chans.items()}
            for node, chans in home.channels.items()
            if chans
        }
        app = self.registry.get(home.app)
        core = self.registry.core
        if app is not None and app.channels_in_app:
            mine = {}
            for ident in app.channels_in_app:
                chan = core.channels.get(ident)
                if chan is not None:
                    mine[ident] = json.loads(msgspec.json.encode(chan.snapshot()))
            out[self.node] = mine
        return out

    def _take_channels(self, home: _Home, channels: object) -> None:
        """What the old home knew of the app's channels (:meth:`_channels_of`)."""
        if not isinstance(channels, dict):
            return
        for node, chans in channels.items():
            if node == self.node or not isinstance(chans, dict):
                continue
            home.channels[str(node)] = {
                str(i): msgspec.Raw(json.dumps(c).encode()) for i, c in chans.items()
            }

    async def _ask_release(self, home: _Home) -> dict[str, Any] | None:
        """Ask the app's home to let it go (None: no other live home answered). The
        record may be behind: a node that is no longer the home names the next one."""
        home.asking = ""
        try:
            return await self._asking(home)
        finally:
            home.asking = None

    async def _asking(self, home: _Home) -> dict[str, Any] | None:
        name = home.app
        record = self.records.get(name)
        target = record[0] if record is not None else ""
        if target == self.node:
            # A record of this node that is not (or no longer) the home: this node's
            # own claim seen late, after it let the app go.
            target = self._released_to.get(name, "")
        asked: set[str] = set()
        while target and target != self.node and target not in asked and len(asked) < 4:
            if target not in self.directory.alive():
                return None
            asked.add(target)
            home.asking = target
            try:
                reply = await self.link.nc.request(
                    self.link.subject("apps", target, "release"),
                    json.dumps(
                        {
                            "app": name,
                            "node": self.node,
                            "released_to": self._released_to.get(name, ""),
                        }
                    ).encode(),
                    timeout=self.release_timeout,
                )
                state = json.loads(reply.data)
            except Exception as exc:
                log.warning("cluster: node %s did not let '%s' go: %s", target, name, exc)
                return None
            if not isinstance(state, dict):
                return None
            if state.get("home") is False:
                target = str(state.get("node") or "")
                continue
            return state
        return None

    def _go_live(self, home: _Home) -> None:
        """The socket registered (or not): take what arrived meanwhile, claim the key."""
        home.live.set()
        if self.homes.get(home.app) is not home:
            return
        app = self.registry.get(home.app)
        if app is not None and app.handler is None and not app.kept:
            # Its socket left before registering: the app is away here, kept and
            # logging, as if that socket had come and gone.
            log.info("cluster: '%s' moved here but its socket left first", home.app)
            compact, name = self.encoder.compact, home.app
            app.encode = lambda event: compact(event, name)
            self.registry.keep(app)
        buffered, home.buffer = home.buffer, []
        home.buffering = False
        log.debug(
            "cluster %s: '%s' live here (term %s, seen %s, %d buffered)",
            self.node,
            home.app,
            home.term,
            home.seen,
            len(buffered),
        )
        for token, n, data in buffered:
            if n > home.seen.get(token, 0):
                self._take(home, token, n, data)
        self._kv_ops.put_nowait(("claim", home.app))

    async def _on_release(self, msg: Any) -> None:
        """A release request (``pyari.<cluster>.apps.<this node>.release``)."""
        try:
            body = json.loads(msg.data)
            name = body["app"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(name, str):
            return
        asker = body.get("node")
        home = self.homes.get(name)
        try:
            if (
                home is not None
                and home.buffering
                and home.asking is not None
                and body.get("released_to") != self.node
            ):
                # Moving here itself, still asking: the asker is pointed where this
                # node looks (two nodes asking each other would wait for each other),
                # unless the asker let the app go to this node (its answer is on the
                # way: this node has the app in a moment, then lets it go).
                where = home.asking or self.records.get(name, ("",))[0]
                log.debug(
                    "cluster %s: %s asked for '%s' while moving: pointed to %s",
                    self.node,
                    asker,
                    name,
                    where,
                )
                if msg.reply:
                    await msg.respond(json.dumps({"home": False, "node": where}).encode())
                return
            if home is not None and home.buffering:
                # Moving here itself: it lets go once it has the app.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(home.live.wait(), self.release_timeout / 2)
                home = self.homes.get(name)
            if home is not None and not home.buffering and msg.reply:
                await self._release(home, msg, asker if isinstance(asker, str) else "")
            elif msg.reply:
                # Not (or no longer) its home: where it went, as this node knows it.
                where = self._released_to.get(name) or self.records.get(name, ("",))[0]
                log.debug(
                    "cluster %s: %s asked for '%s', not here: pointed to %s",
                    self.node,
                    asker,
                    name,
                    where,
                )
                await msg.respond(json.dumps({"home": False, "node": where}).encode())
        except Exception:
            log.exception("cluster: letting '%s' go failed", name)

    async def _release(self, home: _Home, msg: Any, asker: str) -> None:
        """Another node takes the app over: forward from now on, flush, tell it where we were."""
        name = home.app
        # What was received before the request is taken first (the asker subscribed
        # before asking: what comes after, it has too).
        sub = home.sub
        if sub is not None and sub.pending_msgs:
            target = home.received + sub.pending_msgs
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1):
                    while home.received < target and self.homes.get(name) is home:
                        await asyncio.sleep(0)
        if self.homes.get(name) is not home:
            return
        app = self.registry.get(name)
        state: dict[str, Any] = {
            "seen": dict(home.seen),
            "channels": self._channels_of(home),
            "term": home.term,
        }
        if app is not None:
            state.update(
                last=app.log.last,
                held=app.held,
                written=app.written,
                acked=app.acked,
                ack_used=app.ack_used,
            )
        active = app is not None and app.active
        del self.homes[name]
        home.live.set()
        if asker:
            # The asker is the home now, before its claim reaches this node's watcher
            # (a socket back here at once must ask it, not find this node named).
            self._released_to[name] = asker
            self.records[name] = (asker, True)
        if app is not None:
            app.encode = None
            if app.handler is not None or app.kept or app.channels_in_app or app.sources:
                # (held by a socket here: it is told ApplicationReplaced)
                self._ensure_remote(name, away=not active, force=True)
        await self._flush_log()
        self.let_go += 1
        log.debug(
            "cluster %s: '%s' let go to %s (seen %s, last %s)",
            self.node,
            name,
            asker,
            home.seen,
            state.get("last"),
        )
        try:
            await msg.respond(json.dumps(state).encode())
        except Exception as exc:
            log.warning("cluster: answering the move of '%s' failed: %s", name, exc)
        self._spawn(self._unsubscribe(home, False))
