"""SIP benchmark: SIPp against a pyari process on loopback (bounded in calls and time).

python -m bench.sip_calls [--setup-calls N] [--rate R] [--bridged N] [--hold S]
python -m bench.sip_calls --url http://HOST:8088 --sip HOST:5060 [--pid PID] [--uas-port P]
                          [--probe-port P] [--user U --password W]   # any ARI server
python -m bench.sip_calls --print-config --sip HOST:5060 [--uas-port P] [--probe-port P]

Against an external server (Asterisk, or a pyari started by hand) nothing is started
but SIPp and the probe: the server must carry the pjsip.conf and extensions.conf
sections ``--print-config`` prints (same ports) and an ARI user; ``--pid`` (a process on
this machine) gives the CPU figures, which are "n/a" without it. Everything stays on
the addresses given (loopback in the tests) and every SIPp run is bounded in time.

(a) Call set-ups into an ARI app: SIPp (``bench/sipp/setup_uac.xml``, endpoint ``sipp``
    identified by its From user) calls ``100`` in ``[bench]`` → ``Stasis(bench,setup)``;
    the app here answers on StasisStart and hangs up; SIPp receives the BYE. Measured:
    INVITE → 200 OK of every call at µs resolution (the kernel's stamps of the packets
    on ``lo``: :class:`SipCapture`, as root; and SIPp's short message log:
    :func:`invite_to_200_us`), completed calls/s and server CPU per set-up.
(b) Bridged two-party G.711 calls: SIPp (``bridge_uac.xml``) calls ``200`` and streams
    u-law RTP (rtpstream); the app answers, originates ``PJSIP/uas`` (a static contact:
    a second SIPp, ``-sn uas -rtp_echo``, which echoes every RTP packet) and bridges both
    legs in a mixing bridge. Media flows both ways on both legs. Every 30th call's second
    leg goes to ``PJSIP/probe`` instead: a small UAS here whose RTP socket takes kernel
    receive timestamps (SO_TIMESTAMPNS).
(c) Added RTP jitter: for the probe streams, |Δarrival − Δtimestamp/8000| between
    consecutive packets pyari sends, while every call is up.
(d) CPU per call: the server process's CPU time (utime + stime) over the window when all
    calls are bridged, divided by call-seconds.
(e) Added jitter through the bridge: a few extra bridged pairs ``PJSIP/pair`` ↔
    ``PJSIP/pair`` (a small UAS here) while the calls of (b) are up; a thread here sends
    each leg a packet every 20 ms carrying its send time (CLOCK_REALTIME), the
    timestamping socket gets what the other leg sends on: the variation of the time
    through the server, |Δarrival − Δsent| of consecutive packets (SIPp's own sending
    jitter, which (c) also sees when the server relays on arrival, is left out).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import ctypes
import itertools
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import wave
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.rest import PASSWORD, USER
from bench.server import ServerProcess, basic_auth

SCENARIOS = Path(__file__).resolve().parent / "sipp"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
"""Linux's value; Python's socket module does not export it."""
PROBE_EVERY = 30
"""Every PROBE_EVERY-th bridged call's second leg goes to the probe."""


# --------------------------------------------------------------------------- helpers


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process (NaN without one: an external server given no --pid)."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def prioritize(pid: int) -> str:
    """Run the server at nice -10 (as ``asterisk -p`` runs Asterisk at a real-time
    priority): the load generators and anything else on the machine share its cores."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, -10)
    except OSError:
        return "The server runs at normal priority (no permission to raise it); SIPp at nice 5."
    return "The server runs at nice -10, SIPp at nice 5."


def cpu_mhz() -> float:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":", 1)[1])
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


DIALPLAN = "\n[bench]\nexten => 100,1,Stasis(bench,setup)\nexten => 200,1,Stasis(bench,bridge)\n"
"""The extensions.conf section the benchmark calls into."""


def pjsip_conf(
    sip_port: int,
    uas_port: int,
    probe_port: int,
    host: str = "127.0.0.1",
    pair_port: int | None = None,
) -> str:
    """The pjsip.conf of the benchmark (SIPp's endpoint, the echoing UAS, the probe and,
    with ``pair_port``, the UAS of the pairs of (e))."""
    pairs = (
        f"\n[pair](bench-endpoint)\naors = pair\n\n[pair]\ntype = aor\n"
        f"contact = sip:pair@127.0.0.1:{pair_port}\n"
        if pair_port
        else ""
    )
    return f"""; written by bench/sip_calls.py
[transport-udp]
type = transport
protocol = udp
bind = {host}:{sip_port}

[bench-endpoint](!)
type = endpoint
context = bench
disallow = all
allow = ulaw
direct_media = no
dtmf_mode = rfc4733

[sipp](bench-endpoint)
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes

[uas](bench-endpoint)
aors = uas

[uas]
type = aor
contact = sip:uas@127.0.0.1:{uas_port}

[probe](bench-endpoint)
aors = probe

[probe]
type = aor
contact = sip:probe@127.0.0.1:{probe_port}
{pairs}"""


def configure(sip_port: int, uas_port: int, probe_port: int, pair_port: int | None = None) -> Any:
    def edit(confdir: Path) -> None:
        (confdir / "pjsip.conf").write_text(
            pjsip_conf(sip_port, uas_port, probe_port, pair_port=pair_port)
        )
        with (confdir / "extensions.conf").open("a") as f:
            f.write(DIALPLAN)

    return edit


def write_tone(path: Path, seconds: float = 2.0) -> None:
    """A 440 Hz u-law WAV for SIPp's rtpstream (it skips the header, sends the bytes)."""
    import math

    def ulaw(sample: int) -> int:
        sign = 0x80 if sample < 0 else 0
        sample = min(abs(sample), 32635) + 0x84
        exponent = max(0, sample.bit_length() - 8)
        mantissa = (sample >> (exponent + 3)) & 0x0F
        return ~(sign | (exponent << 4) | mantissa) & 0xFF

    n = int(8000 * seconds)
    data = bytes(ulaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(n))
    with wave.open(str(path), "wb") as w:  # a PCM header; the u-law bytes follow it
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(data)


