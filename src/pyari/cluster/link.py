"""The node's NATS connection, shared by every part of the cluster.

Subjects and buckets carry the cluster's name (cluster.conf ``cluster``), so
several clusters can share one NATS server:

* ``pyari.<cluster>.<...>`` — subjects (:meth:`Link.subject`);
* ``PYARI_<cluster>_<NAME>`` — JetStream key-value buckets (:meth:`Link.bucket`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import nats
from nats.js import api
from nats.js.errors import BucketNotFoundError
from nats.js.kv import KeyValue

from pyari.config.cluster import ClusterSettings

log = logging.getLogger("pyari.cluster")


def connect_options(s: ClusterSettings) -> dict[str, Any]:
    """``nats.connect`` options of cluster.conf: servers, credentials, TLS, reconnecting
    for ever (the event logs' connection uses them too when the cluster is on)."""
    options: dict[str, Any] = {
        "servers": s.urls,
        "connect_timeout": 2,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
    }
    if s.nats_user:
        options["user"] = s.nats_user
        options["password"] = s.nats_password
    if s.nats_token:
        options["token"] = s.nats_token
    if s.nats_creds:
        options["user_credentials"] = s.nats_creds
    if s.nats_tls_ca or s.nats_tls_cert:
        ctx = ssl.create_default_context(cafile=s.nats_tls_ca or None)
        if s.nats_tls_cert:
            ctx.load_cert_chain(s.nats_tls_cert, s.nats_tls_key or None)
        options["tls"] = ctx
    return options


def first_connect_wait(options: dict[str, Any]) -> float:
    """Seconds to wait for the first connection (every server tried once, plus slack)."""
    return float(options["connect_timeout"]) * len(options["servers"]) + 1.0


class Link:
    """One NATS connection (reconnecting for ever) and the names of the cluster's things."""

    def __init__(self, settings: ClusterSettings) -> None:
        self.settings = settings
        self.node = settings.node_name
        """This node's name."""
        self.nc: Any = None
        """The ``nats.aio.client.Client`` once :meth:`connect` returned."""
        self.js: Any = None
        """Its JetStream context."""
        self.reconnects = 0
        self.disconnects = 0
        self._closing = False
        self.last_error: Exception | None = None
        self._reconnect_hooks: list[Callable[[], Awaitable[None]]] = []
        self._hooks_task: asyncio.Task[None] | None = None
        """The last error NATS reported (a refused connection...)."""

    @property
    def connected(self) -> bool:
        """Whether the connection to NATS is up now."""
        return self.nc is not None and bool(self.nc.is_connected)

    def subject(self, *parts: str) -> str:
        """``pyari.<cluster>.<parts...>``."""
        return ".".join(("pyari", self.settings.cluster, *parts))

    def bucket_name(self, name: str) -> str:
        """``PYARI_<cluster>_<name>``: a key-value bucket of this cluster."""
        return f"PYARI_{self.settings.cluster}_{name}"

    async def connect(self) -> None:
        """Connect (raises when no server answers within a few seconds)."""
        options = connect_options(self.settings)
        options.update(
            name=f"pyari {self.node}",
            disconnected_cb=self._disconnected,
            reconnected_cb=self._reconnected,
            error_cb=self._error,
        )
        try:
            # nats-py retries the first connection for ever too (max_reconnect_attempts
            # = -1): give up after a round of the servers' connect timeouts.
            self.nc = await asyncio.wait_for(nats.connect(**options), first_connect_wait(options))
        except TimeoutError:
            raise ConnectionError(str(self.last_error or "no answer")) from None
        self.js = self.nc.jetstream()

    async def bucket(self, name: str, *, ttl: float = 0.0, history: int = 1) -> KeyValue:
        """The key-value bucket ``name`` of this cluster, made if missing.

        ``ttl``: seconds an entry lives without a new put (0: for ever)."""
        full = self.bucket_name(name)
        try:
            return await self.js.key_value(full)  # type: ignore[no-any-return]
        except BucketNotFoundError:
            pass
        config = api.KeyValueConfig(
            bucket=full,
            history=history,
            ttl=ttl or None,
            storage=api.StorageType.FILE,
            description=f"pyari cluster {self.settings.cluster}: {name.lower()}",
        )
        return await self.js.create_key_value(config)  # type: ignore[no-any-return]

    async def close(self) -> None:
        nc = self.nc
        if nc is None:
            return
        self.nc = None
        self._closing = True
        try:
            await nc.drain()
        except Exception:  # already closed, or NATS gone
            await nc.close()

    async def _disconnected(self) -> None:
        if self._closing:
            return
        self.disconnects += 1
        log.warning("cluster: NATS connection lost; reconnecting")

    def on_reconnect(self, hook: Callable[[], Awaitable[None]]) -> None:
        """``await hook()`` each time the connection comes back (in order, on a task)."""
        self._reconnect_hooks.append(hook)

    async def _reconnected(self) -> None:
        self.reconnects += 1
        log.info("cluster: NATS connection back")
        # Not from inside nats-py's reconnection: the hooks make requests.
        self._hooks_task = asyncio.get_running_loop().create_task(self._run_hooks())

    async def _run_hooks(self) -> None:
        for hook in list(self._reconnect_hooks):
            try:
                await hook()
            except Exception as exc:
                log.warning("cluster: after reconnecting: %s", exc)

    async def _error(self, exc: Exception) -> None:
        self.last_error = exc
        log.debug("cluster: NATS: %s", exc)
