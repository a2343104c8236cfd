"""Every client test runs twice: operations over HTTP, and as RESTRequests on the events socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyari.client import AriClient


@pytest.fixture(autouse=True, params=["http", "websocket"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The transport every :class:`AriClient` made by the test uses by default."""
    defaults = AriClient.__init__.__kwdefaults__
    assert defaults is not None and "transport" in defaults
    monkeypatch.setitem(defaults, "transport", request.param)
    yield request.param