@dataclass
class SippRun:
    code: int
    output: str
    successful: int
    failed: int
    seconds: float
    rtt_ms: list[float]
    setup_us: list[float] = field(default_factory=list)
    """INVITE → 200 OK of each call in µs by SIPp's log (``run_sipp(..., latency=True)``)."""
    wire_us: list[float] = field(default_factory=list)
    """The same by the kernel's stamps on ``lo`` (``capture_port``; see :class:`SipCapture`)."""
    wire_available: bool = False
    split_us: tuple[list[float], list[float], list[float]] = field(
        default_factory=lambda: ([], [], [])
    )
    """Of each call, µs: INVITE → StasisStart frame, → the app's answer request, → 200 OK
    (:meth:`SipCapture.split_us`; ``capture_http_port``)."""
    retransmissions: int = 0
    """SIPp's retransmissions (its statistics file's last row)."""
    fail_reasons: dict[str, str] = field(default_factory=dict)
    """SIPp's failed calls by kind (``Unexpected-Message``, ``CallTimeout`` …), non-zero."""
    cpu_s: float = 0.0
    """SIPp's own CPU time (user + system, s): a compiled SIP stack's cost on this machine
    in the same run, the yardstick for comparing runs of different days."""

    def split(self) -> str:
        """The p50 of each part of INVITE → 200 OK ("" when not split)."""
        into, app, answer = self.split_us
        if not into:
            return ""
        return (
            f"split p50 (kernel stamps, {len(into)} calls): INVITE→StasisStart "
            f"{pct(into, 0.5) / 1000:.2f} ms (server), StasisStart→answer request "
            f"{pct(app, 0.5) / 1000:.2f} ms (app), answer request→200 "
            f"{pct(answer, 0.5) / 1000:.2f} ms (server)"
        )

    def latency(self) -> str:
        """INVITE → 200 p50 / p99: the kernel's stamps where captured, SIPp's log's too."""
        sipp = latency_text(self.setup_us)
        if not self.wire_available:
            return f"{sipp} (SIPp's log)"
        wire = latency_text(self.wire_us)
        return f"{wire} (kernel stamps on lo; SIPp's log {sipp.removeprefix('INVITE→200 ')})"


def _stamp_us(text: str) -> int:
    """``1796679831.153873`` (SIPp's epoch column) → µs."""
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def invite_to_200_us(lines: Iterable[str]) -> list[float]:
    """INVITE → 200 OK of each call in µs from SIPp's ``-trace_shortmsg`` log (one line
    a message: date, time, epoch seconds with µs, S or R, Call-ID, CSeq, first line): from
    the call's first INVITE sent (a retransmission keeps the first time) to the first
    200 OK received for it, matched by Call-ID. SIPp stamps a message just before its
    ``send`` and just after its ``recv`` (gettimeofday), so this is the time a caller sees,
    SIPp's own loop included, at µs resolution (``-trace_rtt`` has ms)."""
    sent: dict[str, int] = {}
    out: list[float] = []
    for line in lines:
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 7 or parts[3] not in ("S", "R") or not parts[5].endswith("INVITE"):
            continue
        try:
            stamp = _stamp_us(parts[2])
        except ValueError:
            continue
        call_id, first = parts[4], parts[6]
        if parts[3] == "S":
            if first.startswith("INVITE "):
                sent.setdefault(call_id, stamp)
        elif first.startswith("SIP/2.0 200") and call_id in sent:
            out.append(float(stamp - sent.pop(call_id)))
    return out


ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26


def _sip_port_filter(port: int, protocol: int = 17) -> bytes:
    """A classic BPF program for a packet socket on ``lo``: IPv4 UDP (``protocol`` 17; TCP
    is 6) first fragments from or to ``port``, everything else dropped in the kernel."""
    insns = [
        (0x28, 0, 0, 12),  # ldh [12]: ethertype
        (0x15, 0, 9, 0x0800),  # IPv4, else drop
        (0x30, 0, 0, 23),  # ldb [23]: protocol
        (0x15, 0, 7, protocol),  # UDP (or TCP), else drop
        (0x28, 0, 0, 20),  # ldh [20]: flags and fragment offset
        (0x45, 5, 0, 0x1FFF),  # a later fragment: drop
        (0xB1, 0, 0, 14),  # ldxb 4*([14]&0xf): IP header length
        (0x48, 0, 0, 14),  # ldh [x+14]: source port
        (0x15, 3, 0, port),
        (0x48, 0, 0, 16),  # ldh [x+16]: destination port
        (0x15, 1, 0, port),
        (0x06, 0, 0, 0),  # drop
        (0x06, 0, 0, 0x40000),  # keep
    ]
    return b"".join(struct.pack("HBBI", *insn) for insn in insns)


