"""Test peers for PJSIP media over loopback: a plain RTP peer (G.711, G.722) and a
"browser" peer that does what a WebRTC browser does on the media path (ICE checks as the
controlling full agent, DTLS-SRTP as the DTLS server, Opus) with pyari's own sans-IO
pieces, plus the helpers the tests share (config folders, tones, spectra)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import wave
from pathlib import Path

import numpy as np
from aioice import stun

from pyari.config.embedded import write_samples
from pyari.media.codecs import ulaw_decode, ulaw_encode
from pyari.media.rtp_codecs import G722Codec, GsmCodec, OpusCodec, PayloadCodec
from pyari.rtp.dtls import DtlsCertificate, DtlsSrtp
from pyari.rtp.packet import RtpPacket
from pyari.rtp.sdes import SdesSrtp
from pyari.rtp.webrtc import SecureTransport
from pyari.sip.sdp import SessionDescription, parse_sdp

Address = tuple[str, int]

LOOPBACK_ONLY_RTP = "[general]\nice_deny = 0.0.0.0/0\nice_permit = 127.0.0.1\n"


def config_dir(tmp: Path, endpoint: str, rtp_conf: str = LOOPBACK_ONLY_RTP) -> Path:
    """The embedded defaults with ``endpoint`` (pjsip.conf lines) replacing 2222's
    endpoint section, and ``rtp_conf`` as rtp.conf."""
    folder = tmp / "conf"
    write_samples(folder)
    text = (folder / "pjsip.conf").read_text()
    start = text.index("[2222]\ntype = endpoint")
    end = text.index("[2222]", start + 5)
    (folder / "pjsip.conf").write_text(text[:start] + endpoint.strip() + "\n\n" + text[end:])
    (folder / "rtp.conf").write_text(rtp_conf)
    return folder


def tone(freq: float, samples: int, rate: int, level: float = 8000.0, start: int = 0) -> bytes:
    t = (np.arange(samples) + start) / rate
    return (np.sin(2 * math.pi * freq * t) * level).astype("<i2").tobytes()


def peak(samples: np.ndarray, rate: int) -> float:
    """The frequency of the strongest component (Hann window)."""
    x = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spectrum[:3] = 0
    return float(np.argmax(spectrum) * rate / len(x))


def wav_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data, rate


class RtpPeer(asyncio.DatagramProtocol):
    """A phone's RTP socket: sends a tone in ``codec`` and keeps what it receives."""

    def __init__(self, codec: str, payload_type: int) -> None:
        self.codec = codec
        self.payload_type = payload_type
        self.transport: asyncio.DatagramTransport | None = None
        self.address: Address = ("127.0.0.1", 0)
        self.received: list[RtpPacket] = []
        self.sources: set[Address] = set()
        self.srtp: SdesSrtp | None = None
        """SDES keys: what is sent is protected, what arrives unprotected."""
        makers = {"g722": G722Codec, "gsm": GsmCodec}
        maker = makers.get(codec)
        self._tx: PayloadCodec | None = maker() if maker is not None else None
        self._rx: PayloadCodec | None = maker() if maker is not None else None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.address = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.sources.add(addr)
        if self.srtp is not None:
            if len(data) > 1 and 192 <= data[1] <= 223:
                return  # SRTCP
            plain = self.srtp.unprotect(data, False)
            if plain is None:
                return
            data = plain
        with contextlib.suppress(ValueError):
            self.received.append(RtpPacket.parse(data))

    async def send_tone(self, dest: Address, freq: float, seconds: float) -> None:
        """Paced 20 ms packets of a tone (the pacing is the media clock, not ordering)."""
        assert self.transport is not None
        wide = self.codec == "g722"
        rate = 16000 if wide else 8000
        n = rate // 50
        ts_step = 160  # G.722's RTP clock is 8000 too
        for k in range(int(seconds * 50)):
            pcm = tone(freq, n, rate, start=k * n)
            if self._tx is not None:
                payload = self._tx.encode(pcm) or b""
            else:
                payload = ulaw_encode(np.frombuffer(pcm, dtype="<i2")).tobytes()
            data = RtpPacket(self.payload_type, k, k * ts_step, 0x5EED, payload).to_bytes()
            if self.srtp is not None:
                data = self.srtp.protect(data) or b""
            self.transport.sendto(data, dest)
            await asyncio.sleep(0.02)

    def heard(self) -> tuple[np.ndarray, int]:
        """What arrived, decoded, in sequence order."""
        packets = sorted(
            (p for p in self.received if p.payload_type == self.payload_type),
            key=lambda p: p.sequence,
        )
        if self._rx is not None:
            pcm = b"".join(self._rx.decode(p.payload) for p in packets)
            return np.frombuffer(pcm, dtype="<i2"), self._rx.rate
        codes = np.frombuffer(b"".join(p.payload for p in packets), dtype=np.uint8)
        return ulaw_decode(codes), 8000


