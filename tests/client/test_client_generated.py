"""The generated client matches the ARI declarations, and decodes what servers send."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from pyari.ari import spec
from pyari.client import (
    EVENT_TYPES,
    AriClient,
    Channel,
    ChannelDtmfReceived,
    Event,
    StasisStart,
    TextMessage,
    _models,
)
from pyari.client._base import encode_query, path_segment
from pyari.client._operations import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> ModuleType:
    path = ROOT / "scripts" / "gen_client.py"
    mod_spec = importlib.util.spec_from_file_location("gen_client_under_test", path)
    assert mod_spec is not None and mod_spec.loader is not None
    mod = importlib.util.module_from_spec(mod_spec)
    sys.modules[mod_spec.name] = mod
    mod_spec.loader.exec_module(mod)
    return mod


def test_generated_code_is_up_to_date() -> None:
    gen = load_generator()
    files = gen.render()
    assert files, "generator produced nothing"
    for path, text in files.items():
        assert path.read_text() == text, f"{path.name} is stale: run `make client`"


def test_a_method_per_operation_and_a_struct_per_model() -> None:
    client = AriClient("http://127.0.0.1:1", "u", "p")
    gen = load_generator()
    count = 0
    for op in spec.operations():
        repo = getattr(client, gen.snake(op.resource))
        method = getattr(repo, gen.snake(op.nickname))
        assert callable(method), op.key
        assert OPERATIONS[op.resource][op.nickname].path == op.path
        count += 1
    assert count == 109
    for model_id in spec.models():
        assert inspect.isclass(getattr(_models, model_id)), model_id
    assert len(spec.models()) == 85
    assert set(EVENT_TYPES) <= set(spec.models())


def test_signatures_required_first_optional_keyword_only() -> None:
    sig = inspect.signature(AriClient("http://x", "u", "p").channels.originate)
    params = list(sig.parameters.values())
    assert params[0].name == "endpoint"
    assert params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert {"app_args", "caller_id", "channel_id", "variables"} <= set(sig.parameters)
    add = inspect.signature(AriClient("http://x", "u", "p").bridges.add_channel)
    assert list(add.parameters)[:2] == ["bridge_id", "channel"]


def test_query_and_path_encoding() -> None:
    chan = msgspec.convert({"id": "c/1", "caller": {}, "connected": {}, "dialplan": {}}, Channel)
    assert encode_query([("channel", ["a", chan]), ("beep", True), ("x", None)]) == (
        "channel=a,c%2F1&beep=true"
    )
    assert path_segment("a b/c") == "a%20b%2Fc"
    assert path_segment(chan) == "c%2F1"


STASIS_START = (
    b'{"type":"StasisStart","timestamp":"2024-01-01T00:00:00.000+0000","args":["x"],'
    b'"channel":{"id":"c1","name":"Sim/a-1","state":"Up","caller":{"name":"","number":""},'
    b'"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"d",'
    b'"exten":"s","priority":1,"app_name":"","app_data":""},"creationtime":"t",'
    b'"language":"en","brand_new_field":{"a":1}},"asterisk_id":"id","application":"app1"}'
)


def test_decode_typed_events_ignoring_unknown_fields() -> None:
    client = AriClient("http://x", "u", "p")
    event = client._decode(STASIS_START)
    assert isinstance(event, StasisStart)
    assert event.type == "StasisStart"
    assert event.channel.id == "c1"
    assert event.channel.dialplan.priority == 1
    assert event.args == ["x"]
    assert event.channel._api() is client  # bound: channel.answer() works


def test_unknown_event_type_becomes_generic_event() -> None:
    client = AriClient("http://x", "u", "p")
    event = client._decode(b'{"type":"FutureThing","application":"a","foo":[1]}')
    assert type(event) is Event
    assert event.type == "FutureThing"
    assert event.application == "a"
    assert event.extra["foo"] == [1]
    assert client._decode(b"not json") is None
    assert client._decode(b"[1,2]") is None


def test_python_names_for_ari_names() -> None:
    msg = msgspec.json.decode(b'{"from":"a","to":"b","body":"hi"}', type=TextMessage)
    assert msg.from_ == "a"
    assert b'"from":"a"' in msgspec.json.encode(msg)
    dtmf = msgspec.json.decode(
        b'{"type":"ChannelDtmfReceived","digit":"5","duration_ms":80,"channel":'
        + STASIS_START.split(b'"channel":', 1)[1].split(b',"asterisk_id"')[0]
        + b"}",
        type=ChannelDtmfReceived,
    )
    assert (dtmf.digit, dtmf.duration_ms, dtmf.channel.id) == ("5", 80, "c1")


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_decodes_from_its_name(name: str) -> None:
    cls = EVENT_TYPES[name]
    assert cls.__struct_config__.tag == name
    assert issubclass(cls, Event)
