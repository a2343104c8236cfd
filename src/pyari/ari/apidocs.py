"""API documents generated from the ARI declarations.

Three pure functions turn :mod:`pyari.ari.spec` into documents:

* :func:`resource_listing` - the Swagger 1.1 ``resources.json``;
* :func:`api_declaration` - one Swagger 1.1 api-docs file per resource, in the
  shape Asterisk serves under ``/ari/api-docs/<name>.json`` (what ``aioari``,
  ``ari-py`` and ``node-ari-client`` load at start-up);
* :func:`openapi` - an OpenAPI 3.1 description of the same interface.

Nothing here restates the contract: every path, parameter, type and model
comes from the declarations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pyari.ari.spec import (
    Model,
    Operation,
    Param,
    Prop,
    Resource,
    answers,
    models,
    resource,
    resources,
)

__all__ = [
    "DECLARATION_API_VERSION",
    "LISTING_API_VERSION",
    "SWAGGER_VERSION",
    "api_declaration",
    "openapi",
    "resource_listing",
]

JsonDict = dict[str, Any]

SWAGGER_VERSION = "1.1"
LISTING_API_VERSION = "12.0.0"
"""``apiVersion`` of Asterisk's ``resources.json``."""
DECLARATION_API_VERSION = "2.0.0"
"""``apiVersion`` of Asterisk's per-resource api-docs files."""
GENERATOR = "pyari"

_LIST_RE = re.compile(r"^List\[(?P<item>.+)\]$")


# -- Swagger 1.1 -------------------------------------------------------------


def _resource_path(name: str) -> str:
    return f"/api-docs/{name}.{{format}}"


def resource_listing(base_path: str) -> JsonDict:
    """The Swagger 1.1 resource listing (``/ari/api-docs/resources.json``).

    ``base_path`` is the ARI root as clients reach it, e.g.
    ``http://localhost:8088/ari``.
    """
    return {
        "_generator": GENERATOR,
        "apiVersion": LISTING_API_VERSION,
        "swaggerVersion": SWAGGER_VERSION,
        "basePath": base_path,
        "apis": [{"path": _resource_path(res.name), "description": res.doc} for res in resources()],
    }


def _by_path(ops: Iterable[Operation]) -> dict[str, list[Operation]]:
    """Group operations by path, paths in order of first appearance."""
    grouped: dict[str, list[Operation]] = {}
    for op in ops:
        grouped.setdefault(op.path, []).append(op)
    return grouped


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _swagger_param(param: Param) -> JsonDict:
    out: JsonDict = {
        "name": param.name,
        "description": param.doc,
        "paramType": param.where,
        "required": param.required,
        "allowMultiple": param.multiple,
        "dataType": param.type,
    }
    for key in param.unstated:
        del out[key]
    if param.default is not None:
        out["defaultValue"] = param.default
    if param.values is not None:
        out["allowableValues"] = {"valueType": "LIST", "values": list(param.values)}
    elif param.has_range:
        rng: JsonDict = {"valueType": "RANGE"}
        if param.min is not None:
            rng["min"] = _number(param.min)
        if param.max is not None:
            rng["max"] = _number(param.max)
        out["allowableValues"] = rng
    return out


def _swagger_operation(op: Operation) -> JsonDict:
    out: JsonDict = {"httpMethod": op.method, "since": list(op.since)}
    if op.websocket:
        out["upgrade"] = "websocket"
        out["websocketProtocol"] = "ari"
    out["summary"] = op.summary
    if op.notes:
        out["notes"] = op.notes
    out["nickname"] = op.nickname
    out["responseClass"] = op.response
    if op.params:
        out["parameters"] = [_swagger_param(p) for p in op.params]
    if op.errors:
        out["errorResponses"] = [{"code": e.code, "reason": e.reason} for e in op.errors]
    return out


def _swagger_property(prop: Prop) -> JsonDict:
    out: JsonDict = {"type": prop.type, "required": prop.required, "description": prop.doc}
    if prop.values is not None:
        out["allowableValues"] = {"valueType": "LIST", "values": list(prop.values)}
    return out


def _swagger_model(model: Model) -> JsonDict:
    out: JsonDict = {"id": model.id, "description": model.doc}
    if model.discriminator is not None:
        out["discriminator"] = model.discriminator
    out["properties"] = {p.name: _swagger_property(p) for p in model.props}
    if model.subtypes:
        out["subTypes"] = list(model.subtypes)
    return out


