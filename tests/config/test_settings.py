"""Typed settings: http.conf, ari.conf, asterisk.conf and the value readers."""

from __future__ import annotations

from pathlib import Path

import crypt_r  # type: ignore[import-untyped,unused-ignore]
import pytest

from pyari.config import (
    AriSettings,
    AriUser,
    AsteriskSettings,
    ConfigError,
    Entry,
    HttpSettings,
    embedded_dir,
    parse_bool,
    parse_hostport,
    parse_int,
    parse_text,
    split_list,
)


def entry(value: str, key: str = "k") -> Entry:
    return Entry(key, value, "=", "v.conf", 4)


def http(text: str) -> HttpSettings:
    return HttpSettings.from_sections(parse_text(text, "http.conf"))


def ari(text: str) -> AriSettings:
    return AriSettings.from_sections(parse_text(text, "ari.conf"))


def asterisk(text: str, config_dir: Path | None = None) -> AsteriskSettings:
    sections = parse_text(text, "asterisk.conf", keep_templates=True)
    return AsteriskSettings.from_sections(sections, config_dir=config_dir)


def expect_error(text: str, build: str, line: int, words: str) -> None:
    builders = {"http": http, "ari": ari, "asterisk": asterisk}
    with pytest.raises(ConfigError) as info:
        builders[build](text)
    assert info.value.file == f"{build}.conf"
    assert info.value.line == line
    assert words in info.value.reason
    assert str(info.value).startswith(f"{build}.conf:{line}: ")


# --- value readers -------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "YES", "true", "On", "1", "y", "t", " yes "])
def test_true_words(word: str) -> None:
    assert parse_bool(entry(word)) is True


@pytest.mark.parametrize("word", ["no", "No", "FALSE", "off", "0", "n", "f"])
def test_false_words(word: str) -> None:
    assert parse_bool(entry(word)) is False


