"""Where a request for http.conf's server goes, the same on both HTTP cores.

Below http.conf's ``prefix``: ``/ari`` and what is under it is ARI (a GET of
one of :attr:`AriService.socket_paths <pyari.ari.service.AriService.socket_paths>`
opens the events WebSocket, everything else is a REST request), ``/media/<id>``
is a WebSocket media channel's socket when the server serves media sockets,
and anything else is not found.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from pyari.ari.service import AriService
    from pyari.http.common import MediaSockets


class Target(Enum):
    ARI = "ari"
    """A REST request: :meth:`AriService.handle`, with the path below ``/ari``."""
    EVENTS = "events"
    """The events WebSocket: :meth:`AriService.open_events`, with the path below ``/ari``."""
    MEDIA = "media"
    """A media WebSocket: :class:`~pyari.http.common.MediaSockets`, with the connection id."""
    NOT_FOUND = "not found"
    """The HTML 404 page."""


class Router:
    """Routes request paths to ARI, the events socket or a media socket."""

    __slots__ = ("_socket_paths", "media")

    def __init__(self, service: AriService, media: MediaSockets | None) -> None:
        self._socket_paths = service.socket_paths
        self.media = media
        """What serves ``/media/<connection_id>`` (None: those paths are not found)."""

    def route(self, prefix: str, path: str, method: str) -> tuple[Target, str]:
        """Where ``method path`` goes, and the path or id it goes there with.

        ``path`` is the raw (still percent-encoded) path; ``prefix`` as
        :func:`~pyari.http.common.url_prefix` gives it.
        """
        if prefix:
            if not path.startswith(prefix + "/"):
                return Target.NOT_FOUND, ""
            path = path[len(prefix) :]
        if path.startswith("/media/") and self.media is not None:
            return Target.MEDIA, path[7:]
        if path != "/ari" and not path.startswith("/ari/"):
            return Target.NOT_FOUND, ""
        sub = path[4:] or "/"
        if method == "GET" and sub in self._socket_paths:
            return Target.EVENTS, sub
        return Target.ARI, sub


def parse_query(raw: str) -> list[tuple[str, str]]:
    """A raw query string as ARI takes it: every pair in order, blank values kept."""
    return parse_qsl(raw, keep_blank_values=True) if raw else []
