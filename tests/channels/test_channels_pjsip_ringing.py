"""An inbound PJSIP channel follows its state only while it can ring: Ringing sends 180
before the answer; once the call is answered the channel's topic no longer calls the
technology (issue #16 goal 1: five messages fewer to deliver per call set-up), and a
Ringing state after it sends nothing, as before."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
try:
    from bench.ari_setup_cpu import request
    from bench.pjsip_setup_cpu import INVITE, PHONE, bench_config, sip_text, started
finally:
    sys.path.remove(str(ROOT))

from pyari.channels.pjsip import PjsipPvt  # noqa: E402
from pyari.core.channel import Channel  # noqa: E402
from pyari.core.tech import pvt_of  # noqa: E402


async def test_ringing_sends_180_until_the_answer() -> None:
    folder = bench_config()
    try:
        bench, stop = await started(folder)
        try:
            bench.feed(sip_text(INVITE, 1), PHONE)
            chan: Channel = next(reversed(bench.srv.pjsip.ua.calls.values())).data  # type: ignore[assignment]
            await bench.settle(lambda: chan.control is not None)
            pvt = pvt_of(chan, PjsipPvt)
            following = pvt.subscription
            assert following is not None and following in chan.topic.subscribers
            bench.conn.data_received(request("POST", f"/ari/channels/{chan.id}/ring"))
            ringing = await bench.sent(b"SIP/2.0 180")
            assert b"CSeq: 1 INVITE" in ringing
            chan.answer()  # (ARI refuses to answer a Ringing channel: 412)
            await bench.sent(b"SIP/2.0 200")
            assert pvt.subscription is None and following not in chan.topic.subscribers
            sent = len(bench.udp.sent)
            chan.set_state("Ringing")  # (as the dialplan's Ringing() would)
            for _ in range(5):
                await asyncio.sleep(0)
            assert len(bench.udp.sent) == sent
            bench.conn.data_received(request("DELETE", f"/ari/channels/{chan.id}"))
            await bench.sent(b"BYE ")
        finally:
            await stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
