"""A conference: every call entering the app joins one mixing bridge.

Dialplan::

    [conference]
    exten => 300,1,Stasis(conference)

Everyone hears everyone else (not themselves).  The bridge is created for
the first caller and destroyed when the last one leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from pyari.client import AriClient, AriHttpError, Bridge, StasisEnd, StasisStart, connect

APP = "conference"


class Conference:
    def __init__(self, client: AriClient) -> None:
        self.client = client
        self.bridge: Bridge | None = None
        self.members: set[str] = set()
        self.lock = asyncio.Lock()
        client.on("StasisStart", self.join)
        client.on("StasisEnd", self.leave)

    async def join(self, event: StasisStart) -> None:
        channel = event.channel
        await channel.answer()
        async with self.lock:
            if self.bridge is None:
                self.bridge = await self.client.bridges.create(type="mixing", name=APP)
            self.members.add(channel.id)
            await self.bridge.add_channel(channel)

    async def leave(self, event: StasisEnd) -> None:
        async with self.lock:
            self.members.discard(event.channel.id)
            if not self.members and self.bridge is not None:
                bridge, self.bridge = self.bridge, None
                with contextlib.suppress(AriHttpError):
                    await bridge.destroy()


async def main(url: str, user: str, password: str) -> None:
    """Run the conference until cancelled."""
    async with connect(url, user, password, apps=APP) as client:
        Conference(client)
        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A conference on pyari.client")
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    asyncio.run(main(args.url, args.user, args.password))
