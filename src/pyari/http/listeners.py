"""The listening sockets of http.conf (plain and TLS), for both HTTP cores.

:meth:`Listeners.update` is ``reload http``: everything that can fail (the
TLS certificate and key, binding a new address) is done before anything that
serves is closed, so a failed reload leaves both listeners serving with the
old settings, and its error names the setting and the file or address.  A
listener whose address is unchanged stays open; its TLS context is reloaded
in place (a renewed certificate applies to the next handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyari.http.common import Binding, bound_port

if TYPE_CHECKING:
    from pyari.config import HttpSettings

ProtocolFactory = Callable[[bool], Callable[[], asyncio.BaseProtocol]]
"""``factory(tls)``: the protocol factory of the plain (False) or TLS (True) listener."""


class ListenError(OSError):
    """A listener could not be set up; the text names the setting and file or address.

    For the server's log and the local CLI only: it may hold a path.
    """


def _check_readable(setting: str, path: os.PathLike[str] | str) -> None:
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ListenError(f"{setting}: {path}: {exc.strerror or exc}") from exc


def tls_context(settings: HttpSettings) -> ssl.SSLContext:
    """The server TLS context of http.conf's certificate and key (:class:`ListenError`)."""
    cert = settings.tlscertfile
    if cert is None:
        raise ListenError("tlscertfile: not set (tlsenable=yes needs it)")
    key = settings.tlsprivatekey or cert
    _check_readable("tlscertfile", cert)
    _check_readable("tlsprivatekey", key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _load(ctx, settings)
    return ctx


def _load(ctx: ssl.SSLContext, settings: HttpSettings) -> None:
    cert = settings.tlscertfile
    assert cert is not None
    key = settings.tlsprivatekey or cert
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        raise ListenError(
            f"tlscertfile: {cert}, tlsprivatekey: {key}: not a matching PEM certificate "
            f"and key ({exc.reason or exc})"
        ) from exc
    except OSError as exc:
        raise ListenError(f"tlscertfile: {cert}: {exc.strerror or exc}") from exc


def _wanted(settings: HttpSettings) -> dict[bool, tuple[str, int]]:
    """The addresses to listen on, by TLS flag."""
    want: dict[bool, tuple[str, int]] = {}
    if settings.enabled:
        want[False] = (settings.bindaddr, settings.bindport)
        if settings.tlsenable:
            want[True] = (settings.tlsbindaddr, settings.tlsbindport)
    return want


def _bind_text(tls: bool, host: str, port: int, exc: OSError) -> str:
    setting = "tlsbindaddr" if tls else "bindaddr/bindport"
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"{setting}: {host}:{port}: {reason}"


@dataclass
class _Listener:
    spec: tuple[str, int]
    server: asyncio.AbstractServer
    binding: Binding


class Listeners:
    """The plain and TLS listeners of one HTTP server."""

    def __init__(self, factory: ProtocolFactory) -> None:
        self.factory = factory
        self.current: dict[bool, _Listener] = {}
        self.ctx: ssl.SSLContext | None = None
        """The TLS context the TLS listener serves with (reloaded in place)."""
        self.handshake_timeout = 60.0
        """Seconds a TLS handshake may take (``request_head_timeout``; a connection
        counts as a session only once it is done)."""

    @property
    def bindings(self) -> list[Binding]:
        return [self.current[tls].binding for tls in (False, True) if tls in self.current]

    @property
    def servers(self) -> list[asyncio.AbstractServer]:
        return [listener.server for listener in self.current.values()]

    async def _listen(
        self, tls: bool, spec: tuple[str, int], ctx: ssl.SSLContext | None
    ) -> _Listener:
        host, port = spec
        loop = asyncio.get_running_loop()
        try:
            if tls:
                server = await loop.create_server(
                    self.factory(tls),
                    host,
                    port,
                    ssl=ctx,
                    reuse_address=True,
                    ssl_handshake_timeout=self.handshake_timeout,
                )
            else:
                server = await loop.create_server(self.factory(tls), host, port, reuse_address=True)
        except OSError as exc:
            raise ListenError(_bind_text(tls, host, port, exc)) from exc
        return _Listener(spec, server, Binding(host, bound_port(server, port), tls))

    async def start(self, settings: HttpSettings) -> None:
        """Listen as ``settings`` say (nothing must be listening yet)."""
        await self.update(settings)

    async def update(self, settings: HttpSettings) -> None:
        """Listen as ``settings`` say, all or nothing (:class:`ListenError`)."""
        want = _wanted(settings)
        self.handshake_timeout = settings.request_head_timeout / 1000.0 or 60.0
        fresh_ctx = tls_context(settings) if True in want else None
        started: dict[bool, _Listener] = {}
        closed_early: dict[bool, _Listener] = {}
        try:
            for tls, spec in want.items():
                have = self.current.get(tls)
                if have is not None and have.spec == spec:
                    continue
                try:
                    started[tls] = await self._listen(tls, spec, fresh_ctx)
                except ListenError:
                    if have is None or have.spec[1] != spec[1] or spec[1] == 0:
                        raise
                    # The same port on another address of this host: the old
                    # socket must go first; it is put back if anything fails.
                    have.server.close()
                    closed_early[tls] = have
                    started[tls] = await self._listen(tls, spec, fresh_ctx)
        except BaseException:
            for listener in started.values():
                listener.server.close()
            for tls, old in closed_early.items():
                self.current[tls] = await self._listen(tls, old.spec, self.ctx)
            raise
        # Everything new is in place: apply the certificate, close what is replaced.
        if True in started:
            self.ctx = fresh_ctx
        elif fresh_ctx is not None and self.ctx is not None:
            with contextlib.suppress(ListenError):  # the files were just read
                _load(self.ctx, settings)
        for tls in (False, True):
            have = self.current.get(tls)
            if tls in started:
                if have is not None:
                    have.server.close()
                self.current[tls] = started[tls]
            elif tls not in want and have is not None:
                have.server.close()
                del self.current[tls]
        if True not in self.current:
            self.ctx = None

    def close(self) -> None:
        """Stop listening; accepted connections stay open."""
        for listener in self.current.values():
            listener.server.close()
        self.current.clear()
        self.ctx = None
