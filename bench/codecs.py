"""CPU per call-second of bridged calls by codec, and SRTP's cost (issue #17).

    .venv/bin/python -m bench.codecs [--calls 40] [--seconds 4] [--rounds 3]

Each call is two PJSIP-like legs in a two-party mixing bridge of the media engine
(mixing at 8 kHz, pyari's default). Every leg is a real
:class:`~pyari.channels.rtp_media.RtpStream` of an
:class:`~pyari.channels.rtp_media.RtpMedia` (UDP socket on loopback, ``RtpSession``,
jitter buffer, the leg's ``PayloadCodec`` for G.722 and Opus, and a ``SecureTransport``
with SRTP keys for the SRTP legs), with a far-end socket that sends the leg's packets
(encoded, and SRTP-protected, before timing; a browser's Opus from 48 kHz audio) and
drops what pyari sends. Per 20 ms tick the far ends send (not timed), then the timed
part is pyari's tick: ``RtpMedia.tick`` (send what the engine gave, ``epoll`` and
``recvmsg`` every socket, unprotect, jitter buffers, decode, push; a plain G.711
two-party bridge's packets are relayed on arrival instead, decision 0027, whose
reads are timed too) and ``MediaEngine.process_tick`` (G.711 tables, slin16
resampling, mix).

The figure is process CPU time of the timed parts divided by calls × media seconds:
milliseconds of CPU per call-second, min / median / max over the rounds (the cases
alternate within a round). The asyncio timer and RTCP are not in it (the same for every
codec). Cases: G.711↔G.711 (both µ-law: relayed on arrival, untouched),
Opus↔G.711, G.722↔G.711, G.711 on SRTP ↔ G.711 (SRTP's overhead against the first),
Opus on SRTP ↔ G.711 (a browser's call), two browsers (each leg decodes and encodes:
pyari does not pass Opus through). Goal: Opus↔G.711 ≤ 3× G.711↔G.711.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import time

import numpy as np

from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.media.codecs import ulaw_encode
from pyari.media.frames import SLIN, SLIN16, ULAW
from pyari.media.mixer import MediaEngine
from pyari.media.rtp_codecs import G722Codec, OpusCodec, PayloadCodec
from pyari.rtp.dtls import DtlsCertificate, DtlsSrtp
from pyari.rtp.packet import RtpPacket
from pyari.rtp.webrtc import SecureTransport


def pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    except (AttributeError, OSError):
        return "unpinned"


def _speechlike(rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = np.sin(2 * np.pi * 440 * t) + 0.5 * np.sin(2 * np.pi * 1850 * t)
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)
    x += 0.02 * np.random.default_rng(1).standard_normal(len(t))
    return (x * 9000).astype(np.int16)


def _far_packets(kind: str, ticks: int, pt: int) -> list[bytes]:
    """What the far end sends, one packet per tick (a browser encodes 48 kHz audio)."""
    rate = {"ulaw": 8000, "g722": 16000, "opus": 48000}[kind]
    audio = _speechlike(rate, ticks / 50).reshape(ticks, rate // 50)
    step = 960 if kind == "opus" else 160
    if kind == "ulaw":
        payloads = [ulaw_encode(frame).tobytes() for frame in audio]
    else:
        codec: PayloadCodec = OpusCodec(rate=48000) if kind == "opus" else G722Codec()
        payloads = [codec.encode(frame.tobytes()) or b"" for frame in audio]
    ssrc = secrets.randbits(32)
    return [
        RtpPacket(pt, k & 0xFFFF, k * step, ssrc, payload).to_bytes()
        for k, payload in enumerate(payloads)
    ]


class FarEnd:
    """The other phone: a socket that sends the prepared packets and drops ours."""

    def __init__(self, packets: list[bytes], target: tuple[str, int]) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()
        self.packets = packets
        self.target = target

    def tick(self, tick: int) -> None:
        """Send this tick's packet and drain what pyari sent (not timed)."""
        self.sock.sendto(self.packets[tick], self.target)
        try:
            while True:
                self.sock.recv(2048)
        except BlockingIOError:
            pass


