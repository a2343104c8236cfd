"""Typed settings of asterisk.conf, http.conf and ari.conf, checked as they are built.

Each class has ``from_sections(sections)``, which raises :class:`ConfigError` naming the
file and line of a bad value; keys it does not know are ignored. When a section appears
more than once (or a key more than once), the last value wins, as in Asterisk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Self

from pyari.config.acl import NO_ACL, Acl, Rule, build_acl
from pyari.config.ari_outbound import OutboundSection, outbound_sections
from pyari.config.backoff import AuthBackoff
from pyari.config.embedded import embedded_dir
from pyari.config.errors import ConfigError
from pyari.config.event_streams import EventStreamSettings
from pyari.config.parser import Entry, Section
from pyari.config.values import (
    last_entries,
    parse_bool,
    parse_hostport,
    parse_int,
    parse_port,
    split_list,
)

__all__ = [
    "AriSettings",
    "AriUser",
    "AsteriskSettings",
    "HttpSettings",
    "PasswordFormat",
    "config_key",
    "run_dir",
    "state_dir",
]

PasswordFormat = Literal["plain", "crypt"]

_INT_MAX = 2**31 - 1
_EID = re.compile(r"[0-9a-f]{1,2}(?::[0-9a-f]{1,2}){5}")


def state_dir(config_dir: Path | None = None) -> Path:
    """Where the server of ``config_dir`` keeps its spool, run, log and lib folders.

    ``$PYARI_STATE_DIR`` when it is set (taken as is: one folder, one server);
    otherwise ``~/.local/state/pyari`` for the embedded defaults and
    ``~/.local/state/pyari/by-config/<folder name>-<hash>`` for a configuration
    folder, the hash being that of the folder's resolved path. So two servers
    started from two folders never share a control socket, and ``pyari -C DIR``
    finds the server that was started with ``-C DIR``.
    """
    configured = os.environ.get("PYARI_STATE_DIR")
    if configured:
        return Path(configured)
    base = Path.home() / ".local" / "state" / "pyari"
    if config_dir is None:
        return base
    return base / "by-config" / config_key(config_dir)


def config_key(config_dir: Path) -> str:
    """``<folder name>-<12 hex digits of the resolved path's SHA-256>`` (the name cut to 24
    characters: the control socket's path must stay under the 107 bytes of AF_UNIX)."""
    resolved = config_dir.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]", "_", resolved.name)[:24] or "root"
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:12]
    return f"{name}-{digest}"


def _named(sections: Iterable[Section], name: str, *, templates: bool = False) -> list[Section]:
    folded = name.casefold()
    return [
        section
        for section in sections
        if section.name.casefold() == folded and (templates or not section.is_template)
    ]


def _path(entry: Entry | None, default: Path | None) -> Path | None:
    if entry is None:
        return default
    text = entry.value.strip()
    return Path(text) if text else None


@dataclass(frozen=True, slots=True)
class AsteriskSettings:
    """asterisk.conf: ``[directories]`` (also accepted as the template ``[directories](!)``)
    and ``[options]``."""

    astetcdir: Path
    astdatadir: Path
    astspooldir: Path
    astrundir: Path
    astlogdir: Path
    astvarlibdir: Path
    astdbdir: Path
    entityid: str | None = None
    systemname: str = ""

    @classmethod
    def defaults(cls, config_dir: Path | None = None) -> Self:
        return cls.from_sections([], config_dir=config_dir)

    @classmethod
    def from_sections(
        cls,
        sections: list[Section],
        *,
        config_dir: Path | None = None,
        state: Path | None = None,
    ) -> Self:
        """``config_dir`` is the folder the files came from (None: the embedded defaults);
        it is ``astetcdir`` unless asterisk.conf says otherwise. ``state`` is the folder
        the default spool, run, log and lib folders go in (default:
        :func:`state_dir` of ``config_dir``)."""
        dirs = last_entries(_named(sections, "directories", templates=True))
        options = last_entries(_named(sections, "options"))
        state = state if state is not None else state_dir(config_dir)

        def directory(key: str, default: Path) -> Path:
            return _directory(dirs, key, default)

        varlib = directory("astvarlibdir", state / "lib")
        return cls(
            astetcdir=directory("astetcdir", config_dir or embedded_dir()),
            astdatadir=directory("astdatadir", Path("/usr/share/asterisk")),
            astspooldir=directory("astspooldir", state / "spool"),
            astrundir=directory("astrundir", state / "run"),
            astlogdir=directory("astlogdir", state / "log"),
            astvarlibdir=varlib,
            astdbdir=directory("astdbdir", varlib),
            entityid=_entityid(options.get("entityid")),
            systemname=options["systemname"].value if "systemname" in options else "",
        )


