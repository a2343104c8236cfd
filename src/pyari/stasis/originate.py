"""Placing calls: originate a channel and send it somewhere once answered.

One entry for everyone who places a call: ARI's ``POST /channels`` (and
``/channels/{id}``, ``/channels/create``, ``/channels/externalMedia``) and the
CLI's ``channel originate``.  The caller describes the call in an
:class:`OriginateRequest`; :func:`originate` does the rest, the Stasis hand-off
included.

How an originate goes, e.g. ``POST /ari/channels?endpoint=Local/1000@ARI-test&app=hello``:

1. ``ari/resources/channels.py`` (``originate_channel``) checks and converts the
   parameters, in Asterisk's order and with its error texts, into an
   :class:`OriginateRequest` with an :class:`InStasis` target, and calls
   :func:`originate`.  It maps the typed errors raised here (``TechError`` and
   :class:`OriginateError`) to HTTP statuses, and answers with the snapshot of
   the channel it gets back.  Nothing else of the call happens in ARI.
2. :func:`originate` → :func:`place_call` asks the core for the channel
   (``Core.request``), which hands the dial string to the channel technology
   (``channels/local.py``, ``channels/pjsip.py``, ``channels/sim.py`` ...); a
   Local channel comes as two halves.  The new channel gets the caller id,
   ``AppDial2`` as its application, the request's variables, and, for a Stasis
   target, the application's subscription (both halves of a Local), so the app
   sees the channel from its first event.
3. The channel's own task starts (``Channel.start``) with :func:`_dial`: the
   ``Dial`` event, ``tech.call``, then it waits for the answer (or hangup, busy,
   timeout: a final ``Dial`` status and the task ends).
4. Once answered, the same task runs the target: :class:`InStasis` →
   :func:`run_in_app` → ``stasis.registry.Registry.run`` (StasisStart; the
   channel's control queue, ``stasis/control.py``, serves the app's commands
   until the app lets go; ``continue`` sends it on in the dialplan:
   ``Pbx.run``); :class:`InDialplan` → ``Pbx.run`` from that place;
   :class:`InApplication` → one dialplan application.
5. When the target returns, the task ends and the channel is destroyed.

:func:`create` is the variant without dialing (``/channels/create``): the
channel waits in the application until ``/channels/{id}/dial``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyari.core import causes
from pyari.core import events as ev
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.dialplan.apps import assign_variable

if TYPE_CHECKING:
    from pyari.dialplan.executor import Pbx
    from pyari.stasis.registry import Registry

AfterAnswer = Callable[[Channel], Awaitable[None]]

DEFAULT_TIMEOUT = 30.0


# -- what an originate asks for -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InStasis:
    """Run the answered channel in Stasis application ``app`` with ``args``."""

    app: str
    args: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class InDialplan:
    """Run the answered channel in the dialplan from ``exten@context``, ``priority``."""

    context: str
    exten: str
    priority: int = 1


@dataclass(frozen=True, slots=True)
class InApplication:
    """Run one dialplan application on the answered channel (``Playback(demo)``)."""

    app: str
    data: str = ""


Target = InStasis | InDialplan | InApplication


@dataclass(slots=True)
class OriginateRequest:
    """A call to place: where to dial, where the answered channel goes, and how."""

    endpoint: str
    """``tech/resource`` (``PJSIP/alice``, ``Local/1000@default``)."""
    target: Target
    timeout: float | None = DEFAULT_TIMEOUT
    """Seconds to wait for the answer; None waits forever."""
    caller_name: str | None = None
    caller_number: str | None = None
    variables: Sequence[tuple[str, str]] = ()
    """Set on the new channel in order, as ``Set(name=value)`` would."""
    channel_id: str | None = None
    other_channel_id: str | None = None
    originator: Channel | None = None
    """The channel on whose behalf the call is placed (it joins its linked id)."""
    make_channel: Callable[[], Channel] | None = field(default=None)
    """Builds the channel instead of ``Core.request`` (external media)."""
    formats: tuple[str, ...] = ()
    """ARI's ``formats``: the media formats the new channel is requested with."""


_NUMBERED_LABEL = re.compile(r"\s*([+-]?\d+).*")
"""A label that starts with a number names that priority."""


class OriginateError(Exception):
    """An originate that cannot be placed as asked."""


class LabelNotFound(OriginateError):
    """The dialplan label of the target does not exist."""


class IllegalPriority(OriginateError):
    """The target's priority is not one a dialplan can start at (0)."""


