"""Splitting application data and function arguments the way Asterisk does.

This mirrors the behaviour of Asterisk's ``__ast_app_separate_args`` (main/app.c,
used by ``AST_STANDARD_APP_ARGS`` and friends) and the priority parsing done by
``pbx_config`` when it reads ``exten => ...`` lines:

* arguments are split on ``,`` (``|`` is *not* a separator in modern Asterisk);
* a delimiter inside parentheses ``(...)``, brackets ``[...]`` or double quotes
  ``"..."`` does not split;
* a backslash makes the next character literal;
* with ``remove_chars`` (the default, like ``AST_STANDARD_APP_ARGS``) the double
  quotes and the escaping backslashes are removed from the result; without it
  (``AST_STANDARD_RAW_ARGS``) the text is kept verbatim;
* an empty string has no arguments; a trailing delimiter yields a final empty
  argument; whitespace is never trimmed.
"""

from __future__ import annotations

__all__ = ["parse_app_call", "split_app_args"]

_SPECIAL = '()[]"\\'
"""The characters that nest, quote or escape: data without them splits at every delimiter."""


def split_app_args(
    data: str,
    delim: str = ",",
    *,
    remove_chars: bool = True,
    max_args: int | None = None,
) -> list[str]:
    """Split ``data`` into arguments like ``ast_app_separate_args``.

    ``max_args`` limits the number of arguments: the last one receives the
    unparsed remainder of the string (as Asterisk does when the argument array
    is full).
    """
    if len(delim) != 1:
        raise ValueError("delim must be a single character")
    if max_args is not None and max_args < 1:
        return []
    if (
        delim not in _SPECIAL
        and "(" not in data
        and ")" not in data
        and "[" not in data
        and "]" not in data
        and '"' not in data
        and "\\" not in data
    ):
        # Nothing nests, quotes or escapes: every delimiter splits (the usual case,
        # ``Stasis(app,args)``), as str.split does: the same pieces, in one call.
        if not data:
            return []
        return data.split(delim, -1 if max_args is None else max_args - 1)
    return _separate(data, delim, remove_chars, max_args)


def _separate(data: str, delim: str, remove_chars: bool, max_args: int | None) -> list[str]:
    """:func:`split_app_args` character by character (``ast_app_separate_args``)."""
    args: list[str] = []
    n = len(data)
    i = 0
    paren = 0
    bracket = 0
    quote = False
    ended_with_delim = False
    while i < n and (max_args is None or len(args) < max_args - 1):
        cur: list[str] = []
        ended_with_delim = False
        while i < n:
            c = data[i]
            if c == "(":
                paren += 1
            elif c == ")":
                if paren:
                    paren -= 1
            elif c == "[":
                bracket += 1
            elif c == "]":
                if bracket:
                    bracket -= 1
            elif c == '"' and delim != '"':
                quote = not quote
                if remove_chars:
                    i += 1
                    continue
            elif c == "\\":
                if remove_chars:
                    # Literal next character, backslash removed.
                    if i + 1 < n:
                        cur.append(data[i + 1])
                    i += 2
                    continue
                cur.append(c)
                if i + 1 < n:
                    cur.append(data[i + 1])
                i += 2
                continue
            elif c == delim and not paren and not quote and not bracket:
                i += 1
                ended_with_delim = True
                break
            cur.append(c)
            i += 1
        args.append("".join(cur))
    if i < n:
        args.append(data[i:])
    elif ended_with_delim:
        args.append("")
    return args


def parse_app_call(text: str) -> tuple[str, str]:
    """Split the application part of a priority into ``(app, data)``.

    ``"NoOp(foo)"`` gives ``("NoOp", "foo")``: the application name runs up to
    the first ``(`` and the data up to the *last* ``)`` (as ``pbx_config``
    does).  A missing closing parenthesis keeps the rest as data.  Without
    parentheses the whole text is the application (``"Answer"``), except for
    the old ``App,args`` style which is split at the first comma.  If the part
    before ``(`` contains ``${`` or ``$[`` (e.g. a hint such as
    ``DAHDI/${GLOBAL(x)}``), the whole text is returned as the application.
    Leading and trailing blanks of the application name are removed.
    """
    text = text.strip()
    paren = text.find("(")
    if paren < 0:
        if "," in text and "${" not in text and "$[" not in text:
            app, _, data = text.partition(",")
            return app.strip(), data
        return text, ""
    app = text[:paren]
    if "${" in app or "$[" in app:
        return text, ""
    rest = text[paren + 1 :]
    close = rest.rfind(")")
    data = rest[:close] if close >= 0 else rest
    return app.strip(), data
