"""http.conf's static content (``enablestatic``): files under ``/static/``, as Asterisk
serves ``<astdatadir>/static-http``.

The server hands the HTTP server the folders to look in, in order: Asterisk's
``<astdatadir>/static-http`` first, then the pages pyari ships (the softphone,
``pyari/http/static/``). Only GET and HEAD; a path that climbs out of its folder
(``..``) or holds a NUL is refused, a folder (``.../``) is its ``index.html`` (pyari's
own: Asterisk serves files only); with ``enablestatic = no``
every static request gets Asterisk's 403. Framework-free: both cores answer with
what :func:`static_answer` gives (files are read in a thread by the caller).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from pyari.http.common import NOT_FOUND_TEXT, Answer, Page

__all__ = ["PACKAGED", "static_answer"]

PACKAGED = Path(__file__).parent / "static"
"""The static pages that come with pyari (the WebRTC softphone)."""

_TYPES = {
    ".html": "text/html",
    ".js": "application/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".txt": "text/plain",
    ".wav": "audio/wav",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

FORBIDDEN = Page(403, "Access Denied", "You do not have permission to access the requested URL.")
NOT_FOUND = Page(404, "Not Found", NOT_FOUND_TEXT)


def static_answer(
    roots: Sequence[Path], raw_path: str, method: str, enabled: bool
) -> Page | Answer:
    """The answer to ``method /static/<raw_path>`` (``raw_path`` still percent-encoded).
    Reads the file: call it in a thread."""
    if not enabled:
        return FORBIDDEN
    if method not in ("GET", "HEAD"):
        return Page(501, "Not Implemented", "Attempt to use unimplemented / unsupported method")
    try:
        path = unquote(raw_path, errors="strict") if "%" in raw_path else raw_path
    except UnicodeDecodeError:
        return NOT_FOUND
    parts = path.split("/")
    if not path or "\x00" in path or "\\" in path or any(p in ("..", ".") for p in parts):
        return FORBIDDEN
    if path.endswith("/"):
        path += "index.html"
    for root in roots:
        try:
            base = root.resolve()
            target = (base / path).resolve()
        except (OSError, ValueError, RuntimeError):
            continue
        if not target.is_relative_to(base) or not target.is_file():
            continue
        try:
            body = target.read_bytes()
        except OSError:
            continue
        suffix = target.suffix.lower()
        kind = _TYPES.get(suffix) or mimetypes.guess_type(target.name)[0]
        return Answer(200, {"Content-Type": kind or "application/octet-stream"}, body)
    return NOT_FOUND
