"""``bench.pjsip_setup_cpu``: SIPp's set-up fed to a real server in process (issue #16
goal 1). Each set-up sends 100 Trying, 200 OK and BYE, gives the app its four events and
two 204s, and leaves no call, channel or RTP socket behind; the command prints its figures
hot and cold and writes the profile."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
try:
    from bench.pjsip_setup_cpu import bench_config, started
finally:
    sys.path.remove(str(ROOT))


async def test_set_ups_go_through_the_whole_server() -> None:
    folder = bench_config()
    try:
        bench, stop = await started(folder)
        try:
            for _ in range(3):
                await bench.call()
            srv = bench.srv
            assert bench.kinds == {b"100": 3, b"200": 3, b"BYE": 3}
            types = [frame.split(b'"type": "', 1)[1].split(b'"', 1)[0] for frame in bench.frames]
            assert types == [
                b"StasisStart", b"ChannelStateChange", b"ChannelHangupRequest", b"StasisEnd"
            ] * 3  # fmt: skip
            assert sum(o.startswith(b"HTTP/1.1 204") for o in bench.http.out) == 6
            assert not srv.pjsip.ua.calls and not srv.core.channels
            assert srv.pjsip.rtp is not None and not srv.pjsip.rtp.streams
        finally:
            await stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("mode", [[], ["--cold"], ["--manual-ticks"]])
def test_command_prints_the_cpu_per_set_up(mode: list[str], tmp_path: Path) -> None:
    profile = tmp_path / "profile.txt"
    done = subprocess.run(
        [sys.executable, "-m", "bench.pjsip_setup_cpu", "--calls", "3", "--repeat", "2",
         "--warmup", "1", "--profile", str(profile), *mode],
        cwd=ROOT, capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    kind = "cold (10 ms apart)" if "--cold" in mode else "hot"
    assert f"CPU per SIP call set-up, {kind}, over 2 x 3 calls: min " in done.stdout
    assert "SIP sent per call: 1.0 100, 1.0 200, 1.0 BYE; SIP calls left: 0" in done.stderr
    assert profile.read_text().startswith("3 set-ups; ")


async def test_manual_ticks_tick_after_every_other_set_up() -> None:
    """With ``--manual-ticks`` the media clock is stopped (a set-up does not wake it) and
    ticked after every other set-up, so what runs does not follow the wall clock."""
    folder = bench_config()
    try:
        bench, stop = await started(folder, manual_ticks=True)
        try:
            clock = bench.srv.media.clock
            assert not clock.running
            ticks = clock.ticks
            for _ in range(4):
                await bench.call()
            assert clock.ticks == ticks + 2 and not clock.running
            assert bench.kinds == {b"100": 4, b"200": 4, b"BYE": 4}
        finally:
            await stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
