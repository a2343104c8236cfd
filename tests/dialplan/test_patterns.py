"""Extension pattern matching and Asterisk's ext_cmp ordering."""

from __future__ import annotations

import pytest

from pyari.dialplan.patterns import clean_name, compare, is_pattern, match, sort_key, strip_fluff


@pytest.mark.parametrize(
    ("pattern", "exten", "expected"),
    [
        ("1000", "1000", True),
        ("1000", "100", False),
        ("1000", "10000", False),
        ("1-000", "1000", True),
        ("1000", "10-00", True),
        ("s", "s", True),
        ("S", "s", False),
        ("_X", "5", True),
        ("_X", "a", False),
        ("_X", "", False),
        ("_x", "0", True),
        ("_Z", "0", False),
        ("_Z", "1", True),
        ("_N", "1", False),
        ("_N", "2", True),
        ("_n", "9", True),
        ("_NXX", "223", True),
        ("_NXX", "123", False),
        ("_NXX", "2234", False),
        ("_NXX", "22", False),
        ("_X.", "1", False),
        ("_X.", "12", True),
        ("_X.", "1abc", True),
        ("_.", "a", True),
        ("_.", "", False),
        ("_!", "", True),
        ("_1!", "1", True),
        ("_1!", "123", True),
        ("_1!", "2", False),
        ("_1!", "", False),
        ("_X.X", "12", True),  # rest of the pattern after '.' is ignored
        ("_X!9", "1", True),
        ("_[1-5]", "3", True),
        ("_[1-5]", "6", False),
        ("_[135-7]", "6", True),
        ("_[135-7]", "4", False),
        ("_[a-z]", "q", True),
        ("_[a-z]", "Q", False),
        ("_[abc]X", "b1", True),
        ("_[]1", "1", True),  # empty set ignored
        ("_[1", "1", False),  # unterminated set never matches
        ("_[5-1]", "3", False),
        ("_[.]", ".", True),
        ("_[.]", "a", False),
        ("_NXX-XXXX", "555-1234", True),
        ("_NXX-XXXX", "5551234", True),
        ("_1.", "1+", True),
        ("_a(b)", "a(b)", True),
        ("_+1X", "+15", True),
        ("_*X", "*5", True),
        ("_X", "_X", True),  # a dialled pattern equal to the pattern matches
        ("_X.", "_X.", True),
        ("_X.", "_N.", False),
        ("_1XXX/", "1234", True),
    ],
)
def test_match(pattern: str, exten: str, expected: bool) -> None:
    assert match(pattern, exten) is expected


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["_X.", "_NXX", "1000", "_1!"], ["1000", "_1!", "_NXX", "_X."]),
        (["_!", "_.", "_X!", "_X."], ["_X.", "_X!", "_.", "_!"]),
        (["_X", "_Z", "_N", "_5"], ["_5", "_N", "_Z", "_X"]),
        (["_[1-3]", "_[4-6]", "_[1-2]"], ["_[1-2]", "_[1-3]", "_[4-6]"]),
        (["_[13]", "_[12]"], ["_[12]", "_[13]"]),
        (["_NXX.", "_NXX"], ["_NXX.", "_NXX"]),
        (["_1XXX", "_1!", "_[1-3]XXX"], ["_1XXX", "_1!", "_[1-3]XXX"]),
        (["200", "100", "1000", "s", "h"], ["100", "1000", "200", "h", "s"]),
        (["_2XX", "_1XX"], ["_1XX", "_2XX"]),
        (["_N-XX", "_NXX-X"], ["_NXX-X", "_N-XX"]),
    ],
)
def test_sort_order(names: list[str], expected: list[str]) -> None:
    assert sorted(names, key=sort_key) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1000", "1000", 0),
        ("1-000", "1000", 0),
        ("1000", "_X.", -1),
        ("_X.", "1000", 1),
        ("_NXX", "_X.", -1),
        ("_X", "_x", 0),
        ("_[0-9]", "_X", 0),
        ("_[2-9]", "_N", 0),
        ("_[1-5]", "_[12345]", 0),
    ],
)
def test_compare(a: str, b: str, expected: int) -> None:
    assert compare(a, b) == expected


def test_cid_sorts_before_plain() -> None:
    assert sort_key("1000", "555") < sort_key("1000")
    assert sort_key("1000", "_X.") > sort_key("1000", "555")


@pytest.mark.parametrize(
    ("name", "cleaned", "stripped"),
    [
        ("1000", "1000", "1000"),
        ("1 000", "1000", "1000"),
        ("555-1234", "555-1234", "5551234"),
        ("_NXX-XXXX", "_NXX-XXXX", "_NXXXXXX"),
        ("_[1-5]-X", "_[1-5]-X", "_[1-5]X"),
        ("_[a -c]", "_[a -c]", "_[a -c]"),
        ("[1-2]", "[1-2]", "[12]"),  # brackets are literal outside patterns
    ],
)
def test_clean_and_strip(name: str, cleaned: str, stripped: str) -> None:
    assert clean_name(name) == cleaned
    assert strip_fluff(name) == stripped


def test_is_pattern() -> None:
    assert is_pattern("_X.")
    assert not is_pattern("1000")
    assert not is_pattern("")
