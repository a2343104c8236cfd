"""The texts of Asterisk's outbound ARI WebSocket CLI commands (res/ari/cli.c).

``ari show outbound-websockets``, ``ari show outbound-websocket <id>``,
``ari start outbound-websocket <id>``, ``ari show websocket sessions`` and
``ari shutdown websocket session(s)``: the
column widths and labels are Asterisk's (its ``connec_timeout`` label included),
so scripts that read them keep working.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyari.cli.formats import yesno
from pyari.config.ari_outbound import (
    FIELD_APPS,
    FIELD_LOCAL_ARI_USER,
    OutboundWebsocket,
    connection_type_name,
)

DASHES = "-" * 70
UUID_WIDTH = 37
"""Asterisk's ``AST_UUID_STR_LEN``."""
NO_CONFIG = "Error getting ARI configuration\n"


def show_outbound_websockets(owcs: Iterable[OutboundWebsocket]) -> str:
    lines = [
        f"{'Name':<32} {'Type':<15} {'Apps':<32} {'Status':<7} URI",
        f"{DASHES[:32]} {DASHES[:15]} {DASHES[:32]} {DASHES[:7]} {DASHES[:64]}",
    ]
    for owc in owcs:
        status = "INVALID" if owc.invalid else "valid"
        lines.append(
            f"{owc.name:<32} {connection_type_name(owc):<15} {owc.apps_text:<32} "
            f"{status:<7} {owc.client.uri}"
        )
    return "\n".join(lines) + "\n"


def show_outbound_websocket(owc: OutboundWebsocket) -> str:
    c = owc.client
    rows = [
        ("uri", c.uri),
        ("protocols", c.protocols),
        ("apps", owc.apps_text + (" (invalid)" if FIELD_APPS in owc.invalid else "")),
        ("username", c.username),
        ("password", "********" if c.password else ""),
        (
            "local_ari_user",
            owc.local_ari_user + (" (invalid)" if FIELD_LOCAL_ARI_USER in owc.invalid else ""),
        ),
        ("connection_type", connection_type_name(owc)),
        ("subscribe_all", yesno(owc.subscribe_all)),
        ("connec_timeout", str(c.connection_timeout)),
        ("reconnect_attempts", str(c.reconnect_attempts)),
        ("reconnect_interval", str(c.reconnect_interval)),
        ("tls_enabled", yesno(c.tls_enabled)),
        ("ca_list_file", c.ca_list_file),
        ("ca_list_path", c.ca_list_path),
        ("cert_file", c.cert_file),
        ("priv_key_file", c.priv_key_file),
        ("verify_server", yesno(c.verify_server_cert)),
        ("verify_server_hostname", yesno(c.verify_server_hostname)),
    ]
    head = f"[{owc.name}] {'**INVALID**' if owc.invalid else ''}"
    body = [f"{f'{key} =':<24} {value}" for key, value in rows]
    return "\n".join([head, *body, ""]) + "\n"


def start_outbound_websocket(name: str) -> str:
    return f"Starting websocket session for outbound-websocket '{name}'\n"


@dataclass(frozen=True, slots=True)
class SessionRow:
    session_id: str
    kind: str
    remote_addr: str
    state: str
    apps: str


def show_websocket_sessions(rows: Iterable[SessionRow]) -> str:
    def line(a: str, b: str, c: str, d: str, e: str) -> str:
        return f"{a[:UUID_WIDTH]:<{UUID_WIDTH}} {b[:15]:<15} {c[:32]:<32} {d[:5]:<5} {e[:16]:<16}"

    out = [
        line("Connection ID", "Type", "RemoteAddr", "State", "Apps"),
        line(DASHES, DASHES, DASHES, DASHES, DASHES),
    ]
    for r in rows:
        out.append(
            f"{r.session_id:<{UUID_WIDTH}} {r.kind:<15} {r.remote_addr or 'N/A':<32} "
            f"{r.state:<5} {r.apps}"
        )
    return "\n".join(out) + "\n"


SHUTTING_DOWN_ALL = "Shutting down all websocket sessions\n"


def shutting_down(session_id: str) -> str:
    return f"Shutting down websocket session '{session_id}'\n"


def session_not_found(session_id: str) -> str:
    return f"Websocket session '{session_id}' not found\n"
