"""baresip, a real softphone, against pyari on loopback.

baresip runs headless: its config dir lives in tmp, audio comes from a WAV file (the
``aufile`` source) and goes to ``aubridge`` (no sound card), and the test drives it
through its ``ctrl_tcp`` module (netstring-framed JSON commands and events). It
registers as endpoint 2222 of the embedded pjsip.conf with digest authentication
(ContactStatusChange and EndpointStateChange over ARI), calls 1000 in [ARI-test]
(Stasis hello), the test app answers and plays a sound, then hangs up: baresip reports
the call closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server, write_tone_wav
from pyari.server import Server

MODULES = Path("/usr/lib/baresip/modules")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip not installed"),
    pytest.mark.skipif(not (MODULES / "ctrl_tcp.so").exists(), reason="baresip modules missing"),
]


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_sine(path: Path, seconds: float = 3.0) -> None:
    write_tone_wav(path, 440, seconds, rate=8000, amplitude=6000)


def configure(
    home: Path,
    sip_server: tuple[str, int],
    ctrl_port: int,
    *,
    transport: str = "udp",
    user: str = "2222",
    password: str = "pyari-2222",
    cafile: Path | None = None,
    codecs: str = "PCMU,PCMA",
    modules: Sequence[str] = ("g711.so",),
    srate: int = 8000,
    source: Callable[[Path], None] = write_sine,
    extra: str = "",
) -> None:
    """baresip 1.0's network layer will not use the loopback interface (``-n lo``: "could
    not get network address"; ``sip_listen 127.0.0.1:port`` makes REGISTER fail with
    "Function not implemented"), so it listens on the wildcard address and talks from
    the host's own address to pyari on 127.0.0.1: traffic the kernel keeps on the host.
    ``cafile`` is the CA baresip trusts for ``transport=tls``. The account is ``user``
    with ``codecs`` (from the codec ``modules``); the microphone is the file ``source``
    writes (at ``srate`` Hz); ``extra`` lines go after the audio modules."""
    home.mkdir()
    source(home / "source.wav")
    rtp = free_port() & ~1
    listen = free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
    trust = f"sip_cafile {cafile}\n" if cafile is not None else ""
    codec_modules = "".join(f"module {m}\n" for m in modules)
    (home / "config").write_text(
        f"""poll_method epoll
sip_listen 0.0.0.0:{listen}
{trust}call_local_timeout 120
call_max_calls 4
audio_player aubridge,nil
audio_source aufile,{home / "source.wav"}
audio_alert aubridge,nil
audio_srate {srate}
audio_channels 1
rtp_ports {rtp}-{rtp + 20}
module_path {MODULES}
{codec_modules}module aufile.so
module aubridge.so
{extra}module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
"""
    )
    host, port = sip_server
    (home / "accounts").write_text(
        f"<sip:{user}@{host}:{port};transport={transport}>;auth_pass={password};"
        f"regint=600;answermode=manual;audio_codecs={codecs}\n"
    )
    (home / "contacts").write_text("")


class Baresip:
    """A baresip process and its ctrl_tcp connection (netstrings of JSON)."""

    def __init__(self, home: Path, ctrl_port: int) -> None:
        self.home = home
        self.ctrl_port = ctrl_port
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.events: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        with (self.home / "baresip.log").open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                "baresip", "-f", str(self.home), "-4", "-v",
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        for _ in range(100):
            try:
                self.reader, self.writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                if self.proc.returncode is not None:
                    raise RuntimeError("baresip exited") from None
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("baresip's ctrl_tcp did not listen")
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.reader is not None
        while True:
            length = await self.reader.readuntil(b":")
            data = await self.reader.readexactly(int(length[:-1]) + 1)
            msg = json.loads(data[:-1])
            (self.events if msg.get("event") else self.responses).append(msg)

    def command(self, command: str, params: str = "") -> None:
        assert self.writer is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.writer.write(str(len(body)).encode() + b":" + body + b",")

    async def event(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for e in self.events:
                    if e.get("type") == kind:
                        return e
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(find(), timeout)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def sip_server() -> AsyncIterator[Server]:
    srv = make_server()
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def baresip(sip_server: Server, tmp_path: Path) -> AsyncIterator[Baresip]:
    """A baresip not yet started: the test calls :meth:`Baresip.start` once it listens
    to ARI (the phone registers as soon as it starts)."""
    home = tmp_path / "baresip"
    ctrl = free_port(socket.SOCK_STREAM)
    configure(home, sip_server.pjsip.address(), ctrl)
    phone = Baresip(home, ctrl)
    try:
        yield phone
    finally:
        await phone.close()


class Events:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.items: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.items.append(json.loads(msg.data))

    async def wait(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                for e in self.items:
                    if e["type"] == kind:
                        return e
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(find(), timeout)


async def test_baresip_registers_calls_into_stasis_hears_playback_and_hangup(
    sip_server: Server, baresip: Baresip
) -> None:
    base = f"http://127.0.0.1:{sip_server.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
        http.ws_connect("/ari/events?app=hello") as ws,
    ):
        events = Events(ws)
        r = await http.post(
            "/ari/applications/hello/subscription",
            params={"eventSource": "endpoint:PJSIP/2222"},
        )
        assert r.status == 200
        # baresip registers at start-up (digest auth: a 401, then the credentials)
        await baresip.start()
        contact = await events.wait("ContactStatusChange")
        assert contact["contact_info"]["aor"] == "2222"
        assert contact["contact_info"]["contact_status"] == "NonQualified"
        assert contact["contact_info"]["uri"].startswith("sip:2222")
        state = await events.wait("EndpointStateChange")
        assert state["endpoint"]["state"] == "online"
        assert sip_server.pjsip.ua.location.all()[0].aor == "2222"
        host, port = sip_server.pjsip.address()
        baresip.command("dial", f"sip:1000@{host}:{port}")
        start = await events.wait("StasisStart")
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        assert chan["dialplan"]["exten"] == "1000"
        assert chan["caller"]["number"] == "2222"
        r = await http.post(f"/ari/channels/{chan['id']}/answer")
        assert r.status == 204
        await baresip.event("CALL_ESTABLISHED")
        r = await http.post(
            f"/ari/channels/{chan['id']}/play", params={"media": "sound:hello-world"}
        )
        assert r.status == 201
        await events.wait("PlaybackFinished", timeout=15)
        async with http.get(f"/ari/channels/{chan['id']}/rtp_statistics") as s:
            stats = await s.json()
        # the phone heard the playback and sent its own audio (the WAV file)
        assert stats["txcount"] > 50
        assert stats["rxcount"] > 50
        r = await http.delete(f"/ari/channels/{chan['id']}")
        assert r.status == 204
        closed = await baresip.event("CALL_CLOSED")
        assert closed["class"] == "call"
        await events.wait("StasisEnd")
        events.task.cancel()
        with contextlib.suppress(Exception):
            baresip.command("quit")
