"""SIPp against pyari's PJSIP stack on loopback.

* SIPp, as the phone 2222 of the embedded pjsip.conf, calls 1000 in [ARI-test] with
  digest authentication, sends G.711 A-law and an RFC 4733 digit from its pcap files;
  the ARI app (raw aiohttp) answers, plays, records; SIPp's BYE ends the call (StasisEnd).
* SIPp as a UAS answers an ARI originate to a PJSIP endpoint with a static contact.
* Garbage and RFC 4475 torture messages sent to the SIP port during a call get 400 or are
  dropped and do not disturb the call.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from conftest import auth_headers, make_server, wait_for
from pyari.server import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed"),
]

SCENARIOS = Path(__file__).parent / "sipp"
PCAPS = Path("/usr/share/sip-tester")


def free_port(kind: int = socket.SOCK_DGRAM, even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not even or (port % 2 == 0 and port < 65000):
            return port


class Events:
    """The events of one ARI application, read from its WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.items: list[dict[str, Any]] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.items.append(json.loads(msg.data))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.items if e["type"] == kind]

    async def wait(self, kind: str, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        await wait_for(lambda: len(self.of(kind)) >= count, timeout)
        return self.of(kind)[count - 1]


@pytest.fixture
async def sip_server() -> AsyncIterator[Server]:
    srv = make_server()
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def http(sip_server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    base = f"http://127.0.0.1:{sip_server.http_port}"
    async with aiohttp.ClientSession(base_url=base, headers=auth_headers()) as session:
        yield session


async def run_sipp(*args: str, timeout: float = 30.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-nostdin",
        "-trace_err",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


def scenario(tmp_path: Path, name: str, password: str = "pyari-2222") -> Path:
    """The scenario copied next to links to SIPp's pcap files (SIPp looks there)."""
    for pcap in ("g711a.pcap", "dtmf_2833_1.pcap"):
        link = tmp_path / pcap
        if not link.exists():
            link.symlink_to(PCAPS / pcap)
    path = tmp_path / name
    path.write_text((SCENARIOS / name).read_text().replace("pyari-2222", password))
    return path


def uac_args(
    server: Server, tmp_path: Path, *, service: str = "1000", hold_ms: int = 1500,
    password: str = "pyari-2222",
) -> list[str]:  # fmt: skip
    host, port = server.pjsip.address()
    return [
        f"{host}:{port}",
        "-sf",
        str(scenario(tmp_path, "uac_auth.xml", password)),
        "-s",
        service,
        "-d",
        str(hold_ms),
        "-i",
        "127.0.0.1",
        "-p",
        str(free_port()),
        "-mp",
        str(free_port(even=True)),
        "-m",
        "1",
        "-timeout",
        "25s",
        "-error_file",
        str(tmp_path / "sipp-errors.log"),
    ]


TORTURE = [
    b"\x00\x01garbage\xff\xfe",
    b"NOT SIP AT ALL\r\n\r\n",
    # RFC 4475 3.1.2.4-like: a request with a bad Content-Length and an unterminated header
    b"INVITE sip:1000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx1\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:1000@127.0.0.1>\r\nCall-ID: t1\r\nCSeq: 1 INVITE\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 9999\r\n\r\nv=0\r\n",
    # RFC 4475 3.1.2.14: unknown SIP version
    b"OPTIONS sip:t@127.0.0.1 SIP/7.0\r\nVia: SIP/7.0/UDP 127.0.0.1:9;branch=z9hG4bKx2\r\n"
    b"From: <sip:a@b>;tag=2\r\nTo: <sip:t@127.0.0.1>\r\nCall-ID: t2\r\nCSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n\r\n",
]


async def torture(server: Server) -> None:
    """Send each torture message from a fresh socket: the answers are 400/505 or nothing."""
    loop = asyncio.get_running_loop()
    dest = server.pjsip.address()
    answers: list[bytes] = []
    for data in TORTURE:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            s.sendto(data, dest)
            try:
                answers.append(await asyncio.wait_for(loop.sock_recv(s, 4096), 0.3))
            except TimeoutError:
                answers.append(b"")
    assert answers[0] == b"" and answers[1] == b""
    assert answers[2].startswith(b"SIP/2.0 400 ")
    assert answers[3].startswith(b"SIP/2.0 505 ")


@pytest.mark.skipif(not (PCAPS / "g711a.pcap").exists(), reason="SIPp pcap files missing")
async def test_sipp_calls_into_stasis_with_auth_rtp_and_dtmf(
    sip_server: Server, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with http.ws_connect("/ari/events?app=hello") as ws:
        events = Events(ws)
        sipp = asyncio.ensure_future(run_sipp(*uac_args(sip_server, tmp_path, hold_ms=1500)))
        start = await events.wait("StasisStart", timeout=15)
        chan = start["channel"]
        assert chan["name"].startswith("PJSIP/2222-")
        assert chan["dialplan"]["exten"] == "1000"
        assert chan["dialplan"]["context"] == "ARI-test"
        assert chan["caller"]["number"] == "2222"
        chan_id = chan["id"]
        # garbage and malformed requests on the SIP port during the call: 400 or dropped
        await torture(sip_server)
        # the app answers, records what the phone sends (SIPp plays g711a.pcap for 4 s),
        # then plays to the phone (ARI runs the two one after the other)
        resp = await http.post(f"/ari/channels/{chan_id}/answer")
        assert resp.status == 204
        resp = await http.post(
            f"/ari/channels/{chan_id}/record",
            params={
                "name": "sipp-call",
                "format": "wav",
                "ifExists": "overwrite",
                "maxDurationSeconds": "2",
            },
        )
        assert resp.status == 201, await resp.text()
        resp = await http.post(
            f"/ari/channels/{chan_id}/play", params={"media": "sound:hello-world"}
        )
        assert resp.status == 201, await resp.text()
        finished = await events.wait("RecordingFinished", timeout=10)
        assert finished["recording"]["name"] == "sipp-call"
        await events.wait("PlaybackFinished", timeout=10)
        stats = await http.get(f"/ari/channels/{chan_id}/rtp_statistics")
        assert stats.status == 200
        body = await stats.json()
        assert body["rxcount"] > 50
        assert body["txcount"] > 20
        assert body["channel_uniqueid"] == chan_id
        dtmf = await events.wait("ChannelDtmfReceived", timeout=15)
        assert dtmf["digit"] == "1"
        assert dtmf["channel"]["id"] == chan_id
        end = await events.wait("StasisEnd", timeout=20)
        assert end["channel"]["id"] == chan_id
        code, out = await sipp
        assert code == 0, out
        events.task.cancel()
    path = sip_server.config.asterisk.astspooldir / "recording" / "sipp-call.wav"
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
    # the recording holds the phone's audio (not only silence)
    assert len(frames) > 8000
    assert any(b != 0 for b in frames[::97])


async def test_sipp_wrong_password_never_gets_in(sip_server: Server, tmp_path: Path) -> None:
    args = uac_args(sip_server, tmp_path, hold_ms=100, password="wrong")
    code, _out = await run_sipp(*args, "-recv_timeout", "3000")
    assert code != 0
    assert not [c for c in sip_server.core.channels.values() if c.name.startswith("PJSIP/")]