def _secure(rtp: RtpStream, remote: tuple[str, int]) -> DtlsSrtp:
    """SRTP on ``rtp`` as after a DTLS handshake (made-up keys; no handshake is timed);
    returns the far end's side (the other role, the same keys) to protect its packets."""
    cert = DtlsCertificate.generate()
    material = secrets.token_bytes(60)
    ours = DtlsSrtp(cert, "client", None, verify=False)
    ours._setup_srtp(material)
    ours.state = "connected"
    theirs = DtlsSrtp(cert, "server", None, verify=False)
    theirs._setup_srtp(material)
    theirs.state = "connected"
    rtp.secure = SecureTransport(ice=None, dtls=ours, remote=remote, rtcp_mux=True)
    return theirs


def _leg(
    rtp_media: RtpMedia, engine: MediaEngine, kind: str, ticks: int, srtp: bool, name: str
) -> FarEnd:
    pt = {"ulaw": 0, "g722": 9, "opus": 111}[kind]
    rtp = rtp_media.open("127.0.0.1")
    packets = _far_packets(kind, ticks, pt)
    far = FarEnd(packets, rtp.address)
    codec: PayloadCodec | None = None
    if kind == "opus":
        codec = OpusCodec(rate=engine.rate)
    elif kind == "g722":
        codec = G722Codec()
    rtp.configure(far.address, pt, rate=48000 if kind == "opus" else 8000, codec=codec)
    if srtp:
        theirs = _secure(rtp, far.address)
        far.packets = [theirs.protect(p) or b"" for p in packets]
    fmt = {"ulaw": ULAW, "g722": SLIN16, "opus": SLIN if engine.rate == 8000 else SLIN16}[kind]
    stream = engine.add_stream(name, fmt, on_output=lambda _s, payload: rtp.output(payload))
    rtp.attach(stream)
    return far


CLOCK_PATH = "G.711 ↔ G.711 (through the media clock)"
"""The same call with relay on arrival off: what every call cost before decision 0027."""

Case = tuple[str, str, bool, str, bool]
"""(label, leg A codec, leg A on SRTP, leg B codec, leg B on SRTP)."""

CASES: list[Case] = [
    ("G.711 ↔ G.711 (relayed on arrival)", "ulaw", False, "ulaw", False),
    (CLOCK_PATH, "ulaw", False, "ulaw", False),
    ("Opus ↔ G.711", "opus", False, "ulaw", False),
    ("G.722 ↔ G.711", "g722", False, "ulaw", False),
    ("G.711/SRTP ↔ G.711", "ulaw", True, "ulaw", False),
    ("Opus/SRTP ↔ G.711 (browser call)", "opus", True, "ulaw", False),
    ("Opus/SRTP ↔ Opus/SRTP (two browsers)", "opus", True, "opus", True),
]


def run_case(case: Case, calls: int, seconds: float) -> float:
    """CPU ms per call-second for ``calls`` calls of ``case`` over ``seconds``."""
    _label, a_kind, a_srtp, b_kind, b_srtp = case
    ticks = int(seconds * 50) + 10  # the first ten start the jitter buffers
    loop = asyncio.new_event_loop()
    rtp_media = RtpMedia(None, port_range=(30000, 40000), loop=loop)
    rtp_media.relay_enabled = _label != CLOCK_PATH
    engine = MediaEngine()
    fars: list[FarEnd] = []
    for k in range(calls):
        fars.append(_leg(rtp_media, engine, a_kind, ticks, a_srtp, f"a{k}"))
        fars.append(_leg(rtp_media, engine, b_kind, ticks, b_srtp, f"b{k}"))
        bridge = engine.add_bridge(f"br{k}")
        engine.join(bridge, engine.streams[f"a{k}"])
        engine.join(bridge, engine.streams[f"b{k}"])
    warm = 10
    cpu = 0.0
    clock = time.process_time
    now = 0.0
    try:
        for tick in range(ticks):
            now += 0.02
            for far in fars:
                far.tick(tick)
            start = clock()
            _tick(rtp_media, tick)
            engine.process_tick(tick)
            if tick >= warm:
                cpu += clock() - start
    finally:
        rtp_media.close()
        for far in fars:
            far.sock.close()
        loop.close()
    return cpu * 1000 / (calls * (ticks - warm) / 50)


