"""websocket_client.conf: outgoing WebSocket connections by name (res_websocket_client).

Each ``type = websocket_client`` section names a connection that WebSocket
media channels (``WebSocket/<name>``, ARI ``externalMedia`` with
``transport=websocket``, ``connection_type=client``) open to ``uri``::

    [media_connection1]
    type = websocket_client
    connection_type = per_call_config
    uri = ws://localhost:8787
    protocols = media
    username = bot
    password = secret
    connection_timeout = 500
    reconnect_interval = 500
    reconnect_attempts = 4
    tls_enabled = no
    enable_tcp_keepalives = no   ; tcp_keepalive_time/_interval/_probes: 20, 20, 3
    enable_pingpongs = no        ; pingpong_interval (s), pingpong_probes: 20, 3

As in Asterisk, a section without ``uri`` or with a bad value is left out
(the others still load). ``connection_type`` is ``persistent`` or
``per_call_config``; a persistent connection retries without limit.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from pyari.config.errors import ConfigError
from pyari.config.loader import load_one
from pyari.config.parser import Section
from pyari.config.values import parse_bool, parse_int

log = logging.getLogger("pyari.config")

CONNECTION_TYPES = frozenset({"persistent", "per_call_config"})


@dataclass(frozen=True, slots=True)
class WebSocketClient:
    """One configured connection."""

    name: str
    uri: str
    connection_type: str = ""
    protocols: str = ""
    username: str = ""
    password: str = ""
    connection_timeout: int = 500
    """Milliseconds to wait for the connection."""
    reconnect_interval: int = 500
    """Milliseconds between attempts."""
    reconnect_attempts: int = 4
    tls_enabled: bool = False
    ca_list_file: str = ""
    ca_list_path: str = ""
    cert_file: str = ""
    priv_key_file: str = ""
    verify_server_cert: bool = True
    verify_server_hostname: bool = True
    proxy_host: str = ""
    """Never set: pyari refuses a section with a proxy (decision 0022)."""
    proxy_username: str = ""
    proxy_password: str = ""
    enable_tcp_keepalives: bool = False
    tcp_keepalive_time: int = 20
    """Seconds idle before the first TCP keepalive probe."""
    tcp_keepalive_interval: int = 20
    """Seconds between TCP keepalive probes."""
    tcp_keepalive_probes: int = 3
    """Unanswered probes that drop the connection."""
    enable_pingpongs: bool = False
    pingpong_interval: int = 20
    """Seconds between WebSocket PINGs."""
    pingpong_probes: int = 3
    """Missed PONGs that close the connection."""

    @property
    def protocol_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.protocols.split(",") if p.strip())


_TEXT = ("uri", "protocols", "username", "password", "ca_list_file", "ca_list_path",
         "cert_file", "priv_key_file", "proxy_host", "proxy_username",
         "proxy_password")  # fmt: skip
_INTS = ("connection_timeout", "reconnect_interval", "reconnect_attempts", "tcp_keepalive_time",
         "tcp_keepalive_interval", "tcp_keepalive_probes", "pingpong_interval",
         "pingpong_probes")  # fmt: skip
_BOOLS = ("tls_enabled", "verify_server_cert", "verify_server_hostname",
          "enable_tcp_keepalives", "enable_pingpongs")  # fmt: skip


def client_ssl_context(client: WebSocketClient) -> ssl.SSLContext:
    """The TLS settings of a connection: ``ca_list_file``/``ca_list_path`` to trust,
    ``cert_file``/``priv_key_file`` to present, ``verify_server_cert`` and
    ``verify_server_hostname`` (both on by default)."""
    ctx = ssl.create_default_context(
        cafile=client.ca_list_file or None, capath=client.ca_list_path or None
    )
    if client.cert_file:
        ctx.load_cert_chain(client.cert_file, client.priv_key_file or None)
    if not client.verify_server_hostname:
        ctx.check_hostname = False
    if not client.verify_server_cert:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _client(section: Section) -> WebSocketClient:
    values: dict[str, object] = {}
    for key in _TEXT:
        entry = section.last(key)
        if entry is not None:
            values[key] = entry.value.strip()
    for key in _INTS:
        entry = section.last(key)
        if entry is not None:
            values[key] = parse_int(entry, minimum=0)
    for key in _BOOLS:
        entry = section.last(key)
        if entry is not None:
            values[key] = parse_bool(entry)
    entry = section.last("connection_type")
    if entry is not None:
        kind = entry.value.strip().lower()
        if kind not in CONNECTION_TYPES:
            raise ConfigError(
                entry.file, entry.line, f"connection_type = {entry.value!r}: not a connection type"
            )
        values["connection_type"] = kind
    if not values.get("uri"):
        raise ConfigError(
            section.file, section.line, f"{section.name}: Websocket client missing uri"
        )
    _check_options(section, values)
    return WebSocketClient(name=section.name, **values)  # type: ignore[arg-type]


def _check_options(section: Section, values: dict[str, object]) -> None:
    """Asterisk's checks of the proxy, keepalive and ping/pong options (res_websocket_client.c).

    A proxy is refused: Asterisk tunnels through it with HTTP CONNECT for ws:// and
    wss:// alike, which the client library pyari dials with does not do for ws://
    (decision 0022), so the section is left out rather than connected around the proxy.
    """
    name = section.name
    if values.get("proxy_host"):
        entry = section.last("proxy_host")
        line = entry.line if entry is not None else section.line
        raise ConfigError(
            section.file,
            line,
            f"{name}: proxy_host is not supported by pyari (no HTTP CONNECT proxy client)",
        )
    if values.get("enable_tcp_keepalives") and not all(
        values.get(k, 1)
        for k in ("tcp_keepalive_time", "tcp_keepalive_interval", "tcp_keepalive_probes")
    ):
        raise ConfigError(
            section.file,
            section.line,
            f"{name}: tcp_keepalive_time, tcp_keepalive_interval and tcp_keepalive_probes "
            "must all be non-zero",
        )
    if values.get("enable_pingpongs") and not all(
        values.get(k, 1) for k in ("pingpong_interval", "pingpong_probes")
    ):
        raise ConfigError(
            section.file,
            section.line,
            f"{name}: pingpong_interval and pingpong_probes must be non-zero",
        )


def websocket_clients(sections: list[Section]) -> dict[str, WebSocketClient]:
    """Connections by name; sections that fail to apply are logged and left out."""
    clients: dict[str, WebSocketClient] = {}
    for section in sections:
        if section.is_template:
            continue
        kind = (section.get("type") or "").strip().lower()
        if kind != "websocket_client":
            continue
        try:
            clients[section.name] = _client(section)
        except ConfigError as exc:
            log.warning("%s: Websocket client configuration failed: %s", section.name, exc)
    return clients


def load_websocket_clients(config_dir: Path | None) -> dict[str, WebSocketClient]:
    """The connections of ``config_dir/websocket_client.conf`` (None: embedded, usually none)."""
    return websocket_clients(load_one(config_dir, "websocket_client.conf"))
