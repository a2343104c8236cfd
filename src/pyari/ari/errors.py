"""ARI errors: a status code and the message clients see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar, cast

from pyari.channels.external import ExternalMediaError, Unsupported
from pyari.core.tech import DuplicateId, TechError

T = TypeVar("T")


class AriError(Exception):
    """Answer the request with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str) -> AriError:
    return AriError(404, f"{what} not found")


def available(part: T | None) -> T:
    """``part``, or 501 ``Not implemented`` when this server runs without it."""
    if part is None:
        raise AriError(501, "Not implemented")
    return part


class _Refusal(Protocol):
    status: int
    message: str


@contextmanager
def as_ari_error(*kinds: type[Exception]) -> Iterator[None]:
    """Answer an exception of ``kinds`` (each carries ``status`` and ``message``,
    the ARI answer it stands for) as that ARI error."""
    try:
        yield
    except kinds as exc:
        refusal = cast(_Refusal, exc)
        raise AriError(refusal.status, refusal.message) from None


def request_refused(exc: TechError | ExternalMediaError) -> AriError:
    """The answer to a channel request a technology refused, chosen by the error's type.

    A taken unique id is 409; a dial string no technology serves is 400
    ``Invalid endpoint specified`` (whatever the technology said, as Asterisk
    answers); an external media request is 501 when nothing here serves its
    encapsulation and transport, else 400 with the reason.
    """
    if isinstance(exc, DuplicateId):
        return AriError(409, str(exc))
    if isinstance(exc, TechError):
        return AriError(400, "Invalid endpoint specified")
    if isinstance(exc, Unsupported):
        return AriError(501, str(exc))
    return AriError(400, str(exc))
