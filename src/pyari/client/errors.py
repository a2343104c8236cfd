"""Errors of the ARI client: one exception class per HTTP status ARI answers with."""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AriConnectionError",
    "AriError",
    "AriHttpError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotBound",
    "NotFound",
    "NotImplementedByServer",
    "PreconditionFailed",
    "ServerError",
    "Unauthorized",
    "Unprocessable",
]


class AriError(Exception):
    """Base of every error raised by :mod:`pyari.client`."""


class AriConnectionError(AriError):
    """The server could not be reached (refused, reset, timed out)."""


class NotBound(AriError):
    """An object method was called on a model not obtained from a client."""


class AriHttpError(AriError):
    """The server answered an ARI request with an error status.

    ``status`` is the HTTP status, ``message`` ARI's ``{"message": ...}`` text
    (or the raw body when the answer was not JSON), ``method`` and ``path``
    the request that failed.
    """

    status_code: ClassVar[int] = 0

    def __init__(self, status: int, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{status} {message}" + (f" ({method} {path})" if method else ""))
        self.status = status
        self.message = message
        self.method = method
        self.path = path

    @staticmethod
    def for_status(status: int, message: str, method: str = "", path: str = "") -> AriHttpError:
        """The most specific error class for ``status``."""
        cls = _BY_STATUS.get(status)
        if cls is None:
            cls = ServerError if status >= 500 else AriHttpError
        return cls(status, message, method, path)


class BadRequest(AriHttpError):
    """400: invalid or missing parameters."""

    status_code = 400


class Unauthorized(AriHttpError):
    """401: missing or wrong credentials."""

    status_code = 401


class Forbidden(AriHttpError):
    """403: the user may not do this (e.g. a read-only user)."""

    status_code = 403


class NotFound(AriHttpError):
    """404: the object (channel, bridge, playback ...) does not exist."""

    status_code = 404


class Conflict(AriHttpError):
    """409: the object is in the wrong state (e.g. channel not in Stasis)."""

    status_code = 409


class PreconditionFailed(AriHttpError):
    """412: the operation's precondition does not hold (e.g. channel not answered)."""

    status_code = 412


class Unprocessable(AriHttpError):
    """422: the request is well formed but refers to something unusable."""

    status_code = 422


class ServerError(AriHttpError):
    """5xx: the server failed."""

    status_code = 500


class NotImplementedByServer(ServerError):
    """501: the server does not implement this operation."""

    status_code = 501


_BY_STATUS: dict[int, type[AriHttpError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        Unprocessable,
        ServerError,
        NotImplementedByServer,
    )
}
