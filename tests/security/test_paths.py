"""Names that become paths stay inside their folder (issue #11): ``recording:`` URIs,
stored and live recording names, copy destinations; and no answer or event shows a
server path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from ari.ari_ops_helpers import Events, app_events, call, stasis_channel
from conftest import wait_for
from pyari.confine import PathRefused, check_name, confine, inside
from pyari.media.recorder import failure_cause, recording_path
from pyari.server import Server
from security.paths_helpers import snapshot, write_wav


def recdir(server: Server) -> Path:
    return server.config.asterisk.astspooldir / "recording"


# -- the shared check --------------------------------------------------------------------------


def test_confine_compares_with_a_separator_and_follows_links(tmp_path: Path) -> None:
    base = tmp_path / "recording"
    base.mkdir()
    (tmp_path / "recordingX").mkdir()
    (base / "out").symlink_to(tmp_path)
    (base / "in").symlink_to(base / "sub", target_is_directory=True)
    assert confine(base, "a/b.wav") == base / "a" / "b.wav"
    assert confine(base, "in/x") == base / "in" / "x"
    assert confine(base, str(base / "abs")) == base / "abs"
    assert confine(base, ".", allow_base=True) == base / "."
    for name in (
        "../recordingX/name",
        str(tmp_path / "recordingX" / "name"),
        "out/x",
        "a/../../x",
        "..",
        ".",
        "/etc/passwd",
    ):
        with pytest.raises(PathRefused):
            confine(base, name)
    assert not inside(base, tmp_path / "recordingX")
    assert inside(base, base) and inside(base, base / "deep" / "er")


@pytest.mark.parametrize(
    "name", ["", "a\x00b", "a\nb", "esc\x1b", "\udcff", "a" * 256, "a/" * 2048 + "b"]
)
def test_check_name_refuses_what_cannot_be_a_file_name(name: str) -> None:
    with pytest.raises(PathRefused) as refused:
        check_name(name)
    assert "/" not in str(refused.value)


def test_check_name_takes_ordinary_names() -> None:
    for name in ("a", "calls/today/x", "é" * 127, "a" * 255, "with space", "x.y-z_1"):
        check_name(name)


def test_recorder_paths_and_failure_causes(tmp_path: Path) -> None:
    assert recording_path(tmp_path, "calls/x", "wav") == tmp_path / "calls" / "x.wav"
    with pytest.raises(PathRefused):
        recording_path(tmp_path, "../x", "wav")
    cause = failure_cause(IsADirectoryError(21, "Is a directory", str(tmp_path / "r.wav")))
    assert cause == "Unable to write the recording file: Is a directory"
    assert failure_cause(ValueError(f"embedded null byte in {tmp_path}")) == (
        "Unable to write the recording file"
    )


# -- recording: URIs ---------------------------------------------------------------------------


async def play(http: aiohttp.ClientSession, events: Events, cid: str, media: str) -> str:
    """Play ``media`` on ``cid``; the state its PlaybackFinished reports."""
    status, pb = await call(http, "POST", f"/channels/{cid}/play", params={"media": media})
    assert status == 201, pb

    def finished() -> list[dict[str, Any]]:
        return [
            e
            for e in events.items
            if e["type"] == "PlaybackFinished" and e["playback"]["id"] == pb["id"]
        ]

    await wait_for(lambda: bool(finished()))
    return str(finished()[0]["playback"]["state"])


async def test_recording_uris_do_not_leave_the_recording_folder(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    base = recdir(server)
    write_wav(base / "inside.wav")
    write_wav(base / "calls" / "kept.wav")
    sibling = write_wav(base.parent / "recordingX" / "name.wav")
    write_wav(tmp_path / "elsewhere" / "secret.wav")
    (base / "link").symlink_to(tmp_path / "elsewhere")
    (base / "filelink.wav").symlink_to(tmp_path / "elsewhere" / "secret.wav")
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        assert await play(http, events, cid, "recording:inside") == "done"
        assert await play(http, events, cid, "recording:calls/kept") == "done"
        for media in (
            "recording:../recordingX/name",
            f"recording:{sibling.with_suffix('')}",
            "recording:link/secret",
            "recording:filelink",
            "recording:calls/../../recordingX/name",
        ):
            assert await play(http, events, cid, media) == "failed", media
        status, body = await call(
            http, "POST", f"/channels/{cid}/play", params={"media": "recording:a\x00b"}
        )
        assert (status, body) == (400, {"message": "Invalid value for parameter media"})


# -- stored recordings ---------------------------------------------------------------------------


async def test_stored_recording_names_stay_inside(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    base = recdir(server)
    write_wav(base / "source.wav")
    write_wav(base.parent / "recordingX" / "name.wav")
    (tmp_path / "outside").mkdir()
    (base / "out").symlink_to(tmp_path / "outside")
    before = snapshot(tmp_path, base)
    for name in ("../recordingX/name", "out/../../recordingX/name", "a" * 300):
        status, body = await call(http, "GET", f"/recordings/stored/{quote(name, safe='')}")
        assert (status, body) == (404, {"message": "Recording not found"}), name
        status, _ = await call(http, "DELETE", f"/recordings/stored/{quote(name, safe='')}")
        assert status == 404
    forbidden = {"message": "Destination file path is forbidden"}
    invalid = {"message": "Invalid destination recording name"}
    for dest, expected in (
        ("../recordingX/copy", (403, forbidden)),
        ("out/copy", (403, forbidden)),
        (str(tmp_path / "outside" / "copy"), (403, forbidden)),
        ("a" * 300, (400, invalid)),
        ("a" * 252, (400, invalid)),  # 252 + ".wav" is over the 255 bytes of a file name
        ("sub/line\nbreak", (400, invalid)),
    ):
        status, body = await call(
            http,
            "POST",
            "/recordings/stored/source/copy",
            params={"destinationRecordingName": dest},
        )
        assert (status, body) == expected, dest[:40]
    assert snapshot(tmp_path, base) == before
    assert sorted(p.name for p in base.rglob("*")) == ["out", "source.wav"]
    # Inside names keep working.
    status, body = await call(
        http, "POST", "/recordings/stored/source/copy", params={"destinationRecordingName": "a/b"}
    )
    assert (status, body) == (200, {"name": "a/b", "format": "wav"})
    assert (base / "a" / "b.wav").is_file()


# -- live recordings -----------------------------------------------------------------------------


async def test_bad_live_recording_names_are_refused_at_the_request(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    base = recdir(server)
    base.mkdir(parents=True, exist_ok=True)
    (tmp_path / "outside").mkdir()
    (base / "out").symlink_to(tmp_path / "outside")
    before = snapshot(tmp_path, base)
    invalid = {"message": "Recording name invalid"}
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, bridge = await call(http, "POST", "/bridges")
        assert status == 200
        for name in (
            "a" * 5000,
            "a" * 252,
            "../recordingX/evil",
            "out/evil",
            str(tmp_path / "abs"),
            "line\nbreak",
            "a/" * 3000 + "b",
        ):
            for target in (f"/channels/{cid}/record", f"/bridges/{bridge['id']}/record"):
                status, body = await call(
                    http, "POST", target, params={"name": name, "format": "wav"}
                )
                assert (status, body) == (400, invalid), (target, name[:40])
        status, body = await call(
            http, "POST", f"/channels/{cid}/record", params={"name": "a\x00b", "format": "wav"}
        )
        assert status == 400 and "name" in body["message"]
        assert (await call(http, "GET", "/recordings/live/" + "a" * 5000))[0] == 404
    assert not [e for e in events.items if e["type"].startswith("Recording")]
    assert snapshot(tmp_path, base) == before


async def test_a_failed_recording_shows_no_server_path(
    server: Server, http: aiohttp.ClientSession
) -> None:
    base = recdir(server)
    (base / "busy.wav").mkdir(parents=True)  # a folder where the file should go
    async with app_events(http, "t") as events:
        cid = await stasis_channel(http, events)
        status, body = await call(
            http,
            "POST",
            f"/channels/{cid}/record",
            params={"name": "busy", "format": "wav", "ifExists": "overwrite"},
        )
        assert status == 201, body
        failed = await events.wait("RecordingFailed")
    cause = failed["recording"]["cause"]
    assert cause == "Unable to write the recording file: Is a directory"
    state = str(server.config.asterisk.astspooldir)
    assert state not in str(failed) and os.sep + "recording" not in cause
