"""CPU per call-second of bridged calls by codec, and SRTP's cost (issue #17).

    .venv/bin/python -m bench.codecs [--calls 40] [--seconds 4] [--rounds 3] [--opus-only]

Each call is two PJSIP-like legs in a two-party mixing bridge of the media engine
(mixing at 8 kHz, pyari's default). Every leg is a real
:class:`~pyari.channels.rtp_media.RtpStream` of an
:class:`~pyari.channels.rtp_media.RtpMedia` (UDP socket on loopback, ``RtpSession``,
jitter buffer, the leg's ``PayloadCodec`` for G.722 and Opus, and a ``SecureTransport``
with SRTP keys for the SRTP legs), with a far-end socket that sends the leg's packets
(encoded, and SRTP-protected, before timing) and drops what pyari sends. The far ends
send :func:`speech` (voice-like audio); an Opus far end is a browser: what Chromium's
encoder sends to an SDP without Opus fmtp (:func:`browser_opus`: 32 kbit/s, full band,
mostly hybrid packets) or, in the ``max_playback_rate = 8000`` cases, to pyari's SDP
asking for narrowband (12 kbit/s SILK); pyari's Opus codec is made as the PJSIP
channel makes it from Chromium's offer (``make_codec`` with its fmtp and codecs.conf's
default ``[opus]``). Per 20 ms tick the far ends send (not timed), then the timed part is pyari's
tick: ``RtpMedia.tick`` (send what the engine gave, ``epoll`` and ``recvmsg`` every
socket, unprotect, jitter buffers, decode, push; a plain G.711 two-party bridge's
packets are relayed on arrival instead, decision 0027, whose reads are timed too) and
``MediaEngine.process_tick`` (G.711 tables, slin16 resampling, mix).

The figure is process CPU time (all threads: the native relay's thread too) of each
tick less the far ends' sending, divided by calls × media seconds:
milliseconds of CPU per call-second, min / median / max over the rounds (the cases
alternate within a round), and each median against both G.711 references: the call
relayed on arrival and the same call through the media clock. The asyncio timer and
RTCP are not in it (the same for every codec). Cases: G.711↔G.711 (both µ-law,
relayed on arrival; and through the clock), Opus↔G.711 (with and without
``max_playback_rate = 8000``), G.722↔G.711, G.711 on SRTP ↔ G.711 (SRTP's overhead
against the clocked one), Opus on SRTP ↔ G.711 (a browser's call), two browsers (each
leg decodes and encodes: pyari does not pass Opus through). Goal: Opus↔G.711 ≤ 3× a
G.711↔G.711 call. ``--opus-only``: the references and the Opus cases.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
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
from pyari.media.rtp_codecs import G722Codec, PayloadCodec, make_codec
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


VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (440, 1020, 2240),
    (660, 1720, 2410),
)
"""Formants (F1, F2, F3 in Hz) of a few vowels of adult male speech."""


def speech(rate: int, seconds: float, seed: int = 1) -> np.ndarray:
    """Voice-like test audio at ``rate``: voiced syllables of 120-280 ms (a glottal
    source of 95-150 Hz, harmonics shaped by formants gliding between vowels), a
    fricative now and then (noise above 2.5 kHz), pauses. What an encoder's mode
    decisions see as speech, where two steady tones may pass for music."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    out = np.zeros(n)
    pos = 0
    top = min(rate / 2 - 200, 7000)
    while pos < n:
        kind = rng.random()
        seg = np.arange(min(int(rate * rng.uniform(0.12, 0.28)), n - pos))
        if kind < 0.30 and kind >= 0.15 and len(seg) > 1:
            spectrum = np.fft.rfft(rng.standard_normal(len(seg)))
            freqs = np.fft.rfftfreq(len(seg), 1 / rate)
            spectrum *= (freqs > 2500) * np.minimum(1.0, 5000 / np.maximum(freqs, 1))
            x = np.fft.irfft(spectrum, len(seg))
            out[pos : pos + len(seg)] = 0.15 * x / (np.abs(x).max() + 1e-9) * np.hanning(len(seg))
        elif kind >= 0.30 and len(seg) > 1:
            t = seg / rate
            f0 = rng.uniform(95, 150) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
            phase = 2 * np.pi * np.cumsum(f0) / rate
            v0 = VOWELS[rng.integers(len(VOWELS))]
            v1 = VOWELS[rng.integers(len(VOWELS))]
            w = t / t[-1]
            formants = [a + (b - a) * w for a, b in zip(v0, v1, strict=True)]
            x = np.zeros(len(seg))
            for k in range(1, int(top / 95) + 1):
                fk = k * f0
                amp = np.zeros(len(seg))
                for fm, bw in zip(formants, (80, 100, 140), strict=True):
                    amp += 1.0 / (1 + ((fk - fm) / bw) ** 2)
                x += amp * (fk < top) / k**0.5 * np.sin(k * phase)
            level = rng.uniform(0.4, 0.9)
            out[pos : pos + len(seg)] = (
                x / (np.abs(x).max() + 1e-9) * np.sin(np.pi * w) ** 0.5 * level
            )
        pos += len(seg)  # (kind < 0.15: a pause)
    out += 0.002 * rng.standard_normal(n)
    return (out * 12000).astype(np.int16)


BROWSER_FMTP = "minptime=10;useinbandfec=1"
"""The Opus fmtp of Chromium's offers."""


