"""Coverage-guided fuzzing of pyari's parsers (atheris / libFuzzer), a fixed budget each.

Each target of ``fuzz_targets.py`` runs in its own process (atheris ends the process
when it is done) for a fixed number of inputs from a fixed seed, starting from the
committed corpus ``corpus/<target>/``. New inputs go to a scratch folder: the committed
corpus is never written. A crash fails the test with the input and its traceback; the
input then becomes a case of ``test_fuzz_regressions.py`` (docs/decisions, fuzzing).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
SEED = 4475

# Inputs per target: a few seconds each on one core (the whole set about half a minute).
RUNS = {
    "sip": 20_000,
    "sdp": 20_000,
    "conf": 15_000,
    "expr": 20_000,
    "substitute": 15_000,
    "http": 10_000,
}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(RUNS))
def test_fuzz(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = CORPUS / target
    before = _snapshot(corpus)
    assert before, f"no seed corpus for {target}"
    scratch = tmp_path / "new"
    scratch.mkdir()
    cmd = [
        sys.executable,
        str(HERE / "fuzz_main.py"),
        target,
        f"-atheris_runs={RUNS[target]}",
        f"-seed={SEED}",
        "-timeout=10",  # one input running 10 s is a hang
        "-rss_limit_mb=1536",
        f"-artifact_prefix={tmp_path}/",
        str(scratch),  # libFuzzer adds what it finds to the first folder only
        str(corpus),
    ]
    proc = subprocess.run(
        cmd, cwd=tmp_path, capture_output=True, text=True, errors="replace", timeout=55
    )
    log = proc.stderr + proc.stdout
    crashes = sorted(p for p in tmp_path.iterdir() if p.is_file())
    found = [f"{p.name}: {p.read_bytes()!r}" for p in crashes]
    assert proc.returncode == 0 and not crashes, "\n".join([*found, log[-6000:]])
    assert _snapshot(corpus) == before, "the committed corpus was written"
    runs = re.search(r"^Done (\d+) ", log, re.M)
    assert runs is not None, log[-3000:]
    assert int(runs.group(1)) >= RUNS[target], log[-3000:]
