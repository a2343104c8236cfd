"""pyari.http: the HTTP server of http.conf, on one of two cores.

:func:`make_http_server` picks the core from ``PYARI_HTTP_BACKEND``:
``httptools`` (:mod:`pyari.http.httptools_core`, httptools + wsproto; the default)
or ``aiohttp`` (:mod:`pyari.http.aiohttp_core`); see
docs/decisions/0006-http-core.md.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyari.ari.service import AriService
    from pyari.config import HttpSettings
    from pyari.http.aiohttp_core import AiohttpServer
    from pyari.http.common import MediaSockets, SipSockets
    from pyari.http.httptools_core import HttptoolsServer

BACKENDS = ("aiohttp", "httptools")
DEFAULT_BACKEND = "httptools"


def backend_name() -> str:
    """The core ``PYARI_HTTP_BACKEND`` asks for (the default when unset)."""
    name = os.environ.get("PYARI_HTTP_BACKEND", "").strip().lower() or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise ValueError(f"PYARI_HTTP_BACKEND={name!r}: expected one of {', '.join(BACKENDS)}")
    return name


def make_http_server(
    service: AriService,
    media_sockets: MediaSockets | None,
    http_settings: HttpSettings,
    backend: str | None = None,
    *,
    sip_sockets: SipSockets | None = None,
    static_roots: Sequence[Path] = (),
) -> AiohttpServer | HttptoolsServer:
    """The HTTP server on the chosen core (``backend``, else ``PYARI_HTTP_BACKEND``).

    It serves ``service`` (ARI, the events socket included) under ``/ari``,
    ``media_sockets`` (WebSocket media channels) under ``/media``, ``sip_sockets``
    (SIP over WebSocket) on ``/ws`` and the files of ``static_roots`` under
    ``/static`` (http.conf ``enablestatic``).
    """
    name = backend or backend_name()
    if name == "httptools":
        from pyari.http.httptools_core import HttptoolsServer

        return HttptoolsServer(
            service,
            http_settings,
            media_sockets,
            sip_sockets=sip_sockets,
            static_roots=static_roots,
        )
    if name != "aiohttp":
        raise ValueError(f"unknown HTTP backend {name!r}")
    from pyari.http.aiohttp_core import AiohttpServer

    return AiohttpServer(
        service, http_settings, media_sockets, sip_sockets=sip_sockets, static_roots=static_roots
    )
