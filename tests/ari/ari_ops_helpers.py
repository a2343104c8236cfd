"""Helpers for the channel/bridge operation tests: an events socket that records."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from conftest import wait_for


class Events:
    """Every event an app's WebSocket received, in order."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def of(self, kind: str, chan_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.items
            if e["type"] == kind and (chan_id is None or e.get("channel", {}).get("id") == chan_id)
        ]

    async def wait(self, kind: str, chan_id: str | None = None, count: int = 1) -> dict[str, Any]:
        await wait_for(lambda: len(self.of(kind, chan_id)) >= count)
        return self.of(kind, chan_id)[count - 1]


@contextlib.asynccontextmanager
async def app_events(http: aiohttp.ClientSession, app: str) -> AsyncIterator[Events]:
    events = Events()
    ws = await http.ws_connect(f"/ari/events?app={app}")

    async def pump() -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                events.items.append(msg.json())

    task = asyncio.create_task(pump())
    try:
        yield events
    finally:
        await ws.close()
        task.cancel()


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, f"/ari{path}", **kw) as r:
        body = await r.json() if r.content_type == "application/json" else await r.read()
        return r.status, body


async def stasis_channel(
    http: aiohttp.ClientSession, events: Events, endpoint: str = "Sim/alice", app: str = "t"
) -> str:
    """Originate ``endpoint`` into ``app``; the channel id once it is in Stasis (Up)."""
    status, chan = await call(http, "POST", "/channels", params={"endpoint": endpoint, "app": app})
    assert status == 200, chan
    await events.wait("StasisStart", chan["id"])
    return str(chan["id"])
