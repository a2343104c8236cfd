"""README's walkthrough shows the files ``pyari samples`` writes (the embedded defaults):
what it shows is what they hold, and the list of files is theirs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyari.config import embedded_names, embedded_text

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def embedded(name: str) -> str:
    text = embedded_text(name)
    assert text is not None, name
    return text


def settings(text: str) -> dict[str, list[str]]:
    """Each section's lines, comments and blank lines left out, spaces around = made one."""
    out: dict[str, list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line
            out.setdefault(section, [])
            continue
        out.setdefault(section, []).append(re.sub(r"\s*(=>?)\s*", r" \1 ", line))
    return out


def shown_files() -> list[tuple[str, str]]:
    """(file name, block text) of each ``ini`` block README introduces with `etc/NAME`."""
    found = re.findall(r"^`etc/([\w.]+)`[^\n]*:\n\n```ini\n(.*?)```", README, re.M | re.S)
    return [(name, text) for name, text in found]


def test_readme_shows_three_files() -> None:
    assert [name for name, _ in shown_files()] == ["http.conf", "ari.conf", "extensions.conf"]


@pytest.mark.parametrize("name,text", shown_files(), ids=lambda v: v if ".conf" in v else "")
def test_shown_file_is_the_embedded_one(name: str, text: str) -> None:
    defaults = settings(embedded(name))
    for section, lines in settings(text).items():
        assert section in defaults, f"README's {name} {section}: not in the embedded file"
        assert lines == [line for line in defaults[section] if line in lines], (
            f"README's {name} {section} is not the embedded file's: {lines} / {defaults[section]}"
        )


def test_samples_list_is_the_embedded_files() -> None:
    m = re.search(r"pyari samples \./etc\s+# writes (.*?)\n\s*pyari -C", README, re.S)
    assert m is not None
    words = re.findall(r"[\w]+\.conf", m.group(1))
    assert sorted(words) == embedded_names()


def test_pjsip_phones_as_described() -> None:
    pjsip = embedded("pjsip.conf")
    assert "bind = 127.0.0.1:5060" in pjsip
    for phone, password in (("2222", "pyari-2222"), ("webrtc", "pyari-webrtc")):
        assert f"[{phone}]" in pjsip and f"password = {password}" in pjsip, phone
        assert f"endpoint `{phone}`" in README and f"`{password}`" in README