@pytest.mark.parametrize("word", ["", "maybe", "2", "yess", "enabled"])
def test_bad_booleans(word: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_bool(entry(word, "enabled"))
    assert (info.value.file, info.value.line) == ("v.conf", 4)
    assert "enabled" in info.value.reason
    assert "not a boolean" in info.value.reason


def test_parse_int_bounds() -> None:
    assert parse_int(entry(" 42 ")) == 42
    assert parse_int(entry("-3")) == -3
    assert parse_int(entry("5"), 1, 5) == 5
    for bad in ("", "1.5", "1_000", "x", "٣"):
        with pytest.raises(ConfigError, match="not an integer"):
            parse_int(entry(bad))
    with pytest.raises(ConfigError, match=r"out of range 1\.\.5"):
        parse_int(entry("6"), 1, 5)
    with pytest.raises(ConfigError, match=r"out of range 1\.\."):
        parse_int(entry("0"), 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 8089)),
        ("127.0.0.1:9000", ("127.0.0.1", 9000)),
        ("pbx.example.com:443", ("pbx.example.com", 443)),
        ("[::1]:8089", ("::1", 8089)),
        ("[::1]", ("::1", 8089)),
        ("[2001:db8::5]:1234", ("2001:db8::5", 1234)),
        ("::", ("::", 8089)),
        ("fe80::1", ("fe80::1", 8089)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
    ],
)
def test_parse_hostport(value: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(entry(value), 8089) == expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "no host"),
        (":8089", "no host"),
        ("[]:8089", "no host"),
        ("host:", "empty port"),
        ("[::1]:", "empty port"),
        ("host:http", "bad port"),
        ("host:70000", "bad port"),
        ("[::1", "no closing ']'"),
        ("[::1]8089", "unexpected text"),
    ],
)
def test_parse_hostport_errors(value: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_hostport(entry(value), 8089)
    assert words in info.value.reason
    assert info.value.line == 4


def test_split_list() -> None:
    assert split_list(" a, b ,,c ,") == ("a", "b", "c")
    assert split_list("") == ()


# --- http.conf -----------------------------------------------------------------------------


def test_http_defaults_are_asterisks() -> None:
    settings = HttpSettings.from_sections([])
    assert settings == HttpSettings()
    assert settings.enabled is False
    assert (settings.bindaddr, settings.bindport) == ("0.0.0.0", 8088)
    assert settings.servername == "Asterisk"
    assert settings.enablestatic is False
    assert settings.prefix == ""
    assert settings.url_prefix == ""
    assert settings.sessionlimit == 100
    assert settings.tlsenable is False
    assert (settings.tlsbindaddr, settings.tlsbindport) == ("0.0.0.0", 8089)
    assert settings.tlscertfile is None
    assert settings.tlsprivatekey is None


def test_http_walkthrough_values() -> None:
    settings = http(
        "[general]\nenabled=yes\nenablestatic=no\nbindaddr=192.0.2.10\n"
        "bindport=8088\nservername=Asterisk \n"
        "tlsenable=yes\ntlsbindaddr=192.0.2.10:8089\n"
        "tlscertfile = /var/lib/asterisk/foo.pem\ntlsprivatekey = /var/lib/asterisk/foo.pem\n"
    )
    assert settings.enabled is True
    assert settings.bindaddr == "192.0.2.10"
    assert settings.bindport == 8088
    assert settings.servername == "Asterisk"
    assert settings.tlsenable is True
    assert (settings.tlsbindaddr, settings.tlsbindport) == ("192.0.2.10", 8089)
    assert settings.tlscertfile == Path("/var/lib/asterisk/foo.pem")
    assert settings.tlsprivatekey == Path("/var/lib/asterisk/foo.pem")


def test_http_tls_ipv6_and_key_defaults_to_cert() -> None:
    settings = http("[general]\ntlsenable=yes\ntlsbindaddr=[::1]:8443\ntlscertfile=/k/c.pem\n")
    assert (settings.tlsbindaddr, settings.tlsbindport) == ("::1", 8443)
    assert settings.tlsprivatekey == Path("/k/c.pem")


def test_http_tls_port_optional_and_host_follows_bindaddr() -> None:
    assert http("[general]\ntlsbindaddr=[::]\n").tlsbindport == 8089
    settings = http("[general]\nbindaddr=127.0.0.1\ntlsenable=yes\ntlscertfile=/c.pem\n")
    assert (settings.tlsbindaddr, settings.tlsbindport) == ("127.0.0.1", 8089)


def test_http_bindaddr_keeps_host_only() -> None:
    assert http("[general]\nbindaddr=::\n").bindaddr == "::"
    assert http("[general]\nbindaddr=[::1]\n").bindaddr == "::1"
    settings = http("[general]\nbindaddr=127.0.0.1:9999\n")
    assert (settings.bindaddr, settings.bindport) == ("127.0.0.1", 8088)


def test_http_prefix_and_others() -> None:
    settings = http(
        "[general]\nprefix=/foo/\nsessionlimit=5\nservername=\nenable_static=yes\n"
        "session_inactivity=1000\nsession_keep_alive=0\nsslcert=/c.pem\nsslprivatekey=/k.pem\n"
    )
    assert settings.prefix == "foo"
    assert settings.url_prefix == "/foo"
    assert settings.sessionlimit == 5
    assert settings.servername == ""
    assert settings.enablestatic is True
    assert settings.session_inactivity == 1000
    assert settings.session_keep_alive == 0
    assert settings.tlscertfile == Path("/c.pem")
    assert settings.tlsprivatekey == Path("/k.pem")


def test_http_last_value_wins_across_general_sections_and_aliases() -> None:
    settings = http("[general]\nbindport=1\ntlsenable=yes\n[general]\nbindport=2\nsslenable=no\n")
    assert settings.bindport == 2
    assert settings.tlsenable is False


def test_http_ignores_other_sections_and_unknown_keys() -> None:
    settings = http("[other]\nenabled=maybe\n[general]\nfrobnicate=7\nredirect=/ /x\n")
    assert settings == HttpSettings()


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[general]\nenabled=perhaps\n", 2, "not a boolean"),
        ("[general]\n\nbindport=99999\n", 3, "not a port"),
        ("[general]\nbindport=http\n", 2, "not a port"),
        ("[general]\nbindport=-1\n", 2, "not a port"),
        ("[general]\nsessionlimit=0\n", 2, "out of range"),
        ("[general]\ntlsenable=sure\n", 2, "not a boolean"),
        ("[general]\ntlsbindaddr=host:x\n", 2, "bad port"),
        ("[general]\ntlsbindaddr=[::1]:99999\n", 2, "bad port"),
        ("[general]\nbindaddr=\n", 2, "no host"),
        ("[general]\nenablestatic=2\n", 2, "not a boolean"),
        ("[general]\n\ntlsenable=yes\n", 3, "needs tlscertfile"),
        ("[general]\ntlsenable=yes\ntlscertfile=\n", 2, "needs tlscertfile"),
    ],
)
def test_http_errors(text: str, line: int, words: str) -> None:
    expect_error(text, "http", line, words)


