"""Audio operations route and validate (404/409/412/400/422 as Asterisk), then
act; stored recordings work on real files."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from ari.ari_ops_helpers import app_events, call, stasis_channel
from pyari.server import Server

CHANNEL_MEDIA = [
    ("POST", "play?media=sound:hello"),
    ("POST", "play/pb1?media=sound:hello"),
    ("POST", "moh"),
    ("DELETE", "moh"),
    ("POST", "silence"),
    ("DELETE", "silence"),
    ("POST", "record?name=r&format=wav"),
]


@pytest.mark.parametrize(("method", "op"), CHANNEL_MEDIA)
async def test_channel_media_routes_and_checks(
    server: Server, http: aiohttp.ClientSession, method: str, op: str
) -> None:
    status, body = await call(http, method, f"/channels/nope/{op}")
    assert (status, body) == (404, {"message": "Channel not found"})
    async with app_events(http, "t") as events:
        status, down = await call(
            http, "POST", "/channels/create", params={"endpoint": "Sim/x", "app": "t"}
        )
        await events.wait("StasisStart", down["id"])
        status, body = await call(http, method, f"/channels/{down['id']}/{op}")
        if op.startswith("record"):
            # Asterisk does not check the state before recording.
            assert status == 201
            assert body["state"] == "queued"
        else:
            assert (status, body) == (412, {"message": "Channel in invalid state"})
        cid = await stasis_channel(http, events)
        status, body = await call(http, method, f"/channels/{cid}/{op}")
        if op.startswith("play"):
            assert status == 201
            assert body["media_uri"] == "sound:hello"
            assert body["target_uri"] == f"channel:{cid}"
        elif op.startswith("record"):
            # The first recording of that name is still live.
            assert (status, body) == (
                409,
                {"message": "Recording 'r' already exists and can not be overwritten"},
            )
        else:
            assert (status, body) == (204, b"")


async def test_channel_play_and_record_arguments(
    server: Server, http: aiohttp.ClientSession
) -> None:
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        checks = [
            ("play", {}, 400, "Missing parameter media"),
            ("play", {"media": "sound:x", "skipms": -1}, 400, "skipms cannot be negative"),
            ("play", {"media": "sound:x", "offsetms": -5}, 400, "offsetms cannot be negative"),
            ("record", {"name": "r"}, 400, "Missing parameter format"),
            ("record", {"name": "r", "format": "wav", "terminateOn": "5"}, 400,
             "terminateOn invalid"),
            ("record", {"name": "r", "format": "wav", "ifExists": "keep"}, 400,
             "ifExists invalid"),
            ("record", {"name": "r", "format": "mp3"}, 422,
             "specified format is unknown on this system"),
            ("record", {"format": "wav"}, 400, "Missing parameter name"),
        ]  # fmt: skip
        for op, params, code, message in checks:
            status, body = await call(http, "POST", f"/channels/{cid}/{op}", params=params)
            assert (status, body) == (code, {"message": message}), (op, params)
        # Formats pyari cannot write are unknown on this system.
        for fmt in ("gsm", "g722", "sln24"):
            status, body = await call(
                http, "POST", f"/channels/{cid}/record", params={"name": "r", "format": fmt}
            )
            assert (status, body) == (
                422,
                {"message": "specified format is unknown on this system"},
            ), fmt
        assert server.recordings.by_name == {}


async def test_snoop_and_external_media_checks(server: Server, http: aiohttp.ClientSession) -> None:
    snoops = [
        ({"spy": "up", "app": "t"}, "Invalid direction specified for spy"),
        ({"whisper": "up", "app": "t"}, "Invalid direction specified for whisper"),
        ({"app": "t"}, "Direction must be specified for at least spy or whisper"),
        ({"spy": "in"}, "Application name is required"),
    ]
    for params, message in snoops:
        status, body = await call(http, "POST", "/channels/nope/snoop", params=params)
        assert (status, body) == (400, {"message": message}), params
    status, body = await call(http, "POST", "/channels/nope/snoop/s1?spy=in&app=t")
    assert (status, body) == (404, {"message": "Provided channel was not found"})
    ext = [
        ({"format": "ulaw"}, 400, "app cannot be empty"),
        ({"app": "t", "transport": "websocket"}, 400,
         "encapsulation must be 'none' for websocket transport"),
        ({"app": "t", "transport": "tcp"}, 400, "transport must be 'udp' for rtp encapsulation"),
        ({"app": "t", "encapsulation": "audiosocket"}, 400,
         "transport must be 'tcp' for audiosocket encapsulation"),
        ({"app": "t", "connection_type": "server"}, 400,
         "'server' connection_type can only be used with the websocket transport"),
        ({"app": "t"}, 400, "external_host is required for all but websocket server connections"),
        ({"app": "t", "external_host": "nohost"}, 400,
         "external_host must be <host>:<port> for all transports other than websocket"),
        ({"app": "t", "external_host": "127.0.0.1:5000"}, 400, "format cannot be empty"),
        ({"app": "t", "external_host": "127.0.0.1:5000", "format": "ulaw", "direction": "up"},
         400, "Invalid direction specified"),
        ({"app": "t", "external_host": "h:1", "format": "ulaw", "encapsulation": "audiosocket",
          "transport": "tcp"}, 400, "data can not be empty"),
        ({"app": "t", "external_host": "h:1", "format": "nope"}, 400,
         "Provided format (nope) was not found"),
    ]  # fmt: skip
    for params, code, message in ext:
        status, body = await call(http, "POST", "/channels/externalMedia", params=params)
        assert (status, body) == (code, {"message": message}), params
    assert server.core.channels == {}


async def test_bridge_media_checks(server: Server, http: aiohttp.ClientSession) -> None:
    for method, op in [("POST", "play?media=sound:x"), ("POST", "moh"), ("DELETE", "moh"),
                       ("POST", "record?name=r&format=wav")]:  # fmt: skip
        status, body = await call(http, method, f"/bridges/nope/{op}")
        assert (status, body) == (404, {"message": "Bridge not found"}), op
    status, _ = await call(http, "POST", "/bridges/b")
    status, body = await call(http, "POST", "/bridges/b/play")
    assert (status, body) == (400, {"message": "Missing parameter media"})
    status, body = await call(http, "DELETE", "/bridges/b/moh")
    assert (status, body) == (409, {"message": "Bridge isn't playing music"})
    status, body = await call(http, "POST", "/bridges/b/play/p1?media=sound:x")
    assert status == 201
    assert body == {
        "id": "p1",
        "media_uri": "sound:x",
        "target_uri": "bridge:b",
        "language": "en",
        "state": "queued",
    }
    status, body = await call(http, "POST", "/bridges/b/moh")
    assert (status, body) == (204, b"")
    status, body = await call(http, "DELETE", "/bridges/b/moh")
    assert (status, body) == (204, b"")
    status, body = await call(http, "DELETE", "/bridges/b/moh")
    assert (status, body) == (409, {"message": "Bridge isn't playing music"})
    # A bridge checks the format before terminateOn/ifExists.
    status, body = await call(http, "POST", "/bridges/b/record?name=r&format=mp3&ifExists=keep")
    assert (status, body) == (422, {"message": "specified format is unknown on this system"})
    status, body = await call(http, "POST", "/bridges/b/record?name=r&format=wav&ifExists=keep")
    assert (status, body) == (400, {"message": "ifExists invalid"})
    status, body = await call(http, "POST", "/bridges/b/record?name=r&format=wav")
    assert status == 201
    assert body == {"name": "r", "format": "wav", "state": "queued", "target_uri": "bridge:b"}
    status, body = await call(http, "POST", "/bridges/b/record?name=r&format=wav")
    assert (status, body) == (
        409,
        {"message": "Recording 'r' already exists and can not be overwritten"},
    )
    status, body = await call(http, "DELETE", "/recordings/live/r")
    assert status == 204


async def test_playbacks(server: Server, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "GET", "/playbacks/p1")
    assert (status, body) == (404, {"message": "Playback not found"})
    status, body = await call(http, "DELETE", "/playbacks/p1")
    assert (status, body) == (404, {"message": "Playback not found"})
    status, body = await call(http, "POST", "/playbacks/p1/control")
    assert (status, body) == (400, {"message": "Missing operation"})
    status, body = await call(http, "POST", "/playbacks/p1/control?operation=jump")
    assert (status, body) == (400, {"message": "Invalid operation jump"})
    status, body = await call(http, "POST", "/playbacks/p1/control?operation=pause")
    assert (status, body) == (404, {"message": "Playback not found"})


async def test_live_recordings_not_found(server: Server, http: aiohttp.ClientSession) -> None:
    for method, path in [
        ("GET", ""), ("DELETE", ""), ("POST", "/stop"), ("POST", "/pause"),
        ("DELETE", "/pause"), ("POST", "/mute"), ("DELETE", "/mute"),
    ]:  # fmt: skip
        status, body = await call(http, method, f"/recordings/live/r1{path}")
        assert (status, body) == (404, {"message": "Recording not found"}), (method, path)


def _recdir(server: Server) -> Path:
    return server.config.asterisk.astspooldir / "recording"


async def test_stored_recordings(server: Server, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, "GET", "/recordings/stored")
    assert (status, body) == (200, [])
    recdir = _recdir(server)
    (recdir / "calls").mkdir(parents=True)
    (recdir / "hello.wav").write_bytes(b"RIFFdata")
    (recdir / "calls" / "one.ulaw").write_bytes(b"\xff\x7f")
    (recdir / "notes.txt").write_text("not a recording")
    status, body = await call(http, "GET", "/recordings/stored")
    assert body == [{"name": "calls/one", "format": "ulaw"}, {"name": "hello", "format": "wav"}]
    status, body = await call(http, "GET", "/recordings/stored/hello")
    assert (status, body) == (200, {"name": "hello", "format": "wav"})
    for method, path in [("GET", ""), ("DELETE", ""), ("GET", "/file")]:
        status, body = await call(http, method, f"/recordings/stored/nope{path}")
        assert (status, body) == (404, {"message": "Recording not found"})
    async with http.get("/ari/recordings/stored/hello/file") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "audio/wav"
        assert await r.read() == b"RIFFdata"
    async with http.get("/ari/recordings/stored/calls%2Fone/file") as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "audio/ulaw"
        assert await r.read() == b"\xff\x7f"
    status, body = await call(
        http, "POST", "/recordings/stored/nope/copy?destinationRecordingName=x"
    )
    assert (status, body) == (404, {"message": "Recording not found"})
    status, body = await call(
        http, "POST", "/recordings/stored/hello/copy?destinationRecordingName=calls/one"
    )
    assert (status, body) == (
        409,
        {"message": "A recording with the same name already exists on the system"},
    )
    status, body = await call(
        http, "POST", "/recordings/stored/hello/copy?destinationRecordingName=../../escape"
    )
    assert (status, body) == (403, {"message": "Destination file path is forbidden"})
    status, body = await call(
        http, "POST", "/recordings/stored/hello/copy?destinationRecordingName=new/copy"
    )
    assert (status, body) == (200, {"name": "new/copy", "format": "wav"})
    assert (recdir / "new" / "copy.wav").read_bytes() == b"RIFFdata"
    status, _ = await call(http, "DELETE", "/recordings/stored/hello")
    assert status == 204
    assert not (recdir / "hello.wav").exists()
    status, body = await call(http, "GET", "/recordings/stored/hello")
    assert (status, body) == (404, {"message": "Recording not found"})
    status, body = await call(http, "GET", "/recordings/stored/..%2F..%2Fetc%2Fpasswd")
    assert (status, body) == (404, {"message": "Recording not found"})
