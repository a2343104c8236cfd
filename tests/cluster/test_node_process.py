"""A node as a real ``pyari serve`` process: killed, it is lost within node_timeout and its
records are forgotten; started again, it joins without a restart of the others."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from cluster.conftest import WAIT, NodeFactory, free_port, node_config_dir
from conftest import auth_headers, wait_for

PYARI = str(Path(sys.executable).parent / "pyari")

pytestmark = pytest.mark.slow


def _start(conf: Path, state: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYARI_")}
    env["PYARI_STATE_DIR"] = str(state)
    return subprocess.Popen(
        [PYARI, "-C", str(conf), "serve", "--no-sip"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


async def test_a_killed_node_process_is_lost_and_comes_back(
    nodes: NodeFactory, tmp_path: Path
) -> None:
    (n1,) = await nodes(1)
    c1 = n1.cluster
    assert c1 is not None
    lost: list[tuple[str, float]] = []
    c1.on_lost(lambda node: lost.append((node, time.monotonic())))
    port = free_port()
    http = f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {port}\n"  # its own port
    conf = node_config_dir(
        tmp_path, "p1", nodes.nats_url, cluster=nodes.cluster, files={"http.conf": http}
    )
    log = tmp_path / "p1.log"
    proc = _start(conf, tmp_path / "p1-state", log)
    try:
        table = c1.nodes.table
        await wait_for(lambda: ("p1" in table and table["p1"].http) or proc.poll() is not None, 20)
        assert proc.poll() is None, log.read_text()
        assert table["p1"].http == f"127.0.0.1:{port}"  # announced once bound
        async with aiohttp.ClientSession(headers=auth_headers()) as session:
            url = f"http://127.0.0.1:{port}/ari/bridges"
            async with session.post(url, params={"bridgeId": "proc-br"}) as r:
                assert r.status == 200, await r.text()
        await wait_for(lambda: c1.owner("bridge", "proc-br") == "p1", WAIT)

        proc.send_signal(signal.SIGKILL)  # no goodbye: its key stays until it expires
        killed = time.monotonic()
        await wait_for(lambda: bool(lost), WAIT)
        assert lost[0][0] == "p1"
        assert lost[0][1] - killed < 1.0 + 0.5  # node_timeout, a check interval, slack
        assert c1.alive() == ["n1"] and c1.owner("bridge", "proc-br") is None
        # n1, the leader, forgot p1's records
        await wait_for(lambda: ("bridge", "proc-br") not in c1.owners.mirror, WAIT)

        proc = _start(conf, tmp_path / "p1-state", log)  # it comes back
        await wait_for(lambda: "p1" in c1.alive() or proc.poll() is not None, 20)
        assert proc.poll() is None, log.read_text()
        await wait_for(lambda: log.read_text().count(" ready.") == 2, 20)
        assert len(lost) == 1 and c1.alive() == ["n1", "p1"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # (waited for without blocking n1's loop)
            try:
                await wait_for(lambda: proc.poll() is not None, 10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
    # stopped cleanly: it leaves at once, and is not "lost"
    await wait_for(lambda: c1.alive() == ["n1"], WAIT)
    assert len(lost) == 1, log.read_text()
