"""Waiting for conditions and events, without fixed sleeps."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyari.client import AriClient, EventStream
    from pyari.client._models import Message

__all__ = ["EventWaiter", "wait_for", "wait_for_event"]

POLL = 0.005
"""Seconds between two looks at a polled condition."""


async def wait_for(
    condition: Callable[[], object] | Callable[[], Awaitable[object]],
    timeout: float = 5.0,
    *,
    message: str | None = None,
    interval: float = POLL,
) -> Any:
    """Wait until ``condition()`` is truthy and return its value.

    ``condition`` may be sync or async.  Raises :class:`AssertionError` (with
    ``message``) when ``timeout`` seconds pass first, so a failed wait reads
    as a failed test.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


class EventWaiter:
    """An event to come: subscribed when created, awaited later.

    ``waiter = wait_for_event(client, "StasisStart")``, then do what causes
    the event, then ``event = await waiter``.  (``await wait_for_event(...)``
    in one step is fine when the event is caused after that line.)
    """

    def __init__(
        self,
        client: AriClient,
        event_type: str | type[Message],
        predicate: Callable[[Any], object] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.event_type = event_type if isinstance(event_type, str) else event_type.__name__
        self.predicate = predicate
        self.timeout = timeout
        types = () if self.event_type == "*" else (self.event_type,)
        self._stream: EventStream = client.event_stream(*types)
        self._result: Any = None
        self._done = False

    async def _wait(self) -> Any:
        if self._done:
            return self._result
        try:
            async with asyncio.timeout(self.timeout):
                async for event in self._stream:
                    if self.predicate is None or self.predicate(event):
                        self._result, self._done = event, True
                        return event
        except TimeoutError:
            raise AssertionError(
                f"no {self.event_type} event matched within {self.timeout} s"
            ) from None
        finally:
            await self._stream.aclose()
        raise AssertionError(f"the client closed before a {self.event_type} event matched")

    def __await__(self) -> Generator[Any, None, Any]:
        return self._wait().__await__()

    async def cancel(self) -> None:
        """Stop listening (when the event is no longer wanted)."""
        await self._stream.aclose()


def wait_for_event(
    client: AriClient,
    event_type: str | type[Message],
    predicate: Callable[[Any], object] | None = None,
    timeout: float = 5.0,
) -> EventWaiter:
    """The next ``event_type`` event (``"*"``: any) the client receives that
    satisfies ``predicate``, as an awaitable.

    It listens from this call on: create it *before* the action that causes
    the event, await it after.  Raises :class:`AssertionError` on timeout.
    """
    return EventWaiter(client, event_type, predicate, timeout)
