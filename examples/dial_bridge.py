"""Two-party calls: the caller enters the app, which dials the callee and
bridges both once the callee answers; either hanging up ends the call.

Dialplan::

    [dial]
    exten => 200,1,Stasis(dial,Sim/bob)     ; the endpoint to call

The caller hears ringing until the callee answers; if the callee does not
answer (busy, no answer in ``DIAL_TIMEOUT``), the caller is hung up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass

from pyari.client import (
    AriClient,
    AriHttpError,
    Bridge,
    Channel,
    ChannelDestroyed,
    StasisEnd,
    StasisStart,
    connect,
)

APP = "dial"
DEFAULT_ENDPOINT = "Sim/bob"
DIAL_TIMEOUT = 30
DIALED = "dialed"


@dataclass
class Call:
    caller: Channel
    callee_id: str
    bridge: Bridge | None = None
    ended: bool = False


class DialBridge:
    """The app's state: calls by the ids of both their channels."""

    def __init__(self, client: AriClient) -> None:
        self.client = client
        self.calls: dict[str, Call] = {}
        client.on("StasisStart", self.on_start)
        client.on("StasisEnd", self.on_end)
        client.on("ChannelDestroyed", self.on_end)

    async def on_start(self, event: StasisStart) -> None:
        if event.args[:1] == [DIALED]:
            await self.callee_answered(event.channel)
        else:
            await self.dial(event.channel, event.args[0] if event.args else DEFAULT_ENDPOINT)

    async def dial(self, caller: Channel, endpoint: str) -> None:
        await caller.ring()
        callee = await self.client.channels.originate(
            endpoint,
            app=APP,
            app_args=DIALED,
            caller_id=caller.caller.number or None,
            timeout=DIAL_TIMEOUT,
        )
        call = Call(caller, callee.id)
        self.calls[caller.id] = self.calls[callee.id] = call

    async def callee_answered(self, callee: Channel) -> None:
        call = self.calls.get(callee.id)
        if call is None or call.ended:
            await callee.hangup()
            return
        await call.caller.answer()
        call.bridge = await self.client.bridges.create(type="mixing")
        await call.bridge.add_channel([call.caller.id, callee.id])

    async def on_end(self, event: StasisEnd | ChannelDestroyed) -> None:
        call = self.calls.get(event.channel.id)
        if call is None or call.ended:
            return
        call.ended = True
        self.calls.pop(call.caller.id, None)
        self.calls.pop(call.callee_id, None)
        for other in (call.caller.id, call.callee_id):
            if other != event.channel.id:
                with contextlib.suppress(AriHttpError):  # gone already: 404
                    await self.client.channels.hangup(other)
        if call.bridge is not None:
            with contextlib.suppress(AriHttpError):
                await call.bridge.destroy()


async def main(url: str, user: str, password: str) -> None:
    """Run the app until cancelled."""
    async with connect(url, user, password, apps=APP) as client:
        DialBridge(client)
        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Dial and bridge on pyari.client")
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    asyncio.run(main(args.url, args.user, args.password))
