"""The RESTResponse envelope put together from pieces is byte for byte the encoded message."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from pyari import wallclock
from pyari.ari.socket_requests import Ids, response


class FixedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def reference(
    ids: Ids, status: int, reason: str, body: bytes | None, app: str, aid: str, pretty: bool
) -> bytes:
    """The message as a dict, encoded (and formatted) by msgspec: what the wire carried."""
    msg: dict[str, Any] = {
        "type": "RESTResponse",
        "transaction_id": ids.transaction_id,
        "request_id": ids.request_id,
        "status_code": status,
        "reason_phrase": reason,
        "uri": ids.uri,
    }
    if body:
        msg["content_type"] = "application/json"
        msg["message_body"] = body.decode()
    msg["application"] = app
    msg["timestamp"] = wallclock.ari_timestamp()
    msg["asterisk_id"] = aid
    data = msgspec.json.encode(msg)
    return msgspec.json.format(data, indent=2) if pretty else data


ODD = ['é"\\\n\t\x01\u2028 /<>&', "", "ü" * 300, "\ud7ff\U0001f600"]


@pytest.mark.parametrize("pretty", [True, False])
@pytest.mark.parametrize("text", ODD)
def test_same_bytes_as_the_encoded_message(
    pretty: bool, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wallclock, "clock", FixedClock(1_796_000_000.123))
    bodies: list[bytes | None] = [
        None,
        b"",
        b"[]",
        msgspec.json.encode({"message": text, "x": [1, {"y": text}]}),
    ]
    for body in bodies:
        for status, reason in ((200, "OK"), (404, "Not Found"), (400, text)):
            ids = Ids(text, "r-" + text, "channels/" + text)
            args = (ids, status, reason, body, "app" + text, text or "02:fc", pretty)
            got = response(*args)
            assert got == reference(*args)
            assert msgspec.json.decode(got)["status_code"] == status
