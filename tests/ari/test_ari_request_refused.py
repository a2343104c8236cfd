"""ARI answers a refused channel request by the error's type, never by its text."""

from __future__ import annotations

import pytest

from pyari.ari.errors import request_refused
from pyari.channels.external import ExternalMediaError, InvalidRequest, Unsupported
from pyari.core.tech import (
    BadDialString,
    DuplicateId,
    EndpointNotFound,
    TechError,
    UnknownTechnology,
)


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        (DuplicateId("u1"), 409, "Channel with given unique ID already exists"),
        (BadDialString(), 400, "Invalid endpoint specified"),
        (EndpointNotFound(), 400, "Invalid endpoint specified"),
        # Asterisk answers any dial string it cannot serve with the same text.
        (UnknownTechnology("Nope"), 400, "Invalid endpoint specified"),
        (Unsupported(), 501, "The encapsulation and/or transport is not supported"),
        (InvalidRequest("Provided format (g729) was not found"), 400, ""),
    ],
)
def test_each_error_type_has_its_status(
    error: TechError | ExternalMediaError, status: int, message: str
) -> None:
    answer = request_refused(error)
    assert answer.status == status
    assert answer.message == (message or str(error))


def test_the_status_does_not_follow_the_text() -> None:
    # A dial string error whose text happens to say "already exists" is still a 400.
    answer = request_refused(BadDialString("Peer 'x' already exists"))
    assert (answer.status, answer.message) == (400, "Invalid endpoint specified")
