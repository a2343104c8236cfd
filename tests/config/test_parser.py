"""The .conf dialect: sections, entries, comments, templates, includes and errors."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from pyari.config import ConfigError, Entry, Section, parse_file, parse_text


def names(sections: list[Section]) -> list[str]:
    return [section.name for section in sections]


def pairs(section: Section) -> list[tuple[str, str]]:
    return [(entry.key, entry.value) for entry in section.entries]


# --- sections and entries -------------------------------------------------------------


def test_sections_entries_and_ops() -> None:
    text = "[general]\nenabled = yes\n  bindport=8088  \n\n[ARI-test]\nexten => 1000,1,NoOp()\n"
    general, ctx = parse_text(text, "http.conf")
    assert general.name == "general"
    assert general.file == "http.conf"
    assert general.line == 1
    assert general.templates == ()
    assert general.entries == (
        Entry("enabled", "yes", "=", "http.conf", 2),
        Entry("bindport", "8088", "=", "http.conf", 3),
    )
    assert ctx.entries == (Entry("exten", "1000,1,NoOp()", "=>", "http.conf", 6),)


def test_dialplan_lines_keep_their_text() -> None:
    text = """[ARI-test]
exten => 1000,1,NoOp()
same => n,Answer()
same => n,Set(FOO=bar=baz)
same=>n,Stasis(hello)
exten =>_X.,1,Hangup()
"""
    (ctx,) = parse_text(text)
    assert [(e.key, e.op, e.value) for e in ctx.entries] == [
        ("exten", "=>", "1000,1,NoOp()"),
        ("same", "=>", "n,Answer()"),
        ("same", "=>", "n,Set(FOO=bar=baz)"),
        ("same", "=>", "n,Stasis(hello)"),
        ("exten", "=>", "_X.,1,Hangup()"),
    ]
    assert [e.line for e in ctx.entries] == [2, 3, 4, 5, 6]


def test_keys_keep_case_and_lookups_ignore_it() -> None:
    (section,) = parse_text("[s]\nBindPort = 1\nbindport = 2\nother = x\n")
    assert [e.key for e in section.entries] == ["BindPort", "bindport", "other"]
    assert section.get("BINDPORT") == "2"
    assert section.getall("bindPort") == ["1", "2"]
    assert section.get("missing") is None
    assert section.get("missing", "dflt") == "dflt"
    assert section.getall("missing") == []
    assert section.last("bindport") == Entry("bindport", "2", "=", "<string>", 3)


def test_empty_value_and_whitespace() -> None:
    (section,) = parse_text("[s]\n\tkey =   \nother=  a b  c \t\n")
    assert pairs(section) == [("key", ""), ("other", "a b  c")]


def test_duplicate_sections_stay_separate_in_file_order() -> None:
    text = "[a]\nx=1\n[b]\ny=2\n[a]\nx=3\n"
    sections = parse_text(text)
    assert names(sections) == ["a", "b", "a"]
    assert [pairs(s) for s in sections] == [[("x", "1")], [("y", "2")], [("x", "3")]]
    assert [s.line for s in sections] == [1, 3, 5]


def test_empty_text_and_empty_sections() -> None:
    assert parse_text("") == []
    assert parse_text("\n\n; only a comment\n") == []
    (section,) = parse_text("[empty]\n")
    assert section.entries == ()


def test_windows_line_endings_and_bom() -> None:
    sections = parse_text("\ufeff[s]\r\nkey = value\r\n")
    assert pairs(sections[0]) == [("key", "value")]


def test_plus_equals_appends_to_last_value() -> None:
    (section,) = parse_text("[s]\nallow = ulaw\nallow +=,alaw\nnew += x\nnew += y\n")
    assert pairs(section) == [("allow", "ulaw,alaw"), ("new", "x y")]
    assert section.entries[0].line == 2


def test_leading_backslash_escapes_first_character() -> None:
    (section,) = parse_text("[s]\n\\[weird] = 1\n\\#key = 2\n")
    assert pairs(section) == [("[weird]", "1"), ("#key", "2")]


def test_line_without_equals_is_ignored_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyari.config.parser"):
        (section,) = parse_text("[s]\njust words\n= novalue\nk=v\n", "x.conf")
    assert pairs(section) == [("k", "v")]
    assert "x.conf:2" in caplog.text
    assert "x.conf:3" in caplog.text


def test_header_with_spaces_and_trailing_text() -> None:
    (section,) = parse_text("[ spaced ]  ; comment\nk=v\n")
    assert section.name == "spaced"


# --- comments --------------------------------------------------------------------------


def test_line_comments_and_escaped_semicolons() -> None:
    text = "; leading comment\n[s] ; after header\nkey = a\\;b ; comment\nurl = x\\;y\\;z\n"
    (section,) = parse_text(text)
    assert pairs(section) == [("key", "a;b"), ("url", "x;y;z")]


def test_block_comment_on_one_line() -> None:
    (section,) = parse_text("[s]\nkey = a ;-- hidden --; b\n")
    assert pairs(section) == [("key", "a  b")]


def test_block_comment_spanning_lines() -> None:
    text = "[s]\nkey = a ;-- start\n[hidden]\nhidden = 1\n end --; b\nnext = 2\n"
    (section,) = parse_text(text)
    assert pairs(section) == [("key", "a  b"), ("next", "2")]
    assert [e.line for e in section.entries] == [2, 6]


def test_block_comments_nest() -> None:
    text = "[s]\n;-- outer\n;-- inner --;\nstill = hidden\n--;\nshown = 1\n"
    (section,) = parse_text(text)
    assert pairs(section) == [("shown", "1")]


def test_four_dashes_is_a_plain_comment() -> None:
    (section,) = parse_text("[s]\n;---- banner ----\nk = v\n")
    assert pairs(section) == [("k", "v")]


def test_unclosed_block_comment_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyari.config.parser"):
        (section,) = parse_text("[s]\nk = v\n;-- never closed\nx = 1\n", "u.conf")
    assert pairs(section) == [("k", "v")]
    assert "u.conf:3" in caplog.text


# --- templates ---------------------------------------------------------------------------


def test_template_is_hidden_and_copied_first() -> None:
    text = """[base](!)