# --- ari.conf ------------------------------------------------------------------------------


WALKTHROUGH_ARI = """[general]
enabled = yes
pretty = yes
allowed_origins = yourDeveloperHost, http://ari.asterisk.org
[testARI]
type = user
read_only = no
password = Sup3rM3ga$tr0ng
password_format = plain
"""


def test_ari_walkthrough() -> None:
    settings = ari(WALKTHROUGH_ARI)
    assert settings.enabled is True
    assert settings.pretty is True
    assert settings.allowed_origins == ("yourDeveloperHost", "http://ari.asterisk.org")
    assert settings.auth_realm == "Asterisk REST Interface"
    assert settings.websocket_write_timeout == 100
    user = settings.users["testARI"]
    assert user == AriUser("testARI", False, "Sup3rM3ga$tr0ng", "plain")
    assert user.check_password("Sup3rM3ga$tr0ng")
    assert not user.check_password("sup3rm3ga$tr0ng")
    assert not user.check_password("")
    assert "Sup3r" not in repr(user)


def test_ari_defaults() -> None:
    settings = AriSettings.from_sections([])
    assert settings == AriSettings()
    assert settings.enabled is True
    assert settings.pretty is False
    assert settings.allowed_origins == ()
    assert settings.channelvars == ()
    assert settings.users == {}


def test_ari_general_options() -> None:
    settings = ari(
        "[general]\nenabled=no\npretty=no\nauth_realm=pbx\nwebsocket_write_timeout=250\n"
        "channelvars = CALLERID(num), FOO ,\nallowed_origins =\n"
    )
    assert settings.enabled is False
    assert settings.auth_realm == "pbx"
    assert settings.websocket_write_timeout == 250
    assert settings.channelvars == ("CALLERID(num)", "FOO")
    assert settings.allowed_origins == ()


def test_ari_only_type_user_sections_are_users() -> None:
    settings = ari(
        "[general]\ntype=user\npassword=x\n"
        "[notes]\nfoo=bar\n"
        "[other]\ntype=something\n"
        "[Bob]\ntype = USER\npassword = b\nread_only = yes\n"
    )
    assert list(settings.users) == ["Bob"]
    assert settings.users["Bob"].read_only is True


def test_ari_users_from_templates() -> None:
    settings = ari(
        "[user-base](!)\ntype=user\nread_only=yes\npassword_format=plain\n"
        "[alice](user-base)\npassword=a\n[bob](user-base)\npassword=b\nread_only=no\n"
    )
    assert sorted(settings.users) == ["alice", "bob"]
    assert settings.users["alice"].read_only is True
    assert settings.users["bob"].read_only is False
    assert "user-base" not in settings.users


def test_ari_crypt_password() -> None:
    hashed = crypt_r.crypt("s3cret", "$6$pyarisalt$")
    settings = ari(f"[general]\n[ops]\ntype=user\npassword={hashed}\npassword_format=CRYPT\n")
    user = settings.users["ops"]
    assert user.password_format == "crypt"
    assert user.check_password("s3cret")
    assert not user.check_password("s3cre")
    assert not user.check_password(hashed)


