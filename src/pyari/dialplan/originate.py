"""Placing calls: create an outgoing channel, dial it, run something on answer.

Used by ARI's originate and the CLI's ``channel originate``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core

AfterAnswer = Callable[[Channel], Awaitable[None]]

DEFAULT_TIMEOUT = 30.0


def originate(
    core: Core,
    endpoint: str,
    after_answer: AfterAnswer,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    caller_name: str | None = None,
    caller_number: str | None = None,
    variables: dict[str, str] | None = None,
    uniqueid: str | None = None,
    other_id: str | None = None,
    on_created: Callable[[Channel], None] | None = None,
    originator: Channel | None = None,
    request: Callable[[], Channel] | None = None,
) -> Channel:
    """Create the channel for ``endpoint`` and start dialing it.

    Returns at once with the new channel (raises ``TechError`` for a dial
    string no technology serves).  When the far end answers,
    ``after_answer`` runs on the channel's task; when it returns, the
    channel hangs up.  ``timeout`` None or negative waits forever.
    """
    if request is not None:
        chan = request()  # the channel was requested already (e.g. external media)
    else:
        chan = core.request(endpoint, uniqueid=uniqueid, other_id=other_id)
    if originator is not None:
        inherit_linkedid(chan, originator)
    if caller_name or caller_number:
        chan.set_caller(caller_name, caller_number)
        chan.connected = chan.caller
        chan.changed()
    chan.set_app("AppDial2", "(Outgoing Line)", publish=False)
    for name, value in (variables or {}).items():
        chan.set_var(name, value)
    if on_created is not None:
        on_created(chan)
    dialstring = endpoint.partition("/")[2]
    wait = None if timeout is None or timeout < 0 else timeout
    chan.start(lambda: _dial(chan, dialstring, wait, after_answer))
    return chan


async def _dial(
    chan: Channel, dialstring: str, timeout: float | None, after_answer: AfterAnswer
) -> None:
    chan.publish(ev.dial(chan.snapshot(), dialstring, ""))
    chan.tech.call(chan, timeout)
    if not await chan.wait_answered(timeout):
        if chan.hangupcause == causes.USER_BUSY:
            status = "BUSY"
        elif chan.hungup:
            status = "CANCEL"
        else:
            status = "NOANSWER"
            chan.hangupcause = causes.NO_ANSWER
        chan.publish(ev.dial(chan.snapshot(), dialstring, status))
        return
    chan.publish(ev.dial(chan.snapshot(), dialstring, "ANSWER"))
    await after_answer(chan)


def inherit_linkedid(chan: Channel, requestor: Channel) -> None:
    """A channel requested on behalf of ``requestor`` joins its call (linked id)."""
    for half in (chan, chan.peer):
        if half is not None:
            half.linkedid = requestor.linkedid
            half.changed()
