"""Asterisk's ``.conf`` dialect, read the way Asterisk's own loader (``main/config.c``) reads it.

What is understood:

* ``[name]`` starts a section; ``[name](opts)`` takes a comma separated list of options:
  ``!`` makes it a template (kept out of the result), ``+`` adds to the earlier section of
  that name instead of starting a new one (``+k=regex&k2=regex`` picks the earlier section
  whose variables match), any other word names a section or template whose entries are
  copied in first. Sections of the same name stay separate, in file order.
* ``key = value`` and ``key => value`` (the operator is kept in :attr:`Entry.op`);
  ``key += more`` appends to the last value of ``key`` in the section. A leading ``\\``
  lets a key start with ``[`` or ``#``.
* ``;`` starts a comment, ``\\;`` is a literal ``;``, ``;-- ... --;`` is a block comment
  that may span lines and nest.
* ``#include file`` / ``#include "file"`` / ``#include <file>`` (glob patterns allowed),
  ``#tryinclude`` (the same, but a missing file is skipped); ``#exec`` is refused.

Lookups of section names (templates, ``+``) and of keys (:meth:`Section.get`) ignore case,
as Asterisk does; names and keys themselves keep their spelling.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

from pyari.config.errors import ConfigError

__all__ = ["Entry", "Opener", "Section", "parse_file", "parse_text", "read_text"]

log = logging.getLogger(__name__)

Opener = Callable[[str], str]
"""Reads the file at a path and returns its text; raises :class:`OSError` when it cannot."""

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``key = value`` (or ``key => value``) line."""

    key: str
    value: str
    op: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Section:
    """One ``[name]`` section with its entries (inherited ones first)."""

    name: str
    entries: tuple[Entry, ...]
    file: str
    line: int
    templates: tuple[str, ...] = ()
    is_template: bool = False

    def last(self, key: str) -> Entry | None:
        """The last entry whose key equals ``key`` (ignoring case), or None."""
        folded = key.casefold()
        for entry in reversed(self.entries):
            if entry.key.casefold() == folded:
                return entry
        return None

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value of ``key`` (ignoring case), or ``default``."""
        entry = self.last(key)
        return default if entry is None else entry.value

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (ignoring case), in order."""
        folded = key.casefold()
        return [entry.value for entry in self.entries if entry.key.casefold() == folded]


