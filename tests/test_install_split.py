"""``make run`` installs what serving needs; ``make test`` adds the test tools (issue #12 item 6).

What each target would do is read from ``make -n`` against a virtual environment that does
not exist (so every install step is listed), and the Debian packages of
``scripts/system-deps.sh run|test`` from its ``apt-get install`` line, with ``dpkg-query``
(nothing installed), ``sudo`` and ``apt-get`` replaced by stand-ins that only record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TEST_ONLY_PACKAGES = {"sip-tester", "baresip", "kamailio", "fail2ban", "chromium"}
SERVING_PACKAGES = {"asterisk-core-sounds-en-wav", "asterisk-moh-opsound-wav", "openssl"}
TEST_TOOLS = {"pytest", "pytest-asyncio", "ruff", "mypy", "aioari", "asyncari", "schemathesis"}


def make_dry_run(target: str, venv: Path) -> list[str]:
    """The commands ``make target`` would run with its environment in ``venv``, as a
    user's shell would get them: under ``make test`` (CI) the suite runs inside make,
    whose variables would make this one a sub-make printing its directory."""
    if shutil.which("make") is None:
        pytest.skip("no make on PATH")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, f"make -n {target}: {out.stderr}"
    return out.stdout.splitlines()


def test_make_run_installs_only_what_serving_needs(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    lines = make_dry_run("run", venv)
    assert "bash scripts/system-deps.sh run" in lines
    assert f"{venv}/bin/python -m pip install -q -c constraints.txt -e '.[webrtc]'" in lines
    assert lines[-1] == f"{venv}/bin/pyari serve"
    assert not [line for line in lines if "[dev]" in line or "system-deps.sh test" in line]


def test_make_test_adds_the_test_tools(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    lines = make_dry_run("test", venv)
    run_part = lines.index(f"touch {venv}/.installed-run")
    assert "bash scripts/system-deps.sh run" in lines[:run_part]
    rest = lines[run_part:]
    assert "bash scripts/system-deps.sh test" in rest
    assert f"{venv}/bin/python -m pip install -q -c constraints.txt -e '.[dev]'" in rest
    assert f"{venv}/bin/pytest -q" in rest


def debian_packages(which: str, tmp_path: Path) -> set[str]:
    """The packages ``scripts/system-deps.sh which`` asks apt-get for on a bare system."""
    stubs = tmp_path / f"stubs-{which}"
    stubs.mkdir()
    record = tmp_path / f"apt-{which}.txt"
    scripts = {
        "dpkg-query": "exit 1\n",  # nothing is installed
        "sudo": 'exec "$@"\n',
        "apt-get": f'echo "$*" >> {record}\n',
    }
    for name, body in scripts.items():
        path = stubs / name
        path.write_text(f"#!/bin/sh\n{body}")
        path.chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "system-deps.sh"), which],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    lines = record.read_text().splitlines()
    installs = [line.split() for line in lines if line.split()[:1] == ["install"]]
    assert len(installs) == 1, record.read_text()
    return {word for word in installs[0][1:] if not word.startswith("-") and word != "install"}


def test_debian_packages_of_run_and_test(tmp_path: Path) -> None:
    run = debian_packages("run", tmp_path)
    test = debian_packages("test", tmp_path)
    assert run >= SERVING_PACKAGES
    assert not run & TEST_ONLY_PACKAGES, run & TEST_ONLY_PACKAGES
    assert run <= test
    assert test >= TEST_ONLY_PACKAGES


def test_runtime_dependencies_hold_no_test_tools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    serving = [*project["dependencies"], *project["optional-dependencies"]["webrtc"]]
    names = {dep.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
             for dep in serving}  # fmt: skip
    assert not names & TEST_TOOLS, names & TEST_TOOLS
    dev = " ".join(project["optional-dependencies"]["dev"])
    assert all(tool in dev for tool in ("pytest", "ruff", "mypy", "aioari", "asyncari"))


def test_license_is_an_spdx_string() -> None:
    """A ``license`` table makes setuptools print a deprecation warning on every install."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
