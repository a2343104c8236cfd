"""ari.conf ``type = outbound_websocket`` sections, checked as Asterisk's res/ari/config.c,
and the texts of the CLI commands that show them (res/ari/cli.c)."""

from __future__ import annotations

import logging

import pytest

from pyari.cli import outbound_formats as obf
from pyari.config.ari_outbound import OutboundWebsocket, outbound_sections, resolve_outbound
from pyari.config.parser import parse_text
from pyari.config.settings import AriSettings, AriUser
from pyari.config.websocket_client import websocket_clients

CLIENTS = websocket_clients(
    parse_text(
        "[srv]\ntype = websocket_client\nconnection_type = persistent\nuri = ws://127.0.0.1:9/\n"
        "password = pw\n"
        "[pc]\ntype = websocket_client\nconnection_type = per_call_config\nuri = wss://a/b\n",
        "websocket_client.conf",
    )
)
USERS = {
    "u": AriUser("u", password="secret"),
    "hashed": AriUser("hashed", password="$6$x$y", password_format="crypt"),
}


def sections(text: str) -> dict[str, OutboundWebsocket]:
    settings = AriSettings.from_sections(parse_text(text, "ari.conf"))
    return dict(resolve_outbound(settings.outbound_websockets, CLIENTS, USERS))


def test_a_valid_section_joins_its_connection() -> None:
    owcs = sections(
        "[out]\ntype = outbound_websocket\nwebsocket_client_id = srv\napps = a, b\n"
        "subscribe_all = yes\nlocal_ari_user = u\n"
    )
    out = owcs["out"]
    assert out.apps == ("a", "b") and out.subscribe_all
    assert out.local_ari_password == "secret" and not out.invalid
    assert out.client.uri == "ws://127.0.0.1:9/" and not out.per_call


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("apps = a\nlocal_ari_user = u\n", "Outbound websocket missing websocket_client_id"),
        ("websocket_client_id = srv\nlocal_ari_user = u\n", "Outbound websocket missing apps"),
        ("websocket_client_id = srv\napps = a,,b\nlocal_ari_user = u\n", "has empty app"),
        ("websocket_client_id = srv\napps = a\n", "Outbound websocket missing local_ari_user"),
        ("websocket_client_id = nope\napps = a\nlocal_ari_user = u\n",
         "Outbound websocket invalid websocket client id 'nope'"),
    ],
)  # fmt: skip
def test_sections_that_cannot_apply_are_left_out(
    body: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "pyari.config"):
        assert sections(f"[out]\ntype = outbound_websocket\n{body}") == {}
    assert message in caplog.text


def test_shared_apps_and_bad_users_mark_sections_invalid(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "pyari.config"):
        owcs = sections(
            "[one]\ntype = outbound_websocket\nwebsocket_client_id = srv\napps = a,b\n"
            "local_ari_user = u\n"
            "[two]\ntype = outbound_websocket\nwebsocket_client_id = pc\napps = b\n"
            "local_ari_user = nobody\n"
            "[three]\ntype = outbound_websocket\nwebsocket_client_id = pc\napps = c\n"
            "local_ari_user = hashed\n"
        )
    assert owcs["one"].invalid == {"apps"}
    assert owcs["two"].invalid == {"apps", "local_ari_user"}
    assert owcs["three"].invalid == {"local_ari_user"}
    assert "one: Outbound websocket 'two' is also trying to register app 'b'" in caplog.text
    assert "two: Outbound websocket ARI user 'nobody' not found" in caplog.text
    assert "three: Outbound websocket ARI user 'hashed' password MUST be plain text" in caplog.text


def test_templates_and_other_types_are_not_sections() -> None:
    parsed = parse_text(
        "[t](!)\ntype = outbound_websocket\nwebsocket_client_id = srv\napps = a\n"
        "local_ari_user = u\n[u2]\ntype = user\npassword = x\n",
        "ari.conf",
    )
    assert outbound_sections(parsed) == ()


def test_cli_texts() -> None:
    owcs = sections(
        "[out]\ntype = outbound_websocket\nwebsocket_client_id = srv\napps = a\n"
        "local_ari_user = nobody\n"
    )
    out = owcs["out"]
    listed = obf.show_outbound_websockets([out])
    assert listed.splitlines() == [
        f"{'Name':<32} {'Type':<15} {'Apps':<32} {'Status':<7} URI",
        f"{'-' * 32} {'-' * 15} {'-' * 32} {'-' * 7} {'-' * 64}",
        f"{'out':<32} {'persistent':<15} {'a':<32} INVALID ws://127.0.0.1:9/",
    ]
    shown = obf.show_outbound_websocket(out).splitlines()
    assert shown[0] == "[out] **INVALID**"
    assert shown[1] == "uri =                    ws://127.0.0.1:9/"
    assert "password =               ********" in shown
    assert "local_ari_user =         nobody (invalid)" in shown
    assert "connec_timeout =         500" in shown
    assert "verify_server_hostname = Yes" in shown
    assert shown[-1] == ""
