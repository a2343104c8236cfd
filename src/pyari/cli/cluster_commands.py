"""``cluster show nodes|resources|streams``: this node's view of the cluster (issue #14).

Registered in :data:`pyari.cli.commands.COMMANDS` when that module is imported
(it imports this one last); the texts are :mod:`pyari.cli.cluster_formats`'.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from pyari.cli import cluster_formats as cf
from pyari.cli.commands import command
from pyari.cluster.directory import KINDS

if TYPE_CHECKING:
    from pyari.cluster.service import Cluster
    from pyari.server import Server

STREAMS_TIMEOUT = 3.0
"""Seconds ``cluster show streams`` waits for JetStream's answers."""


def _cluster(server: Server) -> Cluster | None:
    cluster = server.cluster
    return cluster if cluster is not None and cluster.running else None


@command("cluster show nodes", "Show the nodes of the cluster")
def cluster_show_nodes(server: Server, args: list[str], line: str) -> str:
    cluster = _cluster(server)
    if cluster is None:
        return cf.NOT_ENABLED
    nodes = cluster.nodes
    now = nodes.clock()
    rows: list[cf.NodeRow] = []
    names = set(nodes.table) | {cluster.node}
    for name in sorted(names):
        info = nodes.table.get(name)
        age = now - info.seen if info is not None else None
        if name == cluster.node:
            facts = cluster.facts()
            rows.append(
                cf.NodeRow(name, "this", facts["channels"], facts["sip"], facts["http"], age)
            )
        elif info is not None:
            state = "lost" if info.lost else "alive"
            rows.append(cf.NodeRow(name, state, info.channels, info.sip, info.http, age))
    return cf.show_nodes(cluster.settings.cluster, rows)


@command("cluster show resources [kind]", "Show who owns the cluster's channels, bridges...")
def cluster_show_resources(server: Server, args: list[str], line: str) -> str:
    cluster = _cluster(server)
    if cluster is None:
        return cf.NOT_ENABLED
    wanted = args[0].lower().rstrip("s") if args else None
    if wanted is not None and wanted not in KINDS:
        return f"Unknown kind '{args[0]}' (one of: {', '.join(KINDS)}).\n"
    order = {k: i for i, k in enumerate(KINDS)}
    records = {(kind, ident): node for kind, ident, node in cluster.owners.records()}
    for kind, ident in cluster.owners.mine():  # this node's, written or not yet
        records[(kind, ident)] = cluster.node
    rows = [
        cf.ResourceRow(kind, ident, node, "" if cluster.nodes.is_alive(node) else "lost")
        for (kind, ident), node in sorted(records.items(), key=lambda r: (order[r[0][0]], r[0]))
        if wanted is None or kind == wanted
    ]
    return cf.show_resources(rows)


@command("cluster show streams", "Show the applications' event streams in JetStream")
async def cluster_show_streams(server: Server, args: list[str], line: str) -> str:
    cluster = _cluster(server)
    if cluster is None:
        return cf.NOT_ENABLED
    try:
        rows = await asyncio.wait_for(_streams(cluster), STREAMS_TIMEOUT)
    except Exception as exc:
        return f"Unable to read the streams from NATS: {exc or type(exc).__name__}\n"
    return cf.show_streams(rows)


async def _streams(cluster: Cluster) -> list[cf.StreamRow]:
    from pyari.stasis.eventlog_nats import app_name

    js = cluster.link.js
    homes = await _homes(cluster)
    rows: list[cf.StreamRow] = []
    for info in await js.streams_info():
        app = app_name(info.config.name, cluster.link.settings.cluster)
        if app is None:
            continue
        state = info.state
        rows.append(
            cf.StreamRow(
                app,
                homes.get(app, ""),
                state.messages,
                state.bytes,
                state.first_seq,
                state.last_seq,
            )
        )
    return sorted(rows, key=lambda r: r.app)


async def _homes(cluster: Cluster) -> dict[str, str]:
    """App → home node, from the ``APPS`` bucket (decision 0025), when there is one."""
    from nats.js.errors import BucketNotFoundError

    try:
        kv: Any = await cluster.link.js.key_value(cluster.link.bucket_name("APPS"))
    except BucketNotFoundError:
        return {}
    homes: dict[str, str] = {}
    watcher = await kv.watchall()
    try:
        async for entry in watcher:
            if entry is None:
                break
            if entry.operation in ("DEL", "PURGE") or not entry.value:
                continue
            try:
                app = bytes.fromhex(entry.key).decode()
                doc = json.loads(entry.value)
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("node"), str):
                homes[app] = doc["node"]
    finally:
        await watcher.stop()
    return homes
