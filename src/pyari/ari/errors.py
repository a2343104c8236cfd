"""ARI errors: a status code and the message clients see."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from pyari.channels.external import ExternalMediaError, Unsupported
from pyari.core.refusals import Conflict, Failed, Invalid, NotFound, Refused
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


REFUSAL_STATUS: dict[type[Refused], int] = {NotFound: 404, Conflict: 409, Invalid: 400, Failed: 500}
"""The status of each kind of refusal core makes (``core/refusals.py``)."""


def refusal_status(kind: type[Refused]) -> int:
    """The status answering a refusal of class ``kind``: that of the nearest kind it is."""
    for cls in kind.__mro__:
        if cls in REFUSAL_STATUS:
            return REFUSAL_STATUS[cls]
    raise TypeError(f"{kind.__name__} is no kind of refusal (core/refusals.py)")


def refused(exc: Refused) -> AriError:
    """The answer to a request core refused: its kind's status, its message."""
    return AriError(refusal_status(type(exc)), exc.message)


@contextmanager
def as_ari_error(*kinds: type[Refused]) -> Iterator[None]:
    """Answer a refusal of ``kinds`` (``DeviceError``, ``ModuleError`` ...) with :func:`refused`."""
    try:
        yield
    except kinds as exc:
        raise refused(exc) from None


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
