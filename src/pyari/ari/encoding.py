"""JSON bodies of ARI responses (compact, or indented when ari.conf says ``pretty``)."""

from __future__ import annotations

from typing import Any

import msgspec

JSON = "application/json"

_encoder = msgspec.json.Encoder()


def encode(value: Any, pretty: bool) -> bytes:
    data = _encoder.encode(value)
    if pretty:
        data = msgspec.json.format(data, indent=2)
    return data
