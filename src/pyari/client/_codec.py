"""Decoding of events WebSocket frames into typed events."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec

from pyari.client._models import AnyMessage, Event, Message
from pyari.client._sequence import EventsLost

if TYPE_CHECKING:
    from pyari.client._operations import AriApi

log = logging.getLogger("pyari.client")

_typed: msgspec.json.Decoder[AnyMessage] = msgspec.json.Decoder(AnyMessage | EventsLost)  # type: ignore[arg-type]
_untyped: msgspec.json.Decoder[Any] = msgspec.json.Decoder()
_event_fields = frozenset(f for f in Event.__struct_fields__)


def generic_event(data: dict[str, Any]) -> Event:
    """An :class:`Event` for a message of a type this client does not know.

    ``event.type`` is the message's type, ``event.extra`` all its fields.
    """
    event = Event(
        application=str(data.get("application", "")),
        timestamp=str(data.get("timestamp", "")),
        asterisk_id=data.get("asterisk_id"),
    )
    seq = data.get("pyari_sequence")
    if isinstance(seq, int) and not isinstance(seq, bool):
        event.pyari_sequence = seq
    event.__dict__["_type"] = str(data.get("type", ""))
    event.__dict__["_raw"] = data
    return event


class MessageDecoder:
    """Turns one frame into a bound event (``None`` for frames that are not messages)."""

    __slots__ = ("api",)

    def __init__(self, api: AriApi) -> None:
        self.api = api

    def __call__(self, raw: bytes) -> Message | None:
        try:
            msg: Message = _typed.decode(raw)
        except msgspec.ValidationError:
            msg_or_none = self._fallback(raw)
            if msg_or_none is None:
                return None
            msg = msg_or_none
        except msgspec.DecodeError:
            log.warning("events socket sent a frame that is not JSON: %.200r", raw)
            return None
        msg._bind(self.api)
        return msg

    @staticmethod
    def _fallback(raw: bytes) -> Message | None:
        try:
            data = _untyped.decode(raw)
        except msgspec.DecodeError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            log.warning("events socket sent a frame that is not a message: %.200r", raw)
            return None
        # An unknown type, or a known one whose fields do not fit this client.
        return generic_event(data)
