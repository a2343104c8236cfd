"""The sounds index, media URIs and the say expansions."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pyari.media.files import MediaError, MediaNotFoundError
from pyari.media.saynumber import parse_number, say_characters, say_digits, say_number
from pyari.media.sounds import build_index, build_index_async, choose_file
from pyari.media.sources import BufferSource, ToneSource
from pyari.media.uris import MediaResolver, UnknownSchemeError, parse_media_uri, parse_tone_uri

SOUNDS = Path("/usr/share/asterisk/sounds")
HAVE_SOUNDS = any(SOUNDS.glob("*/tt-monkeys.wav"))
needs_sounds = pytest.mark.skipif(
    not HAVE_SOUNDS and not os.environ.get("CI"),
    reason="asterisk-core-sounds-en-wav is not installed",
)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


PCM = b"\x00\x01" * 800


@pytest.fixture
def sounds_dir(tmp_path: Path) -> Path:
    root = tree(
        tmp_path / "sounds",
        {
            "en/hello.sln": PCM,
            "en/hello.ulaw": b"\xff" * 800,
            "en/digits/1.sln": PCM,
            "en/digits/2.sln": PCM,
            "en/digits/20.sln": PCM,
            "en/digits/hundred.sln": PCM,
            "en/letters/a.sln": PCM,
            "en/letters/dash.sln": PCM,
            "en/wide.sln16": PCM * 2,
            "en/old.wav49": b"\x00" * 65,
            "en/core-sounds-en.txt": b"; comment\nhello: Hello there.\nmore words\ndigits/1: One\n",
            "fr/hello.alaw": b"\xd5" * 800,
            "fr_CA/bonjour.sln": PCM,
            "not-a-language.txt": b"x",
        },
    )
    (root / "en_link").symlink_to(root / "fr")
    return root


def test_index_layout(sounds_dir: Path) -> None:
    index = build_index(sounds_dir)
    assert index.languages == ("en", "en_link", "fr", "fr_CA")
    assert "old" not in index  # no format registered for wav49 (MS-GSM in WAV)
    assert index.ids() == [
        "bonjour", "digits/1", "digits/2", "digits/20", "digits/hundred",
        "hello", "letters/a", "letters/dash", "wide",
    ]  # fmt: skip
    hello = index.get("hello")
    assert hello is not None
    assert hello.to_json() == {
        "id": "hello",
        "text": "Hello there.\nmore words",
        "formats": [
            {"language": "en", "format": "slin"},
            {"language": "en", "format": "ulaw"},
            {"language": "en_link", "format": "alaw"},
            {"language": "fr", "format": "alaw"},
        ],
    }
    assert index.get("digits/1").text == "One"  # type: ignore[union-attr]
    assert index.get("nope") is None
    assert [s.id for s in index.sounds(lang="fr")] == ["hello"]
    assert [s.id for s in index.sounds(format="slin16")] == ["wide"]
    assert [f.format for f in index.sounds(lang="en", format="ulaw")[0].formats] == ["ulaw"]
    assert index.sounds(lang="de") == []


def test_language_fallback(sounds_dir: Path) -> None:
    index = build_index(sounds_dir)
    assert index.fallback_languages("fr_CA") == ["fr_CA", "fr", "en"]
    assert set(index.find("hello", "fr_CA")) == {"alaw"}  # fr_CA → fr
    assert set(index.find("hello", "de")) == {"slin", "ulaw"}  # → en
    assert index.find("bonjour", "en") == {}
    assert choose_file(index.find("hello"), "ulaw") == sounds_dir / "en/hello.ulaw"
    assert choose_file(index.find("hello"), None) == sounds_dir / "en/hello.sln"


def test_missing_directory_gives_an_empty_index(tmp_path: Path) -> None:
    index = build_index(tmp_path / "none")
    assert len(index) == 0 and index.languages == ()


@needs_sounds
async def test_debian_sounds_index() -> None:
    index = await build_index_async(SOUNDS)
    assert len(index) == 568
    assert "en_US_f_Allison" in index.languages
    assert index.aliases == {"en": "en_US_f_Allison"}
    for sid in ("tt-monkeys", "digits/1", "digits/hundred", "letters/a", "vm-goodbye"):
        assert sid in index
        assert set(index.find(sid, "en")) == {"slin"}
    sound = index.get("tt-monkeys")
    assert sound is not None
    assert sound.formats[0].language == "en_US_f_Allison"


def test_say_number() -> None:
    assert say_number(0) == ["digits/0"]
    assert say_number(7) == ["digits/7"]
    assert say_number(42) == ["digits/40", "digits/2"]
    assert say_number(115) == ["digits/1", "digits/hundred", "digits/15"]
    assert say_number(-3) == ["digits/minus", "digits/3"]
    assert say_number(2_005_300) == [
        "digits/2", "digits/million", "digits/5", "digits/thousand", "digits/3", "digits/hundred",
    ]  # fmt: skip
    assert say_number(1_000_000_000) == ["digits/1", "digits/billion"]
    with pytest.raises(ValueError):
        say_number(2**31 - 1)
    assert parse_number("12abc") == 12 and parse_number("x1") is None


def test_say_digits_and_characters_skip_missing_files() -> None:
    have = {"digits/1", "digits/star", "letters/a", "letters/dash", "letters/ascii37"}
    assert say_digits("1*9#", have.__contains__) == ["digits/1", "digits/star"]
    assert say_characters("A-%q", have.__contains__) == [
        "letters/a",
        "letters/dash",
        "letters/ascii37",
    ]


def test_media_uri_parsing() -> None:
    assert parse_media_uri("sound:tt-monkeys").target == "tt-monkeys"
    assert parse_media_uri("tone:ring;tonezone=fr").scheme == "tone"
    assert parse_tone_uri("ring;tonezone=fr") == ("ring", "fr")
    assert parse_tone_uri("1000/2500") == ("1000/2500", None)
    assert parse_media_uri("sound:x").controllable
    assert not parse_media_uri("number:5").controllable
    for bad in ("http://x/y.wav", "tt-monkeys", "video:x"):
        with pytest.raises(UnknownSchemeError):
            parse_media_uri(bad)


def test_resolver_plans_and_loads(sounds_dir: Path, tmp_path: Path) -> None:
    recordings = {"mine": sounds_dir / "en/hello.sln"}
    resolver = MediaResolver(build_index(sounds_dir), recording_file=recordings.get)
    plan = resolver.plan("number:120", "en")
    assert [p.name for p in plan.files] == ["1.sln", "hundred.sln", "20.sln"]
    source = resolver.load(plan)
    assert isinstance(source, BufferSource) and source.length_ms == 300
    assert [p.name for p in resolver.plan("digits:1x2").files] == ["1.sln", "2.sln"]
    assert [p.name for p in resolver.plan("characters:a-").files] == ["a.sln", "dash.sln"]
    assert resolver.plan("sound:hello", native="ulaw").files[0].name == "hello.ulaw"
    assert resolver.plan("recording:mine").files == (sounds_dir / "en/hello.sln",)
    wide = resolver.load(resolver.plan("sound:wide"))
    assert isinstance(wide, BufferSource) and wide.rate == 8000 and wide.length_ms == 100
    absolute = resolver.plan(f"sound:{sounds_dir}/en/digits/2")
    assert absolute.files == (sounds_dir / "en/digits/2.sln",)
    assert isinstance(resolver.load(resolver.plan("tone:busy")), ToneSource)
    with pytest.raises(MediaNotFoundError):
        resolver.plan("sound:nope")
    with pytest.raises(MediaNotFoundError):
        resolver.plan("recording:nope")
    with pytest.raises(MediaError):
        resolver.plan("number:abc")
    with pytest.raises(MediaError):
        resolver.plan("tone:not-a-tone")
    with pytest.raises(UnknownSchemeError):
        resolver.plan("foo:bar")


async def test_resolver_cache_shares_decoded_audio(sounds_dir: Path) -> None:
    resolver = MediaResolver(build_index(sounds_dir))
    a = await resolver.open("sound:hello")
    b = await resolver.open("sound:hello")
    assert isinstance(a, BufferSource) and isinstance(b, BufferSource)
    assert np.shares_memory(a.samples, b.samples)