def _packet_socket(port: int, protocol: int) -> socket.socket:
    """A packet socket on ``lo`` keeping what :func:`_sip_port_filter` keeps, stamped."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    code = _sip_port_filter(port, protocol)
    buf = ctypes.create_string_buffer(code)
    prog = struct.pack("HL", len(code) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("lo", 0))
    return sock


_STASIS_START = re.compile(rb'"type":\s*"StasisStart".*?"channel":\s*\{\s*"id":\s*"([^"]+)"', re.S)


def _http_marks(body: bytes) -> list[tuple[str, str]]:
    """``(W, channel id)`` for each StasisStart in a TCP segment from the server (its
    frames read unmasked and uncompressed), ``(A, channel id)`` for the app's ``POST
    /ari/channels/<id>/answer``."""
    if body.startswith(b"POST /ari/channels/"):
        end = body.find(b"/answer", 19, 120)
        return [("A", body[19:end].decode(errors="replace"))] if end > 0 else []
    if b"StasisStart" not in body:
        return []
    return [("W", m.decode(errors="replace")) for m in _STASIS_START.findall(body)]


def capture_main(port: int, out: str, http_port: int = 0) -> None:
    """The capture child of :class:`SipCapture`: stamps each INVITE sent to ``port`` and
    each 200 OK to an INVITE sent from it as the kernel saw it on ``lo`` (SO_TIMESTAMPNS
    on a packet socket), one ``ns<TAB>S|R<TAB>Call-ID`` line each, until SIGTERM (what
    is queued then is still read). With ``http_port`` (the server's ARI port) also each
    StasisStart frame (``W``) and each app's answer request (``A``), by channel id."""
    try:
        socks = [_packet_socket(port, 17)]
        if http_port:
            socks.append(_packet_socket(http_port, 6))
    except OSError as exc:  # no CAP_NET_RAW: the caller falls back to SIPp's log
        print(f"unavailable: {exc}", flush=True)
        return
    stop = False

    def end(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, end)
    print("ready", flush=True)
    with open(out, "w") as f:
        while True:
            ready, _, _ = select.select(socks, [], [], 0.1)
            if not ready:
                if stop:  # asked to end, and nothing more queued for 0.1 s
                    break
                continue
            for sock in ready:
                data, anc, _flags, addr = sock.recvmsg(65536, 64)
                if addr[2] == socket.PACKET_OUTGOING:
                    continue  # lo shows each packet twice: keep the copy received
                stamp = next(
                    (struct.unpack("qq", d[:16]) for lvl, typ, d in anc
                     if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS),
                    None,
                )  # fmt: skip
                if stamp is None:
                    continue
                ns = stamp[0] * 1_000_000_000 + stamp[1]
                ihl = (data[14] & 0x0F) * 4
                if sock is not socks[0]:
                    offset = (data[14 + ihl + 12] >> 4) * 4
                    for kind, key in _http_marks(data[14 + ihl + offset :]):
                        f.write(f"{ns}\t{kind}\t{key}\n")
                    continue
                mark = _sip_mark(data[14 + ihl + 8 :])
                if mark is not None:
                    f.write(f"{ns}\t{mark[0]}\t{mark[1]}\n")


def _sip_mark(body: bytes) -> tuple[str, str] | None:
    """``(S, Call-ID)`` for an INVITE, ``(R, Call-ID)`` for a 200 OK to one; else None."""
    if body.startswith(b"INVITE "):
        kind = "S"
    elif body.startswith(b"SIP/2.0 200"):
        kind = "R"
    else:
        return None
    head = body.split(b"\r\n\r\n", 1)[0].lower()
    cseq = head.find(b"\ncseq:")
    if cseq < 0 or not head[cseq : head.find(b"\r", cseq + 1)].endswith(b"invite"):
        return None
    at = head.find(b"\ncall-id:")
    if at < 0:
        return None
    end_at = head.find(b"\r", at + 1)
    return kind, body[at + 10 : end_at].strip().decode(errors="replace")


class SipCapture:
    """INVITE → 200 OK of each call as the kernel stamps the packets on ``lo`` (a packet
    socket with a BPF filter on the server's SIP port, in a child process so neither
    the ARI app's loop here nor SIPp's scheduling shows in the figure). SIPp's own log
    stamps a message after its ``sendto`` returns and when its loop reads the answer: with
    SIPp at nice 5 on a busy 2-core machine, a SIPp preempted right after sending stamps
    the INVITE late (the server has often answered by then), which reads as 0.05 ms.
    Needs root or CAP_NET_RAW; :attr:`available` is False without (no figure then).

    With ``http_port`` (the server's ARI port; the app's events socket uncompressed) it
    also splits each call (:meth:`split_us`)."""

    def __init__(self, port: int, work: Path, http_port: int = 0) -> None:
        self.port = port
        self.http_port = http_port
        self.path = work / f"capture-{port}.tsv"
        self.proc: asyncio.subprocess.Process | None = None
        self.available = False
        self._split: tuple[list[float], list[float], list[float]] = ([], [], [])

    async def __aenter__(self) -> SipCapture:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c",
            "import sys; from bench.sip_calls import capture_main; "
            "capture_main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))",
            str(self.port), str(self.path), str(self.http_port),
            cwd=Path(__file__).resolve().parents[1], stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 10)
        except TimeoutError:
            line = b""
        self.available = line.strip() == b"ready"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def setup_us(self) -> list[float]:
        """INVITE → 200 OK of each call captured, µs (the file removed; the split of
        each call kept for :meth:`split_us`)."""
        if not self.path.exists():
            return []
        sent: dict[str, int] = {}
        invites: list[tuple[int, str]] = []
        answered: dict[str, int] = {}
        marks: dict[str, dict[str, int]] = {"W": {}, "A": {}}
        out: list[float] = []
        with self.path.open() as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3:
                    continue
                ns, kind, key = int(parts[0]), parts[1], parts[2]
                if kind == "S":
                    if key not in sent and key not in answered:
                        invites.append((ns, key))
                    sent.setdefault(key, ns)
                elif kind == "R":
                    if key in sent:
                        out.append((ns - sent.pop(key)) / 1000)
                    answered.setdefault(key, ns)
                else:
                    marks[kind].setdefault(key, ns)
        self.path.unlink()
        self._split = _split_calls(invites, answered, marks["W"], marks["A"])
        return out

    def split_us(self) -> tuple[list[float], list[float], list[float]]:
        """Of each call whose four packets were seen, µs: INVITE → its StasisStart frame
        (the server), StasisStart → the app's answer request (the app), answer request →
        200 OK (the server). Empty without ``http_port``; read after :meth:`setup_us`."""
        return self._split


