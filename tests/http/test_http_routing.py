"""The URL space both HTTP cores share (:mod:`pyari.http.routing`)."""

from __future__ import annotations

from typing import Any

from pyari.http.routing import ARI, EVENTS, MEDIA, NOT_FOUND, Router, parse_query


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
    assert r.route("", "/ari/channels", "GET") == (ARI, "/channels")
    assert r.route("", "/ari", "GET") == (ARI, "/")
    assert r.route("", "/ari/", "POST") == (ARI, "/")
    assert r.route("", "/arix", "GET") == (NOT_FOUND, "")
    assert r.route("", "/", "GET") == (NOT_FOUND, "")


def test_only_a_get_of_a_socket_path_is_the_events_socket() -> None:
    r = _router()
    assert r.route("", "/ari/events", "GET") == (EVENTS, "/events")
    assert r.route("", "/ari/events", "POST") == (ARI, "/events")
    assert r.route("", "/ari/events/user/x", "GET") == (ARI, "/events/user/x")


def test_media_sockets_only_when_served() -> None:
    assert _router().route("", "/media/abc", "GET") == (MEDIA, "abc")
    assert _router(media=False).route("", "/media/abc", "GET") == (NOT_FOUND, "")


def test_prefix() -> None:
    r = _router()
    assert r.route("/asterisk", "/asterisk/ari/events", "GET") == (EVENTS, "/events")
    assert r.route("/asterisk", "/asterisk/media/x", "GET") == (MEDIA, "x")
    assert r.route("/asterisk", "/ari/channels", "GET") == (NOT_FOUND, "")
    assert r.route("/asterisk", "/asteriskari/channels", "GET") == (NOT_FOUND, "")


def test_parse_query_keeps_order_and_blank_values() -> None:
    assert parse_query("") == []
    assert parse_query("app=a&app=b&x=&y") == [("app", "a"), ("app", "b"), ("x", ""), ("y", "")]
