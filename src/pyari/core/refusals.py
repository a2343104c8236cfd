"""Requests core turns down, told apart by the kind of refusal.

Core says what went wrong and with which words; the ARI layer chooses the
status of each kind (``pyari.ari.errors.refused``). Each area of core has its
own base class (``DeviceError``, ``LogChannelError``, ``ModuleError``) and one
subclass per kind, so a handler names the area it converts and nothing else.
"""

from __future__ import annotations

__all__ = ["Conflict", "Failed", "Invalid", "NotFound", "Refused"]


class Refused(Exception):
    """A request core turns down; ``message`` is what the client is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Refused):
    """What the request names does not exist (or has no name)."""


class Conflict(Refused):
    """What the request names exists, but its state or kind forbids the request."""


class Invalid(Refused):
    """The request itself is malformed: a value or name that cannot be taken."""


class Failed(Refused):
    """The request was sound but could not be carried out (no resources)."""
