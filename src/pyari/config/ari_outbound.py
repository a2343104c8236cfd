"""ari.conf ``type = outbound_websocket`` sections: ARI connections pyari opens to an application.

Each section names a websocket_client.conf connection (``websocket_client_id``), the
Stasis applications served over it (``apps``, comma separated), whether they subscribe
to everything (``subscribe_all``) and the ARI user whose rights REST requests arriving
on it have (``local_ari_user``)::

    [my-app-server]
    type = outbound_websocket
    websocket_client_id = app_server
    apps = hello,goodbye
    subscribe_all = no
    local_ari_user = testARI

As in Asterisk (res/ari/config.c), a section without a known ``websocket_client_id``,
without ``apps`` or without ``local_ari_user`` is left out (logged); a section whose
apps another section also claims, or whose user is unknown or has no plain-text
password, is kept but marked invalid: the CLI shows it and no connection is made.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pyari.config.errors import ConfigError
from pyari.config.parser import Section
from pyari.config.values import parse_bool

if TYPE_CHECKING:
    from pyari.config.websocket_client import WebSocketClient

log = logging.getLogger("pyari.config")

MAX_APP_NAME = 80
"""Asterisk's ``ARI_MAX_APP_NAME_LEN``."""

FIELD_APPS = "apps"
FIELD_LOCAL_ARI_USER = "local_ari_user"


@dataclass(frozen=True, slots=True)
class OutboundSection:
    """An ``outbound_websocket`` section as read (its client not yet looked up)."""

    name: str
    websocket_client_id: str
    apps: tuple[str, ...]
    subscribe_all: bool
    local_ari_user: str


@dataclass(frozen=True, slots=True)
class OutboundWebsocket:
    """An ``outbound_websocket`` section joined to its websocket_client.conf connection."""

    name: str
    client: WebSocketClient
    apps: tuple[str, ...]
    subscribe_all: bool
    local_ari_user: str
    local_ari_password: str = ""
    invalid: frozenset[str] = frozenset()
    """The fields that make it unusable (``apps``, ``local_ari_user``); empty: valid."""

    @property
    def apps_text(self) -> str:
        return ",".join(self.apps)

    @property
    def per_call(self) -> bool:
        return self.client.connection_type == "per_call_config"


def outbound_section(section: Section) -> OutboundSection:
    """One ``type = outbound_websocket`` section; ConfigError when it cannot apply."""
    name = section.name
    client_id = (section.get("websocket_client_id") or "").strip()
    if not client_id:
        raise ConfigError(
            section.file, section.line, f"{name}: Outbound websocket missing websocket_client_id"
        )
    text = section.get("apps") or ""
    apps = tuple(a.strip() for a in text.split(","))
    if not text.strip():
        raise ConfigError(section.file, section.line, f"{name}: Outbound websocket missing apps")
    for app in apps:
        if not app:
            raise ConfigError(
                section.file, section.line, f"{name}: Outbound websocket has empty app"
            )
        if len(app) > MAX_APP_NAME:
            raise ConfigError(
                section.file,
                section.line,
                f"{name}: Outbound websocket app '{app}' > {MAX_APP_NAME} characters",
            )
    user = (section.get("local_ari_user") or "").strip()
    if not user:
        raise ConfigError(
            section.file, section.line, f"{name}: Outbound websocket missing local_ari_user"
        )
    entry = section.last("subscribe_all")
    return OutboundSection(
        name=name,
        websocket_client_id=client_id,
        apps=apps,
        subscribe_all=parse_bool(entry) if entry is not None else False,
        local_ari_user=user,
    )


def outbound_sections(sections: list[Section]) -> tuple[OutboundSection, ...]:
    """The ``outbound_websocket`` sections of ari.conf that apply; the others are logged."""
    found: list[OutboundSection] = []
    for section in sections:
        if section.is_template:
            continue
        if (section.get("type") or "").strip().lower() != "outbound_websocket":
            continue
        try:
            found.append(outbound_section(section))
        except ConfigError as exc:
            log.warning("%s: Outbound websocket configuration failed: %s", section.name, exc)
    return tuple(found)


class UserLike(Protocol):
    """What the check needs of an ari.conf user (:class:`~pyari.config.settings.AriUser`)."""

    @property
    def password(self) -> str: ...

    @property
    def password_format(self) -> str: ...


def resolve_outbound(
    sections: tuple[OutboundSection, ...],
    clients: Mapping[str, WebSocketClient],
    users: Mapping[str, UserLike],
) -> dict[str, OutboundWebsocket]:
    """The sections joined to their connections and checked as Asterisk validates them."""
    joined: list[tuple[OutboundSection, WebSocketClient]] = []
    for s in sections:
        client = clients.get(s.websocket_client_id)
        if client is None:
            log.error(
                "%s: Outbound websocket invalid websocket client id '%s'",
                s.name,
                s.websocket_client_id,
            )
            continue
        joined.append((s, client))
    result: dict[str, OutboundWebsocket] = {}
    for s, client in joined:
        invalid: set[str] = set()
        for other, _ in joined:
            if other.name == s.name:
                continue
            for app in s.apps:
                if app in other.apps:
                    log.warning(
                        "%s: Outbound websocket '%s' is also trying to register app '%s'",
                        s.name,
                        other.name,
                        app,
                    )
                    invalid.add(FIELD_APPS)
        password = ""
        user = users.get(s.local_ari_user)
        if user is None:
            log.warning("%s: Outbound websocket ARI user '%s' not found", s.name, s.local_ari_user)
            invalid.add(FIELD_LOCAL_ARI_USER)
        else:
            if user.password_format != "plain":
                log.warning(
                    "%s: Outbound websocket ARI user '%s' password MUST be plain text",
                    s.name,
                    s.local_ari_user,
                )
                invalid.add(FIELD_LOCAL_ARI_USER)
            password = user.password
        result[s.name] = OutboundWebsocket(
            name=s.name,
            client=client,
            apps=s.apps,
            subscribe_all=s.subscribe_all,
            local_ari_user=s.local_ari_user,
            local_ari_password=password,
            invalid=frozenset(invalid),
        )
    return result


def connection_type_name(owc: OutboundWebsocket) -> str:
    """The type as Asterisk's CLI names it."""
    return "per_call_config" if owc.per_call else "persistent"
