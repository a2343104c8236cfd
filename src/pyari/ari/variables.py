"""The ``variables`` object of a request body (originate, create, setChannelVars, bridges)."""

from __future__ import annotations

from typing import Any

from pyari.ari.errors import AriError

VARIABLES_NOT_OBJECT = "The 'variables' field must be a JSON object"
"""setChannelVars' and setBridgeVars' answer to ``variables`` that is not an object."""


def json_variables(
    raw: Any, *, not_object: str = "Invalid value for parameter variables"
) -> list[tuple[str, str, bool]]:
    """``variables`` of a request body: name → string, or ``{"value", "report_events"}``.

    Returns (name, value, report_events) in order; raises Asterisk's 400s (``not_object``
    when ``raw`` is not an object: Asterisk's own text where it checks, else decision
    0003's).
    """
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise AriError(400, not_object)
    found: list[tuple[str, str, bool]] = []
    for key, value in raw.items():
        if not key:
            continue
        report = False
        if isinstance(value, str):
            text = value
        elif isinstance(value, dict):
            field = value.get("value")
            if not isinstance(field, str):
                raise AriError(
                    400, "Each object value in 'variables' must include string field 'value'"
                )
            flag = value.get("report_events")
            if flag is not None and not isinstance(flag, bool):
                raise AriError(400, "Field 'report_events' in 'variables' entries must be boolean")
            text, report = field, bool(flag)
        else:
            raise AriError(
                400,
                "Each value in 'variables' must be a string or an object with 'value' "
                "and optional 'report_events'",
            )
        found.append((str(key).strip(), text, report))
    return found