class BrowserPeer(asyncio.DatagramProtocol):
    """The media side of a WebRTC browser (see the module docstring)."""

    def __init__(self, *, lie_about_fingerprint: bool = False) -> None:
        self.certificate = DtlsCertificate.generate()
        announced = DtlsCertificate.generate() if lie_about_fingerprint else self.certificate
        self.announced_fingerprint = announced.fingerprint
        self.ufrag = "brws"
        self.pwd = "browserpassword-0123456789"
        self.transport: asyncio.DatagramTransport | None = None
        self.address: Address = ("127.0.0.1", 0)
        self.secure: SecureTransport | None = None
        self.stun_responses: list[stun.Message] = []
        self.received: list[RtpPacket] = []
        self.rtcp = 0
        self.opus_rx = OpusCodec()
        self.opus_tx = OpusCodec()
        self.payload_type = 111

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.address = transport.get_extra_info("sockname")[:2]

    def offer(self, session_id: str = "42") -> bytes:
        host, port = self.address
        lines = [
            "v=0", f"o=- {session_id} 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
            "a=group:BUNDLE 0", "a=msid-semantic: WMS",
            f"m=audio {port} UDP/TLS/RTP/SAVPF 111 0 126", f"c=IN IP4 {host}",
            "a=rtcp:9 IN IP4 0.0.0.0",
            f"a=candidate:1 1 udp 2122260223 {host} {port} typ host generation 0",
            f"a=ice-ufrag:{self.ufrag}", f"a=ice-pwd:{self.pwd}",
            "a=ice-options:trickle",
            f"a=fingerprint:sha-256 {self.announced_fingerprint}",
            "a=setup:actpass", "a=mid:0", "a=sendrecv", "a=rtcp-mux",
            "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=rtpmap:0 PCMU/8000", "a=rtpmap:126 telephone-event/8000",
        ]  # fmt: skip
        return ("\r\n".join(lines) + "\r\n").encode()

    def answer_to(self, offer: bytes) -> bytes:
        """Chrome's answer to pyari's offer: ``setup:active`` (we are the DTLS client),
        Opus at the payload type offered, our candidate."""
        m = parse_sdp(offer).media[0]
        opus = next(pt for pt, (enc, _r, _c) in m.rtpmap().items() if enc == "opus")
        self.payload_type = opus
        host, port = self.address
        lines = [
            "v=0", "o=- 77 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
            f"m=audio {port} UDP/TLS/RTP/SAVPF {opus}", f"c=IN IP4 {host}",
            f"a=candidate:1 1 udp 2122260223 {host} {port} typ host generation 0",
            f"a=ice-ufrag:{self.ufrag}", f"a=ice-pwd:{self.pwd}",
            f"a=fingerprint:sha-256 {self.announced_fingerprint}",
            "a=setup:active", "a=sendrecv", "a=rtcp-mux",
            f"a=rtpmap:{opus} opus/48000/2",
        ]  # fmt: skip
        return ("\r\n".join(lines) + "\r\n").encode()

    def start_as_answerer(self, offer: bytes) -> Address:
        """After our answer: the check, then (as the DTLS client) the ClientHello."""
        return self.start(offer, role="client")

    def start(self, answer: SessionDescription | bytes, role: str | None = None) -> Address:
        """Read pyari's answer, set up DTLS (we are the server when pyari is active), and
        send the first connectivity check; returns pyari's candidate address."""
        sdp = parse_sdp(answer) if isinstance(answer, bytes) else answer
        m = sdp.media[0]
        candidate = m.attribute_values("candidate")[0].split()
        remote = (candidate[4], int(candidate[5]))
        fingerprint = (m.attribute("fingerprint") or "").split()
        if role is None:
            role = "server" if m.attribute("setup") == "active" else "client"
        dtls = DtlsSrtp(self.certificate, role, (fingerprint[0], fingerprint[1]))  # type: ignore[arg-type]
        self.secure = SecureTransport(ice=None, dtls=dtls, remote=remote)
        self.remote_ufrag = m.attribute("ice-ufrag") or ""
        self.remote_pwd = m.attribute("ice-pwd") or ""
        self.check()
        return remote

    def check(self) -> None:
        """A Binding request with USE-CANDIDATE, as the controlling agent nominates."""
        assert self.transport is not None and self.secure is not None
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        request.attributes["USERNAME"] = f"{self.remote_ufrag}:{self.ufrag}"
        request.attributes["PRIORITY"] = 1853824767
        request.attributes["ICE-CONTROLLING"] = 0x5EED
        request.attributes["USE-CANDIDATE"] = None
        request.add_message_integrity(self.remote_pwd.encode())
        assert self.secure.signalled is not None
        self.transport.sendto(bytes(request), self.secure.signalled)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        secure = self.secure
        assert self.transport is not None
        if secure is None:
            return
        if data and data[0] < 4:
            with contextlib.suppress(ValueError):
                self.stun_responses.append(stun.parse_message(data))
            return
        loop = asyncio.get_running_loop()
        plain, replies = secure.receive(data, addr, loop.time())
        for reply, dest in replies:
            self.transport.sendto(reply, dest)
        if plain is None:
            return
        if 192 <= plain[1] <= 223:
            self.rtcp += 1
            return
        with contextlib.suppress(ValueError):
            self.received.append(RtpPacket.parse(plain))

    def poll(self) -> None:
        """DTLS timers (the peer's own clock)."""
        assert self.transport is not None and self.secure is not None
        for data, dest in self.secure.poll(asyncio.get_running_loop().time()):
            self.transport.sendto(data, dest)

    async def send_tone(self, freq: float, seconds: float) -> int:
        """Opus packets of a tone over SRTP, paced 20 ms; returns how many went out."""
        assert self.transport is not None and self.secure is not None
        remote = self.secure.signalled
        assert remote is not None
        sent = 0
        for k in range(int(seconds * 50)):
            payload = self.opus_tx.encode(tone(freq, 320, 16000, start=k * 320))
            self.poll()
            if payload is not None:
                packet = RtpPacket(self.payload_type, k, k * 960, 0xB0B, payload).to_bytes()
                protected = self.secure.protect_rtp(packet)
                if protected is not None:
                    self.transport.sendto(protected, remote)
                    sent += 1
            await asyncio.sleep(0.02)
        return sent

    def heard(self) -> np.ndarray:
        packets = sorted(
            (p for p in self.received if p.payload_type == self.payload_type),
            key=lambda p: p.sequence,
        )
        pcm = b"".join(self.opus_rx.decode(p.payload) for p in packets)
        return np.frombuffer(pcm, dtype="<i2")
