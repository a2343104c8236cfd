"""Lists merged from every node (cluster/merge.py): pure functions over the nodes' bodies."""

from __future__ import annotations

import json

import msgspec

from pyari.cluster import merge


def _body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_channels_and_bridges_are_joined_as_they_came() -> None:
    one = b'[{"id": "n1-1.0", "name": "PJSIP/a"}]'
    two = b'[\n  {\n    "id": "n2-1.0"\n  },\n  {"id": "n2-1.1"}\n]'
    items = merge.joined([one, b"[]", two])
    assert [json.loads(bytes(i))["id"] for i in items] == ["n1-1.0", "n2-1.0", "n2-1.1"]
    assert json.loads(msgspec.json.encode(items))[0] == {"id": "n1-1.0", "name": "PJSIP/a"}


def test_an_endpoint_of_every_node_is_one_with_every_channel() -> None:
    one = [
        {"technology": "PJSIP", "resource": "alice", "state": "offline", "channel_ids": ["n1-1"]},
        {"technology": "Sim", "resource": "bob", "state": "online", "channel_ids": []},
    ]
    two = [
        {"technology": "PJSIP", "resource": "alice", "state": "online", "channel_ids": ["n2-7"]},
        {"technology": "PJSIP", "resource": "carol", "state": "unknown", "channel_ids": []},
    ]
    merged = merge.endpoints([_body(one), _body(two)])
    assert merged == [
        {
            "technology": "PJSIP",
            "resource": "alice",
            "state": "online",
            "channel_ids": ["n1-1", "n2-7"],
        },
        {"technology": "Sim", "resource": "bob", "state": "online", "channel_ids": []},
        {"technology": "PJSIP", "resource": "carol", "state": "unknown", "channel_ids": []},
    ]
    single = merge.one(merge.endpoints)([_body(one[0]), _body(two[0])])
    assert single["channel_ids"] == ["n1-1", "n2-7"] and single["state"] == "online"


def test_an_application_of_every_node_is_one_with_every_subscription() -> None:
    def app(name: str, chans: list[str], bridges: list[str], allowed: list[object]) -> object:
        return {
            "name": name,
            "channel_ids": chans,
            "bridge_ids": bridges,
            "endpoint_ids": ["Sim/bob"],
            "device_names": [],
            "events_allowed": allowed,
            "events_disallowed": [],
        }

    one = [app("hello", ["n1-1"], [], [{"type": "StasisStart"}]), app("other", [], [], [])]
    two = [app("hello", ["n2-5", "n1-1"], ["b"], [])]
    merged = merge.applications([_body(one), _body(two)])
    assert [a["name"] for a in merged] == ["hello", "other"]
    hello = merged[0]
    assert hello["channel_ids"] == ["n1-1", "n2-5"]
    assert hello["bridge_ids"] == ["b"]
    assert hello["endpoint_ids"] == ["Sim/bob"]
    assert hello["events_allowed"] == [{"type": "StasisStart"}]  # the first node's filter


def test_stored_recordings_of_a_shared_folder_are_listed_once() -> None:
    one = [{"name": "memo", "format": "wav"}, {"name": "memo", "format": "gsm"}]
    two = [{"name": "memo", "format": "wav"}, {"name": "calls/x", "format": "wav"}]
    assert merge.stored([_body(one), _body(two)]) == [
        {"name": "memo", "format": "wav"},
        {"name": "memo", "format": "gsm"},
        {"name": "calls/x", "format": "wav"},
    ]
