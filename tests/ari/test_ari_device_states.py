"""/deviceStates over real HTTP: Stasis: devices, channel devices, events, persistence."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.bus import Topic
from pyari.core import events as ev
from pyari.server import Server


async def put(http: aiohttp.ClientSession, device: str, state: str | None) -> tuple[int, Any]:
    params = {} if state is None else {"deviceState": state}
    async with http.put(f"/ari/deviceStates/{device}", params=params) as r:
        return r.status, (await r.json() if r.content_length else None)


async def get(http: aiohttp.ClientSession, device: str) -> Any:
    async with http.get(f"/ari/deviceStates/{device}") as r:
        assert r.status == 200
        return await r.json()


def record(server: Server, topic_name: str) -> list[Any]:
    seen: list[Any] = []

    def on(_t: Topic, msg: Any) -> None:
        if isinstance(msg, ev.DeviceStateChanged):
            seen.append(msg.device_state)

    server.core.bus.topic(topic_name).subscribe(on)
    return seen


async def test_update_get_list_delete(http: aiohttp.ClientSession) -> None:
    async with http.get("/ari/deviceStates") as r:
        assert r.status == 200
        assert await r.json() == []
    assert await put(http, "Stasis:foo", "INUSE") == (204, None)
    assert await put(http, "Stasis:bar", "busy") == (204, None)  # any case, as Asterisk
    assert await get(http, "Stasis:foo") == {"name": "Stasis:foo", "state": "INUSE"}
    assert await get(http, "Stasis:bar") == {"name": "Stasis:bar", "state": "BUSY"}
    async with http.get("/ari/deviceStates") as r:
        assert await r.json() == [
            {"name": "Stasis:bar", "state": "BUSY"},
            {"name": "Stasis:foo", "state": "INUSE"},
        ]
    assert await put(http, "Stasis:foo", "ONHOLD") == (204, None)
    assert (await get(http, "Stasis:foo"))["state"] == "ONHOLD"
    async with http.delete("/ari/deviceStates/Stasis:foo") as r:
        assert r.status == 204
    assert await get(http, "Stasis:foo") == {"name": "Stasis:foo", "state": "UNKNOWN"}
    async with http.get("/ari/deviceStates") as r:
        assert await r.json() == [{"name": "Stasis:bar", "state": "BUSY"}]
    # Deleting a device that was never set is accepted, as in Asterisk.
    async with http.delete("/ari/deviceStates/Stasis:never") as r:
        assert r.status == 204


@pytest.mark.parametrize(
    "state",
    ["NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"],
)
async def test_every_settable_state(http: aiohttp.ClientSession, state: str) -> None:
    assert await put(http, "Stasis:dev", state) == (204, None)
    assert (await get(http, "Stasis:dev"))["state"] == state


async def test_errors_and_their_order(http: aiohttp.ClientSession) -> None:
    # Only Stasis: devices are controlled; the name is checked before the value.
    for device in ("PJSIP%2Falice", "Custom:foo", "foo"):
        status, body = await put(http, device, "INUSE")
        assert (status, body) == (409, {"message": "Uncontrolled device specified"})
        async with http.delete(f"/ari/deviceStates/{device}") as r:
            assert r.status == 409
            assert await r.json() == {"message": "Uncontrolled device specified"}
    assert await put(http, "PJSIP%2Falice", "bogus") == (
        409,
        {"message": "Uncontrolled device specified"},
    )
    assert await put(http, "Stasis:", "INUSE") == (404, {"message": "Device name is missing"})
    async with http.delete("/ari/deviceStates/Stasis:") as r:
        assert r.status == 404
        assert await r.json() == {"message": "Device name is missing"}
    # Values: UNKNOWN cannot be set; anything else unknown is refused; nothing changes.
    for bad in ("UNKNOWN", "bogus"):
        status, body = await put(http, "Stasis:x", bad)
        assert (status, body) == (400, {"message": "Invalid value for parameter deviceState"})
    status, body = await put(http, "Stasis:x", None)
    assert status == 400
    async with http.get("/ari/deviceStates") as r:
        assert await r.json() == []


async def test_reading_other_devices(http: aiohttp.ClientSession, server: Server) -> None:
    assert (await get(http, "Stasis:unset"))["state"] == "UNKNOWN"
    assert (await get(http, "stasis:unset"))["state"] == "UNKNOWN"
    assert await get(http, "nothing") == {"name": "nothing", "state": "INVALID"}
    assert (await get(http, "Custom:foo"))["state"] == "INVALID"
    assert (await get(http, "Nope%2Ffoo"))["state"] == "INVALID"
    # Local devices: the extension must exist (and @context be given).
    assert await get(http, "Local%2F1000@ARI-test") == {
        "name": "Local/1000@ARI-test",
        "state": "NOT_INUSE",
    }
    assert (await get(http, "Local%2F9999@ARI-test"))["state"] == "INVALID"
    assert (await get(http, "Local%2F1000"))["state"] == "INVALID"
    server.sim.phone("known")
    assert (await get(http, "Sim%2Fknown"))["state"] == "NOT_INUSE"
    assert (await get(http, "Sim%2Fstranger"))["state"] == "UNKNOWN"
    # The scheme is case-insensitive when setting; the device is Stasis:<name>.
    assert await put(http, "stasis:lower", "RINGING") == (204, None)
    assert await get(http, "Stasis:lower") == {"name": "Stasis:lower", "state": "RINGING"}


async def test_changes_are_published(http: aiohttp.ClientSession, server: Server) -> None:
    mine = record(server, "devicestate:Stasis:ev")
    every = record(server, "devicestate:all")
    await put(http, "Stasis:ev", "INUSE")
    await put(http, "Stasis:other", "BUSY")
    async with http.delete("/ari/deviceStates/Stasis:ev") as r:
        assert r.status == 204
    assert [(d.name, d.state) for d in mine] == [("Stasis:ev", "INUSE"), ("Stasis:ev", "UNKNOWN")]
    assert [(d.name, d.state) for d in every] == [
        ("Stasis:ev", "INUSE"),
        ("Stasis:other", "BUSY"),
        ("Stasis:ev", "UNKNOWN"),
    ]
    # A refused update publishes nothing.
    await put(http, "Stasis:ev", "bogus")
    assert len(every) == 3
    # The event as ARI sends it.
    encoded = ev.DeviceStateChanged(device_state=mine[0], timestamp="t")
    import msgspec

    assert msgspec.json.decode(msgspec.json.encode(encoded)) == {
        "type": "DeviceStateChanged",
        "timestamp": "t",
        "device_state": {"name": "Stasis:ev", "state": "INUSE"},
    }


async def test_sim_device_follows_its_channel(http: aiohttp.ClientSession, server: Server) -> None:
    server.sim.phone("alice", answer_after=None)  # rings until hung up
    seen = record(server, "devicestate:Sim/alice")
    async with http.post(
        "/ari/channels",
        params={"endpoint": "Sim/alice", "extension": "1000", "context": "ARI-test"},
    ) as r:
        assert r.status == 200
        chan = await r.json()
    await wait_for(lambda: [d.state for d in seen][-1:] == ["RINGING"])
    assert (await get(http, "Sim%2Falice"))["state"] == "RINGING"
    async with http.delete(f"/ari/channels/{chan['id']}") as r:
        assert r.status == 204
    await wait_for(lambda: [d.state for d in seen][-1:] == ["NOT_INUSE"])
    assert (await get(http, "Sim%2Falice"))["state"] == "NOT_INUSE"
    states = [d.state for d in seen]
    assert states[0] == "NOT_INUSE" and "RINGING" in states  # created Down, then ringing


async def test_stasis_states_survive_restart() -> None:
    first = make_server()
    await first.start(control_socket=False)
    try:
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{first.http_port}", headers=auth_headers()
        ) as http:
            assert await put(http, "Stasis:kept", "UNAVAILABLE") == (204, None)
            assert await put(http, "Stasis:gone", "INUSE") == (204, None)
            async with http.delete("/ari/deviceStates/Stasis:gone") as r:
                assert r.status == 204
    finally:
        await first.stop()
    second = make_server()
    await second.start(control_socket=False)
    try:
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{second.http_port}", headers=auth_headers()
        ) as http:
            assert await get(http, "Stasis:kept") == {"name": "Stasis:kept", "state": "UNAVAILABLE"}
            async with http.get("/ari/deviceStates") as r:
                assert await r.json() == [{"name": "Stasis:kept", "state": "UNAVAILABLE"}]
    finally:
        await second.stop()
