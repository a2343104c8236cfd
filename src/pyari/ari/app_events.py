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
