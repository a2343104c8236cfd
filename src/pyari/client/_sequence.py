"""Sequenced event streams (docs/event-streams.md): exactly-once delivery across reconnects.

A pyari server numbers each application's events (``pyari_sequence``) when
the events upgrade asks with ``Pyari-Sequence: 1``.  The client then keeps,
per application, the last sequence it dispatched and the last one its
handlers have finished (every event up to it handled), acknowledges the
latter now and then (``EventAck``), reconnects with ``Pyari-Resume:
app=<last finished>`` and drops what it sees again.  Against Asterisk no
event carries a sequence and none of this runs.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping

import msgspec

from pyari.client._models import Event

__all__ = ["EventsLost", "Pending", "Sequences"]

log = logging.getLogger("pyari.client")

SEQUENCE_HEADER = "Pyari-Sequence"
RESUME_HEADER = "Pyari-Resume"


class EventsLost(Event, kw_only=True, tag="EventsLost"):
    """pyari's report that events of ``application`` were lost to the server's retention.

    Sequences ``first_sequence`` .. ``last_sequence`` (``count`` events)
    were no longer kept when the client came back; they will never be
    delivered.  The client delivers this event (``client.on("EventsLost")``,
    ``client.events()``) where the lost events would have been; the
    ``Resynced`` of the same reconnect holds the application's state.
    """

    first_sequence: int = 0
    last_sequence: int = 0
    count: int = 0


class Pending:
    """One sequenced event whose handlers are still running (``count`` of them)."""

    __slots__ = ("app", "count", "seq")

    def __init__(self, app: _AppSeq, seq: int) -> None:
        self.app = app
        self.seq = seq
        self.count = 0

    def release(self) -> None:
        """One handler of the event has finished."""
        self.count -= 1
        if self.count == 0:
            self.app.settle()


class _AppSeq:
    """The sequence state of one application."""

    __slots__ = ("acked", "dispatched", "done", "floor", "inflight", "owner")

    def __init__(self, owner: Sequences, after: int = 0) -> None:
        self.owner = owner
        self.dispatched = after
        """Highest sequence dispatched: anything at or below it is a duplicate."""
        self.done = after
        """Every event up to here has been handled (the resume and ack point)."""
        self.acked = after
        """The last ``done`` acknowledged to the server."""
        self.floor: int | None = None
        """The resume point sent on the current connection (None: none sent)."""
        self.inflight: deque[Pending] = deque()
        """Events dispatched after ``done``, in order, some still being handled."""

    def settle(self) -> None:
        inflight = self.inflight
        advanced = False
        while inflight and inflight[0].count == 0:
            self.done = inflight.popleft().seq
            advanced = True
        if advanced:
            self.owner.advanced()


class Sequences:
    """Per-application sequence state of a client, and when to acknowledge."""

    __slots__ = ("apps", "dirty", "seen", "wake")

    def __init__(
        self, wake: Callable[[], None], resume_from: Mapping[str, int] | None = None
    ) -> None:
        self.wake = wake
        """Called when there is something new to acknowledge (once until :meth:`acks`)."""
        self.apps: dict[str, _AppSeq] = {}
        for app, seq in (resume_from or {}).items():
            self.apps[app] = _AppSeq(self, int(seq))
        self.seen = False
        """A sequenced event arrived: the server is a pyari that numbers events."""
        self.dirty = False
        """Some ``done`` moved past what was acknowledged."""

    # -- reading ---------------------------------------------------------------------

    def begin(self, app_name: str, seq: int, event: object = None) -> Pending | None:
        """An event with a sequence arrived: its tracker, or None for a duplicate.

        An :class:`EventsLost` is cut to what this client had not seen: events
        it dispatched before the reconnect are not lost to it.
        """
        self.seen = True
        app = self.apps.get(app_name)
        if app is None:
            app = self.apps[app_name] = _AppSeq(self, 0)
        floor = app.floor
        if floor is not None:
            app.floor = None  # only the connection's first event of the app is checked
            if seq <= floor:
                # The server resumed nothing after our point and numbers from below
                # it: its log started again (a restart).  Start again with it.
                log.warning(
                    "events of '%s' restart at sequence %d (after %d): the server's log is new",
                    app_name,
                    seq,
                    floor,
                )
                app = self.apps[app_name] = _AppSeq(self, seq - 1)
        if seq <= app.dispatched:
            return None
        if isinstance(event, EventsLost) and event.first_sequence <= app.dispatched:
            event.first_sequence = app.dispatched + 1
            event.count = event.last_sequence - app.dispatched
        app.dispatched = seq
        return Pending(app, seq)

    def end(self, pending: Pending) -> None:
        """The event was dispatched; handlers that run later hold ``pending.count``."""
        app = pending.app
        if pending.count == 0 and not app.inflight:
            app.done = pending.seq
            self.advanced()
        else:
            app.inflight.append(pending)

    def advanced(self) -> None:
        if not self.dirty:
            self.dirty = True
            self.wake()

    # -- connecting and acknowledging ------------------------------------------------

    def resume_header(self, apps: list[str]) -> str | None:
        """``Pyari-Resume``'s value for a (re)connection of ``apps`` (None: nothing to resume)."""
        parts = []
        for name in apps:
            app = self.apps.get(name)
            if app is None:
                continue
            app.floor = app.done
            parts.append(f"{name}={app.done}")
        return ",".join(parts) or None

    def acks(self) -> list[bytes]:
        """``EventAck`` messages for what was handled since the last ones."""
        self.dirty = False
        out = []
        for name, app in self.apps.items():
            if app.done > app.acked:
                app.acked = app.done
                out.append(_encode(_Ack(application=name, sequence=app.done)))
        return out

    def done(self, app: str) -> int | None:
        """The last sequence of ``app`` whose events are all handled (None: none)."""
        state = self.apps.get(app)
        return state.done if state is not None else None


class _Ack(msgspec.Struct, tag="EventAck", tag_field="type"):
    application: str
    sequence: int


_encode = msgspec.json.Encoder().encode