def run_dir(
    sections: list[Section], *, config_dir: Path | None = None, state: Path | None = None
) -> Path:
    """``astrundir`` of asterisk.conf's sections (where the control socket is), reading
    nothing else: ``pyari -rx`` needs only this to find its server."""
    dirs = last_entries(_named(sections, "directories", templates=True))
    state = state if state is not None else state_dir(config_dir)
    return _directory(dirs, "astrundir", state / "run")


def _directory(dirs: dict[str, Entry], key: str, default: Path) -> Path:
    entry = dirs.get(key)
    path = _path(entry, default)
    if path is None:
        assert entry is not None
        raise ConfigError(entry.file, entry.line, f"{entry.key}: empty directory")
    return path


def _entityid(entry: Entry | None) -> str | None:
    if entry is None or not entry.value.strip():
        return None
    text = entry.value.strip().casefold()
    if not _EID.fullmatch(text):
        raise ConfigError(
            entry.file,
            entry.line,
            f"entityid = {entry.value!r}: not a MAC address like 02:fc:00:00:00:01",
        )
    return ":".join(part.zfill(2) for part in text.split(":"))


_HTTP_ALIASES = {
    "enable_static": "enablestatic",
    "sslenable": "tlsenable",
    "sslbindaddr": "tlsbindaddr",
    "sslcert": "tlscertfile",
    "sslprivatekey": "tlsprivatekey",
    "sslcipher": "tlscipher",
}


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """http.conf ``[general]``: the HTTP server that carries ARI."""

    enabled: bool = False
    bindaddr: str = "0.0.0.0"
    bindport: int = 8088
    servername: str = "Asterisk"
    enablestatic: bool = False
    prefix: str = ""
    sessionlimit: int = 100
    session_inactivity: int = 30000
    session_keep_alive: int = 15000
    request_head_timeout: int = 10000
    """pyari's own: ms a request head may take to arrive in full (0: no limit)."""
    sessionlimit_per_address: int = 50
    """pyari's own: sessions one client address may hold (0: no cap)."""
    tlsenable: bool = False
    tlsbindaddr: str = "0.0.0.0"
    tlsbindport: int = 8089
    tlscertfile: Path | None = None
    tlsprivatekey: Path | None = None
    tlscipher: str = ""
    tlscafile: Path | None = None

    @property
    def url_prefix(self) -> str:
        """``"/prefix"``, or ``""``: ARI is served under ``{url_prefix}/ari``."""
        return f"/{self.prefix}" if self.prefix else ""

    @classmethod
    def from_sections(cls, sections: list[Section]) -> Self:
        values = last_entries(_named(sections, "general"), _HTTP_ALIASES)
        get = values.get
        d = cls()
        bindaddr = parse_hostport(e, 0)[0] if (e := get("bindaddr")) else d.bindaddr
        if e := get("tlsbindaddr"):
            tlsbindaddr, tlsbindport = parse_hostport(e, d.tlsbindport)
        else:  # Asterisk binds TLS to the HTTP address when tlsbindaddr is not set
            tlsbindaddr, tlsbindport = bindaddr, d.tlsbindport
        certfile = _path(get("tlscertfile"), None)
        tlsenable = parse_bool(e) if (e := get("tlsenable")) else d.tlsenable
        if tlsenable and certfile is None:
            assert e is not None
            raise ConfigError(e.file, e.line, f"{e.key} = {e.value}: needs tlscertfile")
        return cls(
            enabled=parse_bool(e) if (e := get("enabled")) else d.enabled,
            bindaddr=bindaddr,
            bindport=parse_port(e) if (e := get("bindport")) else d.bindport,
            servername=e.value if (e := get("servername")) else d.servername,
            enablestatic=parse_bool(e) if (e := get("enablestatic")) else d.enablestatic,
            prefix=e.value.strip().strip("/") if (e := get("prefix")) else d.prefix,
            sessionlimit=(
                parse_int(e, 1, _INT_MAX) if (e := get("sessionlimit")) else d.sessionlimit
            ),
            session_inactivity=(
                parse_int(e, 1, _INT_MAX)
                if (e := get("session_inactivity"))
                else d.session_inactivity
            ),
            session_keep_alive=(
                parse_int(e, 0, _INT_MAX)
                if (e := get("session_keep_alive"))
                else d.session_keep_alive
            ),
            request_head_timeout=(
                parse_int(e, 0, _INT_MAX)
                if (e := get("request_head_timeout"))
                else d.request_head_timeout
            ),
            sessionlimit_per_address=(
                parse_int(e, 0, _INT_MAX)
                if (e := get("sessionlimit_per_address"))
                else d.sessionlimit_per_address
            ),
            tlsenable=tlsenable,
            tlsbindaddr=tlsbindaddr,
            tlsbindport=tlsbindport,
            tlscertfile=certfile,
            tlsprivatekey=_path(get("tlsprivatekey"), None) or certfile,
            tlscipher=e.value if (e := get("tlscipher")) else d.tlscipher,
            tlscafile=_path(get("tlscafile"), None),
        )


