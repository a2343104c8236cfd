"""Memory benchmark: RSS idle, with channels held in Stasis, and after.

Two idle figures: just started, and after a warm-up of calls large enough for
the server to give memory back (:data:`WARMUP_CALLS`, both halves of each call
count).  The first release also trims what start-up left in the heap, so the
just-started figure holds memory that any first load gives back; the warm
figure is the one the later figures compare with ("per channel", "back to
idle").  The server's environment is this process's: ``PYTHONMALLOC=malloc
python -m bench.memory`` measures it with glibc's allocator.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.server import ServerProcess, basic_auth, rss_kib

WARMUP_CALLS = 40
"""80 channels: above the server's threshold for giving memory back (64)."""
SETTLE = 1.0
"""Seconds after the load is gone (the server gives memory back after 0.5 s)."""


async def _originate(http: aiohttp.ClientSession, sem: asyncio.Semaphore) -> None:
    async with sem:
        params = {"endpoint": "Local/1000@ARI-test", "app": "hello"}
        async with http.post("/ari/channels", params=params) as r:
            assert r.status == 200


async def _cycle(srv: ServerProcess, count: int) -> tuple[int, int, int]:
    """Hold ``count`` calls in Stasis, hang them up: (channels, RSS held, RSS after) in KiB."""
    headers = {"Authorization": basic_auth("testARI", "Sup3rM3ga$tr0ng")}
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
        for chan in chans:
            async with http.delete(f"/ari/channels/{chan['id']}") as r:
                await r.read()
        while True:
            async with http.get("/ari/channels") as r:
                if not await r.json():
                    break
            await asyncio.sleep(0.1)
        await ws.close()
    await asyncio.sleep(SETTLE)
    return len(chans), held, rss_kib(srv.pid)


async def measure(srv: ServerProcess, counts: list[int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"what": "idle, just started", "rss_kib": rss_kib(srv.pid)}]
    _, _, idle = await _cycle(srv, WARMUP_CALLS)
    rows.append({"what": f"idle after a warm-up of {WARMUP_CALLS} calls", "rss_kib": idle})
    for count in counts:
        chans, held, after = await _cycle(srv, count)
        rows.append(
            {
                "what": f"{chans} channels in Stasis",
                "rss_kib": held,
                "per_channel_kib": round((held - idle) / max(chans, 1), 1),
            }
        )
        rows.append({"what": f"after {count} calls gone", "rss_kib": after})
    return rows


def main() -> None:
    with ServerProcess() as srv:
        time.sleep(0.5)
        for row in asyncio.run(measure(srv, [100, 500])):
            print(row)


if __name__ == "__main__":
    main()
