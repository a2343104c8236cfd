"""``pyari samples DIR``: writes the embedded configuration, never over a user's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.cli.main import main
from pyari.config.embedded import embedded_names, embedded_text


def test_samples_writes_every_embedded_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "etc"
    assert main(["samples", str(dest)]) == 0
    names = embedded_names()
    assert capsys.readouterr().out.splitlines() == [str(dest / n) for n in names]
    assert sorted(p.name for p in dest.iterdir()) == names


def test_samples_over_existing_files_says_so_once_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "http.conf").write_text("; mine\n")
    assert main(["samples", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"pyari: {tmp_path / 'http.conf'} already exists, nothing written"
        " (pyari samples --force overwrites the files)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["http.conf"]
    assert main(["samples", "--force", str(tmp_path)]) == 0
    assert (tmp_path / "http.conf").read_text(encoding="utf-8") == embedded_text("http.conf")


def test_samples_needs_a_folder_and_writes_nothing_without_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run from the checkout, a bare ``pyari samples`` once wrote ``etc/`` there."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["samples"])
    assert exit_.value.code == 2
    assert "the following arguments are required: dir" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
