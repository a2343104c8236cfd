"""JSON bodies: of ARI responses (compact, or indented when ari.conf says ``pretty``) and
of requests (:func:`decode`, which turns every kind of bad JSON into one error)."""

from __future__ import annotations

from typing import Any

import msgspec

JSON = "application/json"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


class BadJson(ValueError):
    """A request body (or WebSocket message) that is not usable JSON."""


def decode(data: bytes | str) -> Any:
    """The JSON value of ``data``; :class:`BadJson` for anything that is not JSON,
    including text nested too deep for the decoder (its ``RecursionError``)."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeError, RecursionError):
        raise BadJson("not valid JSON") from None


def encode(value: Any, pretty: bool) -> bytes:
    data = _encoder.encode(value)
    if pretty:
        data = msgspec.json.format(data, indent=2)
    return data
