"""${VAR} / ${FUNC()} / $[expr] substitution and the built-in functions."""

from __future__ import annotations

import pytest

from pyari.dialplan.substitute import MappingVarSource, builtin_function, substitute, substring

VARS = {
    "X": "hello",
    "Y": "X",
    "N": "5",
    "EMPTY": "",
    "NUM": "5551234",
    "LIST": "a-b-c-d",
    "CSV": "a,b,c",
    "NAME": "X:Y",
    "NESTED": "${X}",
}


def sub(text: str) -> str:
    return substitute(text, MappingVarSource(VARS))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("${X}", "hello"),
        ("<${X}>", "<hello>"),
        ("${X}${N}", "hello5"),
        ("${UNSET}", ""),
        ("a${UNSET}b", "ab"),
        ("${${Y}}", "hello"),
        ("${NESTED}", "${X}"),  # values are not substituted again
        ("$X", "$X"),
        ("cost $5", "cost $5"),
        ("end$", "end$"),
        ("${X:1}", "ello"),
        ("${X:1:3}", "ell"),
        ("${X:-3}", "llo"),
        ("${X:-3:2}", "ll"),
        ("${X:0:-1}", "hell"),
        ("${X:1:-1}", "ell"),
        ("${X:10}", ""),
        ("${X:-10}", "hello"),
        ("${X:4:-3}", ""),
        ("${X::2}", "hello"),  # sscanf fails on the empty offset
        ("${NUM:0:3}-${NUM:3}", "555-1234"),
        ("${X:${N}}", ""),
        ("${NUM:-${N}:2}", "51"),
        ("${LEN(${X})}", "5"),
        ("${LEN()}", "0"),
        ("${LEN(a,b)}", "3"),
        ("${LEN(${X}):0:1}", "5"),
        ("${TOUPPER(${X})}", "HELLO"),
        ("${NOSUCH(x)}", ""),
        ("$[1 + 2]", "3"),
        ("$[${N} * 2]", "10"),
        ("$[$[1 + 1] * 3]", "6"),
        ("${X}$[${N} > 3]", "hello1"),
        ("$[${LEN(${X})} + 1]", "6"),
        ("$[LEN(abc) + 1]", "4"),  # expression functions use call_function
        ("$[]", ""),
        ("$[1 +]", "0"),  # syntax error: Asterisk substitutes 0
        ("\\${X}", "${X}"),
        ("\\$[1+1]", "$[1+1]"),
        ("a\\b", "a\\b"),
        ("${X", "hello"),  # missing '}' takes the rest
        ("$[1+2", "3"),
        ("${IF($[${N} > 3]?big:small)}", "big"),
        ("${IF($[${N} > 9]?big:small)}", "small"),
        ("${NAME}", "X:Y"),
    ],
)
def test_substitute(text: str, expected: str) -> None:
    assert sub(text) == expected


def test_errors_reported() -> None:
    errors: list[str] = []
    assert substitute("$[1 +]", MappingVarSource(), on_error=errors.append) == "0"
    assert substitute("${X", MappingVarSource({"X": "1"}), on_error=errors.append) == "1"
    assert errors[0].startswith("ast_yyerror():  syntax error:")
    assert errors[1] == "Error in extension logic (missing '}')"


def test_recursion_limit() -> None:
    errors: list[str] = []
    text = "${" * 20 + "X" + "}" * 20
    assert substitute(text, MappingVarSource({"X": "X"}), on_error=errors.append) == ""
    assert any("recursion depth" in e for e in errors)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def get_var(self, name: str) -> str | None:
        return {"A": "1", "B": "2"}.get(name)

    def call_function(self, name: str, args: str) -> str | None:
        self.calls.append((name, args))
        return "f" if name == "F" else None


def test_function_delegation() -> None:
    rec = Recorder()
    assert substitute("${F(${A},${B})}${G(x)}", rec) == "f"
    assert rec.calls == [("F", "1,2"), ("G", "x")]


def test_no_dollar_fast_path() -> None:
    rec = Recorder()
    assert substitute("nothing here", rec) == "nothing here"
    assert rec.calls == []


@pytest.mark.parametrize(
    ("value", "offset", "length", "expected"),
    [
        ("hello", 0, 2147483647, "hello"),
        ("hello", 0, 0, ""),
        ("hello", 2, 100, "llo"),
        ("hello", -2, 2147483647, "lo"),
        ("hello", 1, -10, ""),
        ("", 0, 1, ""),
    ],
)
def test_substring(value: str, offset: int, length: int, expected: str) -> None:
    assert substring(value, offset, length) == expected


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("LEN", "hello", "5"),
        ("LEN", "", "0"),
        ("ISNULL", "", "1"),
        ("ISNULL", "x", "0"),
        ("EXISTS", "x", "1"),
        ("EXISTS", "", "0"),
        ("IF", "1?yes:no", "yes"),
        ("IF", "0?yes:no", "no"),
        ("IF", "abc?yes:no", "yes"),
        ("IF", " 00 ? yes : no ", "no"),
        ("IF", "-1?yes:no", "yes"),
        ("IF", "1?yes", "yes"),
        ("IF", "0?yes", ""),
        ("IF", "1?:no", ""),
        ("IF", "1", ""),
        ("IF", "?a:b", ""),
        ("IF", '1?"a:b":c', "a:b"),
        ("TOUPPER", "abc-é", "ABC-é"),
        ("TOLOWER", "ABC", "abc"),
        ("CUT", "LIST,-,2", "b"),
        ("CUT", "LIST,-,2-3", "b-c"),
        ("CUT", "LIST,-,-2", "a-b"),
        ("CUT", "LIST,-,3-", "c-d"),
        ("CUT", "LIST,-,1&3", "a-c"),
        ("CUT", "LIST,-,9", ""),
        ("CUT", "CSV,\\,,2", "b"),  # escaped comma delimiter
        ("CUT", "LIST,,2", "b"),  # empty delimiter means '-'
        ("CUT", "LIST,-", ""),
        ("CUT", "LIST,-,x", ""),
        ("CUT", "UNSET,-,1", ""),
        ("FIELDQTY", "LIST,-", "4"),
        ("FIELDQTY", "UNSET,-", "0"),
        ("FIELDQTY", "LIST", "1"),
        ("REPLACE", "LIST,-,_", "a_b_c_d"),
        ("REPLACE", "LIST,-", "abcd"),
        ("REPLACE", "LIST,ac,x", "x-b-x-d"),
        ("REPLACE", "LIST", ""),
        ("QUOTE", 'say "hi"\\', '"say \\"hi\\"\\\\"'),
        ("QUOTE", "", '""'),
        ("CSV_QUOTE", 'a"b', '"a""b"'),
        ("len", "abc", None),  # function names are case-sensitive
        ("NOPE", "x", None),
    ],
)
def test_builtin_function(name: str, args: str, expected: str | None) -> None:
    assert builtin_function(name, args, VARS.get) == expected
