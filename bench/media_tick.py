"""Media engine benchmark (issue 4): one core, numbers printed as a table.

    .venv/bin/python bench/media_tick.py [--seconds 5]

1. Mix tick: 200 two-party bridges + 20 ten-party conferences (600 streams),
   with the two-party bridges same-codec (passthrough) and transcoding (µ-law
   to A-law); target ≤ 5 ms per tick.
2. 500 concurrent channel playbacks on the real asyncio media clock: tick
   jitter p99 (target ≤ 2 ms).
3. 100 concurrent recordings through the disk thread: frames written vs fed
   (target: none lost).
CPU per active stream is the process CPU time per second of media divided by
the number of streams.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from pyari.media.codecs import alaw_encode, ulaw_encode
from pyari.media.files import read_audio
from pyari.media.frames import ALAW, ULAW
from pyari.media.mixer import MediaEngine, Stream
from pyari.media.player import Player
from pyari.media.recorder import DiskWriter, Recorder
from pyari.media.sources import BufferSource
from pyari.media.ticker import MediaClock

MONKEYS = Path("/usr/share/asterisk/sounds/en_US_f_Allison/tt-monkeys.wav")


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def speech(seconds: float) -> np.ndarray:
    if MONKEYS.exists():
        samples = read_audio(MONKEYS).samples
        reps = int(np.ceil(seconds * 8000 / len(samples)))
        return np.tile(samples, reps)[: int(seconds * 8000)]
    rng = np.random.default_rng(0)
    return rng.normal(0, 3000, int(seconds * 8000)).astype(np.int16)


def sink(stream: Stream, payload: bytes) -> None:
    return None


def mix_tick(passthrough: bool, ticks: int) -> dict[str, float]:
    engine = MediaEngine()
    pushes: list[tuple[Stream, bytes]] = []
    voice = speech(0.02 * 50)
    ulaw_frames = [ulaw_encode(voice[i * 160 : (i + 1) * 160]).tobytes() for i in range(50)]
    alaw_frames = [alaw_encode(voice[i * 160 : (i + 1) * 160]).tobytes() for i in range(50)]
    for b in range(200):
        bridge = engine.add_bridge(f"pair{b}")
        for k in range(2):
            fmt = ULAW if passthrough or k == 0 else ALAW
            s = engine.add_stream(None, fmt, sink)
            engine.join(bridge, s)
            pushes.append((s, b""))
    for c in range(20):
        bridge = engine.add_bridge(f"conf{c}")
        for _ in range(10):
            s = engine.add_stream(None, ULAW, sink)
            engine.join(bridge, s)
            pushes.append((s, b""))
    streams = [s for s, _ in pushes]
    durations = []
    cpu0 = time.process_time()
    for t in range(ticks):
        i = t % 50
        for s in streams:
            s.push(ulaw_frames[i] if s.format is ULAW else alaw_frames[i])
        t0 = time.perf_counter()
        engine.process_tick()
        durations.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    d = np.array(durations) * 1000
    return {
        "streams": len(streams),
        "p50": float(np.percentile(d, 50)),
        "p99": float(np.percentile(d, 99)),
        "max": float(d.max()),
        "cpu_per_stream_pct": 100 * cpu / (ticks * 0.02) / len(streams),
    }


async def playbacks(count: int, seconds: float) -> dict[str, float]:
    engine = MediaEngine()
    clock = MediaClock()
    clock.add_handler(engine.process_tick)
    audio = speech(seconds + 1)
    players = []
    for i in range(count):
        s = engine.add_stream(f"p{i}", ULAW, sink)
        player = Player(["sound:tt-monkeys"], lambda uri: BufferSource(audio, 8000))
        s.player = player
        players.append(player)
    cpu0 = time.process_time()
    clock.start()
    await asyncio.sleep(seconds)
    clock.stop()
    cpu = time.process_time() - cpu0
    summary = clock.stats.summary()
    return {
        "streams": count,
        "ticks": summary["ticks"],
        "jitter_p50": summary["jitter_p50_ms"],
        "jitter_p99": summary["jitter_p99_ms"],
        "tick_p99": summary["duration_p99_ms"],
        "cpu_per_stream_pct": 100 * cpu / seconds / count,
        "playing": sum(p.state.value == "playing" for p in players),
    }


async def recordings(count: int, seconds: float) -> dict[str, float]:
    engine = MediaEngine()
    clock = MediaClock()
    clock.add_handler(engine.process_tick)
    disk = DiskWriter()
    voice = speech(1.0)
    frames = [voice[i * 160 : (i + 1) * 160].astype("<i2").tobytes() for i in range(50)]
    with tempfile.TemporaryDirectory() as tmp:
        recorders = []
        streams = []
        for i in range(count):
            s = engine.add_stream(f"r{i}", on_output=None)
            rec = Recorder(f"r{i}", Path(tmp) / f"r{i}.wav", "wav", disk=disk)
            rec.start()
            s.taps_in.append(rec.feed)
            recorders.append(rec)
            streams.append(s)
        fed = [0]

        def feed_mics(tick: int) -> None:  # the phones speak once per tick
            payload = frames[tick % 50]
            for s in streams:
                s.push(payload)
            fed[0] += 1

        clock.handlers.insert(0, feed_mics)
        cpu0 = time.process_time()
        clock.start()
        await asyncio.sleep(seconds)
        clock.stop()
        for rec in recorders:
            rec.stop()
        results = [await r.wait() for r in recorders]
        cpu = time.process_time() - cpu0
        written = [len(read_audio(Path(tmp) / f"r{i}.wav").samples) // 160 for i in range(count)]
        disk.close()
    summary = clock.stats.summary()
    return {
        "streams": count,
        "ticks": summary["ticks"],
        "frames_fed": fed[0] * count,
        "frames_written": sum(written),
        "lost": fed[0] * count - sum(written),
        "durations_ok": sum(r.duration_ms == fed[0] * 20 for r in results),
        "jitter_p99": summary["jitter_p99_ms"],
        "tick_p99": summary["duration_p99_ms"],
        "cpu_per_stream_pct": 100 * cpu / seconds / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--ticks", type=int, default=1000)
    args = parser.parse_args()
    where = pin_one_core()
    try:
        import uvloop

        uvloop.install()
        loop_name = "uvloop"
    except ImportError:
        loop_name = "asyncio"
    print(f"pyari media benchmark ({where}, {loop_name}, numpy {np.__version__})\n")
    rows: list[tuple[str, str, str, str]] = []
    for passthrough in (True, False):
        r = mix_tick(passthrough, args.ticks)
        name = (
            "200 pairs (same codec) + 20×10 conf"
            if passthrough
            else ("200 pairs (ulaw↔alaw) + 20×10 conf")
        )
        rows.append(
            (
                name,
                f"tick p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, max {r['max']:.2f} ms",
                "≤ 5 ms" + (" ✓" if r["p99"] <= 5 else " ✗"),
                f"{r['cpu_per_stream_pct']:.3f}% ({int(r['streams'])} streams)",
            )
        )
    p = asyncio.run(playbacks(500, args.seconds))
    rows.append(
        (
            "500 channel playbacks (clock)",
            f"jitter p50 {p['jitter_p50']:.2f} ms, p99 {p['jitter_p99']:.2f} ms; "
            f"tick p99 {p['tick_p99']:.2f} ms",
            "jitter p99 ≤ 2 ms" + (" ✓" if p["jitter_p99"] <= 2 else " ✗"),
            f"{p['cpu_per_stream_pct']:.3f}%",
        )
    )
    rec = asyncio.run(recordings(100, args.seconds))
    rows.append(
        (
            "100 recordings (disk thread)",
            f"{int(rec['frames_written'])}/{int(rec['frames_fed'])} frames written, "
            f"jitter p99 {rec['jitter_p99']:.2f} ms",
            "no lost frames" + (" ✓" if rec["lost"] == 0 else f" ✗ ({int(rec['lost'])} lost)"),
            f"{rec['cpu_per_stream_pct']:.3f}%",
        )
    )
    widths = [
        max(len(r[i]) for r in [*rows, ("case", "result", "target", "CPU/stream")])
        for i in range(4)
    ]
    header = ("case", "result", "target", "CPU/stream")
    for row in (header, tuple("-" * w for w in widths), *rows):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
