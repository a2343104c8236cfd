"""``bench.sip_calls --url/--sip`` measures a server it did not start (issue #16: the
same SIPp scenarios against Asterisk or any ARI server). Here the external server is a
pyari started by the test on loopback with the configuration ``--print-config`` gives;
a few calls of each part, bounded in time."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed"),
]


def _bench(*args: str, timeout: float = 150) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sip_calls", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_print_config_is_the_configuration_of_the_benchmark() -> None:
    out = _bench("--print-config", "--sip", "127.0.0.1:5099", "--uas-port", "5111",
                 "--probe-port", "5113", "--pair-port", "5115")  # fmt: skip
    assert "bind = 127.0.0.1:5099" in out
    assert "contact = sip:uas@127.0.0.1:5111" in out
    assert "contact = sip:probe@127.0.0.1:5113" in out
    assert "contact = sip:pair@127.0.0.1:5115" in out
    assert "exten => 100,1,Stasis(bench,setup)" in out


def test_an_external_server_is_measured_without_starting_one() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from bench.server import ServerProcess
        from bench.sip_calls import configure, free_udp_port
    finally:
        sys.path.remove(str(ROOT))
    sip, uas, probe, pair = free_udp_port(), free_udp_port(), free_udp_port(), free_udp_port()
    with ServerProcess(configure=configure(sip, uas, probe, pair)) as srv:
        out = _bench(
            "--url", srv.url, "--sip", f"127.0.0.1:{sip}", "--pid", str(srv.pid),
            "--uas-port", str(uas), "--probe-port", str(probe), "--pair-port", str(pair),
            "--setup-calls", "20", "--rates", "20", "--bridged", "4", "--bridge-rate", "4",
            "--hold", "4",
        )  # fmt: skip
    assert f"SIP benchmark of {srv.url}" in out
    assert f"External server: ARI {srv.url}, SIP 127.0.0.1:{sip}" in out
    setup = re.search(r"\(a\) set-ups into Stasis, SIPp -r 20, 20 calls .*", out)
    assert setup is not None and "20 ok, 0 failed" in setup.group(0), out
    assert re.search(r"[0-9.]+ ms CPU per call", setup.group(0)), out
    assert re.search(r"INVITE→200 p50 [0-9.]+ ms, p99 [0-9.]+ ms", setup.group(0)), out
    bridged = re.search(r"\(b\) 4 bridged G.711 calls .*", out)
    assert bridged is not None and "4 up together" in bridged.group(0), out
    assert "4 completed, 0 failed" in bridged.group(0), out
    pairs = re.search(
        r"\(e\) added jitter through the bridge \(2 more bridged pairs, ([0-9]+) .*", out
    )
    assert pairs is not None and int(pairs.group(1)) > 0, out