def _tick(rtp_media: RtpMedia, tick: int) -> None:
    """What the server runs for RTP in one tick: the relay's reads (the event loop calls
    ``_relay_ready`` when a relaying socket is readable; not running here, it is called
    once) and ``RtpMedia.tick``."""
    if rtp_media._relay_poller is not None:
        rtp_media._relay_ready()
    rtp_media.tick(tick)


def security_costs(rounds: int = 5) -> list[tuple[str, float, float, float]]:
    """(what, min, median, max) µs of CPU: SRTP protect and unprotect of a 200-byte RTP
    packet, a DTLS-SRTP handshake (both sides, in memory) and a certificate."""
    cert_a, cert_b = DtlsCertificate.generate(), DtlsCertificate.generate()
    packet = RtpPacket(111, 1, 960, 0x1234, bytes(188)).to_bytes()
    count = 2000
    out: dict[str, list[float]] = {k: [] for k in ("protect", "unprotect", "handshake", "cert")}
    clock = time.process_time
    for _ in range(rounds):
        ours = DtlsSrtp(cert_a, "client", None, verify=False)
        theirs = DtlsSrtp(cert_b, "server", None, verify=False)
        material = secrets.token_bytes(60)
        ours._setup_srtp(material)
        theirs._setup_srtp(material)
        packets = [RtpPacket(111, k, k * 960, 0x1234, packet[12:]).to_bytes() for k in range(count)]
        start = clock()
        protected = [ours.protect(p) for p in packets]
        out["protect"].append((clock() - start) * 1e6 / count)
        start = clock()
        for p in protected:
            theirs.unprotect(p or b"", False)
        out["unprotect"].append((clock() - start) * 1e6 / count)
        start = clock()
        client = DtlsSrtp(cert_a, "client", ("sha-256", cert_b.fingerprint))
        server = DtlsSrtp(cert_b, "server", ("sha-256", cert_a.fingerprint))
        flight = client.start(0.0)
        for _ in range(10):
            back = [d for f in flight for d in server.receive(f, 0.0)]
            flight = [d for b in back for d in client.receive(b, 0.0)]
            if client.connected and server.connected:
                break
        assert client.connected and server.connected
        out["handshake"].append((clock() - start) * 1e6)
        start = clock()
        DtlsCertificate.generate()
        out["cert"].append((clock() - start) * 1e6)
    labels = {
        "protect": "SRTP protect, per 200-byte packet",
        "unprotect": "SRTP unprotect, per 200-byte packet",
        "handshake": "DTLS-SRTP handshake, both sides (once per call)",
        "cert": "self-signed P-256 certificate (once per endpoint)",
    }
    return [(labels[k], min(v), statistics.median(v), max(v)) for k, v in out.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    where = pin_one_core()
    results: dict[str, list[float]] = {case[0]: [] for case in CASES}
    for _ in range(args.rounds):
        for case in CASES:
            results[case[0]].append(run_case(case, args.calls, args.seconds))
    base = statistics.median(results[CASES[0][0]])
    print(f"{args.calls} calls × {args.seconds:g} s, {args.rounds} rounds, {where}")
    print("| call | CPU ms per call-second (min / median / max) | × G.711 call |")
    print("|---|---|---|")
    for label, values in results.items():
        med = statistics.median(values)
        low, high = min(values), max(values)
        print(f"| {label} | {low:.2f} / {med:.2f} / {high:.2f} | {med / base:.1f}× |")
    print()
    print("| security work | µs of CPU (min / median / max) |")
    print("|---|---|")
    for label, low, med, high in security_costs():
        print(f"| {label} | {low:.1f} / {med:.1f} / {high:.1f} |")


if __name__ == "__main__":
    main()
