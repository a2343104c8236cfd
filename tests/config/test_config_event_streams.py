"""ari.conf ``[general]`` event_retention, event_retention_bytes, stasis_grace."""

from __future__ import annotations

import pytest

from pyari.config import AriSettings, ConfigError, parse_text
from pyari.config.event_streams import EventStreamSettings


def ari(text: str) -> AriSettings:
    return AriSettings.from_sections(parse_text(text, "ari.conf"))


def test_the_defaults_are_asterisks_behaviour() -> None:
    assert ari("[general]\n").event_streams == EventStreamSettings(0.0, 16 * 1024 * 1024, 0.0)


def test_values_are_read_from_general() -> None:
    text = "[general]\nevent_retention = 60\nevent_retention_bytes = 4096\nstasis_grace = 2.5\n"
    assert ari(text).event_streams == EventStreamSettings(60.0, 4096, 2.5)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("event_retention = soon", "not a number of seconds"),
        ("event_retention = -1", "not a number of seconds"),
        ("stasis_grace = nan", "not a number of seconds"),
        ("stasis_grace = 1e9", "not a number of seconds"),
        ("event_retention_bytes = -5", "out of range"),
    ],
)
def test_bad_values_are_errors_at_their_line(line: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        ari(f"[general]\n{line}\n")
    assert info.value.line == 2 and words in info.value.reason
