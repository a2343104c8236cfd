"""Where a request for http.conf's server goes, the same on both HTTP cores.

Below http.conf's ``prefix``: ``/ari`` and what is under it is ARI (a GET of
one of :attr:`AriService.socket_paths <pyari.ari.service.AriService.socket_paths>`
opens the events WebSocket, everything else is a REST request), ``/media/<id>``
is a WebSocket media channel's socket when the server serves media sockets,
``/ws`` is SIP over WebSocket when the server serves SIP sockets (which
listener, plain or TLS, is the core's check), ``/static/...`` is http.conf's
static content (``enablestatic``, the core's check), and anything else is not
found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from pyari.ari.service import AriService
    from pyari.http.common import MediaSockets, SipSockets


Target = Literal["ari", "events", "media", "sip", "static", "not found"]
"""Where a request goes (plain strings: routing is on every request's path)."""
ARI: Final = "ari"
"""A REST request: :meth:`AriService.handle`, with the path below ``/ari``."""
EVENTS: Final = "events"
"""The events WebSocket: :meth:`AriService.open_events`, with the path below ``/ari``."""
MEDIA: Final = "media"
"""A media WebSocket: :class:`~pyari.http.common.MediaSockets`, with the connection id."""
SIP: Final = "sip"
"""SIP over WebSocket (``/ws``): :class:`~pyari.http.common.SipSockets`."""
STATIC: Final = "static"
"""A static file (``/static/<path>``), with the path below ``/static/``."""
NOT_FOUND: Final = "not found"
"""The HTML 404 page."""


class Router:
    """Routes request paths to ARI, the events socket or a media socket."""

    __slots__ = ("_socket_paths", "media", "sip")

    def __init__(
        self, service: AriService, media: MediaSockets | None, sip: SipSockets | None = None
    ) -> None:
        self._socket_paths = service.socket_paths
        self.media = media
        """What serves ``/media/<connection_id>`` (None: those paths are not found)."""
        self.sip = sip
        """What serves ``/ws`` (None: that path is not found)."""

    def route(self, prefix: str, path: str, method: str) -> tuple[Target, str]:
        """Where ``method path`` goes, and the path or id it goes there with.

        ``path`` is the raw (still percent-encoded) path; ``prefix`` as
        :func:`~pyari.http.common.url_prefix` gives it.
        """
        if prefix:
            if not path.startswith(prefix + "/"):
                return NOT_FOUND, ""
            path = path[len(prefix) :]
        if path.startswith("/media/") and self.media is not None:
            return MEDIA, path[7:]
        if path != "/ari" and not path.startswith("/ari/"):
            if path == "/ws" and self.sip is not None:
                return SIP, ""
            if path.startswith("/static/"):
                return STATIC, path[8:]
            return NOT_FOUND, ""
        sub = path[4:] or "/"
        if method == "GET" and sub in self._socket_paths:
            return EVENTS, sub
        return ARI, sub


def parse_query(raw: str) -> list[tuple[str, str]]:
    """A raw query string as ARI takes it: every pair in order, blank values kept."""
    return parse_qsl(raw, keep_blank_values=True) if raw else []
