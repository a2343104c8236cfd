"""Out-of-call messages as ARI applications see them (the TextMessage model).

Core publishes a :class:`~pyari.core.endpoint.MessageReceived` on the
endpoint's topic; an application following the endpoint gets it as
``TextMessageReceived``, shaped here.
"""

from __future__ import annotations

from pyari.core import events as ev
from pyari.core.endpoint import MessageReceived, TextMessage

__all__ = ["text_message_json", "text_message_received"]


def text_message_json(message: TextMessage) -> dict[str, object]:
    """The ARI TextMessage model of ``message``."""
    return {
        "from": message.sender,
        "to": message.to,
        "body": message.body,
        "variables": message.variables,
    }


def text_message_received(received: MessageReceived) -> ev.TextMessageReceived:
    """The event an application following the endpoint gets (at the time it arrived)."""
    return ev.TextMessageReceived(
        message=text_message_json(received.message),
        endpoint=received.endpoint,
        timestamp=received.timestamp,
    )
