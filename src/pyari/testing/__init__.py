"""Test ARI applications against an in-process pyari, without Asterisk.

Installing pyari registers a pytest plugin (``pyari.testing.plugin``) whose
fixtures are used by name: ``pyari_server``, ``ari_url``,
``ari_credentials``, ``ari_client``, ``phones``.  The helpers here work
without pytest too (:func:`running_pyari`).  See ``docs/testing.md``.

The names are imported on first use, so loading the plugin costs nothing
to test suites that do not use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyari.testing.audio import best_correlation, has_tone, loud, silence, tone, tone_level
    from pyari.testing.phones import Phone, Phones
    from pyari.testing.server import PyariInstance, prepare_config_dir, running_pyari
    from pyari.testing.waiting import EventWaiter, wait_for, wait_for_event

_WHERE = {
    "best_correlation": "audio",
    "has_tone": "audio",
    "loud": "audio",
    "silence": "audio",
    "tone": "audio",
    "tone_level": "audio",
    "Phone": "phones",
    "Phones": "phones",
    "PyariInstance": "server",
    "prepare_config_dir": "server",
    "running_pyari": "server",
    "EventWaiter": "waiting",
    "wait_for": "waiting",
    "wait_for_event": "waiting",
}

__all__ = [
    "EventWaiter",
    "Phone",
    "Phones",
    "PyariInstance",
    "best_correlation",
    "has_tone",
    "loud",
    "prepare_config_dir",
    "running_pyari",
    "silence",
    "tone",
    "tone_level",
    "wait_for",
    "wait_for_event",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pyari.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pyari.testing.{module}"), name)
    globals()[name] = value
    return value