def _split_calls(
    invites: list[tuple[int, str]],
    answered: dict[str, int],
    starts: dict[str, int],
    answers: dict[str, int],
) -> tuple[list[float], list[float], list[float]]:
    """:meth:`SipCapture.split_us` from the stamps: calls enter Stasis in the order of
    their INVITEs (the server takes them one by one), so the n-th INVITE's channel is the
    n-th StasisStart's."""
    into, app, answer = [], [], []
    by_time = sorted(starts.items(), key=lambda kv: kv[1])
    for (sent, call_id), (channel, started) in zip(invites, by_time, strict=False):
        asked, ok = answers.get(channel), answered.get(call_id)
        if asked is None or ok is None or not sent <= started <= asked <= ok:
            continue
        into.append((started - sent) / 1000)
        app.append((asked - started) / 1000)
        answer.append((ok - asked) / 1000)
    return into, app, answer


async def run_sipp(
    args: list[str],
    cwd: Path,
    timeout: float,
    name: str = "sipp",
    latency: bool = False,
    capture_port: int | None = None,
    capture_http_port: int = 0,
) -> SippRun:
    """SIPp with ``args`` in ``cwd`` (bounded by ``timeout``); its statistics file read
    and removed. ``latency``: SIPp also writes its short message log (about 130 bytes a
    message, in ``cwd``, removed after), read into :attr:`SippRun.setup_us`; with
    ``capture_port`` (the server's SIP port on loopback) the kernel's stamps too
    (:class:`SipCapture`, :attr:`SippRun.wire_us`), and with ``capture_http_port`` (the
    server's ARI port) the split of each call (:attr:`SippRun.split_us`)."""
    if latency and capture_port is not None:
        async with SipCapture(capture_port, cwd, capture_http_port) as capture:
            run = await run_sipp(args, cwd, timeout, name, latency=True)
        await asyncio.sleep(0)
        run.wire_us = capture.setup_us() if capture.available else []
        run.wire_available = capture.available
        run.split_us = capture.split_us()
        return run
    started = time.monotonic()
    stat = cwd / f"{name}-stat.csv"
    short = cwd / f"{name}-short.log"
    extra = ["-trace_shortmsg", "-shortmessage_file", short.name] if latency else []
    children0 = children_cpu()
    proc = await asyncio.create_subprocess_exec(
        "nice", "-n", "5", "sipp", *args, *extra, "-nostdin", "-trace_stat", "-stf", stat.name,
        "-fd", "1", cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    except BaseException:  # cancelled (the benchmark ends first): never leave SIPp running
        if proc.returncode is None:
            proc.kill()
        raise
    seconds = time.monotonic() - started
    # SIPp has been reaped and is the only child reaped meanwhile (the server and a
    # capture child live on): the children's CPU grew by SIPp's.
    sipp_cpu = children_cpu() - children0
    successful = failed = retrans = 0
    reasons: dict[str, str] = {}
    if stat.exists():
        rows = list(csv.reader(stat.read_text().splitlines(), delimiter=";"))
        if len(rows) >= 2:
            last = dict(zip(rows[0], rows[-1], strict=False))
            successful = int(last.get("SuccessfulCall(C)", 0) or 0)
            failed = int(last.get("FailedCall(C)", 0) or 0)
            reasons = {
                k.removeprefix("Failed").removesuffix("(C)"): v.strip()
                for k, v in last.items()
                if k.startswith("Failed") and k != "FailedCall(C)" and k.endswith("(C)")
                and v.strip() not in ("", "0")
            }  # fmt: skip
            retrans = int(last.get("Retransmissions(C)", 0) or 0)
        stat.unlink()
    rtt: list[float] = []
    for path in cwd.glob(f"*_{proc.pid}_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(";")
            with contextlib.suppress(ValueError, IndexError):
                rtt.append(float(parts[1]))
        path.unlink()
    setup_us: list[float] = []
    if short.exists():
        with short.open(errors="replace") as f:
            setup_us = invite_to_200_us(f)
        short.unlink()
    return SippRun(proc.returncode or 0, out.decode(errors="replace"), successful, failed,
                   seconds, rtt, setup_us, retransmissions=retrans,
                   fail_reasons=reasons, cpu_s=sipp_cpu)  # fmt: skip


def children_cpu() -> float:
    """User + system CPU seconds of this process's reaped children."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def latency_text(us: list[float]) -> str:
    """``INVITE→200 p50 0.93 ms, p99 2.10 ms`` (0.01 ms resolution) of µs values."""
    if not us:
        return "INVITE→200 n/a (no INVITE/200 pairs in SIPp's message log)"
    return f"INVITE→200 p50 {pct(us, 0.5) / 1000:.2f} ms, p99 {pct(us, 0.99) / 1000:.2f} ms"


# --------------------------------------------------------------------------- the ARI app


@dataclass
class Pair:
    inbound: str
    outbound: str = ""
    bridge: str = ""
    bridged_at: float = 0.0


@dataclass
class App:
    """Answers and hangs up ``setup`` calls; dials and bridges ``bridge`` calls."""

    http: aiohttp.ClientSession
    setup_done: int = 0
    setup_times: list[float] = field(default_factory=list)
    pairs: dict[str, Pair] = field(default_factory=dict)
    out_to_in: dict[str, str] = field(default_factory=dict)
    bridged: int = 0
    ended: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    dialed: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    pair_legs: dict[str, list[str]] = field(default_factory=dict)
    pairs_up: int = 0

    async def post(self, path: str, **params: str) -> int:
        async with self.http.post(path, params=params) as r:
            await r.read()
            if r.status >= 300 and len(self.errors) < 5:
                self.errors.append(f"POST {path} {r.status}")
            return r.status

    async def delete(self, path: str) -> None:
        async with self.http.delete(path) as r:
            await r.read()

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def event(self, e: dict[str, Any]) -> None:
        kind = e["type"]
        if kind == "StasisStart":
            chan = e["channel"]["id"]
            args = e.get("args") or []
            role = args[0] if args else ""
            if role == "setup":
                self.spawn(self.setup(chan))
            elif role == "bridge":
                self.spawn(self.inbound(chan))
            elif role == "out" and len(args) > 1:
                self.spawn(self.outbound(chan, args[1]))
            elif role == "pair" and len(args) > 1:
                legs = self.pair_legs.setdefault(args[1], [])
                legs.append(chan)
                if len(legs) == 2:
                    self.spawn(self.pair_bridge(args[1], legs))
        elif kind == "StasisEnd":
            chan = e["channel"]["id"]
            if chan in self.pairs:
                self.spawn(self.end(self.pairs.pop(chan)))
        elif kind == "ChannelDestroyed":
            chan = e["channel"]["id"]
            inbound = self.out_to_in.pop(chan, None)
            pair = self.pairs.get(inbound or "")
            if pair is not None and not pair.bridge:
                # the second leg never answered
                self.failed += 1
                if len(self.errors) < 5:
                    self.errors.append(f"second leg {chan} failed: {e.get('cause_txt')}")
                self.spawn(self.delete(f"/ari/channels/{pair.inbound}"))

    async def setup(self, chan: str) -> None:
        await self.post(f"/ari/channels/{chan}/answer")
        await self.delete(f"/ari/channels/{chan}")
        self.setup_done += 1
        self.setup_times.append(time.monotonic())

    async def inbound(self, chan: str) -> None:
        self.pairs[chan] = Pair(chan)
        if await self.post(f"/ari/channels/{chan}/answer") != 204:
            self.failed += 1
            return
        self.dialed += 1
        target = "PJSIP/probe" if self.dialed % PROBE_EVERY == 0 else "PJSIP/uas"
        out = f"out-{chan}"
        self.out_to_in[out] = chan
        self.pairs[chan].outbound = out
        status = await self.post("/ari/channels", endpoint=target, app="bench",
                                 appArgs=f"out,{chan}", channelId=out)  # fmt: skip
        if status != 200:
            self.failed += 1

    async def outbound(self, out: str, inbound: str) -> None:
        pair = self.pairs.get(inbound)
        if pair is None:
            await self.delete(f"/ari/channels/{out}")
            return
        bridge = f"b-{inbound}"
        ok = await self.post("/ari/bridges", type="mixing", bridgeId=bridge) == 200
        ok = ok and await self.post(f"/ari/bridges/{bridge}/addChannel",
                                    channel=f"{inbound},{out}") == 204  # fmt: skip
        if not ok:
            self.failed += 1
            return
        pair.bridge = bridge
        pair.bridged_at = time.monotonic()
        self.bridged += 1

    async def start_pairs(self, count: int) -> None:
        """The pairs of (e): two ``PJSIP/pair`` channels each, bridged when both are up."""
        for i in range(count):
            for side in "ab":
                await self.post("/ari/channels", endpoint="PJSIP/pair", app="bench",
                                appArgs=f"pair,{i}", channelId=f"pair-{i}-{side}")  # fmt: skip

    async def pair_bridge(self, index: str, legs: list[str]) -> None:
        bridge = f"pb-{index}"
        ok = await self.post("/ari/bridges", type="mixing", bridgeId=bridge) == 200
        ok = ok and await self.post(f"/ari/bridges/{bridge}/addChannel",
                                    channel=",".join(legs)) == 204  # fmt: skip
        if ok:
            self.pairs_up += 1

    async def end_pairs(self) -> None:
        for index, legs in list(self.pair_legs.items()):
            for chan in legs:
                await self.delete(f"/ari/channels/{chan}")
            await self.delete(f"/ari/bridges/pb-{index}")
        self.pair_legs.clear()

    async def end(self, pair: Pair) -> None:
        if pair.outbound:
            self.out_to_in.pop(pair.outbound, None)
            await self.delete(f"/ari/channels/{pair.outbound}")
        if pair.bridge:
            await self.delete(f"/ari/bridges/{pair.bridge}")
            self.ended += 1

    @property
    def up(self) -> int:
        return self.bridged - self.ended


@contextlib.asynccontextmanager
async def ari_app(url: str, user: str, password: str, *, compress: int = 15) -> AsyncIterator[App]:
    """The benchmark's application ``bench`` on the ARI at ``url``, its events read (in a
    task) into the :class:`App` yielded. ``compress``: the events socket's
    permessage-deflate window bits as aiohttp offers them (0: none, so a capture on
    ``lo`` can read the frames)."""
    headers = {"Authorization": basic_auth(user, password)}
    # below http.conf's sessionlimit_per_address (pyari's default 50) with the events
    # socket: past it the server evicts an idle keep-alive connection or refuses one
    # (ServerDisconnected / ECONNRESET here: failed set-ups from 400/s on before)
    conn = aiohttp.TCPConnector(limit=40)
    async with aiohttp.ClientSession(url, headers=headers, connector=conn) as http:
        ws = await http.ws_connect("/ari/events?app=bench", compress=compress)
        app = App(http)

        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    app.event(json.loads(msg.data))

        reader = asyncio.ensure_future(read())
        try:
            yield app
        finally:
            reader.cancel()
            await ws.close()


# --------------------------------------------------------------------------- the probe


class ProbeUas(asyncio.DatagramProtocol):
    """Answers INVITEs to ``PJSIP/probe`` with an SDP pointing at a timestamping socket."""

    def __init__(self, rtp_port: int) -> None:
        self.rtp_port = rtp_port
        self.transport: asyncio.DatagramTransport | None = None
        self.calls = 0
        self.targets: dict[str, tuple[str, int]] = {}
        """Call-ID → the server's RTP address for the call (its offer)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        from pyari.sip.dialog import new_tag
        from pyari.sip.message import Request, make_response, parse_message
        from pyari.sip.sdp import create_answer, parse_sdp

        assert self.transport is not None
        msg = parse_message(data)
        if not isinstance(msg, Request):
            return
        if msg.method == "INVITE":
            if msg.to.tag:  # a re-INVITE: not expected
                self.transport.sendto(make_response(msg, 488).to_bytes(), addr)
                return
            offer = parse_sdp(msg.body)
            answer, media = create_answer(offer, ["ulaw"], "127.0.0.1", self.rtp_port,
                                          session_id="7")  # fmt: skip
            if media is not None:
                self.targets[msg.call_id] = (media.remote_address, media.remote_port)
            contact = f"<sip:probe@127.0.0.1:{self.transport.get_extra_info('sockname')[1]}>"
            ok = make_response(
                msg, 200, to_tag=new_tag(), body=answer.to_bytes(),
                headers=[("Contact", contact), ("Content-Type", "application/sdp")],
            )  # fmt: skip
            self.calls += 1
            self.transport.sendto(ok.to_bytes(), addr)
        elif msg.method in ("BYE", "OPTIONS", "INFO", "NOTIFY"):
            if msg.method == "BYE":
                self.targets.pop(msg.call_id, None)
            self.transport.sendto(make_response(msg, 200).to_bytes(), addr)


PAIR_MAGIC = b"PYRB"
_PAIR = struct.Struct("!4sIQ")


class PairSender(threading.Thread):
    """Sends every leg of the pairs of (e) a u-law packet each 20 ms (an absolute
    schedule) whose payload starts with the leg's number and the send time in ns."""

    def __init__(self, probe: ProbeUas) -> None:
        super().__init__(daemon=True)
        self.probe = probe
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.stop = False
        self.sent = 0

    def run(self) -> None:
        with contextlib.suppress(OSError):  # like the server: the machine is shared
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -10)
        legs: dict[str, int] = {}
        seq = 0
        due = time.monotonic()
        while not self.stop:
            due += 0.02
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for call_id, dest in list(self.probe.targets.items()):
                leg = legs.setdefault(call_id, len(legs) + 1)
                head = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, leg)
                payload = _PAIR.pack(PAIR_MAGIC, leg, time.time_ns()).ljust(160, b"\xff")
                with contextlib.suppress(OSError):
                    self.sock.sendto(head + payload, dest)
                    self.sent += 1
            seq += 1


