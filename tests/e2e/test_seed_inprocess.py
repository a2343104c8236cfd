"""The seed walkthrough against an in-process pyari, with the real aioari."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aioari
import pytest

from conftest import PASSWORD, USER, wait_for
from pyari.cli.commands import run_command
from pyari.server import Server


async def test_aioari_script_prints_start_then_stop(server: Server, base_url: str) -> None:
    client = await aioari.connect(base_url, USER, PASSWORD)
    seen: list[str] = []
    done = asyncio.Event()

    def stasis_start(obj: Any, event: dict[str, Any]) -> None:
        seen.append("start")

    def stasis_end(obj: Any, event: dict[str, Any]) -> None:
        seen.append("stop")
        done.set()

    client.on_channel_event("StasisStart", stasis_start)
    client.on_channel_event("StasisEnd", stasis_end)
    runner = asyncio.create_task(client.run(apps="hello"))
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        out = await run_command(
            server, "channel originate Local/1000@ARI-test application Wait 0.2"
        )
        assert out == ""
        await asyncio.wait_for(done.wait(), 5)
        assert seen == ["start", "stop"]
        await wait_for(lambda: not server.core.channels)
        topic = await run_command(server, "stasis show topic ari:application/hello")
        assert "Name: ari:application/hello" in topic
        assert "Subscribers count: 1" in topic
        assert "Forwarding topic count: 0" in topic
    finally:
        await client.close()
        runner.cancel()
    await wait_for(lambda: server.stasis.get("hello") is None)


async def test_not_registered_app_continues_dialplan(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    out = await run_command(server, "channel originate Local/1000@ARI-test application Wait 5")
    assert out == ""
    await wait_for(lambda: not server.core.channels)
    text = caplog.text
    assert "Stasis app 'hello' not registered" in text
    # The dialplan went on to Hangup() after Stasis failed.
    assert 'Hangup("Local/1000@ARI-test-' in text
    assert text.index("not registered") < text.index('Hangup("Local/1000@ARI-test-')


async def test_aioari_originate_answer_hangup(server: Server, base_url: str) -> None:
    client = await aioari.connect(base_url, USER, PASSWORD)
    events: list[tuple[str, str]] = []
    ended = asyncio.Event()

    def on_any(event: dict[str, Any]) -> None:
        chan = event.get("channel") or event.get("peer") or {}
        events.append((event["type"], chan.get("name", "")))
        if event["type"] == "ChannelDestroyed" and chan.get("name", "").endswith(";2"):
            ended.set()

    client.on_event("*", on_any)
    runner = asyncio.create_task(client.run(apps="hello"))
    try:
        await wait_for(lambda: server.stasis.get("hello") is not None)
        chan = await client.channels.originate(endpoint="Local/1000@ARI-test", app="hello")
        assert chan.json["state"] == "Down"
        assert chan.json["name"].endswith(";1")
        await wait_for(lambda: sum(1 for t, _ in events if t == "StasisStart") == 2)
        await chan.hangup()
        await asyncio.wait_for(ended.wait(), 5)
    finally:
        await client.close()
        runner.cancel()
    one = [t for t, n in events if n.endswith(";1")]
    two = [t for t, n in events if n.endswith(";2")]
    assert one[0] == "Dial"
    assert one.index("StasisStart") < one.index("ChannelHangupRequest") < one.index("StasisEnd")
    assert one[-1] == "ChannelDestroyed"
    assert two[0] == "ChannelDialplan"
    assert two.index("StasisStart") < two.index("StasisEnd") < two.index("ChannelDestroyed")
