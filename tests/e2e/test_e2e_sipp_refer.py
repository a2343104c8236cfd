"""SIPp sends a blind-transfer REFER with ``Refer-Sub: false`` (RFC 4488) in an
established call (scenario ``sipp/uac_refer_nosub.xml``).

The ARI app bridges SIPp's channel with a Local channel, then sends a digit, which the
endpoint (``dtmf_mode=info``) sends as SIP INFO: SIPp's cue that the bridge is ready. The
REFER must be answered 200 with ``Refer-Sub: false`` and no NOTIFY may follow (SIPp fails
the call on any unexpected message). By default the transfer is carried out
(BridgeBlindTransfer, the transferee leaves the bridge for the dialplan); with
``transfer_handling=ari-only`` the app gets a ChannelTransfer instead.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from conftest import auth_headers, make_server
from e2e.test_e2e_sipp import Events, free_port, run_sipp, scenario
from pyari.server import Server
from sip.test_sip_tcp_out import config_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) not installed"),
]


@pytest.fixture(params=["blind", "ari-only"])
async def refer_server(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Server]:
    extra = "dtmf_mode = info"
    if request.param == "ari-only":
        extra += "\ntransfer_handling = ari-only"
    srv = make_server(config_dir(tmp_path, "", endpoint_extra=extra))
    await srv.start(control_socket=False)
    try:
        yield srv
    finally:
        await srv.stop()


async def test_sipp_refer_with_refer_sub_false(refer_server: Server, tmp_path: Path) -> None:
    server = refer_server
    ari_only = server.pjsip.settings.endpoints["2222"].transfer_handling == "ari-only"
    host, port = server.pjsip.address()
    args = [
        f"{host}:{port}",
        "-sf", str(scenario(tmp_path, "uac_refer_nosub.xml")),
        "-s", "1000",
        "-i", "127.0.0.1",
        "-p", str(free_port()),
        "-mp", str(free_port(even=True)),
        "-m", "1",
        "-timeout", "25s",
        "-error_file", str(tmp_path / "sipp-errors.log"),
    ]  # fmt: skip
    base = f"http://127.0.0.1:{server.http_port}"
    async with (
        aiohttp.ClientSession(base_url=base, headers=auth_headers()) as http,
        http.ws_connect("/ari/events?app=hello") as ws,
    ):
        events = Events(ws)
        sipp = asyncio.ensure_future(run_sipp(*args))
        start = await events.wait("StasisStart", timeout=15)
        phone_chan = start["channel"]["id"]
        assert start["channel"]["name"].startswith("PJSIP/2222-")
        r = await http.post("/ari/channels", params={"endpoint": "Local/s@default", "app": "hello",
                                                     "channelId": "transferee"})  # fmt: skip
        assert r.status == 200
        await events.wait("StasisStart", 2)
        r = await http.post("/ari/bridges", params={"type": "mixing", "bridgeId": "b1"})
        assert r.status == 200
        r = await http.post("/ari/bridges/b1/addChannel",
                            params={"channel": f"{phone_chan},transferee"})  # fmt: skip
        assert r.status == 204
        await events.wait("ChannelEnteredBridge", 2)
        # the cue: SIPp sends its REFER once this INFO arrives
        r = await http.post(f"/ari/channels/{phone_chan}/dtmf", params={"dtmf": "1"})
        assert r.status == 204
        if ari_only:
            transfer = await events.wait("ChannelTransfer")
            assert transfer["refer_to"]["requested_destination"]["destination"] == "1000"
            assert transfer["referred_by"]["source_channel"]["id"] == phone_chan
            assert transfer["referred_by"]["connected_channel"]["id"] == "transferee"
            assert not events.of("BridgeBlindTransfer")
        else:
            blind = await events.wait("BridgeBlindTransfer")
            assert blind["channel"]["id"] == phone_chan
            assert blind["transferee"]["id"] == "transferee"
            assert (blind["exten"], blind["context"], blind["result"]) == (
                "1000", "ARI-test", "Success"
            )  # fmt: skip
            left = await events.wait("ChannelLeftBridge")
            assert left["channel"]["id"] == "transferee"
            assert not events.of("ChannelTransfer")
        end = await events.wait("StasisEnd", timeout=15)
        assert end["channel"]["id"] in (phone_chan, "transferee")
        code, out = await sipp
        assert code == 0, out + (tmp_path / "sipp-errors.log").read_text(errors="replace")
        events.task.cancel()
