"""One state folder per configuration folder, and what ``pyari -rx`` reads to find it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import ConfigError, load_config, load_run_dir, state_dir, write_samples


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("PYARI_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home" / ".local" / "state" / "pyari"


def test_each_folder_its_own_state(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a", tmp_path / "x y"
    a.mkdir()
    b.mkdir()
    assert state_dir(None) == home
    sa, sb = state_dir(a), state_dir(b)
    assert sa.parent == sb.parent == home / "by-config"
    assert sa.name.startswith("a-") and sb.name.startswith("x_y-")
    assert len(sa.name) == len("a-") + 12
    monkeypatch.chdir(tmp_path)
    assert state_dir(Path("a")) == sa
    assert state_dir(Path("./b/../a")) == sa
    assert load_config(a).asterisk.astrundir == sa / "run"
    assert load_config(None).asterisk.astrundir == home / "run"


def test_state_dir_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYARI_STATE_DIR", str(tmp_path / "s"))
    assert state_dir(tmp_path) == tmp_path / "s"
    assert load_config(None, state=tmp_path / "t").asterisk.astspooldir == tmp_path / "t/spool"


def test_run_dir_reads_only_asterisk_conf(home: Path, tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    write_samples(conf)
    (conf / "extensions.conf").write_text("[ctx\nexten => nonsense\n")
    (conf / "ari.conf").write_text("[u]\ntype=user\npassword_format=rot13\n")
    with pytest.raises(ConfigError):
        load_config(conf)
    assert load_run_dir(conf) == state_dir(conf) / "run"
    (conf / "asterisk.conf").write_text(
        "[directories]\nastrundir => /run/pyari-x\n[options]\nentityid = not-a-mac\n"
    )
    assert load_run_dir(conf) == Path("/run/pyari-x")


def test_missing_folder_message(tmp_path: Path) -> None:
    for load in (load_config, load_run_dir):
        with pytest.raises(ConfigError) as err:
            load(tmp_path / "nonexistent")  # type: ignore[operator]
        assert str(err.value) == (
            f"{tmp_path}/nonexistent: no such configuration folder "
            f"(`pyari samples {tmp_path}/nonexistent` writes one)"
        )
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="file: not a folder"):
        load_config(tmp_path / "file")
