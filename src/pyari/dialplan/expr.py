"""``$[ ... ]`` expressions, evaluated like Asterisk's ast_expr2 (main/ast_expr2.y/.fl).

Operators, from lowest to highest precedence (all left-associative except
the unary ones)::

    cond ? a :: b              ternary
    |  ||                      or: left value unless it is empty or zero, else right
    &  &&                      and: left value if both are non-empty/non-zero, else 0
    = == != < > <= >=          comparison (numeric when both sides are numbers)
    + -                        arithmetic
    * / %                      arithmetic (``/`` is not integer division: 7 / 2 = 3.5)
    ! -                        unary complement and negation
    : =~ ~~                    regex match anchored at start, regex search, concat
    ( )  FUNC(args, ...)       grouping, functions

Values: a bare number (``12``, ``1.5``) is a numeric string, any other word is
a string; double-quoted strings keep their quotes (``$["a"]`` is ``"a"``), the
regex/concat operators strip them.  Comparisons are numeric when neither side
is a non-numeric string, otherwise they compare the strings (byte order; the
C locale ``strcoll``).  Numbers are computed in decimal with more precision
than Asterisk's ``long double`` and printed like ``%.18Lg``: integers without
decimals, at most 18 significant digits, trailing zeros dropped.

Asterisk's error results are kept: non-numeric operands of arithmetic give the
values ``op_plus`` & co. give (e.g. ``a + 1`` is ``1``, ``a * 2`` is ``0``),
division by zero gives ``2147483647`` (``INT_MAX``) and ``x % 0`` gives ``0``;
those cases only produce warnings (passed to ``on_warning``).  A syntax error
raises :class:`ExprError` with the message Asterisk logs; Asterisk substitutes
``0`` for such an expression (:attr:`ExprError.result`).

Regular expressions are POSIX extended in Asterisk and Python ``re`` here
(``[[:digit:]]``-style classes are translated); leftmost-longest alternation
is not emulated.

Built-in math functions (``COS``, ``SIN``, ``TAN``, ``ACOS``, ``ASIN``,
``ATAN``, ``ATAN2``, ``POW``, ``SQRT``, ``FLOOR``, ``CEIL``, ``ROUND``,
``RINT``, ``TRUNC``, ``EXP``, ``EXP2``, ``EXP10``, ``LOG``, ``LOG2``,
``LOG10``, ``REMAINDER``) are provided; other upper-case names are passed to
the ``functions`` callback (dialplan functions such as ``LEN``).
"""

from __future__ import annotations

import decimal
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pyari.dialplan.cint import INT_PREFIX, c_int

__all__ = ["ExprError", "evaluate", "format_number"]

INT_MAX = 2147483647

# No traps: like C's long double, an overflow gives inf and an invalid operation nan.
_CTX = decimal.Context(
    prec=40, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999, traps=[]
)
_OUT_CTX = decimal.Context(
    prec=18, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999, traps=[]
)
_EXACT_CTX = _CTX.copy()
_EXACT_CTX.traps[decimal.InvalidOperation] = True
MAX_DEPTH = 48
"""Nesting (parentheses, function arguments, ``?`` branches, unary operators) an
expression may have; deeper is a syntax error, as bison's stack running out is."""

Warn = Callable[[str], None]
FunctionCallback = Callable[[str, str], "str | None"]