def browser_opus(audio: np.ndarray, narrowband: bool = False) -> list[bytes]:
    """20 ms Opus payloads of 48 kHz ``audio`` as Chromium's WebRTC encodes them for a
    peer whose SDP has no Opus fmtp (Asterisk's, pyari's default): application VoIP,
    complexity 9 (desktop), VBR at 32 kbit/s, full band, no FEC (not asked for), no DTX;
    mostly hybrid SILK+CELT packets for speech. ``narrowband``: the peer's SDP said
    ``maxplaybackrate=8000`` (codecs.conf ``max_playback_rate = 8000``), for which
    Chromium caps the bandwidth at narrowband and sends 12 kbit/s (SILK only)."""
    import opuslib_next  # type: ignore[import-untyped]

    enc = opuslib_next.Encoder(48000, 1, opuslib_next.APPLICATION_VOIP)
    enc.complexity = 9
    enc.vbr = 1
    enc.bitrate = 12000 if narrowband else 32000
    if narrowband:
        enc.max_bandwidth = opuslib_next.BANDWIDTH_NARROWBAND
    return [bytes(enc.encode(frame.tobytes(), 960)) for frame in audio.reshape(-1, 960)]


@functools.cache
def _far_payloads(kind: str, ticks: int) -> tuple[bytes, ...]:
    """The far end's payloads, one per tick (every call of a case sends the same)."""
    rate = {"ulaw": 8000, "g722": 16000, "opus": 48000, "opus-nb": 48000}[kind]
    audio = speech(rate, ticks / 50)
    if kind == "ulaw":
        payloads = [ulaw_encode(frame).tobytes() for frame in audio.reshape(ticks, 160)]
    elif kind.startswith("opus"):
        payloads = browser_opus(audio, narrowband=kind == "opus-nb")
    else:
        codec: PayloadCodec = G722Codec()
        payloads = [codec.encode(frame.tobytes()) or b"" for frame in audio.reshape(ticks, 320)]
    return tuple(payloads)


def _far_packets(kind: str, ticks: int, pt: int) -> list[bytes]:
    """What the far end sends, one RTP packet per tick (a browser encodes 48 kHz audio)."""
    step = 960 if kind.startswith("opus") else 160
    ssrc = secrets.randbits(32)
    return [
        RtpPacket(pt, k & 0xFFFF, k * step, ssrc, payload).to_bytes()
        for k, payload in enumerate(_far_payloads(kind, ticks))
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
    pt = {"ulaw": 0, "g722": 9, "opus": 111, "opus-nb": 111}[kind]
    rtp = rtp_media.open("127.0.0.1")
    packets = _far_packets(kind, ticks, pt)
    far = FarEnd(packets, rtp.address)
    codec: PayloadCodec | None = None
    if kind.startswith("opus"):
        # as the PJSIP channel makes it from a browser's offer (its fmtp, codecs.conf's defaults)
        codec = make_codec("opus", BROWSER_FMTP, engine.rate)
    elif kind == "g722":
        codec = G722Codec()
    rtp.configure(far.address, pt, rate=48000 if kind.startswith("opus") else 8000, codec=codec)
    if srtp:
        theirs = _secure(rtp, far.address)
        far.packets = [theirs.protect(p) or b"" for p in packets]
    opus_fmt = SLIN if engine.rate == 8000 else SLIN16
    fmt = {"ulaw": ULAW, "g722": SLIN16, "opus": opus_fmt, "opus-nb": opus_fmt}[kind]
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
    ("Opus ↔ G.711, max_playback_rate = 8000", "opus-nb", False, "ulaw", False),
    ("G.722 ↔ G.711", "g722", False, "ulaw", False),
    ("G.711/SRTP ↔ G.711", "ulaw", True, "ulaw", False),
    ("Opus/SRTP ↔ G.711 (browser call)", "opus", True, "ulaw", False),
    ("Opus/SRTP ↔ G.711, max_playback_rate = 8000", "opus-nb", True, "ulaw", False),
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
    # the process's CPU (every thread: the native relay's thread relays as packets
    # arrive, decision 0029) over each tick, less the far ends' own sending (this
    # thread's CPU while they send)
    clock, thread_clock = time.process_time, time.thread_time
    now = 0.0
    try:
        for tick in range(ticks):
            now += 0.02
            start = clock()
            sending = thread_clock()
            for far in fars:
                far.tick(tick)
            sending = thread_clock() - sending
            _tick(rtp_media, tick)
            engine.process_tick(tick)
            if tick >= warm:
                cpu += clock() - start - sending
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
    parser.add_argument(
        "--opus-only", action="store_true", help="the two G.711 references and the Opus calls"
    )
    args = parser.parse_args()
    where = pin_one_core()
    cases = [c for c in CASES if not args.opus_only or "G.711 ↔ G.711" in c[0] or "Opus" in c[0]]
    results: dict[str, list[float]] = {case[0]: [] for case in cases}
    for _ in range(args.rounds):
        for case in cases:
            results[case[0]].append(run_case(case, args.calls, args.seconds))
    relayed = statistics.median(results[CASES[0][0]])
    clocked = statistics.median(results[CLOCK_PATH])
    print(f"{args.calls} calls × {args.seconds:g} s, {args.rounds} rounds, {where}")
    print(
        "| call | CPU ms per call-second (min / median / max) "
        "| × relayed G.711 call | × clocked G.711 call |"
    )
    print("|---|---|---|---|")
    for label, values in results.items():
        med = statistics.median(values)
        low, high = min(values), max(values)
        print(
            f"| {label} | {low:.2f} / {med:.2f} / {high:.2f} "
            f"| {med / relayed:.1f}× | {med / clocked:.1f}× |"
        )
    if args.opus_only:
        return
    print()
    print("| security work | µs of CPU (min / median / max) |")
    print("|---|---|")
    for label, low, med, high in security_costs():
        print(f"| {label} | {low:.1f} / {med:.1f} / {high:.1f} |")


if __name__ == "__main__":
    main()
