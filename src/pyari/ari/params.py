"""Parameters of an ARI request, checked against the operation's declaration.

Query parameters and JSON body fields are interchangeable (as in Asterisk).
Values present are converted and checked when the request arrives; a
required parameter that is absent is reported only when the handler asks
for it, so a handler's own checks (channel exists, is in Stasis ...) come
first, as Asterisk orders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pyari.ari.errors import AriError
from pyari.ari.spec import Operation, Param
from pyari.config.values import FALSE_WORDS, TRUE_WORDS

MAX_PARAM_LEN = 64 * 1024


class Params:
    """Validated parameter values of one request."""

    __slots__ = ("missing", "op", "values")

    def __init__(self, op: Operation, values: dict[str, Any], missing: Mapping[str, str]) -> None:
        self.op = op
        self.values = values
        self.missing = missing

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def __getitem__(self, name: str) -> Any:
        """A value the operation needs: 400 if it was not given."""
        value = self.values.get(name)
        if value is None or value == "" or value == []:
            raise AriError(400, self.missing.get(name, f"Missing parameter {name}"))
        return value


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


def parse_params(
    op: Operation,
    path_values: Mapping[str, str],
    query: Mapping[str, str],
    body: Any,
    missing: Mapping[str, str] | None = None,
    lenient: frozenset[str] = frozenset(),
) -> Params:
    """Check the request's values against ``op``'s declared parameters.

    Parameters named in ``lenient`` skip the allowed-values check: their
    handler checks them itself, in Asterisk's order and with its messages.
    """
    values: dict[str, Any] = {}
    if body is not None and not isinstance(body, dict):
        # Fields and containers sit under keys of an object; nothing takes a bare value.
        raise AriError(400, "Request body must be a JSON object")
    body_fields = body if isinstance(body, dict) else {}
    for p in op.params:
        if p.where == "path":
            raw: Any = path_values.get(p.name)
        elif p.where == "body":
            # ``containers`` (variables, fields) sit under their own key of the
            # body; an ``object`` parameter (a filter) is the whole body.
            raw = body_fields.get(p.name) if p.type == "containers" else body
            if (
                raw is not None
                and not isinstance(raw, dict)
                # a lenient container (the ``fields`` tuples) may be a list its handler checks
                and not (p.name in lenient and isinstance(raw, list))
            ):
                raise AriError(400, f"Invalid value for parameter {p.name}")
        else:
            raw = query.get(p.name)
            if raw is None and p.name in body_fields:
                raw = body_fields[p.name]
        if raw is None:
            if p.default is not None:
                values[p.name] = p.default
            continue
        values[p.name] = _convert(replace(p, values=None) if p.name in lenient else p, raw)
    return Params(op, values, missing or {})