def dialplan_target(
    pbx: Pbx, context: str, exten: str, priority: int = 1, label: str | None = None
) -> InDialplan:
    """The dialplan place ``exten@context`` at ``priority`` or at ``label``.

    A label that starts with a number is that priority; raises
    :class:`LabelNotFound` or :class:`IllegalPriority`.
    """
    if label:
        numbered = _NUMBERED_LABEL.fullmatch(label)
        if numbered is not None:
            priority = int(numbered.group(1))
        else:
            found = pbx.dialplan.find_label(context, exten, label)
            if found is None:
                raise LabelNotFound(label)
            priority = found
        if priority == 0:
            raise IllegalPriority(label)
    return InDialplan(context, exten, priority)


# -- the entries ------------------------------------------------------------------------


def originate(pbx: Pbx, stasis: Registry | None, request: OriginateRequest) -> Channel:
    """Place the call of ``request``; returns the new channel at once.

    Raises ``TechError`` when no technology serves the endpoint or an id is
    taken.  The rest happens on the channel's own task (module docstring).
    """
    target = request.target
    after_answer = _after_answer(pbx, stasis, target)

    def prepare(chan: Channel) -> None:
        chan.formats = request.formats
        for name, value in request.variables:
            assign_variable(pbx, chan, name, value)
        if isinstance(target, InStasis) and stasis is not None:
            stasis.subscribe_channel(target.app, chan)
            if chan.peer is not None:
                stasis.subscribe_channel(target.app, chan.peer)

    return place_call(
        pbx.core,
        request.endpoint,
        after_answer,
        timeout=request.timeout,
        caller_name=request.caller_name,
        caller_number=request.caller_number,
        uniqueid=request.channel_id,
        other_id=request.other_channel_id,
        on_created=prepare,
        originator=request.originator,
        request=request.make_channel,
    )


def create(pbx: Pbx, stasis: Registry, request: OriginateRequest) -> Channel:
    """Create the channel of ``request`` in its application, without dialing it.

    The target must be :class:`InStasis`; the application dials the channel
    later (``/channels/{id}/dial``).  Raises ``TechError`` as :func:`originate`.
    """
    app = request.target
    if not isinstance(app, InStasis):
        raise OriginateError("a created channel waits in a Stasis application")
    chan = pbx.core.request(
        request.endpoint, uniqueid=request.channel_id, other_id=request.other_channel_id
    )
    if request.originator is not None:
        inherit_linkedid(chan, request.originator)
    chan.dialstring = request.endpoint.partition("/")[2]
    chan.formats = request.formats
    stasis.subscribe_channel(app.app, chan)
    for name, value in request.variables:
        assign_variable(pbx, chan, name, value)
    start_in_app(pbx, stasis, chan, app)
    return chan


def start_in_app(pbx: Pbx, stasis: Registry, chan: Channel, app: InStasis) -> None:
    """Start ``chan``'s task in application ``app`` (created or snooping channels).

    If the application sends the channel to the dialplan, it runs there.
    """
    args = list(app.args)

    async def in_app() -> None:
        if await stasis.run(chan, app.app, args, dialplan=False) == "GOTO":
            await pbx.run(chan)

    chan.start(in_app)


async def run_in_app(pbx: Pbx, stasis: Registry, chan: Channel, app: InStasis) -> None:
    """Run an answered, originated channel in application ``app``.

    If the application sends it back to the dialplan it runs there; otherwise
    it shows its dialplan application of before (``AppDial2``) again, as
    Asterisk's snapshots do.
    """
    args = list(app.args)
    before = (chan.app_name, chan.app_data)
    chan.set_app("Stasis", ",".join([app.app, *args]), publish=False)
    if await stasis.run(chan, app.app, args, dialplan=False) == "GOTO":
        await pbx.run(chan)
    elif not chan.destroyed:
        chan.set_app(*before, publish=False)


def _after_answer(pbx: Pbx, stasis: Registry | None, target: Target) -> AfterAnswer:
    if isinstance(target, InStasis):
        if stasis is None:
            raise OriginateError("no Stasis applications here")
        registry = stasis

        async def in_stasis(chan: Channel) -> None:
            await run_in_app(pbx, registry, chan, target)

        return in_stasis
    if isinstance(target, InDialplan):

        async def in_dialplan(chan: Channel) -> None:
            chan.set_location(target.context, target.exten, target.priority)
            await pbx.run(chan)

        return in_dialplan

    async def in_application(chan: Channel) -> None:
        await pbx.execute(chan, target.app, target.data)

    return in_application


# -- dialing -------------------------------------------------------------------------------


def place_call(
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
    answered = await chan.wait_answered(timeout)
    status = ev.dial_status(chan, answered)
    if status == "NOANSWER":
        chan.hangupcause = causes.NO_ANSWER
    chan.publish(ev.dial(chan.snapshot(), dialstring, status))
    if answered:
        await after_answer(chan)


def inherit_linkedid(chan: Channel, requestor: Channel) -> None:
    """A channel requested on behalf of ``requestor`` joins its call (linked id)."""
    for half in (chan, chan.peer):
        if half is not None:
            half.linkedid = requestor.linkedid
            half.changed()
