"""README's "CLI commands" list is the list ``core show help`` prints: every command the
CLI knows is there, and everything it names is a command."""

from __future__ import annotations

import re
from pathlib import Path

from pyari.cli import commands

ROOT = Path(__file__).resolve().parents[1]
FIRST_WORDS = {" ".join(c.words).split()[0] for c in commands.COMMANDS}


def readme_cli_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## CLI commands\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def listed() -> list[str]:
    """The backquoted commands of the section (``res_ari.so`` and the like left out)."""
    spans = re.findall(r"`([^`]+)`", readme_cli_section().replace("\n  ", " "))
    return [s for s in spans if s.split()[0] in FIRST_WORDS and not s.startswith("pyari")]


def test_every_command_is_listed() -> None:
    names = listed()
    missing = [
        c.usage
        for c in commands.COMMANDS
        if not any(name.split()[: len(c.words)] == list(c.words) for name in names)
    ]
    assert not missing, f"README's CLI commands leave out: {missing}"


def test_everything_listed_is_a_command() -> None:
    unknown = [name for name in listed() if commands._find(name.lower().split()) is None]
    assert not unknown, unknown
    assert len(listed()) >= len(commands.COMMANDS)
