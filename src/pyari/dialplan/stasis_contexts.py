"""The ``stasis-<app>`` contexts of per-call outbound ARI WebSocket apps.

As Asterisk's res/ari/ari_websockets.c: each app of a valid ari.conf
``outbound_websocket`` section whose connection is ``per_call_config`` gets a
dialplan context ``stasis-<app>``, registered by ``res_ari``, with ``_.`` priority 1
``Stasis(<app>)`` and ``h`` priority 1 ``NoOp()``. A dialplan sends a call to the app
with ``Goto(stasis-hello,s,1)`` (or dials ``Local/<anything>@stasis-hello``), and the
call opens its per-call connection there. A context of that name that already exists
(one in extensions.conf) is left as it is; the context goes when the app leaves the
section or the section goes, and ``dialplan reload`` keeps it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyari.dialplan.model import Context, Extension, Priority

if TYPE_CHECKING:
    from pyari.dialplan.executor import Pbx

PREFIX = "stasis-"
"""Asterisk's ``STASIS_CONTEXT_PREFIX``."""
REGISTRAR = "res_ari"
"""Asterisk's ``ARI_CONTEXT_REGISTRAR``."""


def stasis_context(app: str) -> Context:
    """The context Asterisk registers for ``app``."""
    name = PREFIX + app

    def one(exten: str, application: str, data: str) -> Extension:
        prio = Priority(exten, 1, None, application, data, REGISTRAR, 0, name)
        return Extension(exten, (prio,))

    return Context(
        name,
        (one("_.", "Stasis", app), one("h", "NoOp", "")),
        registrar=REGISTRAR,
    )


class StasisContexts:
    """Adds and removes the ``stasis-<app>`` contexts in the running dialplan."""

    def __init__(self, pbx: Pbx) -> None:
        self.pbx = pbx

    def add(self, app: str) -> None:
        self.pbx.add_context(stasis_context(app))

    def remove(self, app: str) -> None:
        self.pbx.remove_context(PREFIX + app, REGISTRAR)
