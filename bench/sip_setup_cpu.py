"""Server CPU per SIP call set-up (issue #16 goal 1), with an optional cProfile of the server.

python -m bench.sip_setup_cpu [--calls N] [--rate R] [--rounds K] [--profile OUT.txt]
                              [--py-spy OUT.txt] [--split]
python -m bench.sip_setup_cpu --max-rate [--steps R1 R2 ...] [--step-seconds S] [--split]

SIPp (``bench/sipp/setup_uac.xml``) places N calls into ``Stasis(bench,setup)``; the ARI
app of ``bench.sip_calls`` answers and hangs up; the server's CPU time (utime + stime from
/proc) over each round, divided by the calls completed in it. K rounds after a warm-up;
min / median are printed (the machine is shared: take the minimum as the figure). Every
round also gives INVITE → 200 OK of each call at µs resolution: the kernel's stamps of
the packets on ``lo`` (``bench.sip_calls.SipCapture``, as root) and SIPp's short message
log (``invite_to_200_us``); p50 / p99 per round and over all rounds.
Each round also prints SIPp's own CPU per set-up (user + system of the SIPp process, a
compiled SIP stack doing the other side of the same calls): the same run's yardstick, so
figures of days on which the machine ran at different speeds can be set side by side
(server / SIPp).
``--profile`` runs the server under cProfile (a ``sitecustomize`` on PYTHONPATH, profile
written at exit) and writes the top functions by internal and cumulative time as text;
each round then also prints the server's Python function calls per set-up in that round
alone (a count that does not depend on the machine's speed).
``--py-spy`` samples the server with py-spy (``PYSPY`` or ``py-spy`` on PATH; not a
dependency of the project) over the measured rounds, without the profiler's overhead,
and writes the functions with the most samples (own and total) as text.

``--split`` also stamps the ARI port on ``lo`` (the app's events socket then offers no
compression, so the frames can be read) and splits each call's INVITE → 200 OK in three:
the INVITE to its StasisStart frame (the server's way into Stasis), that frame to the
app's ``POST /channels/{id}/answer`` (the benchmark's app), that request to the 200 OK
(the server's answer); p50 of each, per round or step. The capture child then reads every
ARI packet: it takes CPU of its own, so read the split, not the CPU, of such a run.

``--max-rate``: the highest set-up rate with no failure. One server, one warm-up, then a
step per offered rate (default 100, 200, 300, 400, 500, 600, 700, 800, 1000 /s), each
``--step-seconds`` (8) long (rate × seconds calls; at most ~80 s in all); the steps
stop at the first with a
failed call, a call not completed, or completions at less than 95 % of the offered rate
(first to last completion; SIPp caps the calls open at 2 × rate, so a server that falls
behind slows the calls offered). Each step prints its achieved rate, CPU per set-up and
INVITE → 200 p50 / p99; the last line names the highest rate that passed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.rest import PASSWORD, USER
from bench.server import ServerProcess
from bench.sip_calls import (
    SCENARIOS,
    SippRun,
    ari_app,
    configure,
    cpu_seconds,
    free_udp_port,
    latency_text,
    pct,
    prioritize,
    run_sipp,
    sipp_common,
)

SITECUSTOMIZE = """
import atexit, cProfile, os, signal, sys
_out = os.environ.get("PYARI_BENCH_CPROFILE")
if _out and "serve" in sys.argv:
    _prof = cProfile.Profile()
    _prof.enable()
    def _dump(*_a):
        _prof.disable()
        _prof.dump_stats(_out)
    def _count(*_a):
        _prof.disable()
        _prof.snapshot_stats()
        with open(_out + ".calls", "a") as f:
            f.write(f"{sum(v[1] for v in _prof.stats.values())}\\n")
        _prof.enable()
    atexit.register(_dump)
    signal.signal(signal.SIGUSR2, _dump)
    signal.signal(signal.SIGUSR1, _count)
"""


@dataclass
class Step:
    """One ``--max-rate`` step: SIPp at ``rate`` /s for ``calls`` calls."""

    rate: int
    calls: int
    done: int
    failed: int
    achieved: float
    cpu_ms: float
    latency: str = ""
    why: str = ""
    """SIPp's failures by kind and its retransmissions."""

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.done >= self.calls and self.achieved >= 0.95 * self.rate

    def line(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"step {self.rate}/s: {self.done}/{self.calls} set-ups, {self.failed} failed, "
            f"{self.achieved:.0f}/s achieved, {self.cpu_ms:.3f} ms CPU per set-up, "
            f"{self.latency} — {verdict}{self.why}"
        )