type = user
read_only = yes
[alice](base)
password = a
read_only = no
"""
    (alice,) = parse_text(text, "t.conf")
    assert alice.templates == ("base",)
    assert pairs(alice) == [
        ("type", "user"),
        ("read_only", "yes"),
        ("password", "a"),
        ("read_only", "no"),
    ]
    assert alice.get("read_only") == "no"
    # inherited entries keep the file and line where they were written
    assert [e.line for e in alice.entries] == [2, 3, 5, 6]
    assert alice.line == 4


def test_multiple_templates_in_order() -> None:
    text = "[t1](!)\na=1\n[t2](!)\nb=2\n[x](t2,t1)\nc=3\n"
    (x,) = parse_text(text)
    assert x.templates == ("t2", "t1")
    assert pairs(x) == [("b", "2"), ("a", "1"), ("c", "3")]


def test_template_inheriting_a_template() -> None:
    text = "[t1](!)\na=1\n[t2](!,t1)\nb=2\n[x](t2)\nc=3\n"
    (x,) = parse_text(text)
    assert pairs(x) == [("a", "1"), ("b", "2"), ("c", "3")]
    assert x.templates == ("t2",)


def test_inherit_from_a_plain_section_and_case_insensitive_lookup() -> None:
    text = "[Base]\na=1\n[x]( base )\nb=2\n"
    _base, x = parse_text(text)
    assert pairs(x) == [("a", "1"), ("b", "2")]
    assert x.templates == ("Base",)


def test_templates_are_snapshots_taken_at_the_header() -> None:
    text = "[t](!)\na=1\n[x](t)\n[t](+)\nb=2\n"
    (x,) = parse_text(text)
    assert pairs(x) == [("a", "1")]


def test_keep_templates() -> None:
    sections = parse_text("[t](!)\na=1\n[x](t)\n", keep_templates=True)
    assert [(s.name, s.is_template) for s in sections] == [("t", True), ("x", False)]


def test_plus_appends_to_existing_section() -> None:
    text = "[a]\nx=1\n[b]\ny=2\n[a](+)\nz=3\n"
    a, _b = parse_text(text)
    assert pairs(a) == [("x", "1"), ("z", "3")]
    assert a.line == 1
    assert [e.line for e in a.entries] == [2, 6]


def test_plus_appends_to_first_of_duplicates() -> None:
    text = "[a]\nx=1\n[a]\nx=2\n[a](+)\nx=3\n"
    first, second = parse_text(text)
    assert pairs(first) == [("x", "1"), ("x", "3")]
    assert pairs(second) == [("x", "2")]


def test_plus_with_filter_picks_matching_section() -> None:
    text = "[2222]\ntype=aor\n[2222]\ntype=endpoint\n[2222](+type=endpoint)\ncontext=ARI-test\n"
    aor, endpoint = parse_text(text)
    assert pairs(aor) == [("type", "aor")]
    assert pairs(endpoint) == [("type", "endpoint"), ("context", "ARI-test")]


def test_plus_with_template_option() -> None:
    text = "[t](!)\na=1\n[x]\nb=2\n[x](+,t)\n"
    (x,) = parse_text(text)
    assert pairs(x) == [("b", "2"), ("a", "1")]
    assert x.templates == ("t",)


# --- includes ----------------------------------------------------------------------------


def test_include_relative_to_including_file(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("[a]\nx=1\n#include users.conf\n[c]\nz=3\n")
    (tmp_path / "users.conf").write_text("[b]\ny=2\n")
    a, b, c = parse_file(tmp_path / "main.conf")
    assert names([a, b, c]) == ["a", "b", "c"]
    assert b.file == str(tmp_path / "users.conf")
    assert b.entries[0].file == str(tmp_path / "users.conf")
    assert b.entries[0].line == 2
    assert a.entries[0].file == str(tmp_path / "main.conf")


def test_include_quoted_and_angle_brackets(tmp_path: Path) -> None:
    (tmp_path / "a b.conf").write_text("[q]\n")
    (tmp_path / "c.conf").write_text("[r]\n")
    text = '#include "a b.conf"\n#INCLUDE <c.conf>\n'
    assert names(parse_text(text, include_dir=tmp_path)) == ["q", "r"]


def test_included_text_continues_the_current_section(tmp_path: Path) -> None:
    (tmp_path / "more.conf").write_text("inner = 1\n[other]\no = 2\n")
    text = "[ctx]\nbefore = 0\n#include more.conf\nafter = 3\n"
    ctx, other = parse_text(text, include_dir=tmp_path)
    # like Asterisk, the includer keeps adding to its own section after the include
    assert pairs(ctx) == [("before", "0"), ("inner", "1"), ("after", "3")]
    assert pairs(other) == [("o", "2")]


def test_include_dir_wins_over_including_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "main.conf").write_text("#include sub/inner.conf\n")
    (tmp_path / "sub" / "inner.conf").write_text("#include leaf.conf\n")
    (tmp_path / "leaf.conf").write_text("[leaf]\n")
    sections = parse_file(tmp_path / "sub" / "main.conf", include_dir=tmp_path)
    assert names(sections) == ["leaf"]


def test_include_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "abs.conf").write_text("[abs]\n")
    assert names(parse_text(f"#include {tmp_path / 'abs.conf'}\n")) == ["abs"]


def test_include_glob_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    for name in ("20-b.conf", "10-a.conf", "30-c.conf", "notes.txt"):
        (tmp_path / "conf.d" / name).write_text(f"[{name}]\n")
    sections = parse_text("#include conf.d/*.conf\n", include_dir=tmp_path)
    assert names(sections) == ["10-a.conf", "20-b.conf", "30-c.conf"]


def test_include_glob_without_match_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text("\n#include nothing/*.conf\n", "m.conf", include_dir=tmp_path)
    assert (info.value.file, info.value.line) == ("m.conf", 2)
    assert "no file matches" in info.value.reason


def test_tryinclude_skips_missing_files(tmp_path: Path) -> None:
    text = "[a]\n#tryinclude missing.conf\n#tryinclude none/*.conf\nx=1\n"
    (a,) = parse_text(text, include_dir=tmp_path)
    assert pairs(a) == [("x", "1")]


def test_missing_include_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("[a]\n\n#include missing.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "main.conf")
    error = info.value
    assert error.file == str(tmp_path / "main.conf")
    assert error.line == 3
    assert "missing.conf" in error.reason
    assert str(error).startswith(f"{tmp_path / 'main.conf'}:3: ")


def test_error_inside_include_names_the_included_file(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("[x](nope)\n")
    with pytest.raises(ConfigError) as info:
        parse_text("#include bad.conf\n", include_dir=tmp_path)
    assert (info.value.file, info.value.line) == (str(tmp_path / "bad.conf"), 1)


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("[a]\n#include b.conf\n")
    (tmp_path / "b.conf").write_text("[b]\n#include a.conf\n")
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "a.conf")
    assert info.value.file == str(tmp_path / "b.conf")
    assert info.value.line == 2
    assert "loop" in info.value.reason


def test_self_include_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("#include a.conf\n")
    with pytest.raises(ConfigError, match="loop"):
        parse_file(tmp_path / "a.conf")


def test_same_file_included_twice_is_fine(tmp_path: Path) -> None:
    (tmp_path / "common.conf").write_text("[c]\n")
    text = "#include common.conf\n#include common.conf\n"
    assert names(parse_text(text, include_dir=tmp_path)) == ["c", "c"]


def test_opener_reads_included_files() -> None:
    files = {"/etc/x/users.conf": "[u]\nk=v\n"}

    def opener(path: str) -> str:
        try:
            return files[path]
        except KeyError:
            raise FileNotFoundError(2, "No such file or directory", path) from None

    sections = parse_text("#include users.conf\n", include_dir=Path("/etc/x"), opener=opener)
    assert pairs(sections[0]) == [("k", "v")]
    assert sections[0].file == "/etc/x/users.conf"
    with pytest.raises(ConfigError, match="No such file"):
        parse_text("#include other.conf\n", "m.conf", include_dir=Path("/etc/x"), opener=opener)


def test_latin1_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "l.conf").write_bytes("[s]\nname = Jos\xe9\n".encode("latin-1"))
    (section,) = parse_file(tmp_path / "l.conf")
    assert section.get("name") == "José"


def test_unknown_directive_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyari.config.parser"):
        (section,) = parse_text("[s]\n#pragma once\nk=v\n", "d.conf")
    assert pairs(section) == [("k", "v")]
    assert "d.conf:2" in caplog.text


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("key = value\n", 1, "outside of any [section]"),
        ("; c\n\nkey => v\n", 3, "outside of any [section]"),
        ("[a]\n[b](nope)\n", 2, "unknown template 'nope'"),
        ("[a]\n[b](a,nope)\n", 2, "unknown template 'nope'"),
        ("[t](!)\n[t2](!,missing)\n", 2, "unknown template 'missing'"),
        ("[a\n", 1, "no closing ']'"),
        ("[]\n", 1, "empty name"),
        ("[a](!\n", 1, "no closing ')'"),
        ("[a]\n\n[b](+)\n", 3, "no earlier section [b]"),
        ("[a]\ntype=x\n[a](+type=y)\n", 3, "no earlier section [a] matching"),
        ("[a]\n[a](+type)\n", 2, "bad section filter"),
        ("[a]\n[a](+type=[)\n", 2, "bad regex"),
        ("[a]\n#exec /bin/echo hi\n", 2, "#exec is not supported"),
        ("[a]\n#include\n", 2, "needs a file name"),
        ('[a]\n#include ""\n', 2, "needs a file name"),
        ("[a]\n\\ x = 1\n", 2, "invalid escape"),
    ],
)
def test_errors_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_text(text, "bad.conf")
    error = info.value
    assert error.file == "bad.conf"
    assert error.line == line
    assert words in error.reason
    assert str(error) == f"bad.conf:{line}: {error.reason}"


def test_parse_file_of_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_file(tmp_path / "nope.conf")
    assert info.value.file == str(tmp_path / "nope.conf")
    assert info.value.line == 0
    assert "cannot read" in info.value.reason


def test_config_error_attributes_and_pickling() -> None:
    error = ConfigError("f.conf", 7, "broken")
    assert (error.file, error.line, error.reason) == ("f.conf", 7, "broken")
    assert str(error) == "f.conf:7: broken"
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "f.conf:7: broken"
    assert isinstance(error, Exception)


def test_sections_are_immutable() -> None:
    (section,) = parse_text("[s]\nk=v\n")
    with pytest.raises(AttributeError):
        section.name = "other"  # type: ignore[misc]
    assert isinstance(section.entries, tuple)
