"""Server CPU per SIP call set-up (issue #16 goal 1), with an optional cProfile of the server.

python -m bench.sip_setup_cpu [--calls N] [--rate R] [--rounds K] [--profile OUT.txt]
                              [--py-spy OUT.txt]

SIPp (``bench/sipp/setup_uac.xml``) places N calls into ``Stasis(bench,setup)``; the ARI
app of ``bench.sip_calls`` answers and hangs up; the server's CPU time (utime + stime from
/proc) over each round, divided by the calls completed in it. K rounds after a warm-up;
min / median are printed (the machine is shared: take the minimum as the figure).
``--profile`` runs the server under cProfile (a ``sitecustomize`` on PYTHONPATH, profile
written at exit) and writes the top functions by internal and cumulative time as text.
``--py-spy`` samples the server with py-spy (``PYSPY`` or ``py-spy`` on PATH; not a
dependency of the project) over the measured rounds, without the profiler's overhead,
and writes the functions with the most samples (own and total) as text.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.rest import PASSWORD, USER
from bench.server import ServerProcess
from bench.sip_calls import (
    SCENARIOS,
    ari_app,
    configure,
    cpu_seconds,
    free_udp_port,
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
    atexit.register(_dump)
    signal.signal(signal.SIGUSR2, _dump)
"""


async def run(args: argparse.Namespace) -> list[float]:
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
    per_call: list[float] = []
    srv = ServerProcess(configure=configure(sip_port, free_udp_port(), free_udp_port()))
    scenario = str(SCENARIOS / "setup_uac.xml")
    media = free_udp_port()  # SIPp's RTP port: not 30000, which a concurrent SIPp may hold
    try:
        with srv:
            print(prioritize(srv.pid), file=sys.stderr)
            async with ari_app(srv.url, USER, PASSWORD) as app:
                await run_sipp([*sipp_common(sip_port, free_udp_port(), media), "-sf", scenario,
                                "-s", "100", "-m", "50", "-r", "50", "-l", "100"],
                               work, 30)  # fmt: skip
                spy = start_py_spy(srv.pid, work / "spy.txt") if args.py_spy else None
                for _ in range(args.rounds):
                    before = app.setup_done
                    cpu0 = cpu_seconds(srv.pid)
                    r = await run_sipp(
                        [*sipp_common(sip_port, free_udp_port(), media), "-sf", scenario,
                         "-s", "100", "-m", str(args.calls), "-r", str(args.rate),
                         "-l", str(args.rate * 2), "-recv_timeout", "10000"],
                        work, args.calls / args.rate + 40,
                    )  # fmt: skip
                    await asyncio.sleep(0.3)
                    done = app.setup_done - before
                    cpu = cpu_seconds(srv.pid) - cpu0
                    per_call.append(cpu / max(done, 1) * 1000)
                    print(f"round: {done} set-ups, {r.failed} failed, "
                          f"{per_call[-1]:.3f} ms CPU per call", file=sys.stderr)  # fmt: skip
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
    return per_call


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
    args = p.parse_args()
    if shutil.which("sipp") is None:
        sys.exit("sipp (Debian sip-tester) is not installed")
    per_call = asyncio.run(run(args))
    print(f"server CPU per call set-up over {args.rounds} rounds of {args.calls} calls at "
          f"{args.rate}/s: min {min(per_call):.3f} ms, median "
          f"{statistics.median(per_call):.3f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