def api_declaration(resource_name: str, base_path: str) -> JsonDict:
    """The Swagger 1.1 api-docs file of one resource (e.g. ``channels``).

    Raises :class:`KeyError` for an unknown resource name.
    """
    res = resource(resource_name)
    out: JsonDict = {
        "_generator": GENERATOR,
        "apiVersion": DECLARATION_API_VERSION,
        "swaggerVersion": SWAGGER_VERSION,
        "basePath": base_path,
        "resourcePath": _resource_path(res.name),
    }
    if res.since:
        out["since"] = list(res.since)
    if res.requires_modules:
        out["requiresModules"] = list(res.requires_modules)
    out["apis"] = [
        {
            "path": path,
            "description": res.path_docs.get(path, ""),
            "operations": [_swagger_operation(op) for op in ops],
        }
        for path, ops in _by_path(res.operations).items()
    ]
    out["models"] = {m.id: _swagger_model(m) for m in res.models}
    return out


# -- OpenAPI 3.1 -------------------------------------------------------------

OPENAPI_VERSION = "3.1.0"
ERROR_SCHEMA = "ErrorMessage"
"""Component name of the ``{"message": ...}`` error body (``Message`` is taken by ARI)."""

_PRIMITIVES: dict[str, JsonDict] = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "int": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "float": {"type": "number", "format": "float"},
    "number": {"type": "number"},
    "Date": {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$",
        "description": "A time as Asterisk writes it: 2026-12-07T13:01:19.632+0000 "
        "(milliseconds, offset without a colon; not RFC 3339).",
    },
    "object": {"type": "object"},
    "containers": {"type": "object"},
}


def _ref(model_id: str) -> JsonDict:
    return {"$ref": f"#/components/schemas/{model_id}"}


def _type_schema(type_name: str) -> JsonDict:
    """JSON Schema of a Swagger 1.1 type: primitive, ``List[X]`` or model id."""
    match = _LIST_RE.match(type_name)
    if match:
        return {"type": "array", "items": _type_schema(match.group("item"))}
    if type_name in _PRIMITIVES:
        return dict(_PRIMITIVES[type_name])
    return _ref(type_name)


def _param_schema(param: Param) -> JsonDict:
    schema = _type_schema(param.type)
    if param.values is not None:
        schema["enum"] = list(param.values)
    if param.min is not None:
        schema["minimum"] = _number(param.min)
    if param.max is not None:
        schema["maximum"] = _number(param.max)
    if param.default is not None:
        schema["default"] = param.default
    # An empty value of a required parameter counts as left out (400, as in Asterisk).
    required = param.required and param.where != "path"
    if required and schema.get("type") == "string":
        schema["minLength"] = 1
    if param.multiple:
        schema = {"type": "array", "items": schema}
        if required:
            schema["minItems"] = 1
    return schema


def _openapi_param(param: Param) -> JsonDict:
    out: JsonDict = {
        "name": param.name,
        "in": param.where,
        "description": param.doc,
        "required": param.required or param.where == "path",
        "schema": _param_schema(param),
    }
    if param.multiple:
        out["style"] = "form"
        out["explode"] = False
    return out


def _body_property(param: Param) -> JsonDict:
    schema = _param_schema(param)
    if isinstance(schema.get("type"), str) and not param.required:
        # A JSON null is taken as the parameter left out (as Asterisk does).
        schema["type"] = [schema["type"], "null"]
    return {**schema, "description": param.doc}


def _request_body(body: list[Param]) -> JsonDict:
    if len(body) == 1 and body[0].type == "object":
        # An ``object`` body parameter (an event filter) is the whole body.
        whole = body[0]
        return {
            "required": whole.required,
            "description": whole.doc,
            # A JSON null is an empty body (both lists cleared).
            "content": {"application/json": {"schema": {"type": ["object", "null"]}}},
        }
    schema: JsonDict = {
        "type": "object",
        "properties": {p.name: _body_property(p) for p in body},
    }
    required = [p.name for p in body if p.required]
    if required:
        schema["required"] = required
    return {
        "required": bool(required),
        "content": {"application/json": {"schema": schema}},
    }


def _error_content(op: Operation, code: int) -> JsonDict:
    if op.websocket and code in (400, 426):
        # The events socket's checks answer these as Asterisk does: an HTML page.
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": _ref(ERROR_SCHEMA)}}


