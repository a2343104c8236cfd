"""Loading a whole configuration: asterisk.conf, http.conf, ari.conf and extensions.conf.

Loading is pure: it builds new objects and raises :class:`ConfigError` on the first bad
file, so a caller swaps the result in only when everything loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyari.config.embedded import embedded_dir, embedded_text
from pyari.config.errors import ConfigError
from pyari.config.parser import Section, parse_file, parse_text
from pyari.config.settings import AriSettings, AsteriskSettings, HttpSettings

__all__ = ["Config", "load_config", "load_one"]


@dataclass(frozen=True, slots=True)
class Config:
    """Everything pyari reads at start and on reload."""

    asterisk: AsteriskSettings
    http: HttpSettings
    ari: AriSettings
    extensions: list[Section] = field(default_factory=list, hash=False)
    source_dir: Path | None = None


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


def load_config(config_dir: Path | None) -> Config:
    """Read the configuration of ``config_dir`` (None: the embedded defaults).

    A missing file means what it means to Asterisk: no http.conf, HTTP off; no ari.conf,
    no ARI users; no extensions.conf, an empty dialplan; no asterisk.conf, default folders.
    """
    if config_dir is not None and not config_dir.is_dir():
        raise ConfigError(str(config_dir), 0, "configuration directory does not exist")
    asterisk = AsteriskSettings.from_sections(
        load_one(config_dir, "asterisk.conf", keep_templates=True), config_dir=config_dir
    )
    return Config(
        asterisk=asterisk,
        http=HttpSettings.from_sections(load_one(config_dir, "http.conf")),
        ari=AriSettings.from_sections(load_one(config_dir, "ari.conf")),
        extensions=load_one(config_dir, "extensions.conf"),
        source_dir=config_dir,
    )