def _crypt(word: str, salt: str) -> str | None:
    """crypt(3) of ``word`` with the settings of the hash ``salt``."""
    import crypt_r  # type: ignore[import-untyped,unused-ignore]  # POSIX only: load on use

    result: str | None = crypt_r.crypt(word, salt)
    return result


@dataclass(frozen=True, slots=True)
class AriUser:
    """An ari.conf section with ``type = user``; its name is the user name."""

    name: str
    read_only: bool = False
    password: str = field(default="", repr=False)
    password_format: PasswordFormat = "plain"
    acl: Acl = NO_ACL
    """``permit``, ``deny`` and ``acl`` (named ACLs of acl.conf): the addresses the user
    may connect from (HTTP requests and the events WebSocket)."""

    def check_password(self, given: str) -> bool:
        """Whether ``given`` is this user's password (plain text or a crypt(3) hash)."""
        stored = self.password.encode("utf-8", "surrogatepass")
        if self.password_format == "crypt":
            try:
                hashed: str | None = _crypt(given, self.password)
            except (ImportError, OSError, ValueError):
                return False
            if not hashed:
                return False
            return hmac.compare_digest(hashed.encode("utf-8", "surrogatepass"), stored)
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), stored)

    @classmethod
    def from_section(
        cls, section: Section, named_acls: Mapping[str, tuple[Rule, ...]] | None = None
    ) -> Self:
        values = last_entries([section])
        password = values.get("password")
        if password is None or not password.value:
            raise ConfigError(
                section.file, section.line, f"ARI user {section.name!r} has no password"
            )
        password_format: PasswordFormat = "plain"
        if fmt := values.get("password_format"):
            word = fmt.value.strip().casefold()
            if word == "crypt":
                try:
                    _crypt("", password.value)
                except ImportError as exc:
                    raise ConfigError(
                        fmt.file, fmt.line, "password_format = crypt needs the crypt-r package"
                    ) from exc
                except (OSError, ValueError):
                    pass  # a malformed hash just never matches, as in Asterisk
                password_format = "crypt"
            elif word != "plain":
                raise ConfigError(
                    fmt.file,
                    fmt.line,
                    f"password_format = {fmt.value!r}: must be plain or crypt",
                )
        return cls(
            name=section.name,
            read_only=parse_bool(e) if (e := values.get("read_only")) else False,
            password=password.value,
            password_format=password_format,
            acl=build_acl(section.entries, named_acls or {}),
        )


@dataclass(frozen=True, slots=True)
class AriSettings:
    """ari.conf: ``[general]`` and the user sections (``type = user``)."""

    enabled: bool = True
    pretty: bool = False
    allowed_origins: tuple[str, ...] = ()
    auth_realm: str = "Asterisk REST Interface"
    websocket_write_timeout: int = 100
    channelvars: tuple[str, ...] = ()
    users: dict[str, AriUser] = field(default_factory=dict, hash=False)
    auth_backoff: AuthBackoff = field(default_factory=AuthBackoff)
    event_streams: EventStreamSettings = field(default_factory=EventStreamSettings)
    """pyari's own: applications' event logs and the grace of Stasis() (docs/event-streams.md)."""
    """pyari's own: the back-off of addresses that keep failing to log in."""
    outbound_websockets: tuple[OutboundSection, ...] = ()
    """``type = outbound_websocket`` sections (:mod:`pyari.config.ari_outbound`)."""

    @classmethod
    def from_sections(
        cls, sections: list[Section], named_acls: Mapping[str, tuple[Rule, ...]] | None = None
    ) -> Self:
        """``named_acls``: acl.conf's (:func:`~pyari.config.acl.load_named_acls`)."""
        values = last_entries(_named(sections, "general"))
        get = values.get
        d = cls()
        users: dict[str, AriUser] = {}
        for section in sections:
            if section.is_template or section.name.casefold() == "general":
                continue
            kind = section.get("type")
            if kind is not None and kind.strip().casefold() == "user":
                users[section.name] = AriUser.from_section(section, named_acls)
        return cls(
            enabled=parse_bool(e) if (e := get("enabled")) else d.enabled,
            pretty=parse_bool(e) if (e := get("pretty")) else d.pretty,
            allowed_origins=(
                split_list(e.value) if (e := get("allowed_origins")) else d.allowed_origins
            ),
            auth_realm=e.value if (e := get("auth_realm")) else d.auth_realm,
            websocket_write_timeout=(
                parse_int(e, 1, _INT_MAX)
                if (e := get("websocket_write_timeout"))
                else d.websocket_write_timeout
            ),
            channelvars=split_list(e.value) if (e := get("channelvars")) else d.channelvars,
            users=users,
            auth_backoff=AuthBackoff.from_entries(values),
            event_streams=EventStreamSettings.from_entries(values),
            outbound_websockets=outbound_sections(sections),
        )
