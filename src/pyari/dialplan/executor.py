"""The PBX executor: runs a channel through the dialplan on its own task."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from pyari.dialplan.substitute import builtin_function, substitute

if TYPE_CHECKING:
    from pyari.core.channel import Channel
    from pyari.core.engine import Core
    from pyari.dialplan.model import Context, Dialplan

log = logging.getLogger("pyari.pbx")
verbose = logging.getLogger("pyari.verbose")


class Result(enum.Enum):
    """What an application tells the executor to do next."""

    NEXT = "next"
    JUMP = "jump"
    """The application moved the channel; run where it points now."""
    HANGUP = "hangup"


AppFn = Callable[["Pbx", "Channel", str], Awaitable[Result | None]]

Service = TypeVar("Service")

APPLICATIONS: dict[str, tuple[str, AppFn]] = {}
"""Dialplan applications by lower-case name → (display name, function)."""


def application(name: str) -> Callable[[AppFn], AppFn]:
    """Register a dialplan application under ``name``."""

    def register(fn: AppFn) -> AppFn:
        APPLICATIONS[name.lower()] = (name, fn)
        return fn

    return register


class ChannelVars:
    """Variable and function lookups for substitution on one channel."""

    __slots__ = ("chan", "pbx")

    def __init__(self, pbx: Pbx, chan: Channel) -> None:
        self.pbx = pbx
        self.chan = chan

    def get_var(self, name: str) -> str | None:
        value = self.chan.get_var(name)
        if value is not None:
            return value
        value = self.pbx.core.globals.get(name)
        if value is not None:
            return value
        return self.pbx.dialplan.globals.get(name)

    def call_function(self, name: str, args: str) -> str | None:
        upper = name.upper()
        if upper in ("CALLERID", "CHANNEL", "CONNECTEDLINE"):
            return self.chan.builtin_var(f"{upper}({args.strip()})") or ""
        if upper == "GLOBAL":
            name = args.strip()
            value = self.pbx.core.globals.get(name)
            return value if value is not None else self.pbx.dialplan.globals.get(name, "")
        return builtin_function(name, args, self.get_var)


class Pbx:
    """Runs channels through the current dialplan."""

    def __init__(self, core: Core, dialplan: Dialplan) -> None:
        self.core = core
        self.dialplan = dialplan
        self._services: dict[type, object] = {}
        self._added: dict[str, Context] = {}
        """Contexts modules registered (:meth:`add_context`), kept across reloads."""
        """Objects of packages above the dialplan that applications need, by type."""
        core.pbx_starter = self.start

    def provide(self, service: object) -> None:
        """Make ``service`` available to applications, found by its type (e.g. the
        Stasis registry for ``Stasis()``: the dialplan does not import Stasis)."""
        self._services[type(service)] = service

    def service(self, kind: type[Service]) -> Service:
        """The service of type ``kind`` given to :meth:`provide` (LookupError if none)."""
        found = self._services.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"no {kind.__name__} was provided to the dialplan")
        return found

    def swap(self, dialplan: Dialplan) -> None:
        """Replace the dialplan at once; running channels continue on the new one.

        Contexts other modules added (:meth:`add_context`) are kept, as Asterisk's
        ``dialplan reload`` keeps the contexts of registrars other than pbx_config;
        one the new dialplan defines itself is its own.
        """
        added = {n: c for n, c in self._added.items() if n not in dialplan.contexts}
        self._added = added
        if added:
            dialplan = dataclasses.replace(dialplan, contexts={**dialplan.contexts, **added})
        self.dialplan = dialplan

    def add_context(self, context: Context) -> bool:
        """Add a context a module registers (``ast_context_find_or_create``); a context
        of that name already there is left alone (False)."""
        if self.dialplan.has_context(context.name):
            return False
        self._added[context.name] = context
        dp = self.dialplan
        self.dialplan = dataclasses.replace(dp, contexts={**dp.contexts, context.name: context})
        return True

    def remove_context(self, name: str, registrar: str) -> bool:
        """Remove context ``name`` if ``registrar`` added it (``ast_context_destroy_by_name``)."""
        context = self._added.get(name)
        if context is None or context.registrar != registrar:
            return False
        del self._added[name]
        dp = self.dialplan
        if dp.contexts.get(name) is context:
            contexts = {n: c for n, c in dp.contexts.items() if n != name}
            self.dialplan = dataclasses.replace(dp, contexts=contexts)
        return True

    def exten_exists(self, context: str, exten: str) -> bool:
        """Whether ``exten@context`` is in the dialplan in force (the one after a reload)."""
        return self.dialplan.exists(context, exten)

    def start(self, chan: Channel) -> None:
        chan.start(lambda: self.run(chan))

    def substitute(self, chan: Channel, text: str) -> str:
        if "$" not in text:
            return text
        return substitute(text, ChannelVars(self, chan))

    async def run(self, chan: Channel) -> None:
        """Run ``chan`` from its current location until it hangs up or falls off."""
        try:
            await self._loop(chan)
        finally:
            # As Asterisk, the end of the dialplan is a soft hangup
            # (AST_SOFTHANGUP_APPUNLOAD), then the ``h`` extension runs.
            chan.end_pbx()
            await self._run_h(chan)

    async def _loop(self, chan: Channel) -> None:
        while not chan.hungup:
            dp = self.dialplan
            prio = dp.find(chan.context, chan.exten, chan.priority)
            if prio is None:
                if not dp.exists(chan.context, chan.exten, 1):
                    if dp.exists(chan.context, "i", 1) and chan.exten != "i":
                        log.warning(
                            "Channel '%s' sent to invalid extension: "
                            "context,exten,priority=%s,%s,%d",
                            chan.name,
                            chan.context,
                            chan.exten,
                            chan.priority,
                        )
                        chan.set_var("INVALID_EXTEN", chan.exten)
                        chan.set_location(chan.context, "i", 1)
                        continue
                    log.warning(
                        "Channel '%s' sent to invalid extension but no invalid handler: "
                        "context,exten,priority=%s,%s,%d",
                        chan.name,
                        chan.context,
                        chan.exten,
                        chan.priority,
                    )
                else:
                    verbose.info(
                        "    -- Auto fallthrough, channel '%s' status is 'UNKNOWN'", chan.name
                    )
                return
            if await self.execute(chan, prio.app, prio.app_data) is Result.HANGUP:
                return

    async def execute(self, chan: Channel, app_name: str, raw_data: str) -> Result:
        """Run one priority's application on ``chan``."""
        data = self.substitute(chan, raw_data)
        entry = APPLICATIONS.get(app_name.lower())
        shown = entry[0] if entry else app_name
        if verbose.isEnabledFor(logging.INFO):
            verbose.info(
                '    -- Executing [%s@%s:%d] %s("%s", "%s") in new stack',
                chan.exten,
                chan.context,
                chan.priority,
                shown,
                chan.name,
                data,
            )
        before = (chan.app_name, chan.app_data)
        chan.set_app(shown, data)
        if entry is None:
            log.warning(
                "No application '%s' for extension (%s, %s, %d)",
                app_name,
                chan.context,
                chan.exten,
                chan.priority,
            )
            return Result.HANGUP
        result = await entry[1](self, chan, data)
        # As pbx_exec: once the application returns, the channel shows what
        # it showed before it (nothing, at the top of the dialplan).
        if not chan.destroyed:
            chan.set_app(*before, publish=False)
        if result is Result.HANGUP:
            return result
        if result is not Result.JUMP:
            chan.set_location(chan.context, chan.exten, chan.priority + 1)
        return Result.NEXT

    async def _run_h(self, chan: Channel) -> None:
        """After a hangup, run the ``h`` extension of the context, if any."""
        if chan.destroyed:
            return
        dp = self.dialplan
        if not dp.exists(chan.context, "h", 1) or chan.exten == "h":
            return
        chan.set_location(chan.context, "h", 1)
        for _ in range(1000):
            prio = dp.find(chan.context, "h", chan.priority)
            if prio is None or await self.execute(chan, prio.app, prio.app_data) is Result.HANGUP:
                return


def goto_target(pbx: Pbx, chan: Channel, spec: str) -> tuple[str, str, int] | None:
    """Resolve ``[[context,]exten,]priority`` (priority may be a label)."""
    from pyari.dialplan.args import split_app_args

    parts = [p.strip() for p in split_app_args(spec)]
    if not parts or len(parts) > 3 or not parts[-1]:
        return None
    context, exten = chan.context, chan.exten
    if len(parts) == 3:
        context, exten = parts[0] or context, parts[1] or exten
    elif len(parts) == 2:
        exten = parts[0] or exten
    prio = parts[-1]
    if prio.lstrip("+-").isdigit():
        number = int(prio)
        if prio[0] in "+-":
            number = chan.priority + number
        return context, exten, number
    found = pbx.dialplan.find_label(context, exten, prio)
    if found is None:
        return None
    return context, exten, found
