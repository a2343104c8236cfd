"""``pyari.client.aioari`` runs the seed's aioari script with only its import changed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conftest import PASSWORD, USER, wait_for
from pyari.cli.commands import run_command
from pyari.client import NotFound, aioari
from pyari.server import Server


async def test_seed_script_prints_start_then_stop(
    server: Server, base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # README section 4, with ``import aioari`` -> ``from pyari.client import aioari``.
    ended = asyncio.Event()

    async def main() -> None:
        client = await aioari.connect(base_url, USER, PASSWORD)

        def stasis_start(obj: Any, event: dict[str, Any]) -> None:
            print("start")

        def stasis_end(obj: Any, event: dict[str, Any]) -> None:
            print("stop")
            ended.set()

        client.on_channel_event("StasisStart", stasis_start)
        client.on_channel_event("StasisEnd", stasis_end)
        await client.run(apps="hello")

    runner = asyncio.create_task(main())
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        out = await run_command(
            server, "channel originate Local/1000@ARI-test application Wait 0.2"
        )
        assert out == ""
        await wait_for(lambda: not server.core.channels)
        # The server is done with the call; the client hears StasisEnd a moment later.
        await asyncio.wait_for(ended.wait(), 10)
        assert server.stasis.get("hello").handler is not None  # type: ignore[union-attr]
    finally:
        runner.cancel()  # Ctrl+C
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert capsys.readouterr().out == "start\nstop\n"
    # Stopping the script unregistered the app.
    await wait_for(lambda: server.stasis.get("hello") is None)


async def test_repositories_objects_and_object_events(server: Server, base_url: str) -> None:
    client = await aioari.connect(base_url, USER, PASSWORD)
    seen: list[tuple[str, str]] = []
    started = asyncio.Event()
    chans: list[Any] = []

    async def on_start(objs: Any, event: dict[str, Any]) -> None:
        # As in aioari: StasisStart has two Channel fields, so a dict comes.
        channel = objs["channel"]
        assert isinstance(channel, aioari.Channel)
        assert event["type"] == "StasisStart"
        seen.append(("start", channel.id))
        await channel.answer()
        channel.on_event("ChannelVarset", lambda ch, ev: seen.append(("var", ev["variable"])))
        chans.append(channel)
        started.set()

    client.on_channel_event("StasisStart", on_start)
    runner = asyncio.create_task(client.run(apps="hello"))
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        chan = await client.channels.originate(
            endpoint="Sim/alice", app="hello", channelId="x-1", variables={"A": "1"}
        )
        assert isinstance(chan, aioari.Channel)
        assert chan.id == "x-1"
        assert chan.json["name"].startswith("Sim/alice")
        await asyncio.wait_for(started.wait(), 5)
        await chan.setChannelVar(variable="V", value="2")
        await wait_for(lambda: ("var", "V") in seen)
        got = await client.channels.getChannelVar(channelId="x-1", variable="A")
        assert got == {"value": "1"}
        bridge = await client.bridges.create(type="mixing")
        assert isinstance(bridge, aioari.Bridge)
        await bridge.addChannel(channel=chan.id)
        assert (await bridge.get()).json["channels"] == ["x-1"]
        assert [c.id for c in await client.channels.list()] == ["x-1"]
        with pytest.raises(NotFound) as nf:
            await client.channels.get(channelId="nope")
        assert nf.value.message == "Channel not found"
        with pytest.raises(TypeError):
            await client.channels.get(channelId="x-1", bogus=1)
        await chan.hangup()
        await bridge.destroy()
        await wait_for(lambda: not server.core.channels)
        assert seen[0] == ("start", "x-1")
    finally:
        await client.close()
        await asyncio.wait_for(runner, 5)
