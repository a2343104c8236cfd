"""The bridge scenario driven by the unmodified node ``ari-client`` (npm).

``make test`` installs Node.js and the locked ``node_modules`` (``make node-deps``);
the script ``node/scenario.js`` prints what it saw as JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import PASSWORD, USER
from interop.bridge_scenario import CHANNEL_ORDER as BRIDGE_CHANNEL_ORDER
from pyari.server import Server

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")

CHANNEL_ORDER = [*BRIDGE_CHANNEL_ORDER, "ChannelDestroyed"]


async def run_scenario(base_url: str) -> tuple[list[dict[str, Any]], str]:
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail(
                "node is missing under CI: `make test` installs it (scripts/system-deps.sh)"
            )
        pytest.skip("node is not installed (`make test` installs it with apt-get)")
    if not (NODE_DIR / "node_modules" / "ari-client").is_dir():
        pytest.fail("tests/interop/node/node_modules is missing: run `make node-deps`")
    proc = await asyncio.create_subprocess_exec(
        NODE,
        str(NODE_DIR / "scenario.js"),
        base_url,
        USER,
        PASSWORD,
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 15)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = stdout.decode()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert proc.returncode == 0, text + stderr.decode()
    return lines, stderr.decode()


async def test_node_ari_client_two_channels_bridged_then_hung_up(
    server: Server, base_url: str, http: aiohttp.ClientSession
) -> None:
    lines, stderr = await run_scenario(base_url)
    assert lines[-1] == {"kind": "done"}, (lines, stderr)
    assert not [line for line in lines if line["kind"] == "error"]
    rest = {}
    for line in lines:
        if line["kind"] == "rest" and line["op"] not in ("answer", "hangup"):
            rest[line["op"]] = line

    alice = rest["originate"]
    assert alice["name"].startswith("Sim/alice-")
    assert alice["state"] == "Down"
    bob = rest["originateWithId"]
    # The id ari-client generated is the channel's id.
    assert bob["id"] == bob["asked"]
    assert bob["name"].startswith("Sim/bob-")
    bridge = rest["createBridge"]
    assert bridge["id"] == bridge["asked"]
    assert bridge["bridge_type"] == "mixing"
    assert rest["getBridge"]["id"] == bridge["id"]
    assert sorted(rest["getBridge"]["channels"]) == sorted([alice["id"], bob["id"]])
    assert rest["getDestroyed"]["found"] is False
    assert json.loads(rest["getDestroyed"]["message"]) == {"message": "Bridge not found"}

    events = [line for line in lines if line["kind"] == "event"]
    for chan_id in (alice["id"], bob["id"]):
        seen = [e["type"] for e in events if e.get("channel") == chan_id]
        assert [t for t in seen if t in CHANNEL_ORDER] == CHANNEL_ORDER, seen
        bridged = [e for e in events if e.get("channel") == chan_id and "bridge" in e]
        assert [e["bridge"] for e in bridged] == [bridge["id"], bridge["id"]]
    # Each channel was answered by the script (after its StasisStart).
    answered = [line["channel"] for line in lines if line.get("op") == "answer"]
    assert sorted(answered) == sorted([alice["id"], bob["id"]])
    # Alice's StasisEnd comes before Bob is hung up; the bridge goes last.
    kinds = [(e["type"], e.get("channel") or e.get("bridge")) for e in events]
    assert kinds.index(("StasisEnd", alice["id"])) < kinds.index(
        ("ChannelHangupRequest", bob["id"])
    )
    assert kinds[-1] == ("BridgeDestroyed", bridge["id"])

    # Nothing is left behind on the server.
    async with http.get("/ari/channels") as r:
        assert await r.json() == []
    async with http.get("/ari/bridges") as r:
        assert await r.json() == []