def failure_text(run: SippRun) -> str:
    """`` (SIPp: Unexpected-Message 8; 12 retransmissions)`` or empty."""
    parts = [f"{k} {v}" for k, v in run.fail_reasons.items()]
    if run.retransmissions:
        parts.append(f"{run.retransmissions} retransmissions")
    return f" (SIPp: {'; '.join(parts)})" if parts else ""


def achieved_rate(times: list[float]) -> float:
    """Completions per second from their monotonic times (first to last)."""
    if len(times) < 2 or times[-1] <= times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


@dataclass
class Rounds:
    per_call: list[float] = field(default_factory=list)
    """Server CPU per set-up of each round, ms."""
    setup_us: list[list[float]] = field(default_factory=list)
    """INVITE → 200 OK of each call of each round, µs."""
    steps: list[Step] = field(default_factory=list)
    sipp_per_call: list[float] = field(default_factory=list)
    """SIPp's CPU per set-up of each round, ms (the same run's yardstick)."""
    python_calls: list[float] = field(default_factory=list)
    """Python function calls per set-up of each round (``--profile``: cProfile's count)."""
    source: str = "SIPp's log"
    """Where :attr:`setup_us` comes from."""


async def run(args: argparse.Namespace) -> Rounds:
    sip_port = free_udp_port()
    work = Path(tempfile.mkdtemp(prefix="pyari-sipcpu-"))
    prof_raw = work / "server.prof"
    if args.profile:
        (work / "site").mkdir()
        (work / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(work / "site"), os.environ.get("PYTHONPATH")])
        )
        os.environ["PYARI_BENCH_CPROFILE"] = str(prof_raw)
    result = Rounds()
    per_call = result.per_call
    srv = ServerProcess(configure=configure(sip_port, free_udp_port(), free_udp_port()))
    scenario = str(SCENARIOS / "setup_uac.xml")
    media = free_udp_port()  # SIPp's RTP port: not 30000, which a concurrent SIPp may hold
    try:
        with srv:
            print(prioritize(srv.pid), file=sys.stderr)
            split = bool(args.split)
            http_port = srv.port if split else 0
            async with ari_app(srv.url, USER, PASSWORD, compress=0 if split else 15) as app:
                await run_sipp([*sipp_common(sip_port, free_udp_port(), media), "-sf", scenario,
                                "-s", "100", "-m", "50", "-r", "50", "-l", "100"],
                               work, 30)  # fmt: skip
                spy = start_py_spy(srv.pid, work / "spy.txt") if args.py_spy else None
                plan = (
                    [(rate, rate * args.step_seconds) for rate in args.steps]
                    if args.max_rate
                    else [(args.rate, args.calls)] * args.rounds
                )
                for rate, calls in plan:
                    before = app.setup_done
                    calls0 = await profiled_calls(srv.pid, prof_raw) if args.profile else 0
                    cpu0 = cpu_seconds(srv.pid)
                    r = await run_sipp(
                        [*sipp_common(sip_port, free_udp_port(), media), "-sf", scenario,
                         "-s", "100", "-m", str(calls), "-r", str(rate),
                         "-l", str(rate * 2), "-recv_timeout", "10000"],
                        work, calls / rate + 40, latency=True, capture_port=sip_port,
                        capture_http_port=http_port,
                    )  # fmt: skip
                    await asyncio.sleep(0.3)
                    done = app.setup_done - before
                    cpu = cpu_seconds(srv.pid) - cpu0
                    per_call.append(cpu / max(done, 1) * 1000)
                    result.sipp_per_call.append(r.cpu_s / max(done, 1) * 1000)
                    if args.profile:
                        made = await profiled_calls(srv.pid, prof_raw) - calls0
                        result.python_calls.append(made / max(done, 1))
                    result.setup_us.append(r.wire_us if r.wire_available else r.setup_us)
                    result.source = "kernel stamps on lo" if r.wire_available else "SIPp's log"
                    if args.max_rate:
                        step = Step(rate, calls, done, r.failed,
                                    achieved_rate(app.setup_times[before:]), per_call[-1],
                                    r.latency(), failure_text(r))  # fmt: skip
                        result.steps.append(step)
                        print(step.line(), flush=True)
                        if split:
                            print(f"  {r.split() or 'split: no call captured whole'}", flush=True)
                        if not step.passed:
                            break
                        continue
                    counted = (f", {result.python_calls[-1]:.0f} Python calls per set-up"
                               if args.profile else "")  # fmt: skip
                    print(f"round: {done} set-ups, {r.failed} failed, "
                          f"{per_call[-1]:.3f} ms CPU per call (SIPp "
                          f"{result.sipp_per_call[-1]:.3f} ms){counted}, "
                          f"{r.latency()}", file=sys.stderr)  # fmt: skip
                    if split:
                        print(f"  {r.split() or 'split: no call captured whole'}",
                              file=sys.stderr)  # fmt: skip
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                    args.py_spy.write_text(summarize_py_spy(work / "spy.txt"))
    finally:
        os.environ.pop("PYARI_BENCH_CPROFILE", None)
        if args.profile and prof_raw.exists():
            out = io.StringIO()
            st = pstats.Stats(str(prof_raw), stream=out)
            st.strip_dirs().sort_stats("tottime").print_stats(45)
            st.sort_stats("cumulative").print_stats(45)
            args.profile.write_text(out.getvalue())
        shutil.rmtree(work, ignore_errors=True)
    return result


