"""$[...] expressions (ast_expr2 semantics)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pyari.dialplan.expr import ExprError, evaluate, format_number


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # arithmetic and formatting
        ("1+1", "2"),
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 / 2", "3.5"),
        ("10 / 3", "3.33333333333333333"),
        ("2 / 3", "0.666666666666666667"),
        ("0.1 + 0.2", "0.3"),
        ("1.50 + 1", "2.5"),
        ("10 - 4 - 3", "3"),
        ("2 * 3 % 4", "2"),
        ("-7 % 2", "-1"),
        ("7.5 % 2", "1.5"),
        ("-5", "-5"),
        ("- -5", "5"),
        ("-0", "-0"),
        ("2 * -3", "-6"),
        ("100000000000000000000 * 10", "1e+21"),
        ("123456789012345678", "123456789012345678"),
        ("123456789012345678 + 0", "123456789012345678"),
        ("1234567890123456789 + 0", "1.23456789012345679e+18"),
        ("0.00001 * 1", "1e-05"),
        ("0.0001 * 1", "0.0001"),
        ("5", "5"),
        ("007", "007"),  # a lone token is returned as written
        ("007 + 0", "7"),
        # Asterisk's results for bad operands
        ("1 / 0", "2147483647"),
        ("a / 2", "0"),
        ("2 / a", "2147483647"),
        ("5 % 0", "0"),
        ("a + 1", "1"),
        ("1 + a", "1"),
        ("a + b", "0"),
        ("a - 3", "-3"),
        ("3 - a", "3"),
        ("a * 3", "0"),
        ("-a", "0"),
        # comparisons
        ("1 = 1", "1"),
        ("1 == 1.0", "1"),
        ("1 != 1", "0"),
        ("10 > 9", "1"),
        ("10 < 9", "0"),
        ("10 >= 10", "1"),
        ("9 <= 10", "1"),
        ("abc = abc", "1"),
        ("abc < abd", "1"),
        ("10 > 9a", "0"),  # string comparison when one side is not a number
        ('"abc" = abc', "0"),  # quotes are part of the value
        ('"abc" = "abc"', "1"),
        ("1 < 2 < 3", "1"),
        # logic
        ("1 | 0", "1"),
        ("0 | x", "x"),
        ("'' | x", "''"),
        ("a | b", "a"),
        ("1 & 0", "0"),
        ("x & y", "x"),
        ("x && y", "x"),
        ("0 || 5", "5"),
        ("!0", "1"),
        ("!5", "0"),
        ("!abc", "1"),
        ("!!7", "1"),
        ("1 = 1 & 2 = 2", "1"),
        ("1 = 2 | 3 = 3", "1"),
        # ternary
        ("1 ? yes :: no", "yes"),
        ("0 ? yes :: no", "no"),
        ("abc ? yes :: no", "yes"),
        ('"" ? yes :: no', "no"),
        ("0.0 ? yes :: no", "no"),
        ("1 = 2 ? a :: 2 + 3", "5"),
        ("1 ? 0 ? a :: b :: c", "b"),
        ("0 ? a :: 1 ? b :: c", "b"),
        # regex
        ("abc : ab", "2"),
        ("abc : b", "0"),
        ('abc : "a(b)c"', "b"),
        ('abc : "(x)"', ""),
        ("abc =~ b", "1"),
        ('abc =~ "(c)"', "c"),
        ('abc =~ "x"', "0"),
        ('"5551234" : "([0-9]{3})"', "555"),
        ('5551234 : "[[:digit:]]+"', "7"),
        ('abc : "(a"', ""),  # bad regex
        ("a ~~ b", "ab"),
        ('"a" ~~ "b"', "ab"),
        ("!abc : x", "1"),
        # quoted strings and words
        ('"hello world"', '"hello world"'),
        ("foo.bar@baz", "foo.bar@baz"),
        ("", ""),
        ("   ", ""),
        ("SIP/foo-123", "-123"),  # (SIP / foo) - 123: '-' and '/' are operators
        # functions
        ("SQRT(16)", "4"),
        ("SQRT(2)", "1.41421356237309505"),
        ("FLOOR(2.7)", "2"),
        ("CEIL(2.1)", "3"),
        ("ROUND(2.5)", "3"),
        ("RINT(2.5)", "2"),
        ("TRUNC(-2.7)", "-2"),
        ("COS(0)", "1"),
        ("POW(2, 10)", "1024"),
        ("EXP10(3)", "1000"),
        ("LOG10(1000)", "3"),
        ("SQRT(1, 2)", "0"),
        ("UNKNOWN(1)", "0"),
        ("lower(1)", "0"),
    ],
)
def test_evaluate(expr: str, expected: str) -> None:
    assert evaluate(expr) == expected


def test_functions_callback() -> None:
    calls: list[tuple[str, str]] = []

    def functions(name: str, args: str) -> str | None:
        calls.append((name, args))
        return {"LEN": str(len(args)), "NAME": "bob", "EMPTY": ""}.get(name)

    assert evaluate("LEN(abc) + 1", functions=functions) == "4"
    assert evaluate("NAME(x) = bob", functions=functions) == "1"
    assert evaluate("LEN(1, 2 + 3,) * 1", functions=functions) == "4"
    assert evaluate("EMPTY(x) + 1", functions=functions) == "1"
    assert ("LEN", "1,5,") in calls


def test_warnings() -> None:
    seen: list[str] = []
    assert evaluate("1 / 0", on_warning=seen.append) == "2147483647"
    assert evaluate("a + 1", on_warning=seen.append) == "1"
    assert evaluate("NOPE(1)", on_warning=seen.append) == "0"
    assert seen == [
        "division by zero",
        "non-numeric argument",
        "Error! 'NOPE' doesn't appear to be an available function!",
    ]


@pytest.mark.parametrize(
    ("expr", "unexpected", "column", "expecting"),
    [
        ("1 +", "$end", 3, True),
        ("(1", "$end", 2, False),
        ("1 2", "'<token>'", 2, False),
        (")", "')'", 0, True),
        ("1 ? 2", "$end", 5, False),
        ("1 , 2", "','", 2, False),
        ("FOO()", "')'", 4, True),
        ("* 3", "'*'", 0, True),
    ],
)
def test_syntax_errors(expr: str, unexpected: str, column: int, expecting: bool) -> None:
    with pytest.raises(ExprError) as info:
        evaluate(expr)
    message = str(info.value)
    head = f"ast_yyerror():  syntax error: syntax error, unexpected {unexpected}"
    if expecting:
        head += ", expecting '-' or '!' or '(' or '<token>'"
    assert message == f"{head}; Input:\n{expr}\n{' ' * column}^"
    assert info.value.result == "0"
    assert info.value.position == column


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0"), "0"),
        (Decimal("-0"), "-0"),
        (Decimal("1.000"), "1"),
        (Decimal("1e17"), "100000000000000000"),
        (Decimal("1e18"), "1e+18"),
        (Decimal("0.0001"), "0.0001"),
        (Decimal("0.00001234"), "1.234e-05"),
        (Decimal("-2.50"), "-2.5"),
        (Decimal("1e100"), "1e+100"),
    ],
)
def test_format_number(value: Decimal, text: str) -> None:
    assert format_number(value) == text
