"""The URL space both HTTP cores share (:mod:`pyari.http.routing`)."""

from __future__ import annotations

from typing import Any

from pyari.http.routing import Router, Target, parse_query


class _Service:
    socket_paths = frozenset({"/events"})


class _Media:
    def check(self, connection_id: str) -> tuple[int, str, str] | None:
        return None

    async def serve(self, connection_id: str, ws: Any) -> None:
        return None


def _router(media: bool = True) -> Router:
    return Router(_Service(), _Media() if media else None)  # type: ignore[arg-type]


def test_ari_paths() -> None:
    r = _router()
    assert r.route("", "/ari/channels", "GET") == (Target.ARI, "/channels")
    assert r.route("", "/ari", "GET") == (Target.ARI, "/")
    assert r.route("", "/ari/", "POST") == (Target.ARI, "/")
    assert r.route("", "/arix", "GET") == (Target.NOT_FOUND, "")
    assert r.route("", "/", "GET") == (Target.NOT_FOUND, "")


def test_only_a_get_of_a_socket_path_is_the_events_socket() -> None:
    r = _router()
    assert r.route("", "/ari/events", "GET") == (Target.EVENTS, "/events")
    assert r.route("", "/ari/events", "POST") == (Target.ARI, "/events")
    assert r.route("", "/ari/events/user/x", "GET") == (Target.ARI, "/events/user/x")


def test_media_sockets_only_when_served() -> None:
    assert _router().route("", "/media/abc", "GET") == (Target.MEDIA, "abc")
    assert _router(media=False).route("", "/media/abc", "GET") == (Target.NOT_FOUND, "")


def test_prefix() -> None:
    r = _router()
    assert r.route("/asterisk", "/asterisk/ari/events", "GET") == (Target.EVENTS, "/events")
    assert r.route("/asterisk", "/asterisk/media/x", "GET") == (Target.MEDIA, "x")
    assert r.route("/asterisk", "/ari/channels", "GET") == (Target.NOT_FOUND, "")
    assert r.route("/asterisk", "/asteriskari/channels", "GET") == (Target.NOT_FOUND, "")


def test_parse_query_keeps_order_and_blank_values() -> None:
    assert parse_query("") == []
    assert parse_query("app=a&app=b&x=&y") == [("app", "a"), ("app", "b"), ("x", ""), ("y", "")]
