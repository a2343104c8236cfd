"""The ARI contract, declared once.

Every ARI operation and model is declared here as plain data.  From these
declarations come the HTTP routes and parameter validation
(:mod:`pyari.ari.router`), the Swagger 1.1 api-docs and OpenAPI 3.1 documents
(:mod:`pyari.ari.apidocs`), the typed client and the contract tests.  Nothing
else restates the contract.

The declarations of one resource live in the module of that name
(``channels.py``, ``bridges.py`` ...); each exposes ``RESOURCE``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal

ParamWhere = Literal["path", "query", "body"]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of an operation.

    ``type`` is the Swagger 1.1 data type as ARI spells it: ``string``, ``int``,
    ``long``, ``double``, ``boolean``, ``object``, ``containers`` or
    ``List[string]`` style containers.
    """

    name: str
    type: str = "string"
    where: ParamWhere = "query"
    required: bool = False
    multiple: bool = False
    values: tuple[str, ...] | None = None
    """``allowableValues`` of kind LIST."""
    min: float | None = None
    """Lower bound of an ``allowableValues`` of kind RANGE."""
    max: float | None = None
    """Upper bound of an ``allowableValues`` of kind RANGE."""
    default: str | int | float | bool | None = None
    doc: str = ""
    unstated: tuple[str, ...] = ()
    """Swagger keys (``required``, ``allowMultiple``) Asterisk's api-docs leave out of
    this parameter, so pyari's leave them out too; the parameter means the same (a
    path parameter is required whether stated or not)."""

    @property
    def has_range(self) -> bool:
        return self.min is not None or self.max is not None


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A documented error status of an operation."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One ARI operation: a method on a path."""

    resource: str
    """Resource (api-docs file) name, e.g. ``channels``."""
    nickname: str
    """Operation name, e.g. ``originate``; unique within its resource."""
    method: str
    path: str
    """Path below ``/ari``, with ``{placeholders}``, e.g. ``/channels/{channelId}``."""
    response: str = "void"
    """Swagger ``responseClass``: a model id, ``List[Model]``, ``void`` ..."""
    summary: str = ""
    notes: str = ""
    params: tuple[Param, ...] = ()
    errors: tuple[ErrorResponse, ...] = ()
    since: tuple[str, ...] = ()
    websocket: bool = False
    """True for the events WebSocket (Swagger ``upgrade: websocket``)."""

    @property
    def key(self) -> str:
        return f"{self.resource}.{self.nickname}"


@dataclass(frozen=True, slots=True)
class Prop:
    """One property of a model."""

    name: str
    type: str
    required: bool = False
    values: tuple[str, ...] | None = None
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Model:
    """A JSON model (object shape) of the interface."""

    id: str
    props: tuple[Prop, ...]
    doc: str = ""
    extends: str | None = None
    """Parent model id (Swagger 1.1 ``extends``), e.g. ``Event`` for events."""
    subtypes: tuple[str, ...] = ()
    discriminator: str | None = None


@dataclass(frozen=True, slots=True)
class Resource:
    """One api-docs resource: its operations and the models it declares."""

    name: str
    doc: str
    operations: tuple[Operation, ...]
    models: tuple[Model, ...] = ()
    path_docs: dict[str, str] = field(default_factory=dict)
    """Description of each path (Swagger groups operations by path)."""
    since: tuple[str, ...] = ()
    requires_modules: tuple[str, ...] = ()


# -- registry ---------------------------------------------------------------


@cache
def resources() -> tuple[Resource, ...]:
    """All resources, in the order of Asterisk's ``resources.json``."""
    from pyari.ari.spec import (
        applications,
        asterisk,
        bridges,
        channels,
        device_states,
        endpoints,
        events,
        mailboxes,
        playbacks,
        recordings,
        sounds,
    )

    return (
        asterisk.RESOURCE,
        endpoints.RESOURCE,
        channels.RESOURCE,
        bridges.RESOURCE,
        recordings.RESOURCE,
        sounds.RESOURCE,
        playbacks.RESOURCE,
        device_states.RESOURCE,
        mailboxes.RESOURCE,
        events.RESOURCE,
        applications.RESOURCE,
    )


@cache
def resource(name: str) -> Resource:
    """The resource called ``name`` (api-docs name, e.g. ``deviceStates``).

    Raises :class:`KeyError` for an unknown name.
    """
    for res in resources():
        if res.name == name:
            return res
    raise KeyError(name)


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation of every resource, in declaration order."""
    return tuple(op for res in resources() for op in res.operations)


@cache
def models() -> dict[str, Model]:
    """Every model by id, in declaration order (resource order, then file order)."""
    found: dict[str, Model] = {}
    for res in resources():
        for model in res.models:
            if model.id in found:
                raise ValueError(f"model {model.id} declared twice")
            found[model.id] = model
    return found


@cache
def _operation_index() -> dict[tuple[str, str], Operation]:
    return {(op.resource, op.nickname): op for op in operations()}


def operation(resource: str, nickname: str) -> Operation:
    """The operation ``nickname`` of ``resource``; :class:`KeyError` if unknown."""
    return _operation_index()[(resource, nickname)]
