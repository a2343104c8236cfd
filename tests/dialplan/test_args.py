"""Application argument splitting (ast_app_separate_args) and priority app parsing."""

from __future__ import annotations

import random

import pytest

from pyari.dialplan.args import parse_app_call, split_app_args


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", []),
        ("a", ["a"]),
        ("a,b,c", ["a", "b", "c"]),
        ("a,", ["a", ""]),
        (",", ["", ""]),
        (",a", ["", "a"]),
        ("a,,b", ["a", "", "b"]),
        ("a|b", ["a|b"]),
        (" a , b ", [" a ", " b "]),
        ("PJSIP/100,20,tT", ["PJSIP/100", "20", "tT"]),
        ("f(a,b),c", ["f(a,b)", "c"]),
        ("f(g(a,b),c),d", ["f(g(a,b),c)", "d"]),
        ("x),y", ["x)", "y"]),
        ("[a,b],c", ["[a,b]", "c"]),
        ('"a,b",c', ["a,b", "c"]),
        ('say "hi, there"', ["say hi, there"]),
        ("a\\,b,c", ["a,b", "c"]),
        ("a\\\\,b", ["a\\", "b"]),
        ('a\\"b,c', ['a"b', "c"]),
        ("${IF($[${X}=1]?a:b)},z", ["${IF($[${X}=1]?a:b)}", "z"]),
    ],
)
def test_split(data: str, expected: list[str]) -> None:
    assert split_app_args(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('"a,b",c', ['"a,b"', "c"]),
        ("a\\,b,c", ["a\\,b", "c"]),
    ],
)
def test_split_raw(data: str, expected: list[str]) -> None:
    assert split_app_args(data, remove_chars=False) == expected


@pytest.mark.parametrize(
    ("data", "delim", "max_args", "expected"),
    [
        ("a,b,c", ",", 2, ["a", "b,c"]),
        ('a,"b",c', ",", 2, ["a", '"b",c']),  # the remainder is left unparsed
        ("a,b,c", ",", 1, ["a,b,c"]),
        ("a,", ",", 2, ["a", ""]),
        ("1?yes:no", "?", 2, ["1", "yes:no"]),
        ("yes:no", ":", 2, ["yes", "no"]),
        ("a:b:c", ":", None, ["a", "b", "c"]),
        ("a,b", ",", 0, []),
    ],
)
def test_split_limits(data: str, delim: str, max_args: int | None, expected: list[str]) -> None:
    assert split_app_args(data, delim, max_args=max_args) == expected


def test_split_bad_delim() -> None:
    with pytest.raises(ValueError):
        split_app_args("a", ",,")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NoOp(foo)", ("NoOp", "foo")),
        ("NoOp()", ("NoOp", "")),
        ("Answer", ("Answer", "")),
        ("  Answer  ", ("Answer", "")),
        ("Dial(PJSIP/a,20)", ("Dial", "PJSIP/a,20")),
        ("NoOp(a(b)c)", ("NoOp", "a(b)c")),
        ("NoOp(a) trailing", ("NoOp", "a")),
        ("NoOp(unclosed", ("NoOp", "unclosed")),
        ("Set(X=$[1+(2)])", ("Set", "X=$[1+(2)]")),
        ("Goto,default,s,1", ("Goto", "default,s,1")),
        ("DAHDI/g0/${GLOBAL(x)}", ("DAHDI/g0/${GLOBAL(x)}", "")),
        ("", ("", "")),
    ],
)
def test_parse_app_call(text: str, expected: tuple[str, str]) -> None:
    assert parse_app_call(text) == expected


def test_split_without_nesting_is_the_same_as_character_by_character() -> None:
    """The shortcut for data that neither nests, quotes nor escapes (str.split) gives
    what the character-by-character splitter gives, on generated argument strings with
    and without quotes, escapes, brackets and parentheses, for every delimiter, limit and
    ``remove_chars``."""
    from pyari.dialplan.args import _separate

    rng = random.Random(16)
    plain = ["a", "b", " ", ",", ",", ":", "?", "|", "${X}", "xyz", ""]
    special = ['"', "\\", "(", ")", "[", "]"]
    shortcut = 0
    for n in range(4000):
        pieces = plain + special if n % 2 else plain
        data = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        for delim in (",", ":", "?", '"', "("):
            for max_args in (None, 0, 1, 2, 3, 5):
                for remove_chars in (True, False):
                    want = (
                        []
                        if max_args is not None and max_args < 1
                        else _separate(data, delim, remove_chars, max_args)
                    )
                    got = split_app_args(data, delim, remove_chars=remove_chars, max_args=max_args)
                    assert got == want, (data, delim, max_args, remove_chars)
        shortcut += not any(c in data for c in special)
    assert shortcut > 2000  # (the shortcut was taken often)
