"""The typed arguments of each operation: generated from the declarations, filled by
``parse_params``, and the class each handler reads."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import keyword
import sys
from pathlib import Path
from types import ModuleType
from typing import TypeVar, get_args, get_type_hints

import pytest

from pyari.ari import spec
from pyari.ari.args import (
    ARGS,
    BridgesAddChannelArgs,
    ChannelsOriginateArgs,
    EndpointsSendMessageArgs,
    MailboxesUpdateArgs,
)
from pyari.ari.errors import AriError
from pyari.ari.params import MAX_PARAM_LEN, Args, _convert, fields, parse_params
from pyari.ari.resources import load_all

ROOT = Path(__file__).resolve().parents[2]
A = TypeVar("A", bound=Args)


def load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_args.py"
    mod_spec = importlib.util.spec_from_file_location("gen_args_under_test", path)
    assert mod_spec is not None and mod_spec.loader is not None
    mod = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = mod
    mod_spec.loader.exec_module(mod)
    return mod


def test_generated_args_are_up_to_date() -> None:
    gen = load_generator()
    assert gen.OUT.read_text() == gen.render(), "args.py is stale: run `make args`"


def test_a_class_per_operation_with_a_field_per_parameter() -> None:
    assert list(ARGS) == [op.key for op in spec.operations()]
    for op in spec.operations():
        cls = ARGS[op.key]
        assert op.key == cls.OPERATION
        for p in op.params:
            attr = f"{p.name}_" if keyword.iskeyword(p.name) else p.name
            assert hasattr(cls, attr), (op.key, p.name)


def test_each_handler_reads_its_operations_class() -> None:
    for key, reg in load_all().items():
        assert reg.args_type is ARGS[key]
        params = list(inspect.signature(reg.fn).parameters.values())
        assert len(params) == 2, key
        hint = get_type_hints(reg.fn)[params[1].name]
        # a handler shared by several operations takes their union
        assert ARGS[key] in (get_args(hint) or (hint,)), f"{key}: handler takes {hint}"


def _parse(cls: type[A], query: dict[str, str], body: object = None, **kw: object) -> A:
    op = spec.operation(*cls.OPERATION.split("."))
    return parse_params(op, {}, query, body, args_type=cls, **kw)  # type: ignore[arg-type]


def test_values_arrive_converted_with_their_defaults() -> None:
    args = _parse(ChannelsOriginateArgs, {"endpoint": "PJSIP/a", "priority": "2"})
    assert isinstance(args, ChannelsOriginateArgs)
    assert args.endpoint == "PJSIP/a"
    assert args.priority == 2
    assert args.timeout == 30  # declared default
    assert args.context is None  # optional, not given
    args = _parse(ChannelsOriginateArgs, {"endpoint": "x", "timeout": "-1"}, {"variables": {}})
    assert args.timeout == -1
    assert args.variables == {}


def test_required_parameter_absent_or_empty_answers_400_when_read() -> None:
    args = _parse(
        MailboxesUpdateArgs, {"newMessages": "1"}, missing={"oldMessages": "No oldMessages"}
    )
    assert args.newMessages == 1
    with pytest.raises(AriError) as err:
        _ = args.oldMessages
    assert (err.value.status, err.value.message) == (400, "No oldMessages")
    add = _parse(BridgesAddChannelArgs, {"channel": " , "})
    assert not add.given("channel")
    with pytest.raises(AriError) as err:
        _ = add.channel
    assert err.value.message == "Missing parameter channel"
    assert _parse(BridgesAddChannelArgs, {"channel": "a,b"}).channel == ["a", "b"]


def test_a_keyword_parameter_is_read_with_an_underscore() -> None:
    args = _parse(EndpointsSendMessageArgs, {"to": "pjsip:a", "from": "b"})
    assert args.given("from")
    assert args.from_ == "b"
    assert not args.given("body")
    assert args.body is None


def test_bad_values_still_answer_400_before_the_handler() -> None:
    with pytest.raises(AriError) as err:
        _parse(ChannelsOriginateArgs, {"endpoint": "x", "timeout": "soon"})
    assert err.value.message == "Invalid value for parameter timeout"


def test_a_plain_string_is_checked_inline_as_the_converter_checks_it() -> None:
    """``fields`` marks the parameters whose string value parse_params checks inline; for
    every operation's parameters, each value is taken or refused exactly as ``_convert``
    (the general path) takes or refuses it."""
    samples = ["x", "", "é", "a\x00b", "\udcff", "y" * (MAX_PARAM_LEN + 1), "y" * MAX_PARAM_LEN]
    plain = 0
    for op in spec.operations():
        for field in fields(op, frozenset(p.name for p in op.params[::2])):
            if not field.plain:
                continue
            plain += 1
            for raw in samples:
                try:
                    expected: object = _convert(field.checked, raw)
                except AriError as exc:
                    expected = exc.message
                where = "path" if field.param.where == "path" else "query"
                checks = (dataclasses.replace(field, plain=False), field)
                got = []
                for check in checks:
                    op1 = dataclasses.replace(op, params=(field.param,))
                    values = {field.param.name: raw}
                    try:
                        args = parse_params(
                            op1,
                            values if where == "path" else {},
                            values if where == "query" else {},
                            None,
                            args_type=Args,
                            checks=(check,),
                        )
                        got.append(args.__dict__.get(field.param.name, ""))
                    except AriError as exc:
                        got.append(exc.message)
                assert got[0] == got[1] and (got[0] == expected or raw == ""), (op.key, raw)
    assert plain > 100
