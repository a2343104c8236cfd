"""Routing ARI paths to their declared operations (pyari.ari.router)."""

from __future__ import annotations

import pytest

from pyari.ari.errors import AriError
from pyari.ari.router import MethodNotAllowed, Router
from pyari.ari.spec import operations


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(operations())


def test_more_literal_segments_win(router: Router) -> None:
    op, values = router.resolve("POST", "/channels/externalMedia")
    assert op.path == "/channels/externalMedia" and values == {}
    op, values = router.resolve("GET", "/channels/externalMedia2")
    assert op.path == "/channels/{channelId}" and values == {"channelId": "externalMedia2"}


def test_placeholders_are_unquoted_and_may_look_like_literals(router: Router) -> None:
    op, values = router.resolve("POST", "/channels/a%2Fb%20c/answer")
    assert op.path == "/channels/{channelId}/answer" and values == {"channelId": "a/b c"}
    op, values = router.resolve("POST", "/channels/answer/answer")
    assert op.path == "/channels/{channelId}/answer" and values == {"channelId": "answer"}
    op, values = router.resolve("POST", "/bridges/b1/addChannel")
    assert op.path == "/bridges/{bridgeId}/addChannel" and values == {"bridgeId": "b1"}


@pytest.mark.parametrize(
    "path",
    ["/channels//answer", "/channels/c1/nothing", "/nothing/c1/answer", "/x/y/z/w/v/u/t"],
)
def test_unknown_paths_and_empty_placeholders_are_404(router: Router, path: str) -> None:
    with pytest.raises(AriError) as err:
        router.find(path)
    assert err.value.status == 404


def test_a_known_path_with_another_method_is_405_with_allow(router: Router) -> None:
    with pytest.raises(MethodNotAllowed) as err:
        router.resolve("PUT", "/channels/c1/answer")
    assert err.value.allow == "OPTIONS,POST"
