"""An in-process pyari for tests: :func:`running_pyari` and :class:`PyariInstance`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyari.testing.waiting import wait_for

if TYPE_CHECKING:
    from pyari.client import AriClient
    from pyari.server import Server
    from pyari.testing.phones import Phones

__all__ = ["PyariInstance", "prepare_config_dir", "running_pyari"]

TEST_USER = "pyari-test"
"""The ARI user added when the configuration has no plain-text password user."""


def prepare_config_dir(
    dest: Path,
    *,
    config_dir: Path | None = None,
    dialplan: str | None = None,
    replace_dialplan: bool = False,
) -> Path:
    """Write a configuration folder in ``dest``: a copy of ``config_dir`` (or of
    the embedded defaults), with ``dialplan`` added to its extensions.conf (or
    replacing it with ``replace_dialplan``)."""
    from pyari.config.embedded import write_samples

    if config_dir is None:
        write_samples(dest)
    else:
        shutil.copytree(config_dir, dest, dirs_exist_ok=True)
    if dialplan is not None:
        ext = dest / "extensions.conf"
        old = "" if replace_dialplan or not ext.exists() else ext.read_text(encoding="utf-8")
        ext.write_text(f"{old.rstrip()}\n\n{dialplan.strip()}\n".lstrip(), encoding="utf-8")
    return dest


@contextlib.contextmanager
def _state_env(state_dir: Path | None) -> Any:
    if state_dir is None:
        yield
        return
    old = os.environ.get("PYARI_STATE_DIR")
    os.environ["PYARI_STATE_DIR"] = str(state_dir)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYARI_STATE_DIR", None)
        else:
            os.environ["PYARI_STATE_DIR"] = old


class PyariInstance:
    """A running in-process pyari, as the ``pyari_server`` fixture gives it.

    ``url`` is its HTTP base (``http://127.0.0.1:<port>``), ``username`` and
    ``password`` an ARI user's; ``server`` is the :class:`pyari.server.Server`
    itself (its ``core``, ``stasis``, ``sim`` phones ...).
    """

    def __init__(self, server: Server, username: str, password: str) -> None:
        self.server = server
        self.username = username
        self.password = password
        # Followed from the start, so calls the test only looks at later
        # (placed over ARI, already ended) are known to the phones.
        from pyari.testing.phones import Phones

        self._phones: Phones = Phones(server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.http_port}{self.server.config.http.url_prefix}"

    @property
    def credentials(self) -> tuple[str, str]:
        return self.username, self.password

    @property
    def config_dir(self) -> Path | None:
        return self.server.config_dir

    @property
    def recording_dir(self) -> Path:
        """Where stored recordings are written (``<astspooldir>/recording``)."""
        return self.server.config.asterisk.astspooldir / "recording"

    @property
    def phones(self) -> Phones:
        """The simulated phones of this server (see :class:`pyari.testing.Phones`)."""
        return self._phones

    def client(self, apps: str | list[str], **options: Any) -> AriClient:
        """An :class:`~pyari.client.AriClient` for this server (not connected yet)."""
        from pyari.client import AriClient

        return AriClient(self.url, self.username, self.password, apps, **options)

    def app_registered(self, name: str) -> bool:
        """Whether a client has the Stasis application ``name`` registered now."""
        app = self.server.stasis.get(name)
        return app is not None and app.active

    async def wait_for_app(
        self, name: str, timeout: float = 5.0, *, task: asyncio.Future[Any] | None = None
    ) -> None:
        """Wait until the Stasis application ``name`` is registered.

        With ``task`` (the app's task), an app that crashed first raises its error.
        """

        def ready() -> bool:
            if task is not None and task.done():
                task.result()  # re-raises the app's exception
                raise AssertionError(f"the app task ended before registering {name!r}")
            return self.app_registered(name)

        await wait_for(ready, timeout, message=f"Stasis app {name!r} not registered in time")

    @contextlib.asynccontextmanager
    async def run_app(
        self, main: Coroutine[Any, Any, Any], app: str | list[str], timeout: float = 5.0
    ) -> AsyncIterator[asyncio.Task[Any]]:
        """Run an ARI application's coroutine while the block runs.

        Waits until its Stasis ``app`` (or each of a list) is registered; at the
        end the task is cancelled, and an error the app raised is re-raised.
        """
        task = asyncio.ensure_future(main)
        try:
            for name in [app] if isinstance(app, str) else app:
                await self.wait_for_app(name, timeout, task=task)
            yield task
        finally:
            if task.done():
                if not task.cancelled():
                    task.result()
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


@contextlib.asynccontextmanager
async def running_pyari(
    config_dir: Path | None = None,
    *,
    state_dir: Path | None = None,
) -> AsyncIterator[PyariInstance]:
    """Start pyari in this process on a free loopback port; stop it at the end.

    ``config_dir`` is a configuration folder (None: the embedded defaults);
    HTTP is served on ``127.0.0.1`` on a free port whatever http.conf says
    (TLS off). ``state_dir`` holds spool, run and log files (default:
    ``$PYARI_STATE_DIR`` when set, else a temporary folder removed at the end,
    never the user's own state). There is no control socket. An ARI user is taken
    from ari.conf (the first with a plain-text password), or one is added.
    """
    from pyari.config import load_config
    from pyari.config.settings import AriUser
    from pyari.server import Server

    private: tempfile.TemporaryDirectory[str] | None = None
    if state_dir is None and not os.environ.get("PYARI_STATE_DIR"):
        private = tempfile.TemporaryDirectory(prefix="pyari-state-")
        state_dir = Path(private.name)
    with _state_env(state_dir), private or contextlib.nullcontext():
        cfg = load_config(config_dir)
        user = next(
            (u for u in cfg.ari.users.values() if u.password_format == "plain"),
            None,
        )
        ari = cfg.ari
        if user is None:
            user = AriUser(TEST_USER, password=secrets.token_urlsafe(16))
            ari = dataclasses.replace(ari, enabled=True, users={**ari.users, user.name: user})
        cfg = dataclasses.replace(
            cfg,
            ari=ari,
            http=dataclasses.replace(
                cfg.http, enabled=True, bindaddr="127.0.0.1", bindport=0, tlsenable=False
            ),
        )
        # SIP on a free port too, so tests never collide with a pyari on 5060.
        server = Server(cfg, config_dir=config_dir, sip_port=0)
        await server.start(control_socket=False)
        instance = PyariInstance(server, user.name, user.password)
        try:
            yield instance
        finally:
            instance.phones.close()
            await server.stop()
