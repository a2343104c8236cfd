"""ARI requests between nodes over NATS request/reply: the forwarding's transport.

Each node listens on ``pyari.<cluster>.rest.<node>`` (:class:`RestLink`) for
two messages (msgpack, tagged arrays):

* :class:`Forwarded` -- an ARI request another node authenticated: method,
  path, query, body, the user's name and read-only flag, and ``local`` (run it
  here as if alone, or through this node's routing once more). It runs through
  :meth:`~pyari.ari.service.AriService.handle_as` and the answer goes back as
  an :class:`Answer` (status, headers, body: byte for byte);
* :class:`Probe` -- "do you have this channel (bridge, playback, live
  recording)?", answered ``1`` or ``0``.

Answers come to one reply subscription per node (``<inbox>.<token>``). The
policy -- what goes where -- is :mod:`pyari.cluster.forward`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import msgspec
from nats import errors as nats_errors

from pyari.ari.service import AriRequest, AriResponse, AriService, User
from pyari.cluster.link import Link

if TYPE_CHECKING:
    from pyari.ari.cluster_hook import ClusterHook

log = logging.getLogger("pyari.cluster")

NO_RESPONDERS = "503"
"""The status NATS answers a request with when nobody listens on its subject."""


class Forwarded(msgspec.Struct, tag="rest", array_like=True):
    """An ARI request another node runs for this one."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    user: str
    read_only: bool
    local: bool = True
    """Run on the receiving node, never forwarded again (False: through its own hook,
    which may forward once more but never back with ``local`` False)."""


class Probe(msgspec.Struct, tag="have", array_like=True):
    """Does the receiving node have ``ident`` of ``kind``? (answered ``b"1"`` or ``b"0"``)"""

    kind: str
    ident: str


class Answer(msgspec.Struct, array_like=True):
    status: int
    headers: dict[str, str]
    body: bytes


_encode = msgspec.msgpack.Encoder().encode
_incoming = msgspec.msgpack.Decoder(Forwarded | Probe)
_answer = msgspec.msgpack.Decoder(Answer)
_PING = _encode(Probe("channel", ""))
"""A probe no node says yes to: a node asks itself at start."""

Has = Callable[[str, str], bool]
"""Whether this node has ``ident`` of ``kind`` (the answer to a :class:`Probe`)."""


