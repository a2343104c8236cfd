"""Shared fixtures: an in-process pyari on loopback, with its own state dir."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import socket
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from pyari.config import load_config
from pyari.server import Server

USER = "testARI"
PASSWORD = "Sup3rM3ga$tr0ng"


def auth_headers(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own run/log/spool folders."""
    d = tmp_path / "state"
    monkeypatch.setenv("PYARI_STATE_DIR", str(d))
    return d


def make_server(config_dir: Path | None = None, **http: object) -> Server:
    cfg = load_config(config_dir)
    cfg = dataclasses.replace(
        cfg,
        http=dataclasses.replace(cfg.http, bindport=0, **http),  # type: ignore[arg-type]
    )
    return Server(cfg, config_dir=config_dir, sip_port=0)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = make_server()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
def base_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.http_port}"


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=base_url, headers=auth_headers()) as session:
        yield session


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    """Poll a condition of the server (no fixed sleeps for ordering)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def udp_port_taken(port: int, host: str = "127.0.0.1") -> bool:
    """Some process has bound ``host``:``port`` over UDP (a peer started as a process is
    listening)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def write_tone_wav(path: Path, hz: float, seconds: float, *, rate: int, amplitude: int) -> None:
    """A mono 16-bit WAV of a ``hz`` sine (peak ``amplitude``) at ``rate``: a phone's or a
    browser's microphone in the tests that drive real softphones."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * i / rate)))
                for i in range(int(rate * seconds))
            )
        )
