"""cluster.conf: pyari's own file (Asterisk's dialect) for running as one node of many.

``[general]``:

* ``enabled`` — yes: join the cluster at start (default no: one node, no NATS);
* ``node`` — this node's name, unique in the cluster (default: the host name);
* ``cluster`` — the cluster's name, a prefix of its NATS subjects and buckets
  (default ``pyari``), so clusters can share a NATS server;
* ``nats_url`` — NATS server(s), comma-separated ``nats://``/``tls://`` URLs;
* ``nats_user``/``nats_password``, ``nats_token``, ``nats_creds`` (a credentials file),
  ``nats_tls_ca``/``nats_tls_cert``/``nats_tls_key`` — how to log in to NATS;
* ``heartbeat`` — seconds between this node's heartbeats (default 1);
* ``node_timeout`` — seconds without a heartbeat after which a node is lost (default 3);
* ``placement`` — where ``POST /channels`` places a call that names no
  ``originator``/``otherChannelId``: ``local`` (default) or ``least_loaded``;
* ``forward_timeout`` — seconds a REST request forwarded to another node may take (default 5);
* ``resource_ttl`` — seconds an ownership record lives without being refreshed (default a day).

See docs/cluster.md.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Self

from pyari.config.errors import ConfigError
from pyari.config.parser import Entry, Section
from pyari.config.values import last_entries, parse_bool

__all__ = ["PLACEMENTS", "ClusterSettings"]

PLACEMENTS = ("local", "least_loaded")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _fail(entry: Entry, reason: str) -> ConfigError:
    return ConfigError(entry.file, entry.line, f"{entry.key} = {entry.value!r}: {reason}")


def _name(entry: Entry) -> str:
    """A node or cluster name: a NATS subject token and a KV key (letters, digits, -, _)."""
    text = entry.value.strip()
    if not text or len(text) > 64 or not set(text) <= _NAME_CHARS:
        raise _fail(entry, "not a name (1..64 letters, digits, '-' or '_')")
    return text


def _seconds(entry: Entry, low: float, high: float) -> float:
    try:
        value = float(entry.value.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise _fail(entry, f"not a number of seconds ({low:g}..{high:g})")
    return value


def default_node_name() -> str:
    """The host name, reduced to the characters a node name may hold."""
    name = "".join(c if c in _NAME_CHARS else "-" for c in socket.gethostname())[:64]
    return name or "pyari"


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """What cluster.conf says (all defaults: no cluster)."""

    enabled: bool = False
    node: str = ""
    cluster: str = "pyari"
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str = ""
    nats_password: str = ""
    nats_token: str = ""
    nats_creds: str = ""
    nats_tls_ca: str = ""
    nats_tls_cert: str = ""
    nats_tls_key: str = ""
    heartbeat: float = 1.0
    node_timeout: float = 3.0
    placement: str = "local"
    forward_timeout: float = 5.0
    resource_ttl: float = 86400.0

    @property
    def node_name(self) -> str:
        """``node``, or the host name when none is set."""
        return self.node or default_node_name()

    @property
    def urls(self) -> list[str]:
        return [u.strip() for u in self.nats_url.split(",") if u.strip()]

    @classmethod
    def from_sections(cls, sections: Iterable[Section]) -> Self:
        """From cluster.conf's sections (only ``[general]`` is read)."""
        values = last_entries(s for s in sections if s.name.casefold() == "general")
        d = cls()
        out: dict[str, object] = {}
        for key, entry in values.items():
            if key == "enabled":
                out[key] = parse_bool(entry)
            elif key in ("node", "cluster"):
                out[key] = _name(entry)
            elif key == "nats_url":
                urls = [u.strip() for u in entry.value.split(",")]
                if not urls or not all(u.startswith(("nats://", "tls://")) for u in urls):
                    raise _fail(entry, "not nats:// or tls:// URLs")
                out[key] = ",".join(urls)
            elif key in (
                "nats_user",
                "nats_password",
                "nats_token",
                "nats_creds",
                "nats_tls_ca",
                "nats_tls_cert",
                "nats_tls_key",
            ):
                out[key] = entry.value.strip()
            elif key == "heartbeat":
                out[key] = _seconds(entry, 0.05, 60)
            elif key == "node_timeout":
                out[key] = _seconds(entry, 0.2, 600)
            elif key == "forward_timeout":
                out[key] = _seconds(entry, 0.1, 600)
            elif key == "resource_ttl":
                out[key] = _seconds(entry, 10, 86400 * 30)
            elif key == "placement":
                word = entry.value.strip().lower()
                if word not in PLACEMENTS:
                    raise _fail(entry, f"not one of {', '.join(PLACEMENTS)}")
                out[key] = word
            else:
                raise ConfigError(entry.file, entry.line, f"unknown option {entry.key!r}")
        settings = replace(d, **out)  # type: ignore[arg-type]
        if settings.node_timeout <= settings.heartbeat:
            entry = values.get("node_timeout") or values["heartbeat"]
            raise ConfigError(entry.file, entry.line, "node_timeout must be longer than heartbeat")
        return settings
