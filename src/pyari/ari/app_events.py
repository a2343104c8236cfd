"""ApplicationRegistered and ApplicationUnregistered on an events session.

Asterisk sends them only on outbound connections (res/ari/ari_websockets.c): an
inbound socket knows which apps it asked for, an outbound one learns it here, once
an app is registered for it, again after each reconnect, and when a reload takes an
app away. :mod:`pyari.http.outbound` asks for them through these two functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyari.core import events as ev

if TYPE_CHECKING:
    from pyari.ari.events_ws import EventSession


def _deliver(session: EventSession, app: str, event: ev.Event) -> None:
    handler = session.handlers.get(app)
    if handler is not None:
        handler(event)


def send_registered(session: EventSession, app: str) -> None:
    """Queue ApplicationRegistered for ``app`` on ``session``."""
    _deliver(session, app, ev.ApplicationRegistered())


def send_unregistered(session: EventSession, app: str) -> None:
    """Queue ApplicationUnregistered for ``app`` on ``session``."""
    _deliver(session, app, ev.ApplicationUnregistered())


def release_channels(session: EventSession) -> int:
    """Send the channels in ``session``'s apps back to the dialplan (how many).

    A per-call connection that is lost and cannot be made again leaves its call
    nothing to drive it; Asterisk then continues the channel in the dialplan.
    """
    registry = session.registry
    count = 0
    for name in session.apps:
        app = registry.get(name)
        if app is None:
            continue
        for channel_id in list(app.channels_in_app):
            chan = registry.core.channels.get(channel_id)
            control = chan.control if chan is not None else None
            if control is not None:
                control.leave()
                count += 1
    return count
