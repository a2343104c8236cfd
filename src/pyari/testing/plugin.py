"""The pyari pytest plugin: an in-process pyari and simulated phones as fixtures.

Registered as the ``pytest11`` entry point ``pyari``, so it loads whenever
pyari is installed.  It only defines fixtures and markers: nothing runs, and
nothing of pyari is imported, unless a test asks for one of its fixtures.

Fixtures (all function-scoped):

``pyari_server``
    a :class:`~pyari.testing.PyariInstance`: pyari started in this process on
    a free port of 127.0.0.1, with its own state folder under ``tmp_path``.
``ari_url`` / ``ari_credentials``
    its base URL (``http://127.0.0.1:<port>``) and ``(user, password)``.
``ari_client``
    a connected :class:`pyari.client.AriClient` for the applications of
    ``ari_apps`` (default ``["pyari-test"]``, or ``@pytest.mark.pyari_apps(...)``).
``phones``
    :class:`~pyari.testing.Phones`: ``phones.get("alice")``.

The configuration: ``pyari_config_dir`` (default: the embedded defaults, or
``@pytest.mark.pyari_config_dir(path)``) and ``pyari_dialplan`` (default
none, or ``@pytest.mark.pyari_dialplan(text, replace=False)``); override
either fixture, or parametrise it, to change it.  ``pyari_config`` combines
them into the folder the server reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyari.client import AriClient
    from pyari.testing.phones import Phones
    from pyari.testing.server import PyariInstance

try:  # pytest-asyncio's own decorator works in its "auto" and "strict" modes alike
    import pytest_asyncio

    async_fixture: Callable[..., Any] = pytest_asyncio.fixture
except ImportError:  # pragma: no cover - the fixtures then need an async-aware runner
    async_fixture = pytest.fixture

DEFAULT_APPS = ["pyari-test"]

MARKERS = (
    "pyari_dialplan(text, replace=False): extensions.conf text added to the pyari_server's "
    "dialplan (replacing it with replace=True)",
    "pyari_config_dir(path): the configuration folder pyari_server starts from",
    "pyari_apps(*names): the Stasis applications the ari_client fixture registers",
)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def _marker_arg(request: pytest.FixtureRequest, name: str) -> Any:
    """The first argument of the test's closest ``name`` marker (None: not marked)."""
    marker = request.node.get_closest_marker(name)
    return None if marker is None else marker.args[0]


@pytest.fixture
def pyari_config_dir(request: pytest.FixtureRequest) -> Path | None:
    """The configuration folder to start from; None: pyari's embedded defaults."""
    folder = _marker_arg(request, "pyari_config_dir")
    return None if folder is None else Path(folder)


@pytest.fixture
def pyari_dialplan(request: pytest.FixtureRequest) -> str | None:
    """extensions.conf text added to the configuration's dialplan (None: nothing)."""
    text = _marker_arg(request, "pyari_dialplan")
    return None if text is None else str(text)


@pytest.fixture
def pyari_config(
    request: pytest.FixtureRequest,
    pyari_config_dir: Path | None,
    pyari_dialplan: str | None,
    tmp_path: Path,
) -> Path | None:
    """The configuration folder pyari_server reads (None: the embedded defaults)."""
    if pyari_dialplan is None:
        return pyari_config_dir
    from pyari.testing.server import prepare_config_dir

    marker = request.node.get_closest_marker("pyari_dialplan")
    replace = bool(marker.kwargs.get("replace", False)) if marker is not None else False
    return prepare_config_dir(
        tmp_path / "pyari-etc",
        config_dir=pyari_config_dir,
        dialplan=pyari_dialplan,
        replace_dialplan=replace,
    )


@async_fixture
async def pyari_server(pyari_config: Path | None, tmp_path: Path) -> AsyncIterator[PyariInstance]:
    """pyari running in this process on a free loopback port, for one test."""
    from pyari.testing.server import running_pyari

    async with running_pyari(pyari_config, state_dir=tmp_path / "pyari-state") as instance:
        yield instance


@pytest.fixture
def ari_url(pyari_server: PyariInstance) -> str:
    """The server's base URL: ``http://127.0.0.1:<port>`` (ARI is below ``/ari``)."""
    return pyari_server.url


@pytest.fixture
def ari_credentials(pyari_server: PyariInstance) -> tuple[str, str]:
    """An ARI user and password of the server."""
    return pyari_server.credentials


@pytest.fixture
def ari_apps(request: pytest.FixtureRequest) -> list[str]:
    """The Stasis applications ari_client registers."""
    marker = request.node.get_closest_marker("pyari_apps")
    if marker is None or not marker.args:
        return list(DEFAULT_APPS)
    return [str(a) for a in marker.args]


@async_fixture
async def ari_client(pyari_server: PyariInstance, ari_apps: list[str]) -> AsyncIterator[AriClient]:
    """A :class:`pyari.client.AriClient` connected to the server for ``ari_apps``."""
    client = pyari_server.client(ari_apps)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def phones(pyari_server: PyariInstance) -> Phones:
    """The server's simulated phones: ``phones.get("alice")``."""
    return pyari_server.phones
