"""Lists answered by every node of the cluster, merged into one (decision 0025).

Each function takes the JSON bodies of the nodes' ``200`` answers, this node's
first, and returns the merged value, which the caller encodes as ARI does
(compact, or indented when ari.conf says ``pretty``):

* channels and bridges are one node's each: the lists are joined;
* an endpoint exists on every node that has its configuration: one entry per
  ``technology``/``resource``, its ``channel_ids`` the union, ``online`` when
  any node says so (else the first node's state);
* an application is registered on every node that runs its channels: one
  entry per ``name``, its ``channel_ids``, ``bridge_ids``, ``endpoint_ids``
  and ``device_names`` the unions; the event filter is the first node's;
* stored recordings are files in each node's recording folder (or one folder
  the nodes share): one entry per ``name`` and ``format``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import msgspec

_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder()

Merge = Callable[[list[bytes]], Any]


def joined(bodies: list[bytes]) -> list[msgspec.Raw]:
    """The items of every list, in order (each kept as the bytes it came as)."""
    items: list[msgspec.Raw] = []
    for body in bodies:
        items.extend(_raw_list.decode(body))
    return items


def _objects(bodies: Iterable[bytes]) -> list[dict[str, Any]]:
    """The objects of each body (a list of objects, or one object)."""
    found: list[dict[str, Any]] = []
    for body in bodies:
        value = _any.decode(body)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found.append(item)
    return found


def _union(into: dict[str, Any], other: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        mine = into.get(key)
        theirs = other.get(key)
        if isinstance(mine, list) and isinstance(theirs, list):
            seen = set(mine)
            for x in theirs:
                if x not in seen:
                    seen.add(x)
                    mine.append(x)


def endpoints(bodies: list[bytes]) -> list[dict[str, Any]]:
    """Endpoints, one per technology/resource (see the module's text)."""
    merged: dict[tuple[Any, Any], dict[str, Any]] = {}
    for item in _objects(bodies):
        key = (item.get("technology"), item.get("resource"))
        first = merged.get(key)
        if first is None:
            merged[key] = item
            continue
        _union(first, item, ("channel_ids",))
        if item.get("state") == "online":
            first["state"] = "online"
    return list(merged.values())


APP_UNIONS = ("channel_ids", "bridge_ids", "endpoint_ids", "device_names")


def applications(bodies: list[bytes]) -> list[dict[str, Any]]:
    """Applications, one per name (see the module's text)."""
    merged: dict[Any, dict[str, Any]] = {}
    for item in _objects(bodies):
        name = item.get("name")
        first = merged.get(name)
        if first is None:
            merged[name] = item
        else:
            _union(first, item, APP_UNIONS)
    return list(merged.values())


def stored(bodies: list[bytes]) -> list[dict[str, Any]]:
    """Stored recordings, one per name and format (nodes may share a recording folder)."""
    merged: dict[tuple[Any, Any], dict[str, Any]] = {}
    for item in _objects(bodies):
        merged.setdefault((item.get("name"), item.get("format")), item)
    return list(merged.values())


def one(merge: Merge) -> Merge:
    """A merge of single objects (``GET /endpoints/{tech}/{resource}``...): the first."""

    def merged(bodies: list[bytes]) -> Any:
        return merge(bodies)[0]

    return merged
