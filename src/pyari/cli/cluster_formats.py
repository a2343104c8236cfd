"""The texts of pyari's own ``cluster show nodes|resources|streams`` commands.

Asterisk has no cluster; these follow its table style (left-aligned columns of
fixed width, a dashed rule under the header, a count line at the end, as
``pjsip show ...`` and ``core show channels`` do).  Pure functions over small
rows; the commands gather the data (:mod:`pyari.cli.commands`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pyari.cli.formats import ess

NOT_ENABLED = "Cluster is not enabled (cluster.conf: [general] enabled = yes).\n"


@dataclass(frozen=True, slots=True)
class NodeRow:
    name: str
    state: str
    """``this``, ``alive`` or ``lost``."""
    channels: int
    sip: str
    http: str
    age: float | None
    """Seconds since its last heartbeat arrived (None: none seen)."""


@dataclass(frozen=True, slots=True)
class ResourceRow:
    kind: str
    ident: str
    owner: str
    state: str = ""
    """``lost`` when the owner is not alive ("" otherwise)."""


@dataclass(frozen=True, slots=True)
class StreamRow:
    app: str
    home: str
    messages: int
    bytes: int
    first_seq: int
    last_seq: int


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{ess(n)}"


def _age(age: float | None) -> str:
    return "-" if age is None else f"{age:.1f}s ago"


def show_nodes(cluster: str, rows: Sequence[NodeRow]) -> str:
    lines = [
        f"Cluster: {cluster}",
        "",
        f"{'Node':<20} {'State':<6} {'Channels':>8}  {'SIP':<22} {'HTTP':<22} Heartbeat",
        f"{'=' * 20} {'=' * 6} {'=' * 8}  {'=' * 22} {'=' * 22} {'=' * 10}",
    ]
    for r in rows:
        lines.append(
            f"{r.name:<20} {r.state:<6} {r.channels:>8}  {r.sip or '-':<22} "
            f"{r.http or '-':<22} {_age(r.age)}"
        )
    states = Counter(r.state for r in rows)
    alive = states["this"] + states["alive"]
    lines += ["", f"{_plural(len(rows), 'node')} ({alive} alive, {states['lost']} lost)"]
    return "\n".join(lines) + "\n"


def show_resources(rows: Sequence[ResourceRow]) -> str:
    width = max([len(r.ident) for r in rows] + [32])
    lines = [
        f"{'Kind':<10} {'Id':<{width}} Owner",
        f"{'=' * 10} {'=' * width} {'=' * 20}",
    ]
    for r in rows:
        owner = f"{r.owner} ({r.state})" if r.state else r.owner
        lines.append(f"{r.kind:<10} {r.ident:<{width}} {owner}")
    kinds = Counter(r.kind for r in rows)
    counts = ", ".join(f"{kinds[k]} {k}" for k in sorted(kinds))
    owners = Counter(r.owner for r in rows)
    per_node = ", ".join(f"{n}: {owners[n]}" for n in sorted(owners))
    lines.append("")
    lines.append(f"{_plural(len(rows), 'resource')}" + (f" ({counts})" if counts else ""))
    if per_node:
        lines.append(f"By node: {per_node}")
    return "\n".join(lines) + "\n"


def show_streams(rows: Sequence[StreamRow]) -> str:
    width = max([len(r.app) for r in rows] + [20])
    lines = [
        f"{'App':<{width}} {'Home':<12} {'Messages':>10} {'Bytes':>12} {'First':>10} {'Last':>10}",
        f"{'=' * width} {'=' * 12} {'=' * 10} {'=' * 12} {'=' * 10} {'=' * 10}",
    ]
    for r in rows:
        lines.append(
            f"{r.app:<{width}} {r.home or '-':<12} {r.messages:>10} {r.bytes:>12} "
            f"{r.first_seq:>10} {r.last_seq:>10}"
        )
    lines += ["", _plural(len(rows), "stream")]
    return "\n".join(lines) + "\n"
