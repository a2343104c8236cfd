"""The control queue of a channel in a Stasis application.

ARI commands on a channel are queued here and run, in order, on the
channel's own task (Asterisk's ``stasis_app_control``).  The task also
wakes here when the channel is hung up or told to leave the application.

The commands that need more than one call on the channel live here as
methods (``dial``, ``indicate``), as Asterisk's ``stasis_app_control_*``.  A
hangup is not queued: it is a request to the channel
(``Channel.request_hangup``, Asterisk's ``ast_softhangup``) that must reach
it while a command runs, and it ends the queue.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyari.core import causes
from pyari.core import events as ev

if TYPE_CHECKING:
    from pyari.core.channel import Channel


class ChannelGone(Exception):
    """The channel hung up before the command could run."""


class Control:
    __slots__ = (
        "_idle",
        "_in_command",
        "_queue",
        "_waiter",
        "_woken",
        "app_name",
        "channel",
        "done",
        "goto",
        "leaving",
        "move_to",
    )

    def __init__(self, channel: Channel, app_name: str) -> None:
        self.channel = channel
        self.app_name = app_name
        self._queue: deque[tuple[Callable[[], Any], asyncio.Future[Any]]] = deque()
        self._woken = False
        """Woken since the channel's task last looked (an ``asyncio.Event``'s flag)."""
        self._waiter: asyncio.Future[None] | None = None
        """What the idle task awaits (:meth:`wake` completes it)."""
        self.leaving = False
        self.goto = False
        """True when the app sent the channel back to the dialplan somewhere new."""
        self.move_to: tuple[str, list[str]] | None = None
        self.done = False
        self._in_command = False
        """The channel has left the application: no command can run any more."""
        self._idle = False
        """The channel's task waits in :meth:`run` for a command or a wake."""

    def wake(self) -> None:
        """Have the channel's task look at its queue and the channel again."""
        self._woken = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def execute(self, command: Callable[[], Any], *, sync: bool = False) -> Any:
        """Run ``command`` on the channel's task and return its result.

        ``sync``: ``command`` is a plain function (it returns no awaitable). While the
        channel's task waits for work with nothing queued or pending, it runs here at
        once, as the task would run it next: same order, same effects, without the
        two loop rounds of handing it over and back."""
        if self.done or self.channel.destroyed:
            raise ChannelGone()
        if (
            sync
            and self._idle
            and not self._queue
            and not self._woken
            and not self.leaving
            and not self.channel.hungup
        ):
            self._in_command = True
            try:
                result = command()
            finally:
                self._in_command = False
            if self.leaving or self.channel.hungup:
                self.wake()  # the task sees it, as after a command it ran
            return result
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((command, fut))
        self.wake()
        return await fut

    # -- commands (Asterisk's stasis_app_control_*) ---------------------------------

    async def indicate(self, condition: str, data: str | None = None) -> None:
        """Signal ``condition`` to the far end from the channel's task."""
        chan = self.channel
        await self.execute(lambda: chan.indicate(condition, data))

    async def dial(self, dialstring: str, timeout: float | None, caller: Channel | None) -> None:
        """Dial a channel created in the application, on the channel's task.

        ``caller``, when given and still there, lends the channel its caller
        id as the connected line and its language.  Returns once the far end
        is called (``Dial`` with an empty status); a watcher announces the
        outcome and hangs the channel up (NO_ANSWER) if ``timeout`` passes
        first.  Raises ``ChannelGone`` if the channel left first.
        """
        chan = self.channel

        async def watch() -> None:
            answered = await chan.wait_answered(timeout)
            if chan.destroyed:
                return
            status = ev.dial_status(chan, answered)
            chan.publish(ev.dial(chan.snapshot(), dialstring, status))
            if status == "NOANSWER":
                chan.request_hangup(causes.NO_ANSWER)

        def call() -> None:
            if caller is not None and not caller.destroyed:
                chan.take_caller_details(caller)
            chan.tech.call(chan, timeout)
            chan.publish(ev.dial(chan.snapshot(), dialstring, ""))
            chan.core.spawn(watch(), name=f"dial {chan.name}")

        await self.execute(call)

    def leave(self) -> None:
        """Make the channel leave the application after the commands queued so far.

        Called from a command running on the channel, it takes effect at once.
        """
        if self.done:
            return
        if self._in_command:
            self.leaving = True
            return
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((self._set_leaving, fut))
        self.wake()

    def _set_leaving(self) -> None:
        self.leaving = True

    async def run(self) -> None:
        """Serve commands until the channel leaves or hangs up."""
        chan = self.channel
        while True:
            # A hangup or a departure stops dispatching: what is still queued
            # fails below, as Asterisk fails commands of a departed channel.
            while self._queue and not (self.leaving or chan.hungup):
                command, fut = self._queue.popleft()
                if fut.done():
                    continue
                self._in_command = True
                try:
                    result = command()
                    if inspect.isawaitable(result):
                        result = await result
                except Exception as exc:  # handed to the waiting caller
                    if not fut.done():
                        fut.set_exception(exc)
                else:
                    if not fut.done():
                        fut.set_result(result)
                finally:
                    self._in_command = False
            if self.leaving or chan.hungup:
                break
            self._woken = False
            self._idle = True
            try:
                waiter = self._waiter = asyncio.get_running_loop().create_future()
                await waiter
            finally:
                self._idle = False
                self._waiter = None
        self.done = True
        while self._queue:
            _, fut = self._queue.popleft()
            if not fut.done():
                fut.set_exception(ChannelGone())
