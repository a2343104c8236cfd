"""Routing ARI paths to declared operations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from pyari.ari.errors import AriError
from pyari.ari.spec import Operation


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
                route = routes[op.path] = _Route(
                    segs,
                    names,
                    literals=tuple((i, s) for i, s in enumerate(segs) if s is not None),
                    holes=tuple(i for i, s in enumerate(segs) if s is None),
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
        # whose literals are the path's is found by them.
        self._groups: dict[int, list[tuple[tuple[int, ...], dict[tuple[str, ...], _Route]]]] = {}
        for n, group in self._by_len.items():
            tables = self._groups[n] = []
            for route in group:
                where = tuple(i for i, _ in route.literals)
                if not tables or tables[-1][0] != where:
                    tables.append((where, {}))
                tables[-1][1].setdefault(tuple(t for _, t in route.literals), route)

    def find(self, path: str) -> tuple[_Route, dict[str, str]]:
        """The route of ``path`` and its placeholder values, or 404."""
        route = self._exact.get(path)
        if route is not None:
            return route, {}
        if path.endswith("/") and len(path) > 1:
            raise AriError(404, f"ARI URLs do not end with a slash. Try /ari{path.rstrip('/')}")
        parts = path.strip("/").split("/")
        for where, table in self._groups.get(len(parts), ()):
            route = table.get(tuple([parts[i] for i in where]))
            if route is not None:
                values = [parts[i] for i in route.holes]
                if all(values):
                    return route, dict(zip(route.names, map(unquote, values), strict=True))
        raise AriError(404, "Resource not found")

    def resolve(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        route, values = self.find(path)
        op = route.methods.get(method)
        if op is None:
            raise MethodNotAllowed(route.allow)
        return op, values


class MethodNotAllowed(AriError):
    def __init__(self, allow: str) -> None:
        super().__init__(405, "Invalid method")
        self.allow = allow
