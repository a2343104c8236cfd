"""pyari's ARI declarations against Asterisk's own api-docs (the contract).

The reference is Asterisk 23's ``rest-api/api-docs/*.json``, kept outside the
project under ``shared/reference/ari-api-docs``.  Every fact a client can see
must match: operations, paths, methods, parameters, types, allowed values,
defaults, error codes, models and their properties.  The prose must not: pyari
writes its own descriptions.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from pyari.ari import spec
from pyari.ari.apidocs import api_declaration

DEFAULT_REFERENCE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "ari-api-docs"
)
REFERENCE = Path(os.environ.get("PYARI_ARI_API_DOCS") or DEFAULT_REFERENCE)
"""Asterisk's api-docs: ``$PYARI_ARI_API_DOCS``, else ``../shared/reference/ari-api-docs``."""

if not (REFERENCE / "resources.json").is_file():
    pytest.skip(
        f"no Asterisk api-docs at {REFERENCE}: to run the contract test, point "
        "PYARI_ARI_API_DOCS at the rest-api/api-docs folder of Asterisk 23's source "
        "(git clone --depth 1 -b 23 https://github.com/asterisk/asterisk), e.g. "
        "PYARI_ARI_API_DOCS=asterisk/rest-api/api-docs pytest tests/ari/test_contract.py",
        allow_module_level=True,
    )

BASE = "http://localhost:8088/ari"
EXPECTED_OPERATIONS = 109
EXPECTED_MODELS = 85
COPY_GUARD_MIN_LEN = 30

Json = dict[str, Any]


@cache
def reference_names() -> tuple[str, ...]:
    listing = json.loads((REFERENCE / "resources.json").read_text())
    return tuple(Path(api["path"]).name.split(".")[0] for api in listing["apis"])


@cache
def reference(name: str) -> Json:
    data: Json = json.loads((REFERENCE / f"{name}.json").read_text())
    return data


def ours(name: str) -> Json:
    return api_declaration(name, BASE)


# -- normalisation: the facts of a Swagger 1.1 declaration -------------------


def param_facts(param: Json) -> Json:
    """The client-visible facts of a parameter. ``required`` and ``allowMultiple`` are
    compared as written, left out included: Asterisk leaves them out of the endpoints'
    ``tech``/``resource`` and of two ``/sounds`` parameters, and pyari's must too."""
    return {
        "name": param["name"],
        "paramType": param["paramType"],
        "required": param.get("required", "(left out)"),
        "allowMultiple": param.get("allowMultiple", "(left out)"),
        "dataType": param["dataType"],
        "allowableValues": param.get("allowableValues"),
        "defaultValue": param.get("defaultValue"),
    }


def operation_facts(path: str, op: Json) -> Json:
    return {
        "path": path,
        "httpMethod": op["httpMethod"],
        "responseClass": op["responseClass"],
        "since": op.get("since"),
        "parameters": [param_facts(p) for p in op.get("parameters", [])],
        # channels.json spells two codes as strings ("404"); the code is what counts.
        "errorCodes": [int(e["code"]) for e in op.get("errorResponses", [])],
        "websocket": op.get("upgrade") == "websocket",
        "websocketProtocol": op.get("websocketProtocol"),
    }


def operations_of(doc: Json) -> dict[str, Json]:
    """nickname -> facts, in declaration order."""
    return {
        op["nickname"]: operation_facts(api["path"], op)
        for api in doc["apis"]
        for op in api["operations"]
    }


def model_facts(model: Json) -> Json:
    return {
        "properties": {
            name: {
                "type": prop["type"],
                "required": prop.get("required", False),
                "allowableValues": prop.get("allowableValues"),
            }
            for name, prop in model["properties"].items()
        },
        "property_order": list(model["properties"]),
        "subTypes": model.get("subTypes", []),
        "discriminator": model.get("discriminator"),
    }


# -- resources and operations ------------------------------------------------


def test_resources_match_the_listing() -> None:
    assert tuple(r.name for r in spec.resources()) == reference_names()
    assert len(spec.resources()) == 11


