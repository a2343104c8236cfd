"""A message from an endpoint reaches the applications following it as TextMessageReceived."""

from __future__ import annotations

from pyari.core import events as ev
from pyari.core.endpoint import MessageReceived, TextMessage
from pyari.core.engine import Core
from pyari.stasis.registry import Registry
from pyari.stasis.textmessages import text_message_json


def test_the_ari_shape_is_made_in_stasis() -> None:
    message = TextMessage(to="sim:pyari", sender="sim:bob", body="hi", variables={"k": "v"})
    assert text_message_json(message) == {
        "from": "sim:bob",
        "to": "sim:pyari",
        "body": "hi",
        "variables": {"k": "v"},
    }
    assert not hasattr(message, "to_json")  # core builds no ARI JSON


def test_apps_following_all_or_one_endpoint_get_the_same_event() -> None:
    core = Core()
    registry = Registry(core)
    bob = core.endpoints.create("Sim", "bob")
    core.endpoints.create("Sim", "al")
    follows = {"all": "endpoint:", "one": "endpoint:Sim/bob", "other": "endpoint:Sim/al"}
    got: dict[str, list[ev.Event]] = {name: [] for name in follows}
    for name, uri in follows.items():
        registry.subscribe_sources(registry.register(name, got[name].append), [uri])
    published: list[object] = []
    bob.topic.subscribe(lambda _t, m: published.append(m))

    bob.text_message_received(TextMessage(to="sim:pyari", sender="sim:bob", body="hi"))

    # Core publishes its own message, not an ARI event ...
    assert [type(m) for m in published] == [MessageReceived]
    # ... and each application following bob gets ARI's event, at the time it arrived.
    assert got["other"] == []
    for name in ("all", "one"):
        (event,) = got[name]
        assert isinstance(event, ev.TextMessageReceived)
        assert event.message == {
            "from": "sim:bob",
            "to": "sim:pyari",
            "body": "hi",
            "variables": {},
        }
        assert event.endpoint == bob.snapshot()
        assert event.timestamp == published[0].timestamp  # type: ignore[attr-defined]
