"""Every msgspec Struct of ``pyari.core`` (events, snapshots, device states, mailboxes)
has the fields of its model in ``pyari.ari.spec``: the same names, types that encode
as the declared type, and a field the model requires is always sent.

Core encodes these Structs straight to ARI JSON, so a field added, renamed or made
optional on one side only shows here rather than on the wire.
"""

from __future__ import annotations

import importlib
import pkgutil

import msgspec
import msgspec.inspect as mi
import pytest

import pyari.core
from pyari.ari import spec

MODEL_OF = {
    "CallerId": "CallerID",
    "ChannelSnapshot": "Channel",
    "BridgeSnapshot": "Bridge",
    "EndpointSnapshot": "Endpoint",
}
"""Structs named otherwise than their model (events take their ``type`` tag)."""

ADDED_BY_ARI = frozenset({"type", "application", "asterisk_id"})
"""Event properties the ARI layer adds when it sends an event to an application."""

NOT_SENT = {
    ("Bridge", "bridgevars"): "optional; pyari does not send bridge variables in snapshots",
    ("ChannelDestroyed", "tech_cause"): "optional; no technology cause is reported",
    ("ChannelHangupRequest", "tech_cause"): "optional; no technology cause is reported",
}
"""Optional model properties core never sends, with the reason."""

ALWAYS_SENT = {
    ("Endpoint", "state"): "Asterisk sends it on every endpoint",
    ("Dial", "forward"): "Asterisk sends it even empty",
    ("Dial", "dialstring"): "Asterisk sends it even empty",
}
"""Optional model properties core sends every time, with the reason."""

UNTYPED = {
    ("DeviceStateChanged", "device_state"): "core.devices imports core.events",
}
"""Properties typed ``Any`` although their model has a Struct in core, with the reason."""

SCALARS: dict[str, tuple[type[mi.Type], ...]] = {
    "string": (mi.StrType,),
    "Date": (mi.StrType,),
    "int": (mi.IntType,),
    "long": (mi.IntType,),
    "double": (mi.FloatType,),
    "boolean": (mi.BoolType,),
    "object": (mi.DictType, mi.AnyType),
}


def core_structs() -> dict[str, type[msgspec.Struct]]:
    """Each Struct defined in a ``pyari.core`` module, by the model id it stands for."""
    found: dict[str, type[msgspec.Struct]] = {}
    for info in pkgutil.iter_modules(pyari.core.__path__):
        module = importlib.import_module(f"pyari.core.{info.name}")
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, msgspec.Struct)
                and obj.__module__ == module.__name__
            ):
                tag = obj.__struct_config__.tag
                model = tag if isinstance(tag, str) else MODEL_OF.get(name, name)
                assert model not in found, f"{model}: two Structs"
                found[model] = obj
    return found


STRUCTS = core_structs()


def model_props(model_id: str) -> dict[str, spec.Prop]:
    model = spec.models()[model_id]
    props = model_props(model.extends) if model.extends else {}
    props.update({p.name: p for p in model.props})
    return props


def always_sent(cls: type[msgspec.Struct], field: mi.Field) -> bool:
    """Whether encoding an instance always writes ``field``."""
    if field.required:
        return True
    omit_defaults = cls.__struct_config__.omit_defaults
    if field.default_factory is not msgspec.NODEFAULT:
        # omit_defaults leaves out what an empty-collection factory makes
        return not (omit_defaults and field.default_factory in (list, dict, set))
    if field.default is not msgspec.NODEFAULT:
        return not omit_defaults
    return False  # defaults to UNSET (inspect shows no default): left out when unset


def type_matches(declared: str, found: mi.Type, where: tuple[str, str]) -> bool:
    if declared.startswith("List[") and declared.endswith("]"):
        return isinstance(found, mi.ListType) and type_matches(
            declared[5:-1], found.item_type, where
        )
    if declared in SCALARS:
        return isinstance(found, SCALARS[declared])
    # a model
    if isinstance(found, mi.StructType):
        return STRUCTS.get(declared) is found.cls
    if isinstance(found, mi.AnyType):
        return declared not in STRUCTS or where in UNTYPED
    return False


def test_every_core_struct_stands_for_a_declared_model() -> None:
    assert len(STRUCTS) > 50
    unknown = sorted(set(STRUCTS) - set(spec.models()))
    assert not unknown, f"core Structs with no model in pyari.ari.spec: {unknown}"


@pytest.mark.parametrize("model_id", sorted(STRUCTS))
def test_struct_fields_match_the_model(model_id: str) -> None:
    cls = STRUCTS[model_id]
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    fields = {f.encode_name: f for f in info.fields}
    props = model_props(model_id)
    is_event = "Event" in (model_id, spec.models()[model_id].extends)
    expected = {
        name
        for name in props
        if not (is_event and name in ADDED_BY_ARI) and (model_id, name) not in NOT_SENT
    }
    assert set(fields) == expected, f"{model_id}: fields differ from the model"
    problems: list[str] = []
    for name, field in fields.items():
        prop = props[name]
        where = (model_id, name)
        if not type_matches(prop.type, field.type, where):
            problems.append(f"{name}: declared {prop.type}, Struct has {field.type!r}")
        sent = always_sent(cls, field)
        if prop.required and not sent:
            problems.append(f"{name}: required by the model, but may be left out")
        if not prop.required and sent and where not in ALWAYS_SENT:
            problems.append(f"{name}: optional in the model, but always sent")
    assert not problems, f"{model_id}: " + "; ".join(problems)


def test_the_exceptions_are_still_needed() -> None:
    """Each entry of the exception tables names a property of a core Struct's model."""
    for model_id, name in [*NOT_SENT, *ALWAYS_SENT, *UNTYPED]:
        assert model_id in STRUCTS, model_id
        assert name in model_props(model_id), (model_id, name)
    for model_id, name in NOT_SENT:
        assert not model_props(model_id)[name].required, (model_id, name)
