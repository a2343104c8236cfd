"""codecs.conf ``[opus]`` (config/codecs.py): Asterisk's options, defaults, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config.codecs import (
    BITRATE_AUTO,
    BITRATE_MAX,
    DEFAULT_COMPLEXITY,
    OPUS_DEFAULTS,
    CodecSettings,
    OpusSettings,
)
from pyari.config.errors import ConfigError
from pyari.config.parser import parse_text


def _opus(text: str) -> OpusSettings:
    return CodecSettings.from_sections(parse_text(text, "codecs.conf")).opus


def test_defaults_are_asterisks_but_complexity() -> None:
    opus = _opus("[speex]\nquality => 3\n")
    assert opus == OpusSettings()
    assert opus.max_playback_rate == 48000 and opus.bitrate == BITRATE_AUTO
    assert not (opus.cbr or opus.fec or opus.dtx)
    assert opus.complexity == DEFAULT_COMPLEXITY == 0
    assert opus.fmtp() == ""  # Asterisk's SDP: no fmtp line


def test_every_option() -> None:
    opus = _opus(
        "[opus]\ntype=opus\npacket_loss=5\ncomplexity=10\nsignal=Voice\n"
        "application=low_delay\nmax_playback_rate=8000\nmax_bandwidth=wide\n"
        "bitrate=16000\ncbr=yes\nfec=true\ndtx=1\nunknown=whatever\n"
    )
    assert opus == OpusSettings(
        max_playback_rate=8000,
        bitrate=16000,
        cbr=True,
        fec=True,
        dtx=True,
        complexity=10,
        signal="voice",
        application="low_delay",
        max_bandwidth="wide",
        packet_loss=5,
    )
    # res_format_attr_opus's order, only what differs from the defaults
    assert (
        opus.fmtp() == "maxplaybackrate=8000;maxaveragebitrate=16000;cbr=1;useinbandfec=1;usedtx=1"
    )


def test_bitrate_words_and_narrowband_only() -> None:
    assert _opus("[opus]\nbitrate=max\n").bitrate == BITRATE_MAX
    assert _opus("[opus]\nbitrate=auto\n").bitrate == BITRATE_AUTO
    assert _opus("[opus]\nbitrate=max\n").fmtp() == ""
    assert _opus("[opus]\ntype=opus\nmax_playback_rate=8000\n").fmtp() == "maxplaybackrate=8000"


def test_other_formats_are_ignored() -> None:
    # a custom format ([myopus] in an endpoint's allow) is not supported; a section
    # named opus of another type is not Opus's
    assert _opus("[myopus]\ntype=opus\nmax_playback_rate=8000\n") == OpusSettings()
    assert _opus("[opus]\ntype=speex\ncomplexity=3\n") == OpusSettings()


@pytest.mark.parametrize(
    "line",
    [
        "max_playback_rate=4000",
        "max_playback_rate=96000",
        "bitrate=100",
        "bitrate=fast",
        "complexity=11",
        "packet_loss=101",
        "signal=speech",
        "application=game",
        "max_bandwidth=ultra",
        "dtx=maybe",
    ],
)
def test_bad_values_are_refused_with_their_line(line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _opus(f"[opus]\ntype=opus\n{line}\n")
    assert "codecs.conf" in str(caught.value) and line.split("=")[0] in str(caught.value)


def test_the_defaults_are_one_constant() -> None:
    assert OPUS_DEFAULTS == OpusSettings() == CodecSettings().opus


async def test_server_loads_codecs_conf_and_reloads_it(tmp_path: Path) -> None:
    """codecs.conf is read at start into the server's PJSIP technology; ``module reload
    codec_opus.so`` replaces them; a bad file leaves the defaults (logged)."""
    from channels.webrtc_peers import config_dir
    from conftest import make_server
    from pyari.cli.commands import run_command

    folder = config_dir(tmp_path, "[2222]\ntype = endpoint\ncontext = ARI-test\naors = 2222")
    (folder / "codecs.conf").write_text("[opus]\ntype = opus\nmax_playback_rate = 8000\n")
    srv = make_server(folder)
    await srv.start(control_socket=False)
    try:
        assert srv.pjsip.codecs.opus.max_playback_rate == 8000
        (folder / "codecs.conf").write_text("[opus]\ntype = opus\ncomplexity = 10\n")
        out = await run_command(srv, "module reload codec_opus.so")
        assert "codec_opus.so" in out
        assert srv.pjsip.codecs.opus == OpusSettings(complexity=10)
        (folder / "codecs.conf").write_text("[opus]\ncomplexity = 11\n")
        await run_command(srv, "module reload codec_opus.so")
        assert srv.pjsip.codecs.opus == OpusSettings()
    finally:
        await srv.stop()
