"""pjsip.conf's WebRTC and secure-media endpoint options, and ``webrtc = yes`` expanded
as Asterisk's endpoint apply handler does (res_pjsip/pjsip_configuration.c)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyari.config import ConfigError, parse_text
from pyari.config.pjsip import Endpoint, PjsipSettings


def endpoint(lines: str) -> Endpoint:
    text = "[ep]\ntype = endpoint\n" + lines
    return PjsipSettings.from_sections(parse_text(text, "pjsip.conf")).endpoints["ep"]


def test_defaults_are_plain_rtp() -> None:
    ep = endpoint("")
    assert not (ep.webrtc or ep.use_avpf or ep.ice_support or ep.rtcp_mux or ep.bundle)
    assert (ep.media_encryption, ep.dtls_verify, ep.dtls_setup) == ("no", "no", "active")
    assert not ep.dtls_auto_generate_cert and ep.dtls_fingerprint == "SHA-256"


def test_webrtc_yes_expands_as_asterisk() -> None:
    ep = endpoint("webrtc = yes\n")
    assert ep.webrtc
    assert ep.use_avpf and ep.ice_support and ep.rtcp_mux and ep.bundle
    assert ep.media_use_received_transport
    assert ep.media_encryption == "dtls"
    assert ep.dtls_verify == "fingerprint"
    assert ep.dtls_setup == "actpass"
    assert ep.dtls_auto_generate_cert  # no dtls_cert_file: an ephemeral certificate


def test_webrtc_forces_its_values_and_keeps_a_given_certificate() -> None:
    ep = endpoint(
        "webrtc = yes\nmedia_encryption = sdes\ndtls_setup = active\ndtls_verify = no\n"
        "use_avpf = no\ndtls_cert_file = /etc/pyari/dtls.pem\ndtls_private_key = /k.pem\n"
    )
    assert (ep.media_encryption, ep.dtls_setup, ep.dtls_verify) == (
        "dtls",
        "actpass",
        "fingerprint",
    )
    assert ep.use_avpf
    assert ep.dtls_cert_file == Path("/etc/pyari/dtls.pem")
    assert ep.dtls_private_key == Path("/k.pem")
    assert not ep.dtls_auto_generate_cert


def test_options_one_by_one() -> None:
    ep = endpoint(
        "media_encryption = dtls\ndtls_verify = certificate\ndtls_setup = passive\n"
        "dtls_rekey = 60\ndtls_fingerprint = SHA-1\ndtls_auto_generate_cert = yes\n"
        "ice_support = yes\nbundle = yes\nmedia_address = 127.0.0.1\n"
        "bind_rtp_to_media_address = yes\ndtls_cipher = ALL\n"
    )
    assert (ep.media_encryption, ep.dtls_verify, ep.dtls_setup) == (
        "dtls",
        "certificate",
        "passive",
    )
    assert ep.dtls_rekey == 60 and ep.dtls_fingerprint == "SHA-1"
    assert ep.ice_support and ep.bundle and ep.rtcp_mux  # bundle implies rtcp_mux
    assert not ep.use_avpf and not ep.webrtc
    assert ep.media_address == "127.0.0.1" and ep.bind_rtp_to_media_address
    assert ep.dtls_cipher == "ALL"


@pytest.mark.parametrize(
    "line",
    [
        "webrtc = maybe",
        "media_encryption = aes",
        "dtls_verify = sometimes",
        "dtls_setup = holdconn",
        "dtls_fingerprint = MD5",
        "dtls_rekey = -1",
    ],
)
def test_bad_values_name_the_line(line: str) -> None:
    with pytest.raises(ConfigError) as err:
        endpoint(line + "\n")
    assert err.value.line == 3


def test_sip_override_leaves_websocket_transports() -> None:
    from pyari.config.overrides import Overrides

    text = "[udp]\ntype = transport\nprotocol = udp\n[ws]\ntype = transport\nprotocol = ws\n"
    s = PjsipSettings.from_sections(parse_text(text, "pjsip.conf"))
    moved = Overrides(sip_bind=("127.0.0.1", 15060)).pjsip(s)
    assert moved.transports["udp"].bind == ("127.0.0.1", 15060)
    assert moved.transports["ws"].bind == ("0.0.0.0", 8088)
