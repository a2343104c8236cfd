"""Memory given back after a peak of channels: Stasis keeps nothing of them."""

from __future__ import annotations

import weakref

import aiohttp
import pytest

from conftest import wait_for
from pyari.bus import Topic
from pyari.core import engine as engine_mod
from pyari.server import Server

CALLS = 3


async def test_apps_keep_nothing_of_a_peak_once_memory_is_given_back(
    server: Server, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_mod, "RELEASE_AFTER_PEAK", 2 * CALLS)
    monkeypatch.setattr(engine_mod, "RELEASE_DELAY", 0.01)
    core = server.core
    async with http.ws_connect("/ari/events?app=hello") as ws:
        app = server.stasis.get("hello")
        assert app is not None
        for _ in range(CALLS):
            params = {"endpoint": "Local/1000@ARI-test", "app": "hello"}
            async with http.post("/ari/channels", params=params) as r:
                assert r.status == 200
        await wait_for(
            lambda: (
                len(core.channels) == 2 * CALLS
                and all(c.stasis_app == "hello" for c in core.channels.values())
            )
        )
        # Weak references only: the test must not keep the channels alive itself.
        topics: list[weakref.ref[Topic]] = [weakref.ref(c.topic) for c in core.channels.values()]
        ids = [c.id for c in core.channels.values() if c.name.endswith(";1")]
        assert len(ids) == CALLS
        assert app.sources  # the app follows every channel
        for chan_id in ids:  # hanging up ;1 hangs up its ;2
            async with http.delete(f"/ari/channels/{chan_id}") as r:
                assert r.status == 204
        await wait_for(lambda: core.memory_releases == 1)
        # Nothing of the peak stays reachable from the application: not the
        # subscription of the last channel to leave, nor the last message.
        assert app.sources == {}
        assert app.channels_in_app == set()
        assert [t() for t in topics] == [None] * len(topics)
        # The application still works after the release.
        async with http.post("/ari/channels", params=params) as r:
            assert r.status == 200
            chan_id = (await r.json())["id"]
        await wait_for(lambda: core.channels.get(chan_id) is not None and app.sources != {})
        await ws.close()