def read_text(path: Path) -> str:
    """The text of a configuration file: UTF-8 (a BOM is dropped), else Latin-1."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_text(
    text: str,
    filename: str = "<string>",
    *,
    include_dir: Path | None = None,
    opener: Opener | None = None,
    keep_templates: bool = False,
) -> list[Section]:
    """Parse configuration text.

    ``#include`` names are relative to ``include_dir`` when given, else to the folder of
    the including file. ``opener`` replaces file system reads for included files (glob
    patterns are then not expanded). Templates are left out unless ``keep_templates``.
    """
    reader = _Reader(include_dir, opener)
    reader.read(text.removeprefix("\ufeff"), filename, None)
    return [draft.freeze() for draft in reader.drafts if keep_templates or not draft.is_template]


def parse_file(
    path: Path, *, include_dir: Path | None = None, keep_templates: bool = False
) -> list[Section]:
    """Parse the configuration file at ``path`` (see :func:`parse_text`)."""
    try:
        text = read_text(path)
    except OSError as exc:
        raise ConfigError(str(path), 0, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_text(text, str(path), include_dir=include_dir, keep_templates=keep_templates)


@dataclass(slots=True)
class _Draft:
    name: str
    file: str
    line: int
    entries: list[Entry] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    is_template: bool = False

    def freeze(self) -> Section:
        return Section(
            self.name,
            tuple(self.entries),
            self.file,
            self.line,
            tuple(self.templates),
            self.is_template,
        )

    def matches(self, filters: list[tuple[str, str]]) -> bool:
        for key, pattern in filters:
            folded = key.casefold()
            if not any(
                e.key.casefold() == folded and re.search(pattern, e.value) for e in self.entries
            ):
                return False
        return True


class _Reader:
    """Builds sections from one top-level text and everything it includes."""

    def __init__(self, include_dir: Path | None, opener: Opener | None) -> None:
        self.include_dir = include_dir
        self.opener = opener
        self.drafts: list[_Draft] = []
        self.reading: list[str] = []  # identities of the files being read (include guard)

    def identity(self, path: str) -> str:
        return os.path.normpath(path) if self.opener is not None else os.path.realpath(path)

    def read(self, text: str, filename: str, current: _Draft | None) -> None:
        # Like Asterisk, an included file starts in the includer's current section, and
        # the includer carries on in its own section afterwards.
        self.reading.append(self.identity(filename))
        try:
            for lineno, raw in _logical_lines(text, filename):
                line = raw.strip()
                if not line:
                    continue
                if line[0] == "[":
                    current = self.header(line, filename, lineno)
                elif line[0] == "#":
                    self.directive(line, filename, lineno, current)
                else:
                    self.assignment(line, filename, lineno, current)
        finally:
            self.reading.pop()

    def find(self, name: str, filters: list[tuple[str, str]] | None = None) -> _Draft | None:
        folded = name.casefold()
        for draft in self.drafts:
            if draft.name.casefold() == folded and (not filters or draft.matches(filters)):
                return draft
        return None

    def header(self, line: str, filename: str, lineno: int) -> _Draft:
        close = line.find("]")
        if close < 0:
            raise ConfigError(filename, lineno, "section header has no closing ']'")
        name = line[1:close].strip()
        if not name:
            raise ConfigError(filename, lineno, "section header has an empty name")
        options: list[str] = []
        rest = line[close + 1 :].lstrip()
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                raise ConfigError(filename, lineno, f"options of [{name}] have no closing ')'")
            options = [opt.strip() for opt in rest[1:end].split(",") if opt.strip()]
        draft = _Draft(name, filename, lineno)
        is_new = True
        for option in options:
            if option == "!":
                draft.is_template = True
            elif option.startswith("+"):
                filters = _filters(option[1:], filename, lineno)
                found = self.find(name, filters)
                if found is None:
                    what = f"matching {option[1:]!r} " if filters else ""
                    raise ConfigError(
                        filename,
                        lineno,
                        f"[{name}](+): no earlier section [{name}] {what}to add to",
                    )
                draft, is_new = found, False
            else:
                base = self.find(option)
                if base is None:
                    raise ConfigError(
                        filename, lineno, f"[{name}] inherits from unknown template {option!r}"
                    )
                draft.entries.extend(base.entries)
                draft.templates.append(base.name)
        if is_new:
            self.drafts.append(draft)
        return draft

    def directive(self, line: str, filename: str, lineno: int, current: _Draft | None) -> None:
        parts = line[1:].split(None, 1)
        word = parts[0].casefold() if parts else ""
        argument = _dequote(parts[1].strip()) if len(parts) > 1 else ""
        if word == "exec":
            raise ConfigError(filename, lineno, "#exec is not supported")
        if word not in ("include", "tryinclude"):
            log.warning("%s:%d: unknown directive #%s ignored", filename, lineno, word)
            return
        if not argument:
            raise ConfigError(filename, lineno, f"#{word} needs a file name")
        optional = word == "tryinclude"
        for path in self.resolve(argument, filename, lineno, optional):
            self.include(path, argument, filename, lineno, current, optional)

    def resolve(self, name: str, filename: str, lineno: int, optional: bool) -> list[str]:
        base = self.include_dir if self.include_dir is not None else Path(filename).parent
        target = Path(name) if Path(name).is_absolute() else base / name
        if self.opener is None and not _GLOB_CHARS.isdisjoint(name):
            matches = sorted(glob(str(target)))
            if not matches and not optional:
                raise ConfigError(filename, lineno, f"#include {name}: no file matches")
            return matches
        return [str(target)]

    def include(
        self,
        path: str,
        name: str,
        filename: str,
        lineno: int,
        current: _Draft | None,
        optional: bool,
    ) -> None:
        if "\0" in path:  # no file has such a name (and os functions raise ValueError)
            if optional:
                return
            raise ConfigError(filename, lineno, f"#include {name!r}: a file name has no NUL")
        if self.identity(path) in self.reading:
            raise ConfigError(
                filename, lineno, f"#include {name}: {path} is already being read (include loop)"
            )
        try:
            text = self.opener(path) if self.opener is not None else read_text(Path(path))
        except OSError as exc:
            if optional:
                return
            reason = exc.strerror or str(exc)
            raise ConfigError(
                filename, lineno, f"#include {name}: cannot read {path}: {reason}"
            ) from exc
        self.read(text.removeprefix("\ufeff"), path, current)

    def assignment(self, line: str, filename: str, lineno: int, current: _Draft | None) -> None:
        if current is None:
            raise ConfigError(filename, lineno, "line is outside of any [section]")
        skip = 0
        if line[0] == "\\":
            line = line[1:]
            if not line or line[0] <= " ":
                raise ConfigError(filename, lineno, "invalid escape at the start of the line")
            skip = 1
        eq = line.find("=", skip)
        if eq < 0:
            log.warning("%s:%d: no '=' in line, ignored: %s", filename, lineno, line)
            return
        if eq > skip and line[eq - 1] == "+":
            key = line[: eq - 1].strip()
            if self.append(current, key, line[eq + 1 :]):
                return
            op, value = "=", line[eq + 1 :]
        elif line.startswith(">", eq + 1):
            key, op, value = line[:eq].strip(), "=>", line[eq + 2 :]
        else:
            key, op, value = line[:eq].strip(), "=", line[eq + 1 :]
        if not key:
            log.warning("%s:%d: no key before '=', ignored", filename, lineno)
            return
        current.entries.append(Entry(key, value.strip(), op, filename, lineno))

    @staticmethod
    def append(current: _Draft, key: str, more: str) -> bool:
        """``key += more``: extend the last value of ``key``; False if there is none."""
        for index in range(len(current.entries) - 1, -1, -1):
            old = current.entries[index]
            if old.key == key:
                value = (old.value + more).strip()
                current.entries[index] = Entry(old.key, value, old.op, old.file, old.line)
                return True
        return False


def _filters(spec: str, filename: str, lineno: int) -> list[tuple[str, str]]:
    """``k=regex&k2=regex`` of ``[name](+k=regex)``."""
    filters: list[tuple[str, str]] = []
    for part in spec.split("&"):
        if not part.strip():
            continue
        key, eq, pattern = part.partition("=")
        if not eq or not key.strip():
            raise ConfigError(filename, lineno, f"bad section filter {part!r} (want key=regex)")
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            # too deep a nesting or too large a repeat count is as bad as bad syntax
            raise ConfigError(filename, lineno, f"bad regex in section filter: {exc}") from exc
        filters.append((key.strip(), pattern))
    return filters


def _dequote(text: str) -> str:
    if len(text) >= 2 and (text[0], text[-1]) in (('"', '"'), ("<", ">")):
        return text[1:-1].strip()
    return text


def _logical_lines(text: str, filename: str) -> Iterator[tuple[int, str]]:
    """Lines with comments removed. Text around a multi-line block comment is joined
    into one line, numbered by the line where it started."""
    depth = 0
    buffer = ""
    start = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if depth == 0:
            buffer, start = "", lineno
        kept, depth = _strip_comments(raw.rstrip("\r"), depth)
        buffer += kept
        if depth == 0:
            yield start, buffer
    if depth:
        log.warning("%s:%d: block comment ';--' is never closed", filename, start)


def _strip_comments(line: str, depth: int) -> tuple[str, int]:
    """Remove comments from one physical line, given the block comment nesting depth
    at its start; return the kept text and the depth at its end."""
    kept: list[str] = []
    i = 0
    while True:
        j = line.find(";", i)
        if j < 0:
            if depth == 0:
                kept.append(line[i:])
            break
        if j > i and line[j - 1] == "\\":  # \; is a literal semicolon
            if depth == 0:
                kept.append(line[i : j - 1] + ";")
            i = j + 1
        elif line.startswith("--", j + 1) and not line.startswith("-", j + 3):  # ;--
            if depth == 0:
                kept.append(line[i:j])
            depth += 1
            i = j + 3
        elif depth > 0 and j - i >= 2 and line[j - 2 : j] == "--":  # --;
            depth -= 1
            i = j + 1
        elif depth == 0:  # ; comment to the end of the line
            kept.append(line[i:j])
            break
        else:
            i = j + 1
    return "".join(kept), depth