async def profiled_calls(pid: int, prof_raw: Path) -> int:
    """The profiled server's Python function calls so far (its ``sitecustomize`` appends
    the count to ``<profile>.calls`` on SIGUSR1)."""
    counts = Path(str(prof_raw) + ".calls")
    seen = len(counts.read_text().splitlines()) if counts.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    for _ in range(200):
        await asyncio.sleep(0.05)
        lines = counts.read_text().splitlines() if counts.exists() else []
        if len(lines) > seen and lines[-1].isdigit():
            return int(lines[-1])
    raise RuntimeError("the profiled server did not count its calls")


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    exe = os.environ.get("PYSPY") or shutil.which("py-spy") or "py-spy"
    return subprocess.Popen(
        [exe, "record", "-p", str(pid), "-r", "250", "-f", "raw", "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _frame(text: str) -> str:
    """``name (path/file.py:123)`` → ``name file.py`` (lines of a function counted together)."""
    name, _, where = text.partition(" (")
    return f"{name} {where.rsplit('/', 1)[-1].split(':')[0].rstrip(')')}"


def summarize_py_spy(raw: Path, top: int = 60) -> str:
    """Own and total samples per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    roots: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_frame(f) for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + count
        root = ";".join(frames[:3])
        roots[root] = roots.get(root, 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"# py-spy samples (250/s, idle excluded): {samples}", "", "## threads (outer frames)"]
    for name, n in sorted(roots.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"{n:7d} {n / max(samples, 1) * 100:5.1f}%  {name}")
    lines += ["", "## own samples"]
    for name, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{n:7d} {n / max(samples, 1) * 100:5.1f}%  {name}")
    lines += ["", "## total samples (function and what it calls)"]
    for name, n in sorted(total.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{n:7d} {n / max(samples, 1) * 100:5.1f}%  {name}")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--rate", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", type=Path, help="write a cProfile summary of the server here")
    p.add_argument("--py-spy", type=Path, help="write a py-spy sample summary of the server here")
    p.add_argument(
        "--max-rate",
        action="store_true",
        help="find the highest set-up rate with no failure (steps of --steps)",
    )
    p.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[100, 200, 300, 400, 500, 600, 700, 800, 1000],
        help="offered rates of --max-rate, in order",
    )
    p.add_argument("--step-seconds", type=int, default=8, help="length of a --max-rate step")
    p.add_argument(
        "--split",
        action="store_true",
        help="also split INVITE → 200 OK into the server's way into Stasis, the app's "
        "reaction and the answer (kernel stamps of the ARI port too; the app's events "
        "socket uncompressed)",
    )
    args = p.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp (Debian sip-tester) is not installed")
    out = asyncio.run(run(args))
    if args.max_rate:
        passed = [s.rate for s in out.steps if s.passed]
        best = f"{max(passed)}/s" if passed else f"none (below {args.steps[0]}/s)"
        print(f"highest set-up rate with 0 failures ({args.step_seconds} s steps): {best}")
        return
    per_call = out.per_call
    pooled = [us for run_us in out.setup_us for us in run_us]
    p50s = [pct(run_us, 0.5) / 1000 for run_us in out.setup_us if run_us]
    print(f"server CPU per call set-up over {args.rounds} rounds of {args.calls} calls at "
          f"{args.rate}/s: min {min(per_call):.3f} ms, median "
          f"{statistics.median(per_call):.3f} ms")  # fmt: skip
    sipp = out.sipp_per_call
    ratios = [server / yard for server, yard in zip(per_call, sipp, strict=True) if yard > 0]
    print(f"SIPp (the load, C++) CPU per set-up in the same rounds: min {min(sipp):.3f} ms, "
          f"median {statistics.median(sipp):.3f} ms; server / SIPp median "
          f"{statistics.median(ratios) if ratios else float('nan'):.2f}")  # fmt: skip
    if out.python_calls:
        print(f"Python function calls per set-up (cProfile): median "
              f"{statistics.median(out.python_calls):.0f}")  # fmt: skip
    print(f"{latency_text(pooled)} over all {len(pooled)} calls ({out.source}); "
          f"per-round p50 min {min(p50s, default=float('nan')):.2f} ms, "
          f"median {statistics.median(p50s) if p50s else float('nan'):.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
