"""docs/testing.md's complete tests (the IVR, a call to a phone) run as written,
in a project of their own."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "testing.md"


def doc_block(after: str, lang: str) -> str:
    """The first ``lang`` code block that follows the text ``after`` in the doc."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no {lang} block after {after!r}"
    return match.group(1)


def test_docs_ivr_test_passes_as_written(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "examples" / "ivr.py", project / "ivr.py")
    (project / "test_ivr.py").write_text(doc_block("`test_ivr.py`, next to", "python"))
    (project / "test_calls.py").write_text(doc_block("checked from the phone's side", "python"))
    (project / "pyproject.toml").write_text(doc_block("and `pyproject.toml`:", "toml"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
