"""Routing ARI paths to declared operations."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any
from urllib.parse import unquote

from pyari.ari.errors import AriError
from pyari.ari.spec import Operation

Picker = Callable[[Sequence[str | None]], Any]
"""Takes some of a path's segments (see :func:`_picker`)."""


@dataclass(slots=True)
class _Route:
    segments: tuple[str | None, ...]
    """Literal segments, None where a ``{placeholder}`` stands."""
    names: tuple[str, ...]
    methods: dict[str, Operation] = field(default_factory=dict)
    literals: tuple[tuple[int, str], ...] = ()
    """(position, text) of each literal segment."""
    holes: tuple[int, ...] = ()
    """The positions of the placeholders, in order."""
    take: Picker = tuple
    """A path's segments → the placeholders' values (one: the value, not a tuple)."""

    @property
    def allow(self) -> str:
        return ",".join(["OPTIONS", *self.methods])


class Router:
    """Finds the operation for a method and a path below ``/ari``."""

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._exact: dict[str, _Route] = {}
        self._by_len: dict[int, list[_Route]] = {}
        routes: dict[str, _Route] = {}
        for op in operations:
            route = routes.get(op.path)
            if route is None:
                parts = op.path.strip("/").split("/")
                segs = tuple(None if p.startswith("{") else p for p in parts)
                names = tuple(p[1:-1] for p in parts if p.startswith("{"))
                holes = tuple(i for i, s in enumerate(segs) if s is None)
                route = routes[op.path] = _Route(
                    segs,
                    names,
                    literals=tuple((i, s) for i, s in enumerate(segs) if s is not None),
                    holes=holes,
                    take=_picker(holes),
                )
                if not names:
                    self._exact[op.path] = route
                else:
                    self._by_len.setdefault(len(segs), []).append(route)
            route.methods[op.method] = op
        # Routes with more literal segments first: /channels/externalMedia
        # beats /channels/{channelId}.
        for group in self._by_len.values():
            group.sort(key=lambda r: [s is None for s in r.segments])
        # A length's routes grouped by where their literal segments stand (the sort
        # above keeps each group together, in that order); in a group, the route
        # whose literals are the path's is found by them (as its picker takes them
        # from a path's segments: a tuple, or the text of a lone literal).
        self._groups: dict[int, list[tuple[Picker, dict[Any, _Route]]]] = {}
        for n, group in self._by_len.items():
            tables: list[tuple[tuple[int, ...], dict[Any, _Route]]] = []
            for route in group:
                where = tuple(i for i, _ in route.literals)
                if not tables or tables[-1][0] != where:
                    tables.append((where, {}))
                tables[-1][1].setdefault(_picker(where)(route.segments), route)
            self._groups[n] = [(_picker(where), table) for where, table in tables]

    def find(self, path: str) -> tuple[_Route, dict[str, str]]:
        """The route of ``path`` and its placeholder values, or 404."""
        route = self._exact.get(path)
        if route is not None:
            return route, {}
        if path.endswith("/") and len(path) > 1:
            raise AriError(404, f"ARI URLs do not end with a slash. Try /ari{path.rstrip('/')}")
        parts = path.strip("/").split("/")
        for pick, table in self._groups.get(len(parts), ()):
            route = table.get(pick(parts))
            if route is not None:
                values = route.take(parts)
                if len(route.holes) == 1:  # (the value itself; a dict display is quickest)
                    if values:
                        return route, {route.names[0]: unquote(values) if "%" in values else values}
                elif "" not in values:
                    if "%" in path:
                        values = map(unquote, values)
                    return route, dict(zip(route.names, values, strict=True))
        raise AriError(404, "Resource not found")

    def resolve(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        route, values = self.find(path)
        op = route.methods.get(method)
        if op is None:
            raise MethodNotAllowed(route.allow)
        return op, values


def _picker(indexes: tuple[int, ...]) -> Picker:
    """What takes the segments at ``indexes`` from a path's segments: a tuple of them,
    or the one segment itself for one index."""
    if not indexes:
        return lambda _parts: ()
    return itemgetter(*indexes)


class MethodNotAllowed(AriError):
    def __init__(self, allow: str) -> None:
        super().__init__(405, "Invalid method")
        self.allow = allow