class RestLink:
    """This node's end of the REST requests between nodes."""

    def __init__(self, link: Link, node: str, ari: AriService, has: Has) -> None:
        self.link = link
        self.node = node
        self.ari = ari
        self.has = has
        self.subject = link.subject("rest", node)
        """Where other nodes send this node requests."""
        self.hopped: ClusterHook | None = None
        """The hook a request forwarded with ``local`` False goes through."""
        self._sub: Any = None
        self._replies: Any = None
        self._inbox = ""
        """``<inbox>.``: answers to this node's requests come to ``<inbox>.<token>``."""
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._tokens = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self.forwarded = 0
        """Requests this node sent to another node."""
        self.served = 0
        """Requests other nodes sent here."""
        self.unanswered = 0
        """Requests sent that got no answer in time (504)."""
        self.probes = 0
        """Times the other nodes were asked who has a resource."""

    # -- start and stop ------------------------------------------------------------------

    async def start(self, timeout: float) -> None:
        """Listen for other nodes' requests and for the answers to this node's."""
        nc = self.link.nc
        self._inbox = nc.new_inbox() + "."
        self._replies = await nc.subscribe(self._inbox + "*", cb=self._on_reply)
        self._sub = await nc.subscribe(self.subject, cb=self._on_message)
        # Ask this node itself: once it answers, NATS has both subscriptions and other
        # nodes' requests reach it. (nats-py's flush() is no proof: its PING is written
        # straight to the socket, ahead of the SUBs still in its buffer.)
        if await self.request(self.node, _PING, timeout) is None:
            log.warning("cluster: this node's REST subject does not answer yet")

    async def stop(self, timeout: float) -> None:
        """Stop listening; requests being run finish first (``timeout`` at most)."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            for task in pending:
                task.cancel()
        replies, self._replies = self._replies, None
        if replies is not None:
            with contextlib.suppress(Exception):
                await replies.unsubscribe()

    # -- serving other nodes ---------------------------------------------------------------

    async def _on_message(self, msg: Any) -> None:
        try:
            request = _incoming.decode(msg.data)
        except msgspec.MsgspecError:
            log.warning("cluster: a REST message that is not one on %s", msg.subject)
            return
        if isinstance(request, Probe):
            with contextlib.suppress(Exception):
                await msg.respond(b"1" if self.has(request.kind, request.ident) else b"0")
            return
        # Run at once as far as it goes without waiting (most requests: all the way); one
        # that waits goes on in a task, so it holds up none of the requests behind it.
        coro = self._serve(msg, request)
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        except BaseException:
            log.exception("cluster: a forwarded request failed")
            return
        if getattr(yielded, "_asyncio_future_blocking", None):
            # What a Task does with the future it is given: resume once it is done.
            yielded._asyncio_future_blocking = False
            yielded.add_done_callback(lambda _f: self._carry_on(coro))
        elif yielded is None:  # a bare yield (asyncio.sleep(0))
            self._carry_on(coro)
        else:
            coro.close()
            log.error("cluster: a forwarded request yielded %r", yielded)

    def _carry_on(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, msg: Any, fwd: Forwarded) -> None:
        self.served += 1
        req = AriRequest(fwd.method, fwd.path, fwd.query, {}, fwd.body)
        hook = None if fwd.local else self.hopped
        resp = await self.ari.handle_as(User(fwd.user, fwd.read_only), req, hook)
        data = _encode(Answer(resp.status, resp.headers, resp.body))
        nc = self.link.nc
        if nc is not None and len(data) > nc.max_payload:  # a big recording's file
            size = len(resp.body)
            resp = self.ari.error(502, f"Answer too large to send between nodes ({size} bytes)")
            data = _encode(Answer(resp.status, resp.headers, resp.body))
        try:
            await msg.respond(data)
        except Exception as exc:  # NATS gone meanwhile: the asking node answers 504
            log.debug("cluster: could not answer a forwarded request: %s", exc)

    # -- asking other nodes -----------------------------------------------------------------------

    async def request(self, node: str, data: bytes, timeout: float) -> bytes | None:
        """``node``'s answer to ``data`` on its subject; None when none came in ``timeout``
        seconds, nobody listens there or NATS is down (at once then).

        (nats-py's ``request`` would do, at the cost of an ``asyncio.wait_for`` and a
        token parse per request: this is the forwarding's round trip.)"""
        nc = self.link.nc
        if nc is None or self._replies is None or not self.link.connected:
            return None  # NATS is down (reconnecting): no other node can be asked now
        loop = asyncio.get_running_loop()
        token = str(next(self._tokens))
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiting[token] = waiter
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await nc.publish(self.link.subject("rest", node), data, reply=self._inbox + token)
            msg = await waiter
        except (TimeoutError, nats_errors.Error):
            return None
        finally:
            timer.cancel()
            self._waiting.pop(token, None)
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            return None
        return msg.data  # type: ignore[no-any-return]

    async def _on_reply(self, msg: Any) -> None:
        waiter = self._waiting.pop(msg.subject[len(self._inbox) :], None)
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)

    async def forward(
        self, node: str, user: User, req: AriRequest, timeout: float, *, local: bool = True
    ) -> AriResponse:
        """``req`` answered by ``node``; 504 when it does not answer in ``timeout``."""
        query = [pair for pair in req.query if pair[0] != "api_key"]  # credentials stay here
        data = _encode(
            Forwarded(req.method, req.path, query, req.body, user.name, user.read_only, local)
        )
        self.forwarded += 1
        raw = await self.request(node, data, timeout)
        if raw is not None:
            try:
                answer = _answer.decode(raw)
            except msgspec.MsgspecError:
                log.warning("cluster: node %s answered with something else", node)
            else:
                return AriResponse(answer.status, answer.body, answer.headers)
        self.unanswered += 1
        return self.ari.error(504, f"Node {node} did not answer")

    async def probe(self, nodes: list[str], kind: str, ident: str, timeout: float) -> str | None:
        """The first of ``nodes`` that says it has ``ident`` of ``kind`` (None: none did
        in ``timeout``)."""
        if not nodes:
            return None
        self.probes += 1
        data = _encode(Probe(kind, ident))

        async def ask(node: str) -> str | None:
            answer = await self.request(node, data, timeout)
            return node if answer == b"1" else None

        tasks = [asyncio.ensure_future(ask(n)) for n in nodes]
        try:
            for next_done in asyncio.as_completed(tasks):
                found = await next_done
                if found is not None:
                    return found
        finally:
            for task in tasks:
                task.cancel()
        return None


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