def _success(op: Operation) -> tuple[str, JsonDict]:
    if op.websocket:
        return "101", {
            "description": (
                f"Switching to a WebSocket (subprotocol 'ari'); every frame is a JSON "
                f"{op.response} for the named applications."
            )
        }
    status = answers.SUCCESS.get(op.key)
    if op.response == "void":
        if status is not None:
            return str(status), {"description": "Accepted; no content."}
        return "204", {"description": "Done; no content."}
    if op.response == "binary":
        binary = {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
        return "200", {
            "description": "The file, typed by its format as Asterisk does (audio/wav ...).",
            "content": {"audio/*": binary, "video/*": binary},
        }
    return str(status or 200), {
        "description": "Created." if status == 201 else "OK.",
        "content": {"application/json": {"schema": _type_schema(op.response)}},
    }


def _openapi_operation(op: Operation) -> JsonDict:
    out: JsonDict = {
        "operationId": f"{op.resource}_{op.nickname}",
        "tags": [op.resource],
        "summary": op.summary,
    }
    notes = op.notes
    if op.websocket:
        ws_note = (
            "WebSocket endpoint: send a GET with 'Upgrade: websocket' and the 'ari' "
            "subprotocol; events then arrive as text frames."
        )
        notes = f"{notes}\n\n{ws_note}" if notes else ws_note
        out["x-websocket-protocol"] = "ari"
    if notes:
        out["description"] = notes
    if op.since:
        out["x-since"] = list(op.since)
    params = [_openapi_param(p) for p in op.params if p.where != "body"]
    if params:
        out["parameters"] = params
    body = [p for p in op.params if p.where == "body"]
    if body:
        out["requestBody"] = _request_body(body)
    code, success = _success(op)
    responses: JsonDict = {code: success}
    reasons: dict[int, list[str]] = {}
    for err in (
        *op.errors,
        *answers.MORE_ERRORS.get(op.key, ()),
        *answers.pipeline_errors(op),
    ):
        known = reasons.setdefault(err.code, [])
        if err.reason not in known:
            known.append(err.reason)
    for status in sorted(reasons):
        response: JsonDict = {
            "description": "; or ".join(reasons[status]),
            "content": _error_content(op, status),
        }
        if status == 401:
            response["headers"] = {
                "WWW-Authenticate": {
                    "description": "The Basic realm (ari.conf auth_realm).",
                    "schema": {"type": "string"},
                }
            }
        responses[str(status)] = response
    out["responses"] = responses
    return out


def _prop_schema(prop: Prop) -> JsonDict:
    schema = _type_schema(prop.type)
    if "$ref" in schema:
        # Sibling keywords next to $ref are fine in 3.1, but allOf reads better.
        schema = {"allOf": [schema]}
    if prop.values is not None:
        schema["enum"] = list(prop.values)
    schema["description"] = prop.doc
    return schema


def _model_schema(model: Model) -> JsonDict:
    own: JsonDict = {
        "type": "object",
        "properties": {p.name: _prop_schema(p) for p in model.props},
    }
    required = [p.name for p in model.props if p.required]
    if required:
        own["required"] = required
    if model.discriminator is not None:
        own["discriminator"] = {"propertyName": model.discriminator}
    if model.extends is not None:
        return {"description": model.doc, "allOf": [_ref(model.extends), own]}
    return {"description": model.doc, **own}


def _components() -> JsonDict:
    schemas: JsonDict = {mid: _model_schema(m) for mid, m in models().items()}
    schemas[ERROR_SCHEMA] = {
        "description": "Body of an ARI error response.",
        "type": "object",
        "properties": {"message": {"type": "string", "description": "What went wrong."}},
        "required": ["message"],
    }
    return {
        "schemas": schemas,
        "securitySchemes": {
            "basicAuth": {
                "type": "http",
                "scheme": "basic",
                "description": "An ARI user and password from ari.conf.",
            },
            "apiKey": {
                "type": "apiKey",
                "in": "query",
                "name": "api_key",
                "description": "'user:password' of an ARI user.",
            },
        },
    }


def _tag(res: Resource) -> JsonDict:
    return {"name": res.name, "description": res.doc}


def openapi(base_url: str) -> JsonDict:
    """An OpenAPI 3.1 document of the whole interface.

    ``base_url`` is the ARI root as clients reach it, e.g.
    ``http://localhost:8088/ari``.
    """
    paths: JsonDict = {}
    for res in resources():
        for path, ops in _by_path(res.operations).items():
            item: JsonDict = paths.setdefault(path, {})
            if "description" not in item and res.path_docs.get(path):
                item["description"] = res.path_docs[path]
            for op in ops:
                item[op.method.lower()] = _openapi_operation(op)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Asterisk REST Interface (pyari)",
            "version": DECLARATION_API_VERSION,
            "description": "ARI as served by pyari, generated from its declarations.",
        },
        "servers": [{"url": base_url}],
        "security": [{"basicAuth": []}, {"apiKey": []}],
        "tags": [_tag(res) for res in resources()],
        "paths": paths,
        "components": _components(),
    }
