"""ICE-lite, DTLS-SRTP and the WebRTC transport (rtp/ice.py, rtp/dtls.py, rtp/webrtc.py),
sans-IO: two of pyari's transports talk to each other; a STUN check made by aioice gets
a response that aioice verifies; a fingerprint mismatch fails the call; fuzzed STUN and
DTLS input is dropped."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from aioice import stun

from pyari.rtp.dtls import DtlsCertificate, DtlsSrtp, fingerprint_of
from pyari.rtp.ice import IceLite, host_candidate, is_stun
from pyari.rtp.packet import RtpPacket
from pyari.rtp.rtcp import build_report
from pyari.rtp.webrtc import SecureTransport

A = ("127.0.0.1", 40000)
B = ("127.0.0.1", 40002)


def _check(
    ice: IceLite, remote_ufrag: str, *, use_candidate: bool = True, pwd: str | None = None
) -> bytes:
    """A Binding request as a browser's full agent sends it."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{ice.ufrag}:{remote_ufrag}"
    request.attributes["PRIORITY"] = 1853824767
    request.attributes["ICE-CONTROLLING"] = 0x1234
    if use_candidate:
        request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity((pwd or ice.pwd).encode())
    return bytes(request)


def test_ice_lite_answers_a_valid_check_and_selects_the_address() -> None:
    ice = IceLite()
    ice.set_remote("browser", "browserpassword0123456789")
    data = _check(ice, "browser")
    assert is_stun(data)
    response = ice.handle(data, A)
    assert response is not None
    message = stun.parse_message(response)
    assert message.message_class == stun.Class.RESPONSE
    assert message.attributes["XOR-MAPPED-ADDRESS"] == A
    assert message.check_message_integrity(ice.pwd.encode())
    assert "FINGERPRINT" in message.attributes
    assert ice.selected == A and A in ice.valid and ice.nominated


def test_ice_lite_ignores_wrong_password_username_and_refused_addresses() -> None:
    ice = IceLite(permit=lambda host: host == "127.0.0.1")
    assert ice.handle(_check(ice, "x", pwd="not-the-password-at-all"), A) is None
    bad_user = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    bad_user.attributes["USERNAME"] = "someoneelse:x"
    bad_user.add_message_integrity(ice.pwd.encode())
    assert ice.handle(bytes(bad_user), A) is None
    assert ice.handle(_check(ice, "x"), ("192.0.2.7", 5000)) is None
    assert ice.refused == 1 and ice.bad == 2 and ice.selected is None


def test_host_candidate_line() -> None:
    line = host_candidate("127.0.0.1", 12000)
    parts = line.split()
    assert parts[1:] == ["1", "udp", str((126 << 24) + (65535 << 8) + 255), "127.0.0.1",
                         "12000", "typ", "host"]  # fmt: skip


def _pair(*, wrong_fingerprint: bool = False) -> tuple[SecureTransport, SecureTransport, list[str]]:
    cert_a = DtlsCertificate.generate()
    cert_b = DtlsCertificate.generate()
    other = DtlsCertificate.generate()
    fp_b = ("sha-256", (other if wrong_fingerprint else cert_b).fingerprint)
    failures: list[str] = []
    a = SecureTransport(
        ice=None,
        dtls=DtlsSrtp(cert_a, "client", fp_b),
        remote=B,
        on_failed=failures.append,
    )
    b = SecureTransport(
        ice=IceLite(),
        dtls=DtlsSrtp(cert_b, "server", ("sha-256", cert_a.fingerprint)),
        remote=A,
        on_failed=failures.append,
    )
    assert b.ice is not None
    b.ice.set_remote("aaaa", "a" * 22)
    return a, b, failures


def _run(a: SecureTransport, b: SecureTransport, *, rounds: int = 20) -> None:
    """Carry datagrams between a (at A) and b (at B) until both are quiet."""
    now = 0.0
    assert b.ice is not None
    queue: list[tuple[bytes, tuple[str, int], tuple[str, int]]] = [(_check(b.ice, "aaaa"), A, B)]
    for _ in range(rounds):
        now += 0.02
        for data, dest in a.poll(now):
            queue.append((data, A, dest))
        for data, dest in b.poll(now):
            queue.append((data, B, dest))
        while queue:
            data, src, dest = queue.pop(0)
            target = a if dest == A else b
            _plain, out = target.receive(data, src, now)
            for reply, to in out:
                queue.append((reply, dest, to))


