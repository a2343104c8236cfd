"""The walkthrough's first app: print ``start`` and ``stop`` as calls enter
and leave the Stasis application ``hello``.

Run pyari (``pyari serve``), then ``python examples/hello.py`` and call
1000 in the ``ARI-test`` context (``pyari -rx "channel originate
Local/1000@ARI-test application Wait 2"``).  The same app written for aioari
runs unchanged with ``from pyari.client import aioari`` (see docs/client.md).
"""

from __future__ import annotations

import argparse
import asyncio

from pyari.client import StasisEnd, StasisStart, connect

APP = "hello"


async def main(url: str, user: str, password: str) -> None:
    """Run the app until cancelled."""
    async with connect(url, user, password, apps=APP) as client:

        @client.on("StasisStart")
        def stasis_start(event: StasisStart) -> None:
            print("start", flush=True)

        @client.on("StasisEnd")
        def stasis_end(event: StasisEnd) -> None:
            print("stop", flush=True)

        await client.run_forever()


def cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8088")
    parser.add_argument("--user", default="testARI")
    parser.add_argument("--password", default="Sup3rM3ga$tr0ng")
    return parser.parse_args()


if __name__ == "__main__":
    args = cli()
    asyncio.run(main(args.url, args.user, args.password))
