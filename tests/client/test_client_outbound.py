"""The seed's start/stop script served over pyari's own outbound ARI WebSocket.

pyari is configured as the walkthrough has it (the embedded defaults: user
testARI, ``[ARI-test]`` 1000 -> ``Stasis(hello)``) plus an ari.conf
``type = outbound_websocket`` section for ``hello`` whose websocket_client.conf
connection dials the application: ``pyari.client``'s server mode.  Nothing
of the application connects to pyari; pyari connects to it.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import make_server, wait_for
from pyari.cli.commands import run_command
from pyari.client import StasisEnd, StasisStart, aioari, serve
from pyari.server import Server

pytestmark = pytest.mark.parametrize("transport", ["websocket"], indirect=True)

DEFAULTS = Path(__file__).resolve().parents[2] / "src" / "pyari" / "config" / "defaults"
APP_USER = "asterisk"
APP_PASSWORD = "app-s3cret"


def outbound_config(tmp: Path, port: int, connection_type: str = "persistent") -> Path:
    """The embedded defaults, plus an outbound connection for ``hello`` to ``port``."""
    conf = tmp / "conf"
    shutil.copytree(DEFAULTS, conf)
    with (conf / "ari.conf").open("a") as f:
        f.write(
            "\n[hello-app]\ntype = outbound_websocket\nwebsocket_client_id = hello-conn\n"
            "apps = hello\nlocal_ari_user = testARI\n"
        )
    (conf / "websocket_client.conf").write_text(
        f"[hello-conn]\ntype = websocket_client\nconnection_type = {connection_type}\n"
        f"uri = ws://127.0.0.1:{port}/ari\nprotocols = ari\n"
        f"username = {APP_USER}\npassword = {APP_PASSWORD}\n"
        "connection_timeout = 2000\nreconnect_interval = 100\nreconnect_attempts = 5\n"
    )
    return conf


async def originate(server: Server) -> None:
    out = await run_command(server, "channel originate Local/1000@ARI-test application Wait 0.2")
    assert out == ""


@pytest.mark.parametrize("connection_type", ["persistent", "per_call_config"])
async def test_seed_script_over_an_outbound_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], connection_type: str
) -> None:
    # The seed's script, with ``run(apps="hello")`` -> ``serve(host, port)``: the
    # applications are the ones pyari's ari.conf gives the connection.
    client = aioari.Client("", APP_USER, APP_PASSWORD)

    def stasis_start(obj: Any, event: dict[str, Any]) -> None:
        print("start")

    def stasis_end(obj: Any, event: dict[str, Any]) -> None:
        print("stop")

    client.on_channel_event("StasisStart", stasis_start)
    client.on_channel_event("StasisEnd", stasis_end)
    apps: list[str] = []
    client.ari.on(StasisStart, lambda e: apps.append(e.application))
    runner = asyncio.create_task(client.serve("127.0.0.1", 0, path="/ari"))
    server: Server | None = None
    try:
        await wait_for(lambda: client.ari.port is not None)
        assert client.ari.port is not None
        server = make_server(outbound_config(tmp_path, client.ari.port, connection_type))
        await server.start()
        if connection_type == "persistent":
            await wait_for(lambda: client.ari.connected)
            assert server.stasis.get("hello") is not None
        else:
            assert client.ari.connections == 0  # a per-call connection waits for its call
        await originate(server)
        await wait_for(lambda: not server.core.channels)  # type: ignore[union-attr]
        out = ""

        def printed() -> bool:
            nonlocal out
            out += capsys.readouterr().out
            return out == "start\nstop\n"

        await wait_for(printed)
        assert client.ari.connections == 1
        if connection_type == "persistent":
            assert apps == ["hello"]
        else:  # the call's own application, as Asterisk names it
            assert len(apps) == 1 and apps[0].startswith("hello:Local/1000@ARI-test-")
    finally:
        if server is not None:
            await server.stop()
        await client.close()
        await asyncio.wait_for(runner, 5)


async def test_typed_handlers_drive_the_call_over_the_outbound_connection(tmp_path: Path) -> None:
    seen: list[str] = []
    async with serve("127.0.0.1", 0, APP_USER, APP_PASSWORD, path="/ari") as client:
        assert client.port is not None

        @client.on("StasisStart")
        async def on_start(event: StasisStart) -> None:
            seen.append(f"start:{event.application}")
            await event.channel.set_channel_var("FROM_APP", value="yes")
            got = await event.channel.get_channel_var("FROM_APP")
            seen.append(f"var:{got.value}")
            await event.channel.continue_in_dialplan()

        client.on(StasisEnd, lambda e: seen.append("end"))
        server = make_server(outbound_config(tmp_path, client.port))
        await server.start()
        try:
            await wait_for(lambda: client.connected)
            await originate(server)
            await wait_for(lambda: seen == ["start:hello", "var:yes", "end"])
            await wait_for(lambda: not server.core.channels)
            assert client.connections == 1
        finally:
            await server.stop()