class ExprError(Exception):
    """A syntax error in an expression; ``str()`` is what Asterisk logs."""

    result = "0"
    """What Asterisk substitutes for an expression that does not parse."""

    def __init__(self, message: str, expr: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.expr = expr
        self.position = position


class _NumStr(str):
    """A string that looks like a number (``AST_EXPR_numeric_string``)."""

    __slots__ = ()


_Val = Decimal | _NumStr | str

_NUMERIC_STR = re.compile(r"[0-9.]+")
_STRTOD_PREFIX = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def _make_str(s: str) -> _Val:
    return _NumStr(s) if _NUMERIC_STR.fullmatch(s) else str(s)


def _strtod(s: str) -> Decimal:
    m = _STRTOD_PREFIX.match(s)
    if not m:
        return Decimal(0)
    return Decimal(m.group(1))


def _to_number(v: _Val) -> Decimal | None:
    if isinstance(v, Decimal):
        return v
    if isinstance(v, _NumStr):
        return _strtod(v)
    return None


def format_number(d: Decimal) -> str:
    """Format like C's ``printf("%.18Lg")``."""
    if d.is_nan():
        return "-nan" if d.is_signed() else "nan"
    if d.is_infinite():
        return "-inf" if d.is_signed() else "inf"
    if d.is_zero():
        return "-0" if d.is_signed() else "0"
    r = _OUT_CTX.plus(d)
    exp = r.adjusted()
    sign, digits, _ = r.as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    neg = "-" if sign else ""
    if exp < -4 or exp >= 18:
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp >= 0:
        int_part = text[: exp + 1].ljust(exp + 1, "0")
        frac = text[exp + 1 :]
    else:
        int_part = "0"
        frac = "0" * (-exp - 1) + text
    return f"{neg}{int_part}.{frac}" if frac else f"{neg}{int_part}"


def _to_string(v: _Val) -> str:
    if isinstance(v, Decimal):
        return format_number(v)
    return str(v)


def _is_string(v: _Val) -> bool:
    return not isinstance(v, (Decimal, _NumStr))


def _is_zero_or_null(v: _Val) -> bool:
    if isinstance(v, Decimal):
        return v.is_zero()
    if v == "":
        return True
    n = _to_number(v)
    return n is not None and n.is_zero()


def _strip_quotes(s: str) -> str:
    if len(s) >= 1 and s[0] == '"' and s[-1] == '"':
        return s.replace('"', "")
    return s


def _atoi(s: str) -> int:
    m = INT_PREFIX.match(s)
    return c_int(m.group(1)) if m else 0


# -- tokenizer -------------------------------------------------------------

_OPS2 = ("||", "&&", "==", "=~", "~~", ">=", "<=", "!=", "::")
_OPS1 = "|&=><+,-*/%?!:()"
_OP_NAMES = {
    "|": "|",
    "||": "|",
    "&": "&",
    "&&": "&",
    "=": "=",
    "==": "=",
    "=~": "=~",
    "~~": "~~",
    ">": ">",
    "<": "<",
    ">=": ">=",
    "<=": "<=",
    "!=": "!=",
    "+": "+",
    ",": ",",
    "-": "-",
    "*": "*",
    "/": "/",
    "%": "%",
    "?": "?",
    "!": "!",
    ":": ":",
    "::": "::",
    "(": "(",
    ")": ")",
}
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.';\\_^#@")
_TRAIL_STOP = frozenset("-\t\r \n$():?%/+=*<>!|&")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_TOKEN = "TOKEN"
_END = "$end"


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # operator text (canonical), TOKEN or $end
    value: _Val
    pos: int


def _word_len(s: str, i: int) -> int:
    j = i
    n = len(s)
    while j < n:
        c = s[j]
        if c in _WORD_CHARS or ord(c) >= 0x80:
            j += 1
        elif c == "$" and j + 1 < n and s[j + 1] != "{":
            j += 2
        else:
            break
    return j - i


def _var_token_end(s: str, i: int) -> int:
    """End of a ``${...}trail`` token whose ``${`` starts at ``i``."""
    n = len(s)
    j = i + 2
    while True:
        depth = 0
        while j < n:
            c = s[j]
            j += 1
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth < 0:
                    break
        else:
            return n
        # trailing characters up to a delimiter, or another ${
        while j < n and s[j] not in _TRAIL_STOP:
            j += 1
        if s.startswith("${", j):
            j += 2
            continue
        return j


def _tokenize(s: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c in " \t\r\n":
            i += 1
            continue
        two = s[i : i + 2]
        if two == "${":
            end = _var_token_end(s, i)
            toks.append(_Tok(_TOKEN, s[i:end], i))
            i = end
            continue
        if two in _OPS2:
            toks.append(_Tok(_OP_NAMES[two], two, i))
            i += 2
            continue
        if c in _OPS1:
            toks.append(_Tok(_OP_NAMES[c], c, i))
            i += 1
            continue
        if c == '"':
            close = s.find('"', i + 1)
            if close >= 0:
                toks.append(_Tok(_TOKEN, s[i : close + 1], i))
                i = close + 1
                continue
            i += 1  # lone quote: no rule matches, flex echoes and skips it
            continue
        m = _NUMBER.match(s, i)
        num_len = m.end() - i if m else 0
        word_len = _word_len(s, i)
        if word_len and s.startswith("${", i + word_len):
            end = _var_token_end(s, i + word_len)
            toks.append(_Tok(_TOKEN, s[i:end], i))
            i = end
            continue
        if num_len and num_len >= word_len:
            toks.append(_Tok(_TOKEN, _NumStr(s[i : i + num_len]), i))
            i += num_len
            continue
        if word_len:
            toks.append(_Tok(_TOKEN, s[i : i + word_len], i))
            i += word_len
            continue
        i += 1  # unmatched character: skipped
    toks.append(_Tok(_END, "", n))
    return toks


# -- operators -------------------------------------------------------------


def _posix_to_python(regex: str) -> str:
    classes = {
        "[:digit:]": r"0-9",
        "[:alpha:]": r"a-zA-Z",
        "[:alnum:]": r"a-zA-Z0-9",
        "[:upper:]": r"A-Z",
        "[:lower:]": r"a-z",
        "[:space:]": r" \t\n\r\f\v",
        "[:blank:]": r" \t",
        "[:punct:]": r"!-/:-@\[-`{-~",
        "[:xdigit:]": r"0-9A-Fa-f",
        "[:cntrl:]": r"\x00-\x1f\x7f",
        "[:print:]": r" -~",
        "[:graph:]": r"!-~",
    }
    for name, repl in classes.items():
        regex = regex.replace(name, repl)
    return regex


class _Evaluator:
    def __init__(self, functions: FunctionCallback | None, warn: Warn) -> None:
        self.functions = functions
        self.warn = warn

    # comparisons
    def compare(self, op: str, a: _Val, b: _Val) -> Decimal:
        if _is_string(a) or _is_string(b):
            sa, sb = _to_string(a), _to_string(b)
            cmp = (sa > sb) - (sa < sb)
        else:
            na, nb = _to_number(a), _to_number(b)
            assert na is not None and nb is not None
            if na.is_nan() or nb.is_nan():  # unordered: only != holds, as in C
                return Decimal(int(op == "!="))
            cmp = int(na.compare(nb, context=_CTX))
        result = {
            "=": cmp == 0,
            "!=": cmp != 0,
            "<": cmp < 0,
            ">": cmp > 0,
            "<=": cmp <= 0,
            ">=": cmp >= 0,
        }[op]
        return Decimal(int(result))

    def binary(self, op: str, a: _Val, b: _Val) -> _Val:
        if op == "|":
            return b if _is_zero_or_null(a) else a
        if op == "&":
            if _is_zero_or_null(a) or _is_zero_or_null(b):
                return Decimal(0)
            return a
        if op in ("=", "!=", "<", ">", "<=", ">="):
            return self.compare(op, a, b)
        if op in (":", "=~"):
            return self.regex(a, b, anchored=op == ":")
        if op == "~~":
            return _make_str(_strip_quotes(_to_string(a)) + _strip_quotes(_to_string(b)))
        return self.arith(op, a, b)

    def arith(self, op: str, a: _Val, b: _Val) -> _Val:
        na, nb = _to_number(a), _to_number(b)
        if op == "+":
            if na is None:
                self.warn("non-numeric argument")
                return Decimal(0) if nb is None else nb
            if nb is None:
                return na
            return _CTX.add(na, nb)
        if op == "-":
            if na is None:
                self.warn("non-numeric argument")
                return Decimal(0) if nb is None else _CTX.subtract(Decimal(0), nb)
            if nb is None:
                self.warn("non-numeric argument")
                return na
            return _CTX.subtract(na, nb)
        if op == "*":
            if na is None or nb is None:
                self.warn("non-numeric argument")
                return Decimal(0)
            return _CTX.multiply(na, nb)
        if op == "/":
            if na is None:
                self.warn("non-numeric argument")
                return Decimal(0)
            if nb is None:
                self.warn("non-numeric argument")
                return Decimal(INT_MAX)
            if nb.is_zero():
                self.warn("division by zero")
                return Decimal(INT_MAX)
            return _CTX.divide(na, nb)
        # "%"
        if na is None or nb is None:
            self.warn("non-numeric argument")
            return Decimal(0)
        if nb.is_zero():
            self.warn("div by zero")
            return nb
        if not (na.is_finite() and nb.is_finite()):
            return Decimal("NaN")  # fmodl of inf or nan
        try:
            return _EXACT_CTX.remainder(na, nb)
        except decimal.InvalidOperation:  # the quotient has more digits than prec
            try:
                return Decimal(repr(math.fmod(float(na), float(nb))))
            except ValueError:  # an operand beyond a double's range
                return Decimal("NaN")

    def regex(self, a: _Val, b: _Val, *, anchored: bool) -> _Val:
        subject = _strip_quotes(_to_string(a))
        pattern = _strip_quotes(_to_string(b))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "possible nested set"
                rx = re.compile(_posix_to_python(pattern))
        except (re.error, RecursionError, OverflowError) as exc:
            # Any text may be a pattern: one that is too deep or repeats too often is
            # refused like one that does not parse.
            self.warn(f"regcomp() error : {exc}")
            return ""
        m = rx.match(subject) if anchored else rx.search(subject)
        if m is not None:
            if rx.groups >= 1:
                if m.start(1) >= 0:
                    return _make_str(m.group(1))
                return Decimal(m.end() - m.start())
            return Decimal(m.end() - m.start())
        return Decimal(0) if rx.groups == 0 else ""

    def negate(self, a: _Val) -> _Val:
        n = _to_number(a)
        if n is None:
            self.warn("non-numeric argument")
            return Decimal(0)
        return n.copy_negate()

    @staticmethod
    def complement(a: _Val) -> _Val:
        if isinstance(a, Decimal):
            v = 0 if a.is_zero() else 1
        elif a in ("", "0"):
            v = 0
        else:
            v = _atoi(a)
        return Decimal(int(not v))

    @staticmethod
    def cond(a: _Val, b: _Val, c: _Val) -> _Val:
        if _is_string(a):
            s = str(a)
            return b if s and s != '""' and s != "0" else c
        n = _to_number(a)
        return b if n is not None and not n.is_zero() else c

    def call(self, name: str, args: list[_Val]) -> _Val:
        if not re.fullmatch(r"[A-Z_0-9]*", name):
            self.warn(f"Error! '{name}' is not possibly a function name!")
            return Decimal(0)
        math_fn = _MATH.get(name)
        if math_fn is not None:
            arity, fn = math_fn
            nums = [_to_number(a) for a in args]
            if len(args) != arity:
                self.warn(f"Wrong args to {name}() function")
                return Decimal(0)
            values = [Decimal(0) if n is None else n for n in nums]
            try:
                return fn(values)
            except (ValueError, OverflowError, ZeroDivisionError, decimal.InvalidOperation):
                return Decimal("NaN")
        result = None
        if self.functions is not None:
            argbuf = ",".join(_to_string(a) for a in args)
            result = self.functions(name, argbuf)
        if result is None:
            self.warn(f"Error! '{name}' doesn't appear to be an available function!")
            return Decimal(0)
        if all(ch in "-0123456789. \t" for ch in result):
            return _strtod(result)
        return _make_str(result)


def _f1(fn: Callable[[float], float]) -> tuple[int, Callable[[list[Decimal]], Decimal]]:
    return 1, lambda v: Decimal(repr(fn(float(v[0]))))


def _f2(fn: Callable[[float, float], float]) -> tuple[int, Callable[[list[Decimal]], Decimal]]:
    return 2, lambda v: Decimal(repr(fn(float(v[0]), float(v[1]))))


_MATH: dict[str, tuple[int, Callable[[list[Decimal]], Decimal]]] = {
    "COS": _f1(math.cos),
    "SIN": _f1(math.sin),
    "TAN": _f1(math.tan),
    "ACOS": _f1(math.acos),
    "ASIN": _f1(math.asin),
    "ATAN": _f1(math.atan),
    "ATAN2": _f2(math.atan2),
    "POW": _f2(math.pow),
    "SQRT": (1, lambda v: _CTX.sqrt(v[0])),
    "FLOOR": (1, lambda v: v[0].to_integral_value(rounding=decimal.ROUND_FLOOR)),
    "CEIL": (1, lambda v: v[0].to_integral_value(rounding=decimal.ROUND_CEILING)),
    "ROUND": (1, lambda v: v[0].to_integral_value(rounding=decimal.ROUND_HALF_UP)),
    "RINT": (1, lambda v: v[0].to_integral_value(rounding=decimal.ROUND_HALF_EVEN)),
    "TRUNC": (1, lambda v: v[0].to_integral_value(rounding=decimal.ROUND_DOWN)),
    "EXP": (1, lambda v: _CTX.exp(v[0])),
    "EXP2": (1, lambda v: _CTX.power(Decimal(2), v[0])),
    "EXP10": (1, lambda v: _CTX.power(Decimal(10), v[0])),
    "LOG": (1, lambda v: _CTX.ln(v[0])),
    "LOG2": _f1(math.log2),
    "LOG10": (1, lambda v: _CTX.log10(v[0])),
    "REMAINDER": _f2(math.remainder),
}


# -- parser ----------------------------------------------------------------

_CMP_OPS = frozenset(("=", "!=", "<", ">", "<=", ">="))
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset(("|",)),
    frozenset(("&",)),
    _CMP_OPS,
    frozenset(("+", "-")),
    frozenset(("*", "/", "%")),
)
_POSTFIX_OPS = frozenset((":", "=~", "~~"))
_BISON_NAMES = {
    _TOKEN: "'<token>'",
    _END: "$end",
    "~~": "TOK_TILDETILDE",
}


def _tok_name(kind: str) -> str:
    return _BISON_NAMES.get(kind, f"'{kind}'")


class _Parser:
    def __init__(self, text: str, ev: _Evaluator) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.ev = ev
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def error(self, operand_expected: bool) -> ExprError:
        tok = self.tok
        msg = f"syntax error, unexpected {_tok_name(tok.kind)}"
        if operand_expected:
            msg += ", expecting '-' or '!' or '(' or '<token>'"
        spaces = " " * tok.pos
        full = f"ast_yyerror():  syntax error: {msg}; Input:\n{self.text}\n{spaces}^"
        return ExprError(full, self.text, tok.pos)

    def enter(self) -> None:
        """One level deeper; too deep is an error, not a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            tok = self.tok
            spaces = " " * tok.pos
            raise ExprError(
                f"ast_yyerror():  syntax error: memory exhausted; Input:\n{self.text}\n{spaces}^",
                self.text,
                tok.pos,
            )

    def parse(self) -> _Val:
        if self.tok.kind == _END:
            return ""
        value = self.cond()
        if self.tok.kind != _END:
            raise self.error(False)
        return value

    def cond(self) -> _Val:
        self.enter()
        left = self.binary(0)
        while self.tok.kind == "?":
            self.i += 1
            middle = self.cond()
            if self.tok.kind != "::":
                raise self.error(False)
            self.i += 1
            right = self.binary(0)
            left = self.ev.cond(left, middle, right)
        self.depth -= 1
        return left

    def binary(self, level: int) -> _Val:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        ops = _LEVELS[level]
        while self.tok.kind in ops:
            op = self.tok.kind
            self.i += 1
            right = self.binary(level + 1)
            left = self.ev.binary(op, left, right)
        return left

    def unary(self) -> _Val:
        kind = self.tok.kind
        if kind not in ("!", "-"):
            return self.postfix()
        self.i += 1
        self.enter()
        operand = self.unary()
        self.depth -= 1
        return self.ev.complement(operand) if kind == "!" else self.ev.negate(operand)

    def postfix(self) -> _Val:
        left = self.primary()
        while self.tok.kind in _POSTFIX_OPS:
            op = self.tok.kind
            self.i += 1
            # The right operand may start with a unary operator, which then
            # takes everything binding tighter than itself.
            right = self.unary() if self.tok.kind in ("!", "-") else self.primary()
            left = self.ev.binary(op, left, right)
        return left

    def primary(self) -> _Val:
        tok = self.tok
        if tok.kind == "(":
            self.i += 1
            value = self.cond()
            if self.tok.kind != ")":
                raise self.error(False)
            self.i += 1
            return value
        if tok.kind == _TOKEN:
            self.i += 1
            if self.tok.kind == "(":
                self.i += 1
                args = self.arglist()
                return self.ev.call(str(tok.value), args)
            return tok.value
        raise self.error(True)

    def arglist(self) -> list[_Val]:
        args = [self.cond()]
        while self.tok.kind == ",":
            self.i += 1
            if self.tok.kind == ")":
                args.append("")
                break
            args.append(self.cond())
        if self.tok.kind != ")":
            raise self.error(False)
        self.i += 1
        return args


def _ignore(_msg: str) -> None:
    return None


def evaluate(
    expr: str,
    *,
    functions: FunctionCallback | None = None,
    on_warning: Warn | None = None,
) -> str:
    """Evaluate the text inside ``$[...]`` (already variable-substituted).

    ``functions(name, args)`` is called for ``NAME(args)`` that is not a
    built-in math function (return ``None`` when unknown).  ``on_warning``
    receives the warnings Asterisk would log.  Raises :class:`ExprError` on a
    syntax error.
    """
    ev = _Evaluator(functions, on_warning or _ignore)
    value = _Parser(expr, ev).parse()
    return _to_string(value)
