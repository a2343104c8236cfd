"""musiconhold.conf: music on hold classes (``mode = files`` classes are played)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyari.config.loader import load_one
from pyari.config.parser import Section

SORTS = frozenset({"", "random", "randstart", "alpha"})


@dataclass(frozen=True, slots=True)
class MohClass:
    name: str
    mode: str
    directory: Path
    sort: str = ""


def moh_classes(sections: list[Section], astdatadir: Path) -> dict[str, MohClass]:
    """Classes by name; a relative ``directory`` is below ``astdatadir``."""
    classes: dict[str, MohClass] = {}
    for section in sections:
        if section.is_template or section.name.lower() == "general":
            continue
        mode = (section.get("mode") or "files").strip().lower()
        if mode not in ("files", "playlist"):
            continue  # custom/mp3 players run external programs: not supported
        raw = (section.get("directory") or "").strip()
        if not raw:
            continue
        directory = Path(raw)
        if not directory.is_absolute():
            directory = astdatadir / directory
        sort = (section.get("sort") or "").strip().lower()
        classes[section.name] = MohClass(
            section.name, mode, directory, sort if sort in SORTS else ""
        )
    return classes


def load_musiconhold(config_dir: Path | None, astdatadir: Path) -> dict[str, MohClass]:
    """The classes of ``config_dir/musiconhold.conf`` (None: the embedded default)."""
    return moh_classes(load_one(config_dir, "musiconhold.conf"), astdatadir)