def test_operation_set_matches() -> None:
    ref = {
        (name, facts["path"], facts["httpMethod"], nickname)
        for name in reference_names()
        for nickname, facts in operations_of(reference(name)).items()
    }
    mine = {(op.resource, op.path, op.method, op.nickname) for op in spec.operations()}
    assert mine - ref == set(), "operations pyari declares that Asterisk does not have"
    assert ref - mine == set(), "Asterisk operations missing from pyari"
    assert len(spec.operations()) == EXPECTED_OPERATIONS == len(ref)


@pytest.mark.parametrize("name", reference_names())
def test_resource_header(name: str) -> None:
    ref, mine = reference(name), ours(name)
    for key in ("resourcePath", "since", "requiresModules", "apiVersion"):
        assert mine.get(key) == ref.get(key), key
    # Asterisk's events.json says "1.2" while the listing and every other file say
    # "1.1"; pyari serves the one version its documents follow.
    assert mine["swaggerVersion"] == "1.1"
    assert ref["swaggerVersion"] in ("1.1", "1.2")


@pytest.mark.parametrize("name", reference_names())
def test_operations_match(name: str) -> None:
    ref, mine = operations_of(reference(name)), operations_of(ours(name))
    assert list(mine) == list(ref), "operation order"
    for nickname, facts in ref.items():
        assert mine[nickname] == facts, f"{name}.{nickname}"


@pytest.mark.parametrize("name", reference_names())
def test_paths_grouped_like_asterisk(name: str) -> None:
    assert [a["path"] for a in ours(name)["apis"]] == [a["path"] for a in reference(name)["apis"]]


# -- models ------------------------------------------------------------------


def test_model_set_matches() -> None:
    ref = {mid for name in reference_names() for mid in reference(name)["models"]}
    assert set(spec.models()) == ref
    assert len(spec.models()) == EXPECTED_MODELS == len(ref)


@pytest.mark.parametrize("name", reference_names())
def test_models_match(name: str) -> None:
    ref, mine = reference(name)["models"], ours(name)["models"]
    assert list(mine) == list(ref), "models declared by this resource"
    for mid, model in ref.items():
        assert mine[mid]["id"] == mid
        assert model_facts(mine[mid]) == model_facts(model), mid


def test_extends_follows_subtypes() -> None:
    parents = {
        sub: model["id"]
        for name in reference_names()
        for model in reference(name)["models"].values()
        for sub in model.get("subTypes", [])
    }
    mine = {mid: m.extends for mid, m in spec.models().items() if m.extends is not None}
    assert mine == parents


# -- prose is pyari's own ----------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().casefold()


def reference_prose() -> set[str]:
    found: set[str] = set()
    listing = json.loads((REFERENCE / "resources.json").read_text())
    found.update(api["description"] for api in listing["apis"])
    for name in reference_names():
        doc = reference(name)
        for api in doc["apis"]:
            found.add(api.get("description", ""))
            for op in api["operations"]:
                found.add(op.get("summary", ""))
                found.add(op.get("notes", ""))
                for param in op.get("parameters", []):
                    found.add(param.get("description", ""))
                    found.add(param.get("descriptioni", ""))
        for model in doc["models"].values():
            found.add(model.get("description", ""))
            for prop in model["properties"].values():
                found.add(prop.get("description", ""))
    return {_norm(s) for s in found if len(s) > COPY_GUARD_MIN_LEN}


def pyari_prose() -> dict[str, str]:
    """location -> description, for every description pyari declares."""
    found: dict[str, str] = {}
    for res in spec.resources():
        found[res.name] = res.doc
        for path, doc in res.path_docs.items():
            found[f"{res.name} {path}"] = doc
        for op in res.operations:
            found[f"{op.key} summary"] = op.summary
            found[f"{op.key} notes"] = op.notes
            for param in op.params:
                found[f"{op.key}({param.name})"] = param.doc
        for model in res.models:
            found[model.id] = model.doc
            for prop in model.props:
                found[f"{model.id}.{prop.name}"] = prop.doc
    return found


def test_no_reference_prose_copied() -> None:
    ref = reference_prose()
    copied = {
        where: text
        for where, text in pyari_prose().items()
        if len(text) > COPY_GUARD_MIN_LEN and _norm(text) in ref
    }
    assert copied == {}


def test_everything_is_described() -> None:
    undocumented = [
        where for where, text in pyari_prose().items() if not text and not where.endswith(" notes")
    ]
    assert undocumented == []
