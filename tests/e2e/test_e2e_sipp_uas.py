"""SIPp as the called party (UAS) of an ARI originate: an endpoint of pjsip.conf whose
AOR has a static contact pointing at SIPp (``sipp -sn uas -rtp_echo``). The originated
channel enters Stasis when SIPp answers; RTP flows both ways (SIPp echoes what it gets);
the app hangs up and SIPp receives the BYE (its scenario ends with BYE → 200)."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

import pyari.config
from conftest import auth_headers, make_server, wait_for
from pyari.server import Server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed"),
]

DEFAULTS = Path(pyari.config.__file__).parent / "defaults"


def free_udp_port(even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not even or (port % 2 == 0 and port < 65000):
            return port


@pytest.fixture
def sipp_port() -> int:
    return free_udp_port()


@pytest.fixture
async def uas_server(tmp_path: Path, sipp_port: int) -> AsyncIterator[Server]:
    conf = tmp_path / "etc"
    shutil.copytree(DEFAULTS, conf)
    with (conf / "pjsip.conf").open("a") as f:
        f.write(
            "\n[sipp-uas]\ntype = endpoint\ncontext = default\ndisallow = all\nallow = ulaw\n"
            "aors = sipp-uas\ndirect_media = no\n\n"
            f"[sipp-uas]\ntype = aor\ncontact = sip:uas@127.0.0.1:{sipp_port}\n"
        )
    srv = make_server(conf)
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def test_originate_to_sipp_uas_answer_media_and_bye(
    uas_server: Server, sipp_port: int, tmp_path: Path
) -> None:
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", str(sipp_port), "-m", "1",
        "-rtp_echo", "-mp", str(free_udp_port(even=True)), "-cp", str(free_udp_port()),
        "-nostdin", "-timeout", "25s", "-trace_msg", "-message_file", str(tmp_path / "msg.log"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{uas_server.http_port}"
        async with aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http:
            # the static contact makes the endpoint reachable
            async with http.get("/ari/endpoints/PJSIP/sipp-uas") as r:
                assert r.status == 200
                assert (await r.json())["state"] == "online"
            async with http.ws_connect("/ari/events?app=out") as ws:
                # SIPp needs a moment to bind its port before the INVITE arrives; the
                # INVITE is retransmitted (Timer A) meanwhile, so no wait is needed
                r = await http.post(
                    "/ari/channels",
                    params={"endpoint": "PJSIP/sipp-uas", "app": "out", "callerId": "Bot <999>"},
                )
                assert r.status == 200, await r.text()
                chan_id = (await r.json())["id"]
                start = await _next(ws, "StasisStart")
                assert start["channel"]["id"] == chan_id
                assert start["channel"]["state"] == "Up"
                assert start["channel"]["name"].startswith("PJSIP/sipp-uas-")
                r = await http.post(f"/ari/channels/{chan_id}/answer")
                assert r.status == 204
                r = await http.post(
                    f"/ari/channels/{chan_id}/play", params={"media": "sound:hello-world"}
                )
                assert r.status == 201

                async def echoed() -> bool:
                    async with http.get(f"/ari/channels/{chan_id}/rtp_statistics") as s:
                        body = await s.json()
                    return int(body["txcount"]) > 20 and int(body["rxcount"]) > 20

                async def media_flows() -> None:
                    while not await echoed():
                        await asyncio.sleep(0.05)

                await asyncio.wait_for(media_flows(), 10)
                r = await http.delete(f"/ari/channels/{chan_id}")
                assert r.status == 204
                end = await _next(ws, "StasisEnd")
                assert end["channel"]["id"] == chan_id
        out, _ = await asyncio.wait_for(sipp.communicate(), 20)
        # SIPp's uas scenario ends with: receive BYE, send 200 — exit 0 is a full call
        assert sipp.returncode == 0, out.decode(errors="replace")
        log = (tmp_path / "msg.log").read_text(errors="replace")
        assert "BYE sip:" in log
        assert "SIP/2.0 200 OK" in log
    finally:
        if sipp.returncode is None:
            sipp.kill()
            await sipp.wait()
    await wait_for(lambda: not uas_server.core.channels)


async def _next(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, object]:
    async def read() -> dict[str, object]:
        while True:
            msg = await ws.receive_json()
            if msg["type"] == kind:
                return msg  # type: ignore[no-any-return]

    return await asyncio.wait_for(read(), 15)
