"""Helpers for ARI tests over real HTTP: JSON requests and events off the WebSocket."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


async def next_event(ws: aiohttp.ClientWebSocketResponse, etype: str | None = None) -> Any:
    """The next event (of type ``etype``, skipping others)."""
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        data = json.loads(msg.data)
        if etype is None or data["type"] == etype:
            return data


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    """Status and JSON body (None when empty) of a request."""
    async with http.request(method, path, **kw) as r:
        text = await r.text()
        return r.status, json.loads(text) if text else None
