"""websocket_client.conf's proxy, TCP keepalive and ping/pong options, read and
checked as res_websocket_client.c reads and checks them."""

from __future__ import annotations

import logging

import pytest

from pyari.config.parser import parse_text
from pyari.config.websocket_client import WebSocketClient, websocket_clients

BASE = "[c]\ntype = websocket_client\nconnection_type = persistent\nuri = ws://127.0.0.1:9/\n"


def read(extra: str) -> dict[str, WebSocketClient]:
    return websocket_clients(parse_text(BASE + extra, "websocket_client.conf"))


def test_defaults_are_asterisks() -> None:
    c = read("")["c"]
    assert (c.enable_tcp_keepalives, c.tcp_keepalive_time) == (False, 20)
    assert (c.tcp_keepalive_interval, c.tcp_keepalive_probes) == (20, 3)
    assert (c.enable_pingpongs, c.pingpong_interval, c.pingpong_probes) == (False, 20, 3)
    assert c.proxy_host == ""


def test_the_options_are_read() -> None:
    c = read(
        "enable_tcp_keepalives = yes\ntcp_keepalive_time = 7\ntcp_keepalive_interval = 5\n"
        "tcp_keepalive_probes = 4\nenable_pingpongs = yes\npingpong_interval = 9\n"
        "pingpong_probes = 2\n"
    )["c"]
    assert (c.enable_tcp_keepalives, c.tcp_keepalive_time) == (True, 7)
    assert (c.tcp_keepalive_interval, c.tcp_keepalive_probes) == (5, 4)
    assert (c.enable_pingpongs, c.pingpong_interval, c.pingpong_probes) == (True, 9, 2)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "enable_tcp_keepalives = yes\ntcp_keepalive_probes = 0\n",
            "c: tcp_keepalive_time, tcp_keepalive_interval and tcp_keepalive_probes "
            "must all be non-zero",
        ),
        (
            "enable_pingpongs = yes\npingpong_interval = 0\n",
            "c: pingpong_interval and pingpong_probes must be non-zero",
        ),
        ("proxy_host = 127.0.0.1:3128\n", "c: proxy_host is not supported by pyari"),
    ],
)
def test_bad_options_leave_the_section_out(
    extra: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="pyari.config"):
        assert read(extra) == {}
    assert message in caplog.text
    assert "c: Websocket client configuration failed" in caplog.text


def test_zero_timers_are_fine_while_the_feature_is_off() -> None:
    c = read("tcp_keepalive_probes = 0\npingpong_interval = 0\n")["c"]
    assert (c.tcp_keepalive_probes, c.pingpong_interval) == (0, 0)