def test_dtls_srtp_between_two_transports() -> None:
    a, b, failures = _pair()
    _run(a, b)
    assert not failures
    assert a.ready and b.ready
    packet = RtpPacket(111, 1, 960, 0x1234, b"opus-payload").to_bytes()
    protected = a.protect_rtp(packet)
    assert protected is not None and protected != packet and len(protected) == len(packet) + 10
    plain, _ = b.receive(protected, A, 1.0)
    assert plain == packet
    # replayed: refused by SRTP's replay window
    assert b.receive(protected, A, 1.0)[0] is None
    report = build_report(0x1234, cname="x", blocks=(), sender=None)
    srtcp = b.protect_rtcp(report)
    assert srtcp is not None
    assert a.receive(srtcp, B, 1.0)[0] == report


def test_fingerprint_mismatch_fails_cleanly() -> None:
    a, b, failures = _pair(wrong_fingerprint=True)
    _run(a, b)
    assert a.failed
    assert failures and "fingerprint mismatch" in failures[0]
    assert a.protect_rtp(RtpPacket(0, 1, 160, 1, b"x").to_bytes()) is None
    assert not a.ready


def test_media_only_from_checked_addresses() -> None:
    a, b, _failures = _pair()
    _run(a, b)
    packet = a.protect_rtp(RtpPacket(0, 2, 320, 1, b"x" * 20).to_bytes())
    assert packet is not None
    plain, _ = b.receive(packet, ("127.0.0.1", 9), 1.0)
    assert plain is None and b.dropped >= 1


def test_fingerprint_format() -> None:
    cert = DtlsCertificate.generate()
    fp = fingerprint_of(cert.certificate)
    assert len(fp.split(":")) == 32 and fp == fp.upper()


