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
                route = routes[op.path] = _Route(segs, names)
                if not names:
                    self._exact[op.path] = route
                else:
                    self._by_len.setdefault(len(segs), []).append(route)
            route.methods[op.method] = op
        # Routes with more literal segments first: /channels/externalMedia
        # beats /channels/{channelId}.
        for group in self._by_len.values():
            group.sort(key=lambda r: [s is None for s in r.segments])

    def find(self, path: str) -> tuple[_Route, dict[str, str]]:
        """The route of ``path`` and its placeholder values, or 404."""
        route = self._exact.get(path)
        if route is not None:
            return route, {}
        if path.endswith("/") and len(path) > 1:
            raise AriError(404, f"ARI URLs do not end with a slash. Try /ari{path.rstrip('/')}")
        parts = path.strip("/").split("/")
        for route in self._by_len.get(len(parts), ()):
            values: list[str] = []
            for seg, part in zip(route.segments, parts, strict=True):
                if seg is None:
                    if not part:
                        break
                    values.append(unquote(part))
                elif seg != part:
                    break
            else:
                return route, dict(zip(route.names, values, strict=True))
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
