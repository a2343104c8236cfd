"""Log channels stay in the log folder, rotation touches only pyari's own files, and a
line built from outside input stays one line (issue #11)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from conftest import wait_for
from pyari.cli.main import AsteriskFormatter
from pyari.config.logger import LoggerSettings
from pyari.core.logchannels import LogChannels, escape_controls
from pyari.server import Server
from pyari.sip.message import parse_message
from security.paths_helpers import snapshot

INVALID = {"message": "Log channel name invalid"}


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, f"/ari{path}", **kw) as r:
        return r.status, (await r.json() if r.content_length else None)


def channel_url(name: str, tail: str = "") -> str:
    return f"/asterisk/logging/{quote(name, safe='')}{tail}"


@pytest.fixture
def pyari_logs_info() -> Iterator[None]:
    """Let INFO (NOTICE, VERBOSE) records of the ``pyari`` loggers reach the channels."""
    logger = logging.getLogger("pyari")
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(before)


async def test_names_outside_the_log_folder_are_refused(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    logdir = server.config.asterisk.astlogdir
    outside = tmp_path / "outside"
    outside.mkdir()
    logdir.mkdir(parents=True, exist_ok=True)
    (logdir / "escape").symlink_to(outside)
    before = snapshot(tmp_path, logdir)
    names = [
        str(outside / "absolute"),
        "../up-one",
        "../../up-two",
        "sub/../../up-via-sub",
        "escape/through-a-link",
        "escape",
        str(logdir) + "X/sibling",  # a prefix of the folder is not the folder
        "a" * 300,
        "line\nbreak",
    ]
    for name in names:
        status, body = await call(
            http, "POST", channel_url(name), params={"configuration": "error"}
        )
        assert (status, body) == (400, INVALID), name
    assert snapshot(tmp_path, logdir) == before
    assert sorted(os.listdir(logdir)) == ["escape"]  # nothing written in the folder either
    _, channels = await call(http, "GET", "/asterisk/logging")
    assert [c["type"] for c in channels] == ["Console"]


async def test_names_inside_the_log_folder_still_work(
    server: Server, http: aiohttp.ClientSession
) -> None:
    logdir = server.config.asterisk.astlogdir
    for name, path in (
        ("plain", logdir / "plain"),
        ("sub/inner", logdir / "sub" / "inner"),
        (str(logdir / "absolute-inside"), logdir / "absolute-inside"),
        ("sub/../folded", logdir / "folded"),
    ):
        status, _ = await call(http, "POST", channel_url(name), params={"configuration": "error"})
        assert status == 204, name
        assert path.is_file()
        assert await call(http, "PUT", channel_url(name, "/rotate")) == (204, None)
        assert (path.parent / f"{path.name}.0").is_file()
    # A name that is the folder itself is no file.
    status, body = await call(
        http, "POST", channel_url(str(logdir)), params={"configuration": "error"}
    )
    assert (status, body) == (400, INVALID)


async def test_rotate_renames_only_the_files_pyari_writes(
    server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    logdir = server.config.asterisk.astlogdir
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    logdir.mkdir(parents=True, exist_ok=True)
    stranger = logdir / "not-a-channel"
    stranger.write_text("someone else's\n")
    # Files that are no channel of pyari's: not found, not renamed.
    for name in (str(victim), "not-a-channel", "../victim.txt"):
        status, body = await call(http, "PUT", channel_url(name, "/rotate"))
        assert (status, body) == (404, {"message": "Log channel does not exist"}), name
    assert victim.read_text() == "precious\n" and stranger.read_text() == "someone else's\n"
    # A channel whose file was replaced by a link to somewhere else is not rotated.
    assert (await call(http, "POST", "/asterisk/logging/mine", params={"configuration": "error"}))[
        0
    ] == 204
    mine = logdir / "mine"
    mine.unlink()
    mine.symlink_to(victim)
    before = snapshot(tmp_path, logdir)
    status, body = await call(http, "PUT", "/asterisk/logging/mine/rotate")
    assert (status, body) == (404, {"message": "Log channel does not exist"})
    assert snapshot(tmp_path, logdir) == before
    assert victim.read_text() == "precious\n"
    assert not (tmp_path / "victim.txt.0").exists() and not (logdir / "mine.0").exists()


async def test_an_app_name_with_a_newline_stays_on_one_log_line(
    server: Server, http: aiohttp.ClientSession, pyari_logs_info: None
) -> None:
    logdir = server.config.asterisk.astlogdir
    status, _ = await call(
        http, "POST", "/asterisk/logging/lines", params={"configuration": "verbose,notice,error"}
    )
    assert status == 204
    app = "evil\n[Jan 01 00:00:00] ERROR[1] forged.c: fake\r\x1b[2Jend"
    ws = await http.ws_connect("/ari/events", params={"app": app})
    try:
        path = logdir / "lines"
        await wait_for(lambda: "Creating Stasis app" in path.read_text())
    finally:
        await ws.close()
    lines = path.read_text().splitlines()
    created = [line for line in lines if "Creating Stasis app" in line]
    assert len(created) == 1
    assert "evil\\n[Jan 01 00:00:00] ERROR[1] forged.c: fake\\r\\x1b[2Jend" in created[0]
    assert not any(line.startswith("[Jan 01 00:00:00] ERROR[1] forged.c") for line in lines)
    assert "\x1b" not in path.read_text() and "\r" not in path.read_text()


# SIP headers whose values carry a bare CR, a forged log line and terminal escapes,
# parsed by pyari's own SIP parser.
REGISTER = (
    b"REGISTER sip:127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-sec1\r\n"
    b'From: "mallory\r[Jan 01 00:00:00] NOTICE[1] x.c: forged" <sip:m@127.0.0.1>;tag=1\r\n'
    b"To: <sip:m@127.0.0.1>\r\n"
    b"Call-ID: sec-1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"User-Agent: phone\r[Jan 01 00:00:00] ERROR[1] y.c: forged\x1b]0;owned\x07\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_sip_header_text_with_cr_lf_stays_on_one_log_line(tmp_path: Path) -> None:
    msg = parse_message(REGISTER)
    display = msg.headers.get("From")
    agent = msg.headers.get("User-Agent")
    assert display is not None and "\r" in display
    assert agent is not None and "\x1b" in agent
    logger = logging.getLogger("pyari.test_security_sip")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    channels = LogChannels(LoggerSettings(logfiles=()), tmp_path / "log", logger=logger)
    try:
        channels.add("sip.log", "notice,warning")
        logger.warning("Request 'REGISTER' from '%s' failed (agent %s)", display, agent)
    finally:
        channels.close()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    text = (tmp_path / "log" / "sip.log").read_text()
    lines = text.splitlines()
    assert len(lines) == 2  # the channel's banner and the one warning
    assert "WARNING[" in lines[1] and "mallory\\r[Jan 01" in lines[1]
    assert "\\x1b]0;owned\\x07" in lines[1]
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    # The console prints the same message on one line as well.
    record = logging.LogRecord(
        "pyari.sip", logging.WARNING, __file__, 1, "from %s", (display,), None
    )
    console = AsteriskFormatter().format(record)
    assert "\r" not in console and "\n" not in console and "mallory\\r[Jan" in console


def test_escape_controls() -> None:
    assert escape_controls("plain text, é ü") == "plain text, é ü"
    assert escape_controls("a\nb\r\x00\x1b\x7f\x85\u2028") == "a\\nb\\r\\x00\\x1b\\x7f\\x85\\u2028"
    assert escape_controls("tab\tstays") == "tab\tstays"
    assert escape_controls("\udcff") == "\\udcff"  # an undecodable byte of a URL
