"""Loading a whole configuration: asterisk.conf, http.conf, ari.conf (with acl.conf's named
ACLs), extensions.conf and pyari's cluster.conf.

Loading is pure: it builds new objects and raises :class:`ConfigError` on the first bad
file, so a caller swaps the result in only when everything loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyari.config.acl import load_named_acls
from pyari.config.cluster import ClusterSettings
from pyari.config.embedded import embedded_dir, embedded_text
from pyari.config.errors import ConfigError
from pyari.config.parser import Section, parse_file, parse_text
from pyari.config.settings import AriSettings, AsteriskSettings, HttpSettings, run_dir

__all__ = ["Config", "load_config", "load_one", "load_run_dir"]


@dataclass(frozen=True, slots=True)
class Config:
    """Everything pyari reads at start and on reload."""

    asterisk: AsteriskSettings
    http: HttpSettings
    ari: AriSettings
    extensions: list[Section] = field(default_factory=list, hash=False)
    source_dir: Path | None = None
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    """cluster.conf (read at start; docs/cluster.md)."""


def load_one(config_dir: Path | None, name: str, *, keep_templates: bool = False) -> list[Section]:
    """The sections of one file (``"http.conf"``...) of ``config_dir``, or of the embedded
    defaults when ``config_dir`` is None; ``[]`` when there is no such file.

    ``#include`` names are relative to ``config_dir``, as in Asterisk.
    """
    if config_dir is None:
        text = embedded_text(name)
        if text is None:
            return []
        filename = str(embedded_dir() / name)
        return parse_text(text, filename, keep_templates=keep_templates)
    path = config_dir / name
    if not path.exists():
        return []
    return parse_file(path, include_dir=config_dir, keep_templates=keep_templates)


def _check_dir(config_dir: Path | None) -> None:
    if config_dir is None or config_dir.is_dir():
        return
    if config_dir.exists():
        raise ConfigError(str(config_dir), 0, "not a folder (-C takes a configuration folder)")
    raise ConfigError(
        str(config_dir),
        0,
        f"no such configuration folder (`pyari samples {config_dir}` writes one)",
    )


def load_config(config_dir: Path | None, *, state: Path | None = None) -> Config:
    """Read the configuration of ``config_dir`` (None: the embedded defaults).

    A missing file means what it means to Asterisk: no http.conf, HTTP off; no ari.conf,
    no ARI users; no extensions.conf, an empty dialplan; no asterisk.conf, default folders.
    ``state`` is where the default spool, run, log and lib folders go (default:
    :func:`~pyari.config.settings.state_dir` of ``config_dir``).
    """
    _check_dir(config_dir)
    asterisk = AsteriskSettings.from_sections(
        load_one(config_dir, "asterisk.conf", keep_templates=True),
        config_dir=config_dir,
        state=state,
    )
    return Config(
        asterisk=asterisk,
        http=HttpSettings.from_sections(load_one(config_dir, "http.conf")),
        ari=AriSettings.from_sections(
            load_one(config_dir, "ari.conf"), load_named_acls(load_one(config_dir, "acl.conf"))
        ),
        extensions=load_one(config_dir, "extensions.conf"),
        source_dir=config_dir,
        cluster=ClusterSettings.from_sections(load_one(config_dir, "cluster.conf")),
    )


def load_run_dir(config_dir: Path | None) -> Path:
    """The ``astrundir`` of ``config_dir``'s server (where its control socket is).

    Reads asterisk.conf's ``[directories]`` and nothing else, so a broken
    extensions.conf or ari.conf does not keep ``pyari -rx`` from its server.
    """
    _check_dir(config_dir)
    return run_dir(
        load_one(config_dir, "asterisk.conf", keep_templates=True), config_dir=config_dir
    )
