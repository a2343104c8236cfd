"""Loading whole configurations: the embedded defaults, a folder, samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import (
    AriSettings,
    Config,
    ConfigError,
    HttpSettings,
    embedded_dir,
    embedded_names,
    embedded_text,
    load_config,
    load_one,
    parse_file,
    write_samples,
)

EMBEDDED = [
    "ari.conf",
    "asterisk.conf",
    "extensions.conf",
    "http.conf",
    "musiconhold.conf",
    "pjsip.conf",
]


def steps(config: Config, context: str) -> list[tuple[str, str, str]]:
    (section,) = [s for s in config.extensions if s.name == context]
    return [(e.key, e.op, e.value) for e in section.entries]


@pytest.fixture(autouse=True)
def _state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYARI_STATE_DIR", str(tmp_path / "state"))


def test_embedded_defaults_reproduce_the_walkthrough(tmp_path: Path) -> None:
    config = load_config(None)
    assert config.source_dir is None
    assert config.http.enabled is True
    assert config.http.enablestatic is True  # the softphone page, /static/softphone/
    assert (config.http.bindaddr, config.http.bindport) == ("127.0.0.1", 8088)
    assert config.http.servername == "Asterisk"
    assert config.http.tlsenable is False
    assert config.ari.enabled is True
    assert config.ari.pretty is True
    assert config.ari.allowed_origins == ("http://ari.asterisk.org",)
    assert list(config.ari.users) == ["testARI"]
    user = config.ari.users["testARI"]
    assert user.read_only is False
    assert user.password_format == "plain"
    assert user.check_password("Sup3rM3ga$tr0ng")
    assert [s.name for s in config.extensions] == ["ARI-test", "default"]
    assert steps(config, "ARI-test") == [
        ("exten", "=>", "1000,1,NoOp()"),
        ("same", "=>", "n,Answer()"),
        ("same", "=>", "n,Stasis(hello)"),
        ("same", "=>", "n,Hangup()"),
    ]
    assert steps(config, "default") == [
        ("exten", "=>", "s,1,NoOp()"),
        ("same", "=>", "n,Answer()"),
        ("same", "=>", "n,Wait(30)"),
        ("same", "=>", "n,Hangup()"),
    ]
    assert config.asterisk.astetcdir == embedded_dir()
    assert config.asterisk.astspooldir == tmp_path / "state" / "spool"
    assert config.asterisk.astdatadir == Path("/usr/share/asterisk")


def test_embedded_files_are_listed_and_readable() -> None:
    assert embedded_names() == EMBEDDED
    for name in EMBEDDED:
        text = embedded_text(name)
        assert text is not None
        assert text.startswith(";")
    assert embedded_text("voicemail.conf") is None
    assert embedded_text("../loader.py") is None


def test_embedded_http_conf_has_tls_examples_commented_out() -> None:
    text = embedded_text("http.conf")
    assert text is not None
    for key in ("tlsenable", "tlsbindaddr", "tlscertfile", "tlsprivatekey"):
        assert f";{key}=" in text


def test_load_one_embedded_and_missing() -> None:
    sections = load_one(None, "http.conf")
    assert [s.name for s in sections] == ["general"]
    assert sections[0].file.endswith("http.conf")
    assert load_one(None, "voicemail.conf") == []


def test_empty_folder_means_asterisk_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source_dir == tmp_path
    assert config.http == HttpSettings()
    assert config.http.enabled is False
    assert config.ari == AriSettings()
    assert config.ari.users == {}
    assert config.extensions == []
    assert config.asterisk.astetcdir == tmp_path


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope")
    assert info.value.file == str(tmp_path / "nope")
    assert info.value.line == 0


def test_folder_with_real_files(tmp_path: Path) -> None:
    (tmp_path / "http.conf").write_text("[general]\nenabled=yes\nbindaddr=0.0.0.0\nbindport=0\n")
    (tmp_path / "ari.conf").write_text(
        "[general]\nenabled=yes\n#include ari_users.conf\n", encoding="utf-8"
    )
    (tmp_path / "ari_users.conf").write_text("[app]\ntype=user\npassword=pw\nread_only=yes\n")
    (tmp_path / "extensions.conf").write_text("[from-sim]\nexten => 100,1,Answer()\n")
    (tmp_path / "asterisk.conf").write_text("[directories](!)\nastdatadir => /srv/sounds\n")
    config = load_config(tmp_path)
    assert (config.http.enabled, config.http.bindport) == (True, 0)
    assert config.ari.users["app"].read_only is True
    assert [s.name for s in config.extensions] == ["from-sim"]
    assert config.asterisk.astdatadir == Path("/srv/sounds")
    assert config.asterisk.astetcdir == tmp_path


def test_includes_are_relative_to_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "dialplan").mkdir()
    (tmp_path / "extensions.conf").write_text("#include dialplan/main.conf\n")
    (tmp_path / "dialplan" / "main.conf").write_text("#include dialplan/ctx.conf\n")
    (tmp_path / "dialplan" / "ctx.conf").write_text("[ctx]\nexten => 1,1,NoOp()\n")
    (section,) = load_one(tmp_path, "extensions.conf")
    assert section.name == "ctx"
    assert section.file == str(tmp_path / "dialplan" / "ctx.conf")


def test_bad_file_raises_with_its_name_and_line(tmp_path: Path) -> None:
    (tmp_path / "http.conf").write_text("[general]\nenabled=yes\nbindport=eighty\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.file == str(tmp_path / "http.conf")
    assert info.value.line == 3


def test_bad_dialplan_syntax_raises(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text("exten => 1,1,NoOp()\n")
    with pytest.raises(ConfigError, match=r"extensions\.conf:1: "):
        load_config(tmp_path)


def test_write_samples_then_load_them(tmp_path: Path) -> None:
    dest = tmp_path / "new" / "etc"
    written = write_samples(dest)
    assert written == [dest / name for name in EMBEDDED]
    for path in written:
        assert path.read_text(encoding="utf-8") == embedded_text(path.name)
    from_files = load_config(dest)
    embedded = load_config(None)
    assert from_files.http == embedded.http
    assert from_files.ari == embedded.ari
    assert [s.name for s in from_files.extensions] == ["ARI-test", "default"]
    assert from_files.asterisk.astetcdir == dest
    assert parse_file(dest / "extensions.conf")[0].file == str(dest / "extensions.conf")


def test_write_samples_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "http.conf").write_text("; mine\n")
    with pytest.raises(FileExistsError, match=r"http\.conf"):
        write_samples(tmp_path)
    # nothing was written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["http.conf"]
    assert (tmp_path / "http.conf").read_text() == "; mine\n"
    write_samples(tmp_path, overwrite=True)
    assert (tmp_path / "http.conf").read_text(encoding="utf-8") == embedded_text("http.conf")
    assert sorted(p.name for p in tmp_path.iterdir()) == EMBEDDED


def test_config_is_immutable() -> None:
    config = load_config(None)
    with pytest.raises(AttributeError):
        config.http = HttpSettings()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        config.http.bindport = 1  # type: ignore[misc]