@pytest.mark.parametrize("seed", range(4))
def test_fuzzed_stun_and_dtls_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    a, b, _failures = _pair()
    assert b.ice is not None
    valid_check = _check(b.ice, "aaaa")
    for n in range(400):
        kind = n % 4
        if kind == 0:  # STUN-looking garbage
            data = bytes([rng.randrange(4)]) + bytes(rng.randrange(256) for _ in range(40))
        elif kind == 1:  # a valid check with flipped bits
            flipped = bytearray(valid_check)
            for _ in range(rng.randrange(1, 4)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            data = bytes(flipped)
        elif kind == 2:  # DTLS-looking records
            data = bytes([rng.randrange(20, 64), 0xFE, 0xFD]) + rng.randbytes(rng.randrange(80))
        else:
            data = rng.randbytes(rng.randrange(1, 120))
        b.receive(data, A, n * 0.01)
        a.receive(data, B, n * 0.01)
        b.poll(n * 0.01)
    # the association still comes up afterwards only if nothing broke it; at least
    # nothing raised, and a fresh pair still connects
    a2, b2, failures = _pair()
    _run(a2, b2)
    assert a2.ready and b2.ready and not failures


def test_dtmf_at_opus_clock_both_ways() -> None:
    """telephone-event/48000 (a browser's, with Opus): durations in the session's clock."""
    from pyari.rtp.dtmf import DtmfEnd, TelephoneEvent
    from pyari.rtp.session import RtpSession

    sender = RtpSession(111, dtmf_payload_type=110, rate=48000)
    receiver = RtpSession(111, dtmf_payload_type=110, rate=48000)
    sender.send_dtmf("5", 100)
    packets: list[bytes] = []
    now = 0.0
    for _ in range(12):
        packets += sender.send_frame(b"\x00" * 40, now)
        now += 0.02
    events = [RtpPacket.parse(p) for p in packets if RtpPacket.parse(p).payload_type == 110]
    last = TelephoneEvent.parse(events[-1].payload)
    assert last.end and last.duration == 4800
    receiver.receive(RtpPacket(111, 1, 0, 9, b"x").to_bytes(), 0.0)
    ended = [e for p in packets for e in receiver.receive(p, 0.1) if isinstance(e, DtmfEnd)]
    assert ended and ended[0].digit == "5" and ended[0].duration_ms == 100


def test_a_lost_opus_packet_is_recovered_by_the_codec_not_repeated() -> None:
    """RtpStream.pull: a frame the jitter buffer marks lost goes to the codec's in-band
    FEC (the next packet is buffered) instead of replaying the previous payload."""
    import asyncio

    import numpy as np

    from pyari.channels.rtp_media import RtpMedia
    from pyari.media.rtp_codecs import OpusCodec, parse_opus_fmtp

    class Sink:
        def __init__(self) -> None:
            self.frames: list[bytes] = []

        def push(self, payload: bytes) -> None:
            self.frames.append(payload)

    loop = asyncio.new_event_loop()
    media = RtpMedia(None, loop=loop)
    try:
        rtp = media.open("127.0.0.1")
        receiver = OpusCodec(rate=8000)
        recovered: list[bytes] = []
        fec = receiver.decode_fec

        def counting_fec(payload: bytes) -> bytes:
            recovered.append(payload)
            return fec(payload)

        receiver.decode_fec = counting_fec  # type: ignore[method-assign]
        rtp.configure(("127.0.0.1", 9), 111, rate=48000, codec=receiver)
        sink = Sink()
        rtp.attach(sink)  # type: ignore[arg-type]
        sender = OpusCodec(parse_opus_fmtp("useinbandfec=1"), rate=8000)
        t = np.arange(160 * 40) / 8000
        tone = (np.sin(2 * np.pi * 700 * t) * 8000).astype("<i2").reshape(40, 160)
        packets = [sender.encode(frame.tobytes()) or b"" for frame in tone]
        session = rtp.session
        assert session is not None
        now = 0.0
        for k in range(40):
            if k != 20:  # lost on the way; the others arrive with a little jitter
                packet = RtpPacket(111, k, k * 960, 7, packets[k]).to_bytes()
                session.receive(packet, now + (0.03 if k % 2 else 0.0))
            if k >= 2:
                rtp.pull(now)
            now += 0.02
        assert session.jitter.stats.concealed >= 1
        assert recovered == [packets[21]]  # the lost frame came from packet 21's FEC
        energies = [float(np.abs(np.frombuffer(f, dtype="<i2")).mean()) for f in sink.frames]
        assert len(sink.frames) >= 35 and min(energies[5:]) > 1000
    finally:
        media.close()
        loop.close()


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_certificate_files_ec_or_rsa_connect(tmp_path: Path, kind: str) -> None:
    """dtls_cert_file/dtls_private_key: an EC or an RSA pair (Asterisk's ast_tls_cert
    makes RSA) loads and completes a handshake; a broken file is a DtlsError."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    from pyari.rtp.dtls import DtlsError

    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else (
        rsa.generate_private_key(public_exponent=65537, key_size=2048))  # fmt: skip
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "asterisk")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(7)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    loaded = DtlsCertificate.load(tmp_path / "c.pem", tmp_path / "k.pem")
    browser = DtlsCertificate.generate()
    client = DtlsSrtp(loaded, "client", ("sha-256", browser.fingerprint))
    server = DtlsSrtp(browser, "server", ("sha-256", loaded.fingerprint))
    flight = client.start(0.0)
    for _ in range(10):
        back = [d for f in flight for d in server.receive(f, 0.0)]
        flight = [d for b in back for d in client.receive(b, 0.0)]
    assert client.connected and server.connected
    (tmp_path / "bad.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n")
    with pytest.raises(DtlsError):
        DtlsCertificate.load(tmp_path / "bad.pem")


def test_sdes_srtp_both_ways_and_bad_lines() -> None:
    from pyari.rtp.sdes import Crypto, SdesSrtp, choose_crypto, new_key, parse_crypto

    a_key, b_key = new_key(), new_key()
    a = SdesSrtp(Crypto(1, "AES_CM_128_HMAC_SHA1_80", a_key),
                 Crypto(1, "AES_CM_128_HMAC_SHA1_80", b_key))  # fmt: skip
    b = SdesSrtp(Crypto(1, "AES_CM_128_HMAC_SHA1_80", b_key),
                 Crypto(1, "AES_CM_128_HMAC_SHA1_80", a_key))  # fmt: skip
    packet = RtpPacket(0, 5, 800, 42, b"\xff" * 160).to_bytes()
    protected = a.protect(packet)
    assert protected is not None and b.unprotect(protected, False) == packet
    assert a.unprotect(protected, False) is None  # not a's key
    line = str(Crypto(3, "AES_CM_128_HMAC_SHA1_32", a_key))
    assert parse_crypto(line) == Crypto(3, "AES_CM_128_HMAC_SHA1_32", a_key)
    for bad in ("", "1", "x AES_CM_128_HMAC_SHA1_80 inline:AAAA", "1 F8_128_HMAC_SHA1_80 inline:AA",
                "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!", "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
                line + "|2^20|1:32"):  # fmt: skip
        assert parse_crypto(bad) is None
    assert choose_crypto(["junk", line]) == parse_crypto(line)
