"""Memory benchmark: RSS idle, with channels held in Stasis, and after."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.server import ServerProcess, basic_auth, rss_kib


async def _originate(http: aiohttp.ClientSession, sem: asyncio.Semaphore) -> None:
    async with sem:
        params = {"endpoint": "Local/1000@ARI-test", "app": "hello"}
        async with http.post("/ari/channels", params=params) as r:
            assert r.status == 200


async def measure(srv: ServerProcess, counts: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    headers = {"Authorization": basic_auth("testARI", "Sup3rM3ga$tr0ng")}
    idle = rss_kib(srv.pid)
    rows.append({"what": "idle", "rss_kib": idle})
    for count in counts:
        async with aiohttp.ClientSession(srv.url, headers=headers) as http:
            ws = await http.ws_connect("/ari/events?app=hello")
            sem = asyncio.Semaphore(16)
            await asyncio.gather(*(_originate(http, sem) for _ in range(count)))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                async with http.get("/ari/channels") as r:
                    chans = await r.json()
                if len(chans) >= 2 * count and all(
                    c["dialplan"]["app_name"] == "Stasis" for c in chans
                ):
                    break
                await asyncio.sleep(0.2)
            held = rss_kib(srv.pid)
            rows.append(
                {
                    "what": f"{len(chans)} channels in Stasis",
                    "rss_kib": held,
                    "per_channel_kib": round((held - idle) / max(len(chans), 1), 1),
                }
            )
            for chan in chans:
                async with http.delete(f"/ari/channels/{chan['id']}") as r:
                    await r.read()
            while True:
                async with http.get("/ari/channels") as r:
                    if not await r.json():
                        break
                await asyncio.sleep(0.1)
            await ws.close()
        await asyncio.sleep(1)
        rows.append({"what": f"after {count} calls gone", "rss_kib": rss_kib(srv.pid)})
    return rows


def main() -> None:
    with ServerProcess() as srv:
        time.sleep(0.5)
        for row in asyncio.run(measure(srv, [100, 500])):
            print(row)


if __name__ == "__main__":
    main()
