"""``pyari serve`` runs on glibc's allocator unless told otherwise (decision 0011)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pyari.cli import main as cli

PROBE = (
    "import os, sys\n"
    "from pyari.cli.main import use_server_allocator\n"
    "use_server_allocator(None)\n"
    "print(os.getpid(), os.environ.get('PYTHONMALLOC'), sys.getallocatedblocks())\n"
)


def run_probe(env: dict[str, str]) -> tuple[int, int, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE], env=env, stdout=subprocess.PIPE, text=True
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    pid, allocator, blocks = out.split()
    return proc.pid, int(pid), allocator, int(blocks)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"}


@pytest.mark.skipif(sys.platform != "linux", reason="glibc Linux only")
def test_command_line_reruns_itself_on_malloc() -> None:
    started, pid, allocator, blocks = run_probe(clean_env())
    assert pid == started  # the same process, replaced in place
    assert allocator == "malloc"
    assert blocks == 0  # pymalloc is not in use


def test_user_choice_is_kept() -> None:
    _, _, allocator, blocks = run_probe({**clean_env(), "PYTHONMALLOC": "pymalloc"})
    assert allocator == "pymalloc"
    assert blocks > 0


def test_called_with_arguments_never_reruns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONMALLOC", "recorded")  # so teardown restores the original
    monkeypatch.delenv("PYTHONMALLOC")
    calls: list[object] = []
    monkeypatch.setattr(cli.os, "execv", lambda *a: calls.append(a))
    cli.use_server_allocator(["serve"])  # main(argv) from Python code: in-process
    assert calls == []
    cli.use_server_allocator(None)
    assert calls and os.environ["PYTHONMALLOC"] == "malloc"
