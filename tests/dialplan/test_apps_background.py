"""Background() with multi-digit extensions: keys pressed during the prompt are
collected until no longer extension can match or the digit timeout passes, then
the call goes to that extension (or to ``i``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from conftest import make_server, wait_for
from pyari.config.embedded import write_samples
from pyari.server import Server

BACKGROUND_DIALPLAN = """
[bg]
exten => s,1,Answer()
 same => n,Set(TIMEOUT(digit)=1)
 same => n,Background(hello-world)
 same => n,Set(RESULT=no-key)
 same => n,Hangup()
exten => 1,1,Set(RESULT=one)
 same => n,Hangup()
exten => 12,1,Set(RESULT=twelve)
 same => n,Hangup()
exten => _4X,1,Set(RESULT=forty-${EXTEN:1})
 same => n,Hangup()
exten => 5,1,Set(RESULT=five)
 same => n,Hangup()
exten => i,1,Set(RESULT=invalid-${INVALID_EXTEN})
 same => n,Hangup()

[bg-noi]
exten => s,1,Answer()
 same => n,Background(hello-world)
 same => n,Set(RESULT=no-key)
exten => 77,1,Set(RESULT=77)

[bg-skip]
exten => s,1,Background(hello-world,s)
 same => n,Set(RESULT=${CHANNEL(state)})
 same => n,Hangup()
"""


@pytest.fixture
async def bg_server(tmp_path: Path) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    write_samples(conf)
    with (conf / "extensions.conf").open("a") as f:
        f.write(BACKGROUND_DIALPLAN)
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def _dial_keys(server: Server, keys: str, context: str = "bg") -> tuple[Any, float]:
    """Call ``s@context``, press ``keys`` during Background; the channel and the
    seconds from the last key to the end of the call."""
    phone = server.sim.phone("kim", listen=True)
    chan = phone.call("s", context)
    await wait_for(lambda: len(phone.heard()) >= 1600)
    await phone.send_dtmf(keys, duration_ms=80, between_ms=80)
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    await wait_for(lambda: chan.destroyed, timeout=10)
    return chan, loop.time() - pressed


async def test_background_collects_a_two_digit_extension(bg_server: Server) -> None:
    chan, elapsed = await _dial_keys(bg_server, "12")
    assert chan.variables["RESULT"] == "twelve"
    assert elapsed < 0.9  # no more key could match: no digit timeout
    chan, _ = await _dial_keys(bg_server, "47")
    assert chan.variables["RESULT"] == "forty-7"


async def test_background_waits_the_digit_timeout_for_a_longer_match(bg_server: Server) -> None:
    # "1" is an extension, but "12" could follow: the PBX waits TIMEOUT(digit) (1 s).
    chan, elapsed = await _dial_keys(bg_server, "1")
    assert chan.variables["RESULT"] == "one"
    assert elapsed >= 0.9
    assert chan.variables["TIMEOUT(digit)"] == "1.000"


async def test_background_single_key_and_invalid_extensions(bg_server: Server) -> None:
    chan, elapsed = await _dial_keys(bg_server, "5")
    assert chan.variables["RESULT"] == "five" and elapsed < 0.9
    chan, _ = await _dial_keys(bg_server, "13")
    assert chan.variables["RESULT"] == "invalid-13"
    chan, _ = await _dial_keys(bg_server, "4")  # _4X wants one more key: timeout, invalid
    assert chan.variables["RESULT"] == "invalid-4"
    # No i extension: the call ends (Asterisk: "no rule 'i' or 'e'"), not the next priority.
    chan, _ = await _dial_keys(bg_server, "78", context="bg-noi")
    assert "RESULT" not in chan.variables
    chan, _ = await _dial_keys(bg_server, "77", context="bg-noi")
    assert chan.variables["RESULT"] == "77"


async def test_background_skip_leaves_an_unanswered_channel(bg_server: Server) -> None:
    chan = bg_server.sim.phone("kim").call("s", "bg-skip")
    await wait_for(lambda: chan.destroyed)
    assert chan.variables["RESULT"] == "Ring"  # not answered, nothing played
