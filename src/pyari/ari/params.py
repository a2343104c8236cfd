"""Parameters of an ARI request, checked against the operation's declaration.

Query parameters and JSON body fields are interchangeable (as in Asterisk).
Values present are converted and checked when the request arrives and handed
to the handler as the operation's typed arguments (:mod:`pyari.ari.args`, one
class per operation, as Asterisk's ``ast_ari_*_args``): ``args.timeout`` is
already an ``int``, its declared default filled in.  A required parameter that
is absent (or empty) is reported only when the handler reads it, so a
handler's own checks (channel exists, is in Stasis ...) come first, as
Asterisk orders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from pyari.ari.errors import AriError
from pyari.ari.spec import Operation, Param
from pyari.config.values import FALSE_WORDS, TRUE_WORDS

MAX_PARAM_LEN = 64 * 1024


class _Required:
    """A required parameter's class attribute: read while absent, it answers 400.

    A non-data descriptor, so the value given (in the instance's ``__dict__``)
    is found first and reading it costs nothing extra.  An attribute named
    otherwise than its parameter (``from_`` for ``from``) always comes here and
    finds the value under the parameter's name."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Args | None, owner: type[Args] | None = None) -> Any:
        if obj is None:
            return self
        name = self.name
        value = obj.__dict__.get(name, _ABSENT)
        if value is not _ABSENT:
            return value
        raise AriError(400, obj._missing.get(name, f"Missing parameter {name}"))


_ABSENT: Any = object()


def required(name: str) -> Any:
    """Declare the required parameter ``name`` of a generated :class:`Args` class."""
    return _Required(name)


class Args:
    """Checked arguments of one ARI request; base of the classes in :mod:`pyari.ari.args`.

    The values given (and declared defaults) sit in the instance's ``__dict__``;
    a class attribute supplies ``None`` for an absent optional parameter and
    the 400 of an absent required one.
    """

    OPERATION: ClassVar[str] = ""
    """The operation key (``resource.nickname``)."""
    _missing: Mapping[str, str] = {}
    """Messages for required parameters that are absent, by parameter (set per request
    when the handler names any)."""

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k != "_missing"}
        return f"{type(self).__name__}({shown!r})"

    def given(self, name: str) -> bool:
        """Whether the request gave parameter ``name`` (for a required one: not empty).

        For a handler that answers a required parameter's absence itself."""
        return name in self.__dict__


A = TypeVar("A", bound=Args)


def _representable(text: str) -> bool:
    """No NUL (no C string, no file name holds one) and no undecodable bytes
    (lone surrogates of a percent-decoded path: no JSON answer can carry them)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


MAX_VALS = 128
"""Asterisk's generated handlers (res/res_ari_*.c) split a query parameter that takes
several values into at most this many; one with more is a 400."""


def _too_many(raw: str) -> bool:
    """Whether Asterisk's ``ast_app_separate_args(raw, ',', vals, MAX_VALS)`` would
    count ``MAX_VALS`` values or more: commas inside ``()``, ``[]`` or double quotes or
    after a backslash do not separate."""
    if raw.count(",") < MAX_VALS - 1:
        return False
    paren = bracket = 0
    quote = escaped = False
    separators = 0
    for ch in raw:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "(":
            paren += 1
        elif ch == ")":
            paren = max(paren - 1, 0)
        elif ch == "[":
            bracket += 1
        elif ch == "]":
            bracket = max(bracket - 1, 0)
        elif ch == '"':
            quote = not quote
        elif ch == "," and not (paren or bracket or quote):
            separators += 1
    return separators + 1 >= MAX_VALS


def _c_name(name: str) -> str:
    """The name Asterisk's C code gives a parameter (``eventSource``: ``event_source``)."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _convert(p: Param, raw: Any) -> Any:
    base = p.type
    if base.startswith("List[") and base.endswith("]"):
        base = base[5:-1]
    if p.where != "body" and (p.multiple or p.type.startswith("List[")):
        if isinstance(raw, list):
            items = [str(x) if not isinstance(x, str) else x for x in raw]
        else:
            items = [s for s in str(raw).split(",")]
        items = [s.strip() for s in items if s.strip() != ""]
        return [_scalar(p, base, item) for item in items]
    return _scalar(p, base, raw)


