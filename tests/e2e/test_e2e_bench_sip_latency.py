"""INVITE → 200 OK at µs resolution in the SIP benchmarks (issue #16 goal 1): SIPp's
short message log parsed by Call-ID, the kernel's stamps of the packets on ``lo`` (as
root), and ``bench.sip_setup_cpu --max-rate``'s steps."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
try:
    from bench.sip_calls import (
        SipCapture,
        _http_marks,
        _split_calls,
        free_udp_port,
        invite_to_200_us,
        latency_text,
    )
finally:
    sys.path.remove(str(ROOT))

SHORT_LOG = """\
2026-12-07\t21:43:51.153873\t1796679831.153873\tS\t1-9@h\tCSeq:1 INVITE\tINVITE sip:100@h SIP/2.0
2026-12-07\t21:43:51.154784\t1796679831.154784\tR\t1-9@h\tCSeq:1 INVITE\tSIP/2.0 100 Trying
2026-12-07\t21:43:51.206294\t1796679831.206294\tS\t2-9@h\tCSeq:1 INVITE\tINVITE sip:100@h SIP/2.0
2026-12-07\t21:43:51.219654\t1796679831.219654\tR\t1-9@h\tCSeq:1 INVITE\tSIP/2.0 200 OK
2026-12-07\t21:43:51.219806\t1796679831.219806\tS\t1-9@h\tCSeq:1 ACK\tACK sip:100@h SIP/2.0
2026-12-07\t21:43:51.221790\t1796679831.221790\tR\t1-9@h\tCSeq:42 BYE\tBYE sip:sipp@h SIP/2.0
2026-12-07\t21:43:51.221810\t1796679831.221810\tS\t1-9@h\tCSeq:42 BYE\tSIP/2.0 200 OK
2026-12-07\t21:43:51.706294\t1796679831.706294\tS\t2-9@h\tCSeq:1 INVITE\tINVITE sip:100@h SIP/2.0
2026-12-07\t21:43:51.706500\t1796679831.706500\tR\t2-9@h\tCSeq:1 INVITE\tSIP/2.0 200 OK
2026-12-07\t21:43:51.706600\t1796679831.706600\tR\t2-9@h\tCSeq:1 INVITE\tSIP/2.0 200 OK
2026-12-07\t21:43:51.800000\t1796679831.800000\tS\t3-9@h\tCSeq:1 INVITE\tINVITE sip:100@h SIP/2.0
"""


def test_invite_to_200_is_read_by_call_id_from_the_first_invite_sent() -> None:
    # call 1: 65.781 ms; call 2: from its first INVITE (the retransmission at .706294 is
    # not a new start), its retransmitted 200 not counted twice; call 3 never answered
    assert invite_to_200_us(SHORT_LOG.splitlines(keepends=True)) == [65781.0, 500206.0]


def test_latency_text_has_a_hundredth_of_a_millisecond() -> None:
    assert latency_text([930.0, 1000.0, 2770.0]) == "INVITE→200 p50 1.00 ms, p99 2.77 ms"
    assert latency_text([]).startswith("INVITE→200 n/a")


def _packet_socket_allowed() -> bool:
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
    except (OSError, AttributeError):
        return False
    return True


@pytest.mark.skipif(not _packet_socket_allowed(), reason="needs CAP_NET_RAW")
def test_the_capture_stamps_an_invite_and_its_200_on_loopback(tmp_path: Path) -> None:
    port = free_udp_port()

    def message(first: str, call_id: str, cseq: str) -> bytes:
        return (f"{first}\r\nVia: SIP/2.0/UDP 127.0.0.1\r\nCall-ID: {call_id}\r\n"
                f"CSeq: {cseq}\r\nContent-Length: 0\r\n\r\n").encode()  # fmt: skip

    async def run() -> list[float]:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other,
        ):
            server.bind(("127.0.0.1", port))
            async with SipCapture(port, tmp_path) as capture:
                assert capture.available
                other.sendto(
                    message("INVITE sip:1@x SIP/2.0", "c1", "1 INVITE"), server.getsockname()
                )
                other.sendto(
                    message("OPTIONS sip:1@x SIP/2.0", "c1", "2 OPTIONS"), server.getsockname()
                )
                server.sendto(message("SIP/2.0 100 Trying", "c1", "1 INVITE"), other.getsockname())
                server.sendto(message("SIP/2.0 200 OK", "c2", "1 INVITE"), other.getsockname())
                server.sendto(message("SIP/2.0 200 OK", "c1", "1 INVITE"), other.getsockname())
                other.sendto(message("INVITE sip:1@x SIP/2.0", "c3", "1 INVITE"), ("127.0.0.1", 9))
            return capture.setup_us()

    values = asyncio.run(run())
    assert len(values) == 1 and 0 < values[0] < 1_000_000, values


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")
def test_max_rate_steps_print_cpu_and_latency_and_the_highest_rate() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sip_setup_cpu", "--max-rate", "--steps", "10", "20",
         "--step-seconds", "2", "--split"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    step = re.search(
        r"step 10/s: 20/20 set-ups, 0 failed, [0-9]+/s achieved, [0-9.]+ ms CPU per set-up, "
        r"INVITE→200 p50 [0-9.]+ ms, p99 [0-9.]+ ms",
        out,
    )
    assert step is not None, out
    # --split: each step's INVITE → 200 in three parts, from the kernel's stamps (as root)
    split = re.search(
        r"split p50 \(kernel stamps, 20 calls\): INVITE→StasisStart [0-9.]+ ms \(server\), "
        r"StasisStart→answer request [0-9.]+ ms \(app\), answer request→200 [0-9.]+ ms "
        r"\(server\)",
        out,
    )
    if os.geteuid() == 0:
        assert split is not None, out
    else:
        assert split is not None or "split: no call captured whole" in out, out
    assert re.search(r"highest set-up rate with 0 failures \(2 s steps\): ", out), out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp is not installed")
def test_rounds_print_cpu_and_pooled_latency(tmp_path: Path) -> None:
    """A round also gives SIPp's own CPU per set-up (the run's yardstick) and, profiled,
    the server's Python function calls per set-up of the round alone."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.sip_setup_cpu", "--calls", "20", "--rate", "20",
         "--rounds", "1", "--profile", str(tmp_path / "profile.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "server CPU per call set-up over 1 rounds of 20 calls at 20/s" in done.stdout
    assert re.search(r"INVITE→200 p50 [0-9.]+ ms, p99 [0-9.]+ ms over all 20 calls \(",
                     done.stdout), done.stdout  # fmt: skip
    sipp = re.search(r"SIPp \(the load, C\+\+\) CPU per set-up in the same rounds: min "
                     r"([0-9.]+) ms", done.stdout)  # fmt: skip
    assert sipp is not None and 0 < float(sipp[1]) < 50, done.stdout
    calls = re.search(r"Python function calls per set-up \(cProfile\): median (\d+)", done.stdout)
    # a set-up is a few thousand calls; the start-up's hundreds of thousands are not in it
    assert calls is not None and 300 < int(calls[1]) < 20_000, done.stdout
    assert "function calls" in (tmp_path / "profile.txt").read_text()


def test_a_call_is_split_by_its_stasis_start_and_answer_request() -> None:
    """The capture reads StasisStart frames (as pyari or Asterisk pretty-print them) and
    the app's answer requests; the n-th INVITE is the n-th StasisStart's channel, and a
    call whose stamps are not in order is left out."""
    frame = b'\x81~\x02{\n  "type": "StasisStart",\n  "args": [],\n  "channel": {\n    "id": "17.4"'
    assert _http_marks(frame) == [("W", "17.4")]
    assert _http_marks(b"POST /ari/channels/17.4/answer HTTP/1.1\r\n") == [("A", "17.4")]
    assert _http_marks(b"GET /ari/channels HTTP/1.1\r\n") == []
    invites = [(1000, "c1"), (2000, "c2"), (3000, "c3")]
    starts = {"17.4": 1500, "17.5": 2600, "17.6": 2900}  # c3's frame stamped before it
    answers = {"17.4": 1700, "17.5": 2700, "17.6": 3100}
    answered = {"c1": 1900, "c2": 3000, "c3": 3300}
    assert _split_calls(invites, answered, starts, answers) == ([0.5, 0.6], [0.2, 0.1], [0.2, 0.3])
