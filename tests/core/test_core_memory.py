"""Memory and list speed: lazy media engine, parked clock, memory given back, cached JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import msgspec
import pytest

from conftest import wait_for
from pyari.core import engine as engine_mod
from pyari.core.channel import Channel
from pyari.core.engine import Core
from pyari.server import Server

IDLE_SERVER = textwrap.dedent(
    """
    import asyncio, dataclasses, json, sys

    import pyari.server
    from pyari.config import load_config
    from pyari.server import Server

    after_import = "numpy" in sys.modules

    async def main() -> dict[str, object]:
        cfg = load_config(None)
        cfg = dataclasses.replace(cfg, http=dataclasses.replace(cfg.http, bindport=0))
        server = Server(cfg, sip_port=0)
        await server.start(control_socket=False)
        clock = server.media.clock
        for _ in range(200):  # the clock parks after its first idle tick
            if clock.parked:
                break
            await asyncio.sleep(0.01)
        out = {
            "after_import": after_import,
            "after_start": "numpy" in sys.modules,
            "media_modules": sorted(
                m for m in sys.modules if m.startswith("pyari.media.")
                and m not in (
                    "pyari.media.frames",
                    "pyari.media.ticker",
                    "pyari.media.service",
                    "pyari.media.library",
                )
            ),
            "parked": clock.parked,
        }
        ticks = clock.ticks
        await asyncio.sleep(0.1)
        out["ticks_while_parked"] = clock.ticks - ticks
        # The first channel that needs media loads the engine and wakes the clock.
        chan = server.core.request("Local/1000@default")
        server.media.channel_media(chan)
        out["numpy_after_media"] = "numpy" in sys.modules
        ticks = clock.ticks
        for _ in range(200):
            if clock.ticks >= ticks + 3:
                break
            await asyncio.sleep(0.01)
        out["ticks_with_media"] = clock.ticks - ticks
        out["parked_with_media"] = clock.parked
        await server.stop()
        return out

    print(json.dumps(asyncio.run(main())))
    """
)


def test_idle_server_loads_no_media_engine_and_its_clock_parks(tmp_path: Path) -> None:
    env = {**os.environ, "PYARI_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(
        [sys.executable, "-c", IDLE_SERVER],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["after_import"] is False
    assert out["after_start"] is False
    assert out["media_modules"] == []
    assert out["parked"] is True
    assert out["ticks_while_parked"] == 0
    assert out["numpy_after_media"] is True
    assert out["ticks_with_media"] >= 3
    assert out["parked_with_media"] is False


# -- GET /channels joins cached snapshot bytes ---------------------------------------------


class _Tech:
    name = "Mem"
    description = "test technology"

    def request(
        self, core: Core, resource: str, *, uniqueid: str | None, other_id: str | None
    ) -> Channel:
        raise AssertionError("not requested")

    def call(self, chan: Channel, timeout: float | None) -> None:
        pass

    def answered(self, chan: Channel) -> None:
        pass

    def hangup(self, chan: Channel) -> None:
        pass


def _add_channels(server: Server, count: int) -> list[Channel]:
    tech = _Tech()
    chans = []
    for i in range(count):
        chan = Channel(server.core, tech, f"Mem/{i}", uniqueid=server.core.new_uniqueid())
        server.core.channel_added(chan)
        chans.append(chan)
    return chans


def _set_pretty(server: Server, pretty: bool) -> None:
    cfg = server.config
    server.config = dataclasses.replace(cfg, ari=dataclasses.replace(cfg.ari, pretty=pretty))


def _expected(server: Server, pretty: bool) -> bytes:
    data = msgspec.json.encode([c.snapshot() for c in server.core.channels.values()])
    return msgspec.json.format(data, indent=2) if pretty else data


@pytest.mark.parametrize("pretty", [True, False])
async def test_channel_list_is_the_encoded_snapshots(
    server: Server, http: aiohttp.ClientSession, pretty: bool
) -> None:
    _set_pretty(server, pretty)
    async with http.get("/ari/channels") as r:
        assert r.status == 200
        assert await r.read() == b"[]"
    chans = _add_channels(server, 3)
    chans[1].set_var("X", 'line\nbreak "quoted"')
    async with http.get("/ari/channels") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        body = await r.read()
    assert body == _expected(server, pretty)
    assert len(json.loads(body)) == 3
    # A change is seen at once: the cached bytes follow the snapshot.
    chans[0].set_state("Up")
    chans[2].set_caller("Alice", "100")
    async with http.get("/ari/channels") as r:
        body = await r.read()
    assert body == _expected(server, pretty)
    listed = {c["id"]: c for c in json.loads(body)}
    assert listed[chans[0].id]["state"] == "Up"
    assert listed[chans[2].id]["caller"] == {"name": "Alice", "number": "100"}
    chans[1].destroy()
    async with http.get("/ari/channels") as r:
        body = await r.read()
    assert [c["id"] for c in json.loads(body)] == [chans[0].id, chans[2].id]
    assert body == _expected(server, pretty)


async def test_snapshot_json_is_encoded_once_per_change(server: Server) -> None:
    (chan,) = _add_channels(server, 1)
    first = chan.snapshot_json()
    assert chan.snapshot_json() is first
    assert chan.snapshot_json(True) is chan.snapshot_json(True)
    chan.set_state("Ringing")
    again = chan.snapshot_json()
    assert again is not first
    assert json.loads(again)["state"] == "Ringing"


# -- memory given back after a peak -----------------------------------------------------------


async def test_memory_is_given_back_once_a_peak_of_channels_is_gone(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_mod, "RELEASE_AFTER_PEAK", 50)
    monkeypatch.setattr(engine_mod, "RELEASE_DELAY", 0.01)
    trims: list[int] = []
    monkeypatch.setattr(engine_mod, "malloc_trim", lambda: trims.append)
    core = server.core
    small = sys.getsizeof(core.channels)
    chans = _add_channels(server, 60)
    assert core.peak_channels == 60
    grown = sys.getsizeof(core.channels)
    assert grown > small
    for chan in chans[:-1]:
        chan.destroy()
    # Not while a channel is left.
    await wait_for(lambda: len(core.channels) == 1)
    assert core.memory_releases == 0
    chans[-1].destroy()
    await wait_for(lambda: core.memory_releases == 1)
    assert trims == [0]
    assert core.peak_channels == 0
    assert sys.getsizeof(core.channels) <= small
    assert sys.getsizeof(core.channels_by_name) <= small


async def test_no_release_below_the_peak_threshold(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_mod, "RELEASE_DELAY", 0.0)
    core = server.core
    for chan in _add_channels(server, 5):
        chan.destroy()
    assert not core.channels
    assert core.peak_channels == 5
    assert core._release is None  # below the threshold nothing is scheduled
    assert core.memory_releases == 0


def test_malloc_trim_is_found_on_glibc_only() -> None:
    trim = engine_mod.malloc_trim()
    if sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION"):
        assert trim is not None
        assert trim(0) in (0, 1)
    elif not sys.platform.startswith("linux"):
        assert trim is None
