"""What the ARI pipeline knows of a cluster: the :class:`ClusterHook` protocol.

:class:`~pyari.ari.service.AriService` runs every request through its hook
(``AriService.cluster``), when one is set, after authentication, the ACL,
routing and the parameters' checks and before the operation's handler. The
hook may answer the request itself -- forward it to the node that owns the
channel or bridge it names, merge a list from every node, place a new call on
another node -- or return None: this node runs it. ``ari`` knows nothing of
the cluster; :mod:`pyari.cluster.forward` implements the hook (decision 0025).
With no hook (one node, the default) the pipeline pays one ``is None`` check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pyari.ari.params import Args
    from pyari.ari.service import AriRequest, AriResponse, User
    from pyari.ari.spec import Operation

Local = Callable[[], Awaitable["AriResponse"]]
"""Runs the request's operation on this node and answers as this node would (raises
:class:`~pyari.ari.errors.AriError` for an ARI error, as a handler does)."""


@dataclass(frozen=True, slots=True)
class RoutedRequest:
    """A request as the hook sees it: ``req``, its operation ``op`` with ``path_values``
    and its checked ``args``, for ``user``; ``local`` runs it here."""

    user: User
    op: Operation
    path_values: Mapping[str, str]
    req: AriRequest
    args: Args
    local: Local


class ClusterHook(Protocol):
    """Decides where a request runs."""

    async def route(self, routed: RoutedRequest) -> AriResponse | None:
        """The answer to ``routed.req``, or None when this node runs it as if alone."""
        ...