class RtpRecorder(threading.Thread):
    """Reads one UDP socket, recording (ssrc, seq, timestamp, kernel arrival ns)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.packets: list[tuple[int, int, int, int]] = []
        self.pair_packets: list[tuple[int, int, int]] = []
        """(leg sent to, send ns, arrival ns) of the packets of :class:`PairSender`."""
        self.stop = False

    def run(self) -> None:
        sock = self.sock
        while not self.stop:
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            data, anc, _flags, _addr = sock.recvmsg(2048, 64)
            arrival = time.time_ns()
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    arrival = sec * 1_000_000_000 + nsec
            if len(data) >= 12 + _PAIR.size and data[12:16] == PAIR_MAGIC:
                _magic, leg, sent = _PAIR.unpack_from(data, 12)
                self.pair_packets.append((leg, sent, arrival))
            elif len(data) >= 12 and data[1] & 0x7F == 0:
                seq, ts, ssrc = struct.unpack("!HII", data[2:12])
                self.packets.append((ssrc, seq, ts, arrival))

    def pair_jitter_ms(self, start_ns: int, end_ns: int) -> tuple[list[float], list[float]]:
        """(|Δarrival − Δsent| of consecutive packets of each leg, time through the server)
        in ms, for the pair packets that arrived in the window."""
        legs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        through: list[float] = []
        for leg, sent, arrival in self.pair_packets:
            if start_ns <= arrival <= end_ns:
                legs[leg].append((sent, arrival))
                through.append((arrival - sent) / 1e6)
        out: list[float] = []
        for items in legs.values():
            items.sort()
            for (s0, a0), (s1, a1) in itertools.pairwise(items):
                if s1 - s0 < 30_000_000:  # consecutive sends (20 ms apart)
                    out.append(abs((a1 - a0) - (s1 - s0)) / 1e6)
        return out, through

    def jitter_ms(self, start_ns: int, end_ns: int) -> list[float]:
        """|Δarrival − Δtimestamp| of consecutive packets of each stream in the window."""
        streams: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for ssrc, seq, ts, arrival in self.packets:
            if start_ns <= arrival <= end_ns:
                streams[ssrc].append((seq, ts, arrival))
        out: list[float] = []
        for items in streams.values():
            for (s0, t0, a0), (s1, t1, a1) in itertools.pairwise(items):
                if (s1 - s0) & 0xFFFF != 1:
                    continue
                expected = ((t1 - t0) & 0xFFFFFFFF) / 8000
                out.append(abs((a1 - a0) / 1e9 - expected) * 1000)
        return out


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Results:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Target:
    """The server measured: its ARI URL and credentials, SIP address and process."""

    url: str
    sip: tuple[str, int]
    pid: int | None
    user: str = USER
    password: str = PASSWORD


def split_hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"--sip wants HOST:PORT, not {text!r}")
    return host.strip("[]"), int(port)


async def bench(args: argparse.Namespace) -> Results:
    if args.url:
        return await bench_on(args, None)
    sip_port, uas_port, probe_sip = free_udp_port(), free_udp_port(), free_udp_port()
    args.uas_port, args.probe_port, args.pair_port = uas_port, probe_sip, free_udp_port()
    srv = ServerProcess(configure=configure(sip_port, uas_port, probe_sip, args.pair_port))
    with srv:
        note = prioritize(srv.pid)
        res = await bench_on(args, Target(srv.url, ("127.0.0.1", sip_port), srv.pid))
        res.notes.append(note)
        return res


async def bench_on(args: argparse.Namespace, target: Target | None) -> Results:
    """The benchmark against ``target`` (None: the external server of ``--url``/``--sip``)."""
    res = Results()
    if target is None:
        if not args.sip:
            raise SystemExit("--url needs --sip HOST:PORT (the server's SIP UDP address)")
        target = Target(args.url.rstrip("/"), split_hostport(args.sip), args.pid,
                        args.user, args.password)  # fmt: skip
        res.notes.append(
            f"External server: ARI {target.url}, SIP {target.sip[0]}:{target.sip[1]}"
            + ("" if target.pid else " (no --pid: no CPU figures)")
        )
    uas_port, probe_sip = args.uas_port, args.probe_port
    recorder = RtpRecorder()
    recorder.start()
    work = Path(tempfile.mkdtemp(prefix="pyari-sipbench-"))
    write_tone(work / "tone.wav")
    loop = asyncio.get_running_loop()
    probe_transport, probe = await loop.create_datagram_endpoint(
        lambda: ProbeUas(recorder.port), local_addr=("127.0.0.1", probe_sip)
    )
    pair_transport, pair_uas = await loop.create_datagram_endpoint(
        lambda: ProbeUas(recorder.port), local_addr=("127.0.0.1", args.pair_port)
    )
    args.pair_uas = pair_uas
    try:
        async with ari_app(target.url, target.user, target.password) as app:
            await setups(args, app, target, work, res)
            await bridged(args, app, target, uas_port, work, recorder, probe, res)
    finally:
        probe_transport.close()
        pair_transport.close()
        recorder.stop = True
        recorder.join(2)
        shutil.rmtree(work, ignore_errors=True)
    return res


def sipp_common(
    sip_port: int, local_port: int, media_port: int | None = None, host: str = "127.0.0.1"
) -> list[str]:
    """SIPp's RTP ports start at ``-mp``: a free port unless given (a fixed one made a
    second SIPp running at the same time end at once with no call)."""
    media = media_port if media_port is not None else free_udp_port()
    return [f"{host}:{sip_port}", "-i", "127.0.0.1", "-p", str(local_port),
            "-mp", str(media), "-cp", str(free_udp_port())]  # fmt: skip


async def setups(
    args: argparse.Namespace, app: App, target: Target, work: Path, res: Results
) -> None:
    scenario = str(SCENARIOS / "setup_uac.xml")
    host, sip_port = target.sip
    # warm-up
    await run_sipp([*sipp_common(sip_port, free_udp_port(), host=host), "-sf", scenario,
                    "-s", "100", "-m", "50", "-r", "50", "-l", "100"], work, 30)  # fmt: skip
    for rate in args.rates:
        calls = min(args.setup_calls, rate * 10)
        before = app.setup_done
        cpu0 = cpu_seconds(target.pid)
        run = await run_sipp(
            [*sipp_common(sip_port, free_udp_port(), host=host), "-sf", scenario, "-s", "100",
             "-m", str(calls), "-r", str(rate), "-l", str(rate * 2),
             "-recv_timeout", "10000"],
            work, calls / rate + 40, latency=True,
            capture_port=sip_port if host.startswith("127.") else None,
        )  # fmt: skip
        cpu = cpu_seconds(target.pid) - cpu0
        done = app.setup_times[before:]
        span = (done[-1] - done[0]) if len(done) > 1 else float("nan")
        per_s = (len(done) - 1) / span if len(done) > 1 else 0.0
        res.rows.append(
            (
                f"(a) set-ups into Stasis, SIPp -r {rate}, {calls} calls",
                f"{per_s:.0f} calls/s; {run.latency()}; {run.successful} ok, {run.failed} failed",
                "≥ 100/s",
                f"{cpu / max(len(done), 1) * 1000:.2f} ms CPU per call",
            )
        )
        if run.code != 0 and run.failed:
            res.notes.append(f"SIPp at -r {rate}: " + run.output.strip().splitlines()[-1])


async def bridged(
    args: argparse.Namespace, app: App, target: Target, uas_port: int,
    work: Path, recorder: RtpRecorder, probe: ProbeUas, res: Results,
) -> None:  # fmt: skip
    n = args.bridged
    if n <= 0:
        return
    host, sip_port = target.sip
    uas = asyncio.ensure_future(
        run_sipp(
            [
                *sipp_common(sip_port, uas_port, host=host),
                "-sn",
                "uas",
                "-rtp_echo",
                "-m",
                str(n - n // PROBE_EVERY),
            ],
            work,
            args.hold + n / args.bridge_rate + 90,
            "uas",
        )
    )
    await asyncio.sleep(0.5)
    uac = asyncio.ensure_future(
        run_sipp(
            [
                *sipp_common(sip_port, free_udp_port(), host=host),
                "-sf",
                str(SCENARIOS / "bridge_uac.xml"),
                "-s",
                "200",
                "-m",
                str(n),
                "-r",
                str(args.bridge_rate),
                "-l",
                str(n),
                "-d",
                str(int(args.hold * 1000)),
                "-recv_timeout",
                "20000",
            ],
            work,
            args.hold + n / args.bridge_rate + 60,
            "uac",
        )
    )
    started = time.monotonic()
    ramp_deadline = started + n / args.bridge_rate + 20
    while app.bridged < n and time.monotonic() < ramp_deadline and not uac.done():
        await asyncio.sleep(0.1)
    ramp = time.monotonic() - started
    all_up = app.up
    pairs = max(2, n // PROBE_EVERY)
    sender = PairSender(args.pair_uas)
    paired_at = time.monotonic()
    await app.start_pairs(pairs)
    while app.pairs_up < pairs and time.monotonic() < paired_at + 10:
        await asyncio.sleep(0.05)
    sender.start()
    await asyncio.sleep(0.5)
    window = max(2.0, min(10.0, args.hold - (time.monotonic() - started) - 3))
    cpu0, wall0, ns0 = cpu_seconds(target.pid), time.monotonic(), time.time_ns()
    await asyncio.sleep(window)
    cpu1, wall1, ns1 = cpu_seconds(target.pid), time.monotonic(), time.time_ns()
    sender.stop = True
    sender.join(2)
    pairs_up = app.pairs_up
    await app.end_pairs()
    up_after = app.up
    stats = await sample_rtp(app)
    uac_run = await uac
    deadline = time.monotonic() + 20
    while (app.pairs or app.tasks) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(uas), 20)
    uas_run = await uas if uas.done() else None
    calls_up = min(all_up, up_after) + pairs_up
    cpu_frac = (cpu1 - cpu0) / (wall1 - wall0)
    per_call = cpu_frac / max(calls_up, 1)
    ghz = cpu_mhz() / 1000
    failed = uac_run.failed + app.failed + (uas_run.failed if uas_run else 0)
    res.rows.append(
        (
            f"(b) {n} bridged G.711 calls (SIPp → pyari → SIPp/probe, RTP both ways)",
            f"{all_up} up together after {ramp:.1f} s; {uac_run.successful} completed, "
            f"{failed} failed; sampled legs rx/tx {stats}",
            f"{n}, no failed call",
            f"server CPU {cpu_frac * 100:.0f}% of a core while {calls_up} up",
        )
    )
    jitter = recorder.jitter_ms(ns0, ns1)
    if args.dump:
        args.dump.write_text(json.dumps({"window": [ns0, ns1], "packets": recorder.packets}))
    res.rows.append(
        (
            f"(c) added RTP jitter (pyari → probe, {probe.calls} streams, {len(jitter)} packets)",
            f"p50 {pct(jitter, 0.5):.2f} ms, p99 {pct(jitter, 0.99):.2f} ms, "
            f"max {max(jitter, default=float('nan')):.2f} ms; "
            f"{sum(j > 5 for j in jitter)} over 5 ms",
            "p99 ≤ 5 ms",
            "",
        )
    )
    pair_jitter, through = recorder.pair_jitter_ms(ns0, ns1)
    res.rows.append(
        (
            f"(e) added jitter through the bridge ({pairs_up} more bridged pairs, "
            f"{len(pair_jitter)} packets sent here)",
            f"p50 {pct(pair_jitter, 0.5):.2f} ms, p99 {pct(pair_jitter, 0.99):.2f} ms, "
            f"max {max(pair_jitter, default=float('nan')):.2f} ms; time through the server "
            f"p50 {pct(through, 0.5):.2f} ms, p99 {pct(through, 0.99):.2f} ms",
            "p99 ≤ 1 ms",
            "",
        )
    )
    calls_per_core = 1 / per_call if per_call else float("nan")
    res.rows.append(
        (
            "(d) CPU per call (bridged, media both ways)",
            f"{per_call * 1000:.2f} ms CPU per call-second ({per_call * 100:.2f}% of a core); "
            f"≈ {calls_per_core:.0f} calls per core, {calls_per_core / ghz:.0f} per GHz",
            "Asterisk ≈ 100 calls/GHz",
            f"CPU {ghz:.1f} GHz",
        )
    )
    if app.errors:
        res.notes.append("ARI app errors: " + "; ".join(app.errors))
    if failed and uac_run.output:
        res.notes.append("SIPp UAC: " + " | ".join(uac_run.output.strip().splitlines()[-3:]))


async def sample_rtp(app: App, count: int = 10) -> str:
    """rxcount/txcount summed over a few legs (both legs of the first bridged calls)."""
    rx = tx = legs = 0
    for pair in list(app.pairs.values())[:count]:
        for chan in (pair.inbound, pair.outbound):
            async with app.http.get(f"/ari/channels/{chan}/rtp_statistics") as r:
                if r.status != 200:
                    continue
                body = await r.json()
            rx += int(body.get("rxcount", 0))
            tx += int(body.get("txcount", 0))
            legs += 1
    return f"{rx}/{tx} packets over {legs} legs"


def table(res: Results) -> str:
    head = ("benchmark", "result", "goal", "cost")
    widths = [max(len(r[i]) for r in [head, *res.rows]) for i in range(4)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    for row in res.rows:
        lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join([*lines, *res.notes])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--setup-calls", type=int, default=2000)
    p.add_argument(
        "--rates",
        type=int,
        nargs="*",
        default=[100, 200],
        help="set-up rates for (a); --rates alone skips (a): only (b)-(d) run",
    )
    p.add_argument("--bridged", type=int, default=300)
    p.add_argument("--bridge-rate", type=int, default=30, help="new bridged calls per second")
    p.add_argument("--hold", type=float, default=30, help="seconds each bridged call lasts")
    p.add_argument("--dump", type=Path, help="write the probe's packets (JSON) here")
    p.add_argument(
        "--url", help="measure this ARI server (e.g. Asterisk) instead of starting pyari"
    )
    p.add_argument("--sip", help="HOST:PORT of that server's SIP UDP transport")
    p.add_argument("--pid", type=int, help="that server's process id (CPU figures)")
    p.add_argument("--user", default=USER, help="ARI user of that server")
    p.add_argument("--password", default=PASSWORD, help="ARI password of that server")
    p.add_argument(
        "--uas-port",
        type=int,
        default=5072,
        help="SIP port of the echoing SIPp UAS (external server: as configured)",
    )
    p.add_argument(
        "--probe-port",
        type=int,
        default=5074,
        help="SIP port of the jitter probe (external server: as configured)",
    )
    p.add_argument(
        "--pair-port",
        type=int,
        default=5076,
        help="SIP port of the UAS of (e)'s pairs (external server: as configured)",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the pjsip.conf and extensions.conf an external server needs",
    )
    args = p.parse_args()
    if args.print_config:
        host, port = split_hostport(args.sip or "127.0.0.1:5060")
        print(pjsip_conf(port, args.uas_port, args.probe_port, host, args.pair_port))
        print("; extensions.conf" + DIALPLAN)
        return
    if shutil.which("sipp") is None:
        sys.exit("sipp (Debian sip-tester) is not installed")
    started = time.monotonic()
    res = asyncio.run(bench(args))
    what = f"SIP benchmark of {args.url}" if args.url else "pyari SIP benchmark"
    print(f"{what} (SIPp on loopback, {os.cpu_count()} cores, "
          f"{time.monotonic() - started:.0f} s)\n")  # fmt: skip
    print(table(res))


if __name__ == "__main__":
    main()
