"""ARI errors: a status code and the message clients see."""

from __future__ import annotations


class AriError(Exception):
    """Answer the request with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> AriError:
    return AriError(404, f"{what} not found")