def _scalar(p: Param, base: str, raw: Any) -> Any:
    if base in ("object", "containers"):
        if not isinstance(raw, (dict, list)) or (base == "object" and isinstance(raw, list)):
            raise AriError(400, f"Invalid value for parameter {p.name}")
        return raw
    if isinstance(raw, (dict, list)):
        raise AriError(400, f"Invalid value for parameter {p.name}")
    if base in ("int", "long"):
        if isinstance(raw, bool):
            raise AriError(400, f"Invalid value for parameter {p.name}")
        try:
            value: Any = int(raw)
        except (TypeError, ValueError, OverflowError):
            raise AriError(400, f"Invalid value for parameter {p.name}") from None
        bits = 31 if base == "int" else 63  # Asterisk's C int and long (int32, int64)
        if not -(2**bits) <= value < 2**bits:
            raise AriError(400, f"Invalid value for parameter {p.name}")
    elif base == "double":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise AriError(400, f"Invalid value for parameter {p.name}") from None
    elif base == "boolean":
        if isinstance(raw, bool):
            value = raw
        else:
            word = str(raw).strip().lower()
            if word in TRUE_WORDS:
                value = True
            elif word in FALSE_WORDS or word == "":
                value = False
            else:
                raise AriError(400, f"Invalid value for parameter {p.name}")
    else:
        value = (
            raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        )
        if len(value) > MAX_PARAM_LEN or not _representable(value):
            raise AriError(400, f"Invalid value for parameter {p.name}")
    if p.values is not None and str(value) not in p.values:
        raise AriError(400, f"Invalid value for parameter {p.name}")
    if (
        p.has_range
        and isinstance(value, (int, float))
        and ((p.min is not None and value < p.min) or (p.max is not None and value > p.max))
    ):
        raise AriError(400, f"Invalid value for parameter {p.name}")
    return value


_NOT_PLAIN_TYPES = frozenset({"object", "containers", "int", "long", "double", "boolean"})


@dataclass(frozen=True, slots=True)
class Field:
    """A declared parameter as :func:`parse_params` checks it (worked out once per
    operation by :func:`fields`)."""

    param: Param
    checked: Param
    """``param`` as its value is checked: without allowed values and range if lenient."""
    lenient: bool
    plain: bool
    """One string taken as given (a query or path value, no allowed values, no range):
    :func:`_scalar`'s checks made inline."""


def fields(op: Operation, lenient: frozenset[str] = frozenset()) -> tuple[Field, ...]:
    """``op``'s parameters as :func:`parse_params` checks them (``lenient`` as there)."""
    out = []
    for p in op.params:
        loose = p.name in lenient
        checked = replace(p, values=None, min=None, max=None) if loose else p
        plain = (
            p.where != "body"
            and not p.multiple
            and not p.type.startswith("List[")
            and p.type not in _NOT_PLAIN_TYPES
            and checked.values is None
            and not checked.has_range
        )
        out.append(Field(p, checked, loose, plain))
    return tuple(out)


def parse_params(
    op: Operation,
    path_values: Mapping[str, str],
    query: Mapping[str, str],
    body: Any,
    missing: Mapping[str, str] | None = None,
    lenient: frozenset[str] = frozenset(),
    *,
    args_type: type[A],
    checks: tuple[Field, ...] | None = None,
) -> A:
    """Check the request's values against ``op``'s declared parameters.

    Returns them as an ``args_type`` (the operation's class in :mod:`pyari.ari.args`).
    Parameters named in ``lenient`` skip the allowed-values and range checks: their
    handler checks them itself, in Asterisk's order and with its messages.
    ``checks``: ``fields(op, lenient)``, worked out before (else here).
    """
    values: dict[str, Any] = {}
    if body is not None and not isinstance(body, dict):
        # Fields and containers sit under keys of an object; nothing takes a bare value.
        raise AriError(400, "Request body must be a JSON object")
    body_fields = body if isinstance(body, dict) else {}
    for f in checks if checks is not None else fields(op, lenient):
        p = f.param
        if p.where == "path":
            raw: Any = path_values.get(p.name)
        elif p.where == "body":
            # ``containers`` (variables, fields) sit under their own key of the
            # body; an ``object`` parameter (a filter) is the whole body.
            raw = body_fields.get(p.name) if p.type == "containers" else body
            if raw is not None and not isinstance(raw, dict) and not f.lenient:
                # a lenient container (the ``fields`` tuples, ``variables`` of
                # setChannelVars) reaches its handler as sent, which checks it
                raise AriError(400, f"Invalid value for parameter {p.name}")
        else:
            raw = query.get(p.name)
            if p.multiple and raw is not None and _too_many(raw):
                raise AriError(400, f"Too many values for {_c_name(p.name)}")
            if raw is None and p.name in body_fields:
                raw = body_fields[p.name]
                if (p.multiple or p.type.startswith("List[")) and not isinstance(raw, list):
                    # one value given in the body is one value, commas and all (as
                    # Asterisk's generated *_parse_body code); only a query is split
                    raw = [raw]
        if raw is None:
            if p.default is not None:
                values[p.name] = p.default
            continue
        if f.plain and type(raw) is str:
            if len(raw) > MAX_PARAM_LEN or not (
                (raw.isascii() and "\x00" not in raw) or _representable(raw)
            ):
                raise AriError(400, f"Invalid value for parameter {p.name}")
            value: Any = raw
        elif p.where == "body" and f.lenient:
            values[p.name] = raw
            continue
        else:
            value = _convert(f.checked, raw)
        if not value and p.required and (value == "" or value == []):
            continue  # given empty: as absent (the handler reads a 400)
        values[p.name] = value
    if missing:
        values["_missing"] = missing
    args = _new(args_type)
    args.__dict__ = values
    return args


_new = object.__new__