def test_ari_crypt_with_malformed_hash_never_matches() -> None:
    user = AriUser("x", password="not-a-hash", password_format="crypt")
    assert not user.check_password("not-a-hash")
    assert not user.check_password("")


def test_ari_plain_password_non_ascii() -> None:
    user = AriUser("x", password="pässwörd")
    assert user.check_password("pässwörd")
    assert not user.check_password("passwort")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[general]\npretty=indeed\n", 2, "not a boolean"),
        ("[general]\nenabled=2\n", 2, "not a boolean"),
        ("[general]\nwebsocket_write_timeout=0\n", 2, "out of range"),
        ("[general]\nwebsocket_write_timeout=fast\n", 2, "not an integer"),
        ("[general]\n[u]\ntype=user\nread_only=no\n", 2, "'u' has no password"),
        ("[general]\n[u]\ntype=user\npassword=\n", 2, "'u' has no password"),
        ("[u]\ntype=user\npassword=x\npassword_format=md5\n", 4, "must be plain or crypt"),
        ("[u]\ntype=user\npassword=x\nread_only=kinda\n", 4, "not a boolean"),
    ],
)
def test_ari_errors(text: str, line: int, words: str) -> None:
    expect_error(text, "ari", line, words)


# --- asterisk.conf -------------------------------------------------------------------------


def test_asterisk_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PYARI_STATE_DIR", str(tmp_path / "state"))
    settings = AsteriskSettings.defaults(tmp_path / "etc")
    assert settings.astetcdir == tmp_path / "etc"
    assert settings.astdatadir == Path("/usr/share/asterisk")
    assert settings.astspooldir == tmp_path / "state" / "spool"
    assert settings.astrundir == tmp_path / "state" / "run"
    assert settings.astlogdir == tmp_path / "state" / "log"
    assert settings.astvarlibdir == tmp_path / "state" / "lib"
    assert settings.astdbdir == settings.astvarlibdir
    assert settings.entityid is None
    assert settings.systemname == ""


def test_asterisk_state_dir_falls_back_to_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYARI_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = AsteriskSettings.defaults(None)
    assert settings.astspooldir == tmp_path / ".local" / "state" / "pyari" / "spool"
    assert settings.astetcdir == embedded_dir()


@pytest.mark.parametrize("header", ["[directories]", "[directories](!)"])
def test_asterisk_directories(header: str) -> None:
    settings = asterisk(
        f"{header}\nastetcdir => /etc/asterisk\nastdatadir => /opt/data\n"
        "astspooldir => /var/spool/asterisk\nastrundir => /run/asterisk\n"
        "astlogdir => /var/log/asterisk\nastvarlibdir => /var/lib/asterisk\n"
        "[options]\nentityid = 02:FC:0:00:00:01\nsystemname = pbx1\n",
        config_dir=Path("/somewhere"),
    )
    assert settings.astetcdir == Path("/etc/asterisk")
    assert settings.astdatadir == Path("/opt/data")
    assert settings.astspooldir == Path("/var/spool/asterisk")
    assert settings.astrundir == Path("/run/asterisk")
    assert settings.astlogdir == Path("/var/log/asterisk")
    assert settings.astdbdir == Path("/var/lib/asterisk")
    assert settings.entityid == "02:fc:00:00:00:01"
    assert settings.systemname == "pbx1"


def test_asterisk_empty_entityid_is_unset() -> None:
    assert asterisk("[options]\nentityid =\n").entityid is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[options]\nentityid = 02:fc:00:00:00\n", 2, "not a MAC address"),
        ("[options]\n\nentityid = zz:fc:00:00:00:01\n", 3, "not a MAC address"),
        ("[directories]\nastlogdir =>\n", 2, "empty directory"),
    ],
)
def test_asterisk_errors(text: str, line: int, words: str) -> None:
    expect_error(text, "asterisk", line, words)
