"""``${VAR}``, ``${FUNC(args)}`` and ``$[expr]`` substitution.

Follows ``pbx_substitute_variables_helper_full`` (main/pbx_variables.c):

* ``${NAME}`` is replaced by :meth:`VarSource.get_var` (nothing when unset);
* ``${NAME:offset}`` / ``${NAME:offset:length}`` take a substring; a negative
  offset counts from the end, a negative length leaves that many characters
  off the end;
* ``${FUNC(args)}`` (a ``(`` before the first top-level ``:``) is a dialplan
  function, delegated to :meth:`VarSource.call_function` (nothing inserted
  when it returns ``None``); the substring syntax applies to its result too;
* ``${...}`` and ``$[...]`` nest: the inside is substituted first
  (``${${X}}``, ``${LEN(${X})}``, ``$[${A} + 1]``);
* ``$[...]`` is evaluated by :func:`pyari.dialplan.expr.evaluate`; on a syntax
  error the message goes to ``on_error`` and ``0`` is inserted, as Asterisk
  does;
* a ``$`` not followed by ``{`` or ``[`` is kept; an unterminated ``${`` or
  ``$[`` takes the rest of the text (Asterisk logs "missing '}'");
* recursion deeper than 15 levels is cut off with an error, like Asterisk;
* ``\\$`` gives a literal ``$`` without substitution.  This escape is a pyari
  addition: Asterisk itself has none, so dialplans written for Asterisk never
  rely on it.

:func:`builtin_function` implements a few cheap, side-effect free dialplan
functions (``LEN``, ``ISNULL``, ``EXISTS``, ``IF``, ``TOUPPER``, ``TOLOWER``,
``CUT``, ``FIELDQTY``, ``REPLACE``, ``QUOTE``, ``CSV_QUOTE``).  Function names
are case-sensitive, as in Asterisk.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Protocol

from pyari.dialplan.args import split_app_args
from pyari.dialplan.cint import INT_PREFIX, c_int
from pyari.dialplan.expr import ExprError, evaluate

__all__ = [
    "MAX_RECURSE_DEPTH",
    "MappingVarSource",
    "VarSource",
    "builtin_function",
    "substitute",
    "substring",
]

MAX_RECURSE_DEPTH = 15
_INT_MAX = 2147483647

ErrorCallback = Callable[[str], None]


class VarSource(Protocol):
    """Where substitution looks up variables and functions."""

    def get_var(self, name: str) -> str | None:
        """Channel variable, then global, then builtin (EXTEN, CHANNEL, ...)."""
        ...

    def call_function(self, name: str, args: str) -> str | None:
        """Read dialplan function ``name``; ``None`` when it is unknown."""
        ...


class MappingVarSource:
    """A :class:`VarSource` over a mapping, with :func:`builtin_function`."""

    def __init__(self, variables: Mapping[str, str] | None = None) -> None:
        self.variables: Mapping[str, str] = variables if variables is not None else {}

    def get_var(self, name: str) -> str | None:
        return self.variables.get(name)

    def call_function(self, name: str, args: str) -> str | None:
        return builtin_function(name, args, self.get_var)


def substring(value: str, offset: int, length: int = _INT_MAX) -> str:
    """``${VAR:offset:length}`` semantics (pbx_variables.c ``substring``)."""
    lr = len(value)
    if offset == 0 and length >= lr:
        return value
    if offset < 0:
        offset = max(lr + offset, 0)
    if offset >= lr:
        return ""
    rest = value[offset:]
    if 0 <= length < lr - offset:
        return rest[:length]
    if length < 0:
        if lr > offset - length:
            return value[offset : lr + length]
        return ""
    return rest


_SCANF_INT = INT_PREFIX


def _parse_variable_name(var: str) -> tuple[str, int, int, bool]:
    """Split ``NAME:offset:length``; tell whether NAME is a function call."""
    parens = 0
    isfunc = False
    for i, c in enumerate(var):
        if c == "(":
            isfunc = True
            parens += 1
        elif c == ")":
            parens -= 1
        elif c == ":" and parens == 0:
            offset, length = 0, _INT_MAX
            spec = var[i + 1 :]
            m = _SCANF_INT.match(spec)
            if m:
                offset = c_int(m.group(1))
                rest = spec[m.end() :]
                if rest.startswith(":"):
                    m2 = _SCANF_INT.match(rest, 1)
                    if m2:
                        length = c_int(m2.group(1))
            return var[:i], offset, length, isfunc
    return var, 0, _INT_MAX, isfunc


def _func_args(text: str) -> tuple[str, str]:
    name, paren, rest = text.partition("(")
    if not paren:
        return name, ""
    close = rest.rfind(")")
    return name, rest[:close] if close >= 0 else rest


def _find_end(
    text: str, start: int, opener: str, closer: str, other: str
) -> tuple[int, bool, bool]:
    """Scan a ``${`` / ``$[`` body from ``start``; return (end, closed, needsub)."""
    brackets = 1
    needsub = False
    i = start
    n = len(text)
    while brackets and i < n:
        c = text[i]
        if c == "$" and i + 1 < n and text[i + 1] == opener:
            needsub = True
            brackets += 1
            i += 1
        elif c == opener:
            brackets += 1
        elif c == closer:
            brackets -= 1
        elif c == "$" and i + 1 < n and text[i + 1] == other:
            needsub = True
            i += 1
        i += 1
    return i, brackets == 0, needsub


class _Substituter:
    def __init__(self, source: VarSource, on_error: ErrorCallback | None) -> None:
        self.source = source
        self.on_error = on_error
        self.depth = 0

    def error(self, message: str) -> None:
        if self.on_error is not None:
            self.on_error(message)

    def run(self, text: str) -> str:
        if self.depth >= MAX_RECURSE_DEPTH:
            self.error(
                f"Exceeded maximum variable substitution recursion depth ({MAX_RECURSE_DEPTH})"
                " - possible infinite recursion in dialplan?"
            )
            return ""
        self.depth += 1
        try:
            return self._run(text)
        finally:
            self.depth -= 1

    def _run(self, text: str) -> str:
        out: list[str] = []
        i = 0
        n = len(text)
        while i < n:
            j = text.find("$", i)
            if j < 0:
                out.append(text[i:])
                break
            if j > i and text[j - 1] == "\\":
                out.append(text[i : j - 1])
                out.append("$")
                i = j + 1
                continue
            out.append(text[i:j])
            kind = text[j + 1] if j + 1 < n else ""
            if kind == "{" or kind == "[":  # ${variable} or $[expression]
                close, other = ("}", "[") if kind == "{" else ("]", "{")
                end, closed, needsub = _find_end(text, j + 2, kind, close, other)
                if not closed:
                    self.error(f"Error in extension logic (missing '{close}')")
                inner = text[j + 2 : end - 1 if closed else end]
                if needsub:
                    inner = self.run(inner)
                out.append(self._variable(inner) if kind == "{" else self._expression(inner))
                i = end
            else:
                out.append("$")
                i = j + 1
        return "".join(out)

    def _variable(self, spec: str) -> str:
        name, offset, length, isfunc = _parse_variable_name(spec)
        if isfunc:
            fname, args = _func_args(name)
            value = self.source.call_function(fname, args)
        else:
            value = self.source.get_var(name)
        if value is None:
            return ""
        return substring(value, offset, length)

    def _expression(self, expr: str) -> str:
        try:
            return evaluate(expr, functions=self.source.call_function)
        except ExprError as exc:
            self.error(str(exc))
            return exc.result


def substitute(text: str, source: VarSource, *, on_error: ErrorCallback | None = None) -> str:
    """Substitute variables, functions and expressions in ``text``.

    ``on_error`` receives the messages Asterisk would log (expression syntax
    errors, missing ``}``, recursion limit).
    """
    if "$" not in text:
        return text
    return _Substituter(source, on_error).run(text)


# -- built-in functions ----------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _decode_str(s: str) -> str:
    """``ast_get_encoded_str``: backslash escapes (``\\n``, ``\\t``, ``\\x41``, ...)."""
    out: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "x":
                m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 2 :])
                if m:
                    out.append(chr(int(m.group(0), 16)))
                    i += 2 + m.end()
                    continue
            if nxt == "0":
                m = re.match(r"[0-7]{1,3}", s[i + 2 :])
                if m:
                    out.append(chr(int(m.group(0), 8)))
                    i += 2 + m.end()
                    continue
                out.append("\0")
                i += 2
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _decode_char(s: str | None) -> str | None:
    if not s:
        return None
    decoded = _decode_str(s)
    return decoded[0] if decoded else None


def _checkcondition(cond: str) -> bool:
    """``pbx_checkcondition``: empty is false, a number is its value, text is true."""
    if not cond:
        return False
    m = _SCANF_INT.match(cond)
    if m:
        return c_int(m.group(1)) != 0
    return True


def _ascii_upper(s: str) -> str:
    return "".join(chr(ord(c) - 32) if "a" <= c <= "z" else c for c in s)


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


_RANGE_BOTH = re.compile(r"\s*([+-]?[0-9]+)-\s*([+-]?[0-9]+)")
_RANGE_END = re.compile(r"-\s*([+-]?[0-9]+)")
_RANGE_START = re.compile(r"\s*([+-]?[0-9]+)-")


def _cut(args: str, get_var: Callable[[str], str | None]) -> str:
    parts = split_app_args(args, max_args=3)
    if len(parts) < 3:
        return ""
    varname, delim, field_spec = parts
    value = get_var(varname) or ""
    ds = _decode_char(delim) or "-"
    if not value:
        return ""
    fields = value.split(ds)
    idx = 0
    cur = 1
    out: list[str] = []
    for rng in field_spec.split("&"):
        if idx >= len(fields):
            break
        if m := _RANGE_BOTH.match(rng):
            start, stop = c_int(m.group(1)), c_int(m.group(2))
        elif m := _RANGE_END.match(rng):
            start, stop = 1, c_int(m.group(1))
        elif m := _RANGE_START.match(rng):
            start, stop = c_int(m.group(1)), _INT_MAX
        elif m := _SCANF_INT.match(rng):
            start = stop = c_int(m.group(1))
        else:
            return ""
        while idx < len(fields) and cur < start:
            idx += 1
            cur += 1
        while idx < len(fields) and cur <= stop:
            out.append(fields[idx])
            idx += 1
            cur += 1
    return ds.join(out)


def _fieldqty(args: str, get_var: Callable[[str], str | None]) -> str:
    parts = split_app_args(args, max_args=2)
    if len(parts) < 2:
        return "1"
    value = get_var(parts[0]) or ""
    delim = _decode_char(parts[1]) or ""
    if not value:
        return "0"
    return str(len(value.split(delim)) if delim else 1)


def _replace(args: str, get_var: Callable[[str], str | None]) -> str:
    parts = split_app_args(args, max_args=3)
    if len(parts) < 2:
        return ""
    find = _decode_str(parts[1])
    repl = _decode_char(parts[2] if len(parts) > 2 else None) or ""
    if not find or not parts[0]:
        return ""
    value = get_var(parts[0]) or ""
    return "".join(repl if c in find else c for c in value)


def _if(args: str) -> str:
    first = split_app_args(args, "?", max_args=2)
    if len(first) < 2 or not first[0]:
        return ""
    branches = split_app_args(first[1], ":", max_args=2)
    if not branches:
        return ""
    iftrue = branches[0].strip()
    iffalse = branches[1].strip() if len(branches) > 1 else ""
    return iftrue if _checkcondition(first[0].strip()) else iffalse


def _quote(args: str) -> str:
    return '"' + args.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _csv_quote(args: str) -> str:
    return '"' + args.replace('"', '""') + '"'


def builtin_function(name: str, args: str, get_var: Callable[[str], str | None]) -> str | None:
    """Read one of the built-in dialplan functions; ``None`` if ``name`` is not one.

    ``args`` is the text between the parentheses, already substituted.
    ``CUT``, ``FIELDQTY`` and ``REPLACE`` take a variable *name* and read it
    with ``get_var``.  A known function used wrongly returns ``""`` (Asterisk
    logs an error and substitutes nothing).
    """
    if name == "LEN":
        return str(len(args))
    if name == "ISNULL":
        return "0" if args else "1"
    if name == "EXISTS":
        return "1" if args else "0"
    if name == "IF":
        return _if(args)
    if name == "TOUPPER":
        return _ascii_upper(args)
    if name == "TOLOWER":
        return _ascii_lower(args)
    if name == "CUT":
        return _cut(args, get_var)
    if name == "FIELDQTY":
        return _fieldqty(args, get_var)
    if name == "REPLACE":
        return _replace(args, get_var)
    if name == "QUOTE":
        return _quote(args)
    if name == "CSV_QUOTE":
        return _csv_quote(args)
    return None
