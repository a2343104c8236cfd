"""The registry of Stasis applications and the Stasis() entry point."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pyari.core import events as ev
from pyari.stasis.app import Handler, StasisApp
from pyari.stasis.control import Control

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core

log = logging.getLogger("pyari.stasis")
verbose = logging.getLogger("pyari.verbose")


class Registry:
    """All Stasis applications of one core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.apps: dict[str, StasisApp] = {}

    def get(self, name: str) -> StasisApp | None:
        return self.apps.get(name)

    def names(self) -> list[str]:
        return sorted(self.apps)

    # -- registration by event sockets ------------------------------------------

    def register(self, name: str, handler: Handler, *, subscribe_all: bool = False) -> StasisApp:
        """Give ``name`` a new event handler, replacing any live one."""
        app = self.apps.get(name)
        if app is None:
            verbose.info("Creating Stasis app '%s'", name)
            app = self.apps[name] = StasisApp(self.core.bus, name)
        elif app.handler is not None:
            old = app.handler
            app.handler = None
            old(ev.ApplicationReplaced())
            verbose.info("Replacing Stasis app '%s'", name)
        else:
            verbose.info("Activating Stasis app '%s'", name)
        app.handler = handler
        if subscribe_all and not app.subscribe_all:
            app.subscribe_all = True
            for topic in (self.core.all_channels, self.core.all_bridges):
                app.subscribe(topic.name)
        return app

    def unregister(self, name: str, handler: Handler) -> None:
        """The socket behind ``handler`` went away."""
        app = self.apps.get(name)
        if app is None or app.handler is not handler:
            return
        verbose.info("Deactivating Stasis app '%s'", name)
        app.handler = None
        if app.subscribe_all:
            app.subscribe_all = False
            for topic in (self.core.all_channels, self.core.all_bridges):
                app.unsubscribe(topic.name, all_refs=True)
        self.cleanup(app)

    def cleanup(self, app: StasisApp) -> None:
        if app.idle and self.apps.get(app.name) is app:
            verbose.info("Shutting down application '%s'", app.name)
            del self.apps[app.name]
            self.core.bus.remove(app.topic.name)
            verbose.info("Destroying Stasis app %s", app.name)

    # -- channels ----------------------------------------------------------------

    async def run(self, chan: Channel, name: str, args: list[str], *, dialplan: bool) -> str:
        """Run ``chan`` in application ``name`` until it leaves.

        Returns ``FAILED`` (STASISSTATUS=FAILED) if the application is not
        registered, ``GOTO`` if the application sent the channel to a new
        place in the dialplan, else ``SUCCESS``.  ``dialplan`` is True when the channel entered from
        ``Stasis()`` in the dialplan: its subscription ends with StasisEnd.
        """
        while True:
            app = self.apps.get(name)
            if app is None or not app.active:
                log.error("Stasis app '%s' not registered", name)
                chan.set_var("STASISSTATUS", "FAILED")
                return "FAILED"
            source = chan.topic.name
            app.subscribe(source)
            chan.set_var("STASISSTATUS", "")
            control = Control(chan, name)
            chan.control = control
            chan.stasis_app = name
            app.channels_in_app.add(chan.id)
            saved_app = (chan.app_name, chan.app_data)
            app.send(ev.StasisStart(args=args, channel=chan.snapshot()))
            try:
                await control.run()
            finally:
                if chan.bridge is not None:
                    chan.bridge.remove(chan)
                chan.control = None
                chan.stasis_app = None
                app.channels_in_app.discard(chan.id)
                app.send(ev.StasisEnd(channel=chan.snapshot()))
                if dialplan:
                    app.unsubscribe(source)
                self.cleanup(app)
            move = control.move_to
            if move is None or chan.hungup:
                break
            name, args = move[0], move[1]
            dialplan = True
        if not control.goto:
            chan.set_app(*saved_app, publish=False)
        chan.set_var("STASISSTATUS", "SUCCESS")
        return "GOTO" if control.goto else "SUCCESS"

    def subscribe_channel(self, name: str, chan: Channel) -> None:
        """Subscribe ``name`` to a channel's events (originate with ``app``)."""
        app = self.apps.get(name)
        if app is not None:
            app.subscribe(chan.topic.name)
