"""What the cluster's parts know of each other: the :class:`Directory` protocol.

:mod:`pyari.cluster.nodes` (membership) and :mod:`pyari.cluster.owners` (who owns
which channel, bridge, playback, recording) implement it; the REST forwarding
(:mod:`pyari.cluster.forward`) and the applications' events
(:mod:`pyari.cluster.apps`) use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

KINDS = ("channel", "bridge", "playback", "recording")
"""Resources owned by one node (``recording``: a live recording, by name)."""

LostHandler = Callable[[str], None]
"""Called with a node's name when the node is declared lost."""


class Directory(Protocol):
    """Nodes and resource owners, as this node sees them."""

    @property
    def node(self) -> str:
        """This node's name."""
        ...

    def alive(self) -> list[str]:
        """The live nodes' names, this node's included, sorted."""
        ...

    def load(self, node: str) -> int:
        """The channels on ``node`` by its last heartbeat (this node: now)."""
        ...

    def owner(self, kind: str, ident: str) -> str | None:
        """The node that owns ``ident`` of ``kind`` (one of :data:`KINDS`), or None."""
        ...

    def on_lost(self, handler: LostHandler) -> None:
        """Call ``handler(node)`` when a node is declared lost (before its records go)."""
        ...
