"""Relay on arrival (issue #16, Asterisk's native RTP bridge): a two-party same-codec
bridge that nothing else listens to carries each packet on as it arrives, with the
other leg's SSRC and numbering; a third party, a recording, a snoop or a playback puts
the pair back on the media clock at the next tick, and the relay comes back when
they go. DTMF keeps its events and its own sending; numbering never repeats.

Every test runs twice: with the Python relay on the event loop (decision 0027) and with
the native relay thread (decision 0029; skipped when the extension is not built).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
import time as wall
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from channels.test_channels_rtp_timing import FakeTime, phone
from pyari.channels.rtp_media import RtpMedia, RtpStream
from pyari.media.frames import ULAW
from pyari.media.mixer import MediaEngine, MixBridge, Stream
from pyari.media.ticker import MediaClock
from pyari.rtp import relay as native_relay
from pyari.rtp.dtmf import TelephoneEvent
from pyari.rtp.packet import RtpPacket


@pytest.fixture(autouse=True, params=["python", "native"])
def relay_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which relay the RtpMedia of the test uses (``PYARI_PURE_RELAY``)."""
    kind: str = request.param
    if kind == "native":
        if not native_relay.available():
            pytest.skip("pyari.rtp._relay is not built")
        monkeypatch.delenv(native_relay.PURE_ENV, raising=False)
    else:
        monkeypatch.setenv(native_relay.PURE_ENV, "1")
    return kind


Header = tuple[int, int, int, int, int, bytes]
"""(marker+pt byte, sequence, timestamp, ssrc, payload type, payload)"""


def drain(sock: socket.socket) -> list[Header]:
    out: list[Header] = []
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return out
        _, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        out.append((second, seq, ts, ssrc, second & 0x7F, data[12:]))


async def wait_for(sock: socket.socket, count: int, timeout: float = 2.0) -> list[Header]:
    """Packets at ``sock`` while the event loop runs (no media tick), until ``count``."""
    got: list[Header] = []
    deadline = wall.monotonic() + timeout
    while len(got) < count and wall.monotonic() < deadline:
        await asyncio.sleep(0.002)
        got += drain(sock)
    return got


@dataclass
class Pair:
    time: FakeTime
    clock: MediaClock
    engine: MediaEngine
    media: RtpMedia
    bridge: MixBridge
    a_rtp: RtpStream
    a: Stream
    a_phone: socket.socket
    b_rtp: RtpStream
    b: Stream
    b_phone: socket.socket
    seq: int = 0

    def tick(self, count: int = 1) -> None:
        for _ in range(count):
            self.clock.tick()
            self.time.now += 0.02

    def say(self, count: int = 1, *, fill: int | None = None) -> None:
        """``a``'s phone sends ``count`` u-law packets (payload byte = sequence % 200)."""
        for _ in range(count):
            n = self.seq
            payload = bytes([fill if fill is not None else n % 200 + 1]) * 160
            self.a_phone.sendto(
                RtpPacket(0, n, 160 * n, 4321, payload).to_bytes(), self.a_rtp.address
            )
            self.seq += 1

    def close(self) -> None:
        for sock in (self.a_phone, self.b_phone):
            sock.close()
        self.media.close()


def leg(
    media: RtpMedia, engine: MediaEngine, name: str, pt: int = 0
) -> tuple[RtpStream, Stream, socket.socket]:
    far = phone()
    rtp = media.open()
    rtp.configure(far.getsockname(), pt)
    stream = engine.add_stream(name, ULAW, on_output=lambda _s, payload: rtp.output(payload))
    rtp.attach(stream)
    return rtp, stream, far


def pair(*, b_pt: int = 0) -> Pair:
    time = FakeTime()
    clock = MediaClock(time_source=time)
    engine = MediaEngine()
    clock.add_handler(engine.process_tick)
    media = RtpMedia(clock)
    a_rtp, a, a_phone = leg(media, engine, "a")
    b_rtp, b, b_phone = leg(media, engine, "b", b_pt)
    bridge = engine.add_bridge("br")
    engine.join(bridge, a)
    engine.join(bridge, b)
    return Pair(time, clock, engine, media, bridge, a_rtp, a, a_phone, b_rtp, b, b_phone)


def relaying(p: Pair) -> bool:
    both = p.a_rtp.relay is p.b_rtp and p.b_rtp.relay is p.a_rtp
    if both and p.media.native_relay:  # the native thread carries both directions
        assert p.a_rtp._native_gen and p.b_rtp._native_gen
    return both


async def test_packets_are_relayed_as_they_arrive_with_the_other_legs_numbering() -> None:
    p = pair(b_pt=8)  # a different payload type number on the b side (same format)
    p.b_rtp.session.payload_type = 0  # type: ignore[union-attr]
    p.tick(2)
    assert relaying(p)
    assert p.a.relay_peer is p.b and p.b.relay_peer is p.a
    before = drain(p.b_phone)
    b_session = p.b_rtp.session
    assert b_session is not None
    next_seq = b_session.sequence
    for _ in range(5):  # paced as a phone sends (a relaying socket queues 4 at most)
        p.say(1)
        await asyncio.sleep(0.004)
    got = await wait_for(p.b_phone, 5)  # no media tick ran
    assert len(got) == 5
    assert [h[1] for h in got] == [(next_seq + k) & 0xFFFF for k in range(5)]
    assert all(h[3] == b_session.ssrc for h in got)
    assert [h[5][0] for h in got] == [1, 2, 3, 4, 5]
    assert all(((b[2] - a[2]) & 0xFFFFFFFF) == 160 for a, b in itertools.pairwise(got))
    assert got[0][0] & 0x80  # the first relayed packet starts a talkspurt
    assert not any(h[0] & 0x80 for h in got[1:])
    a_session = p.a_rtp.session
    p.media.sync_relay(p.a_rtp)
    p.media.sync_relay(p.b_rtp)
    assert a_session is not None and a_session.rx_packets == 5
    assert b_session.tx_packets >= 5
    assert before == [] or all(h[3] == b_session.ssrc for h in before)
    # the clock sends nothing on b meanwhile
    p.tick(3)
    assert drain(p.b_phone) == []
    p.close()


async def _clock_then_relay(p: Pair, change: Callable[[], None], undo: Callable[[], None]) -> None:
    """Relay on; ``change`` → back on the clock (packets wait for the tick); ``undo`` →
    relay again; b's sequence numbers never repeat nor go back across the switches."""
    p.tick(2)
    assert relaying(p)
    p.say(3)
    seen = await wait_for(p.b_phone, 3)
    change()
    p.engine.invalidate()
    p.tick(2)
    assert p.a_rtp.relay is None and p.b_rtp.relay is None
    assert p.a.relay_peer is None and p.b.relay_peer is None
    seen += drain(p.b_phone)  # what the clock sent on those ticks
    p.say(1)
    await asyncio.sleep(0.02)
    assert drain(p.b_phone) == []  # not relayed: it waits for the clock
    for _ in range(6):
        p.say(1)
        p.tick()
        seen += drain(p.b_phone)
    undo()
    p.engine.invalidate()
    p.tick(2)
    seen += drain(p.b_phone)
    assert relaying(p)
    p.say(3)
    seen += await wait_for(p.b_phone, 3)
    seqs = [h[1] for h in seen]
    assert len(seqs) == len(set(seqs))
    assert all(((b - a) & 0xFFFF) < 0x8000 for a, b in itertools.pairwise(seqs))


async def test_a_third_party_puts_the_bridge_back_on_the_clock() -> None:
    p = pair()
    c_rtp, c, c_phone = leg(p.media, p.engine, "c")

    def join() -> None:
        p.engine.join(p.bridge, c)

    def leave() -> None:
        p.engine.leave(c)

    await _clock_then_relay(p, join, leave)
    assert c_rtp.relay is None
    c_phone.close()
    p.close()


async def test_a_recording_puts_the_pair_back_on_the_clock_and_hears_the_audio() -> None:
    p = pair()
    heard: list[int] = []

    def tap(samples: np.ndarray) -> None:  # type: ignore[type-arg]
        heard.append(int(np.abs(samples).max()))

    await _clock_then_relay(p, lambda: p.a.taps_in.append(tap), lambda: p.a.taps_in.remove(tap))
    assert any(level > 0 for level in heard)
    p.close()


async def test_a_bridge_recording_or_playback_puts_the_pair_back_on_the_clock() -> None:
    p = pair()

    def bridge_tap(samples: np.ndarray) -> None:  # type: ignore[type-arg]
        pass

    await _clock_then_relay(
        p, lambda: p.bridge.taps.append(bridge_tap), lambda: p.bridge.taps.remove(bridge_tap)
    )
    p.close()


class Tone:
    def read(self, count: int) -> np.ndarray:  # type: ignore[type-arg]
        return np.full(count, 1000, dtype=np.int16)


async def test_a_playback_to_a_member_is_what_it_hears_then_the_relay_resumes() -> None:
    p = pair()
    player = Tone()
    b_heard: list[bytes] = []

    def start() -> None:
        p.b.player = player

    def stop() -> None:
        p.b.player = None

    p.tick(2)
    assert relaying(p)
    start()
    p.tick(3)
    assert p.a_rtp.relay is None
    for _ in range(3):
        p.say(1, fill=0x55)
        p.tick()
        b_heard += [h[5] for h in drain(p.b_phone)]
    assert b_heard and all(payload != bytes([0x55]) * 160 for payload in b_heard)
    stop()
    p.tick(2)
    assert relaying(p)
    drain(p.b_phone)
    p.say(1, fill=0x55)
    got = await wait_for(p.b_phone, 1)
    assert [h[5] for h in got] == [bytes([0x55]) * 160]
    p.close()


async def test_a_snoop_whisper_puts_the_pair_back_on_the_clock() -> None:
    p = pair()
    _spy_rtp, spy, spy_phone = leg(p.media, p.engine, "spy")
    await _clock_then_relay(p, lambda: p.a.whispers.append(spy), lambda: p.a.whispers.remove(spy))
    spy_phone.close()
    p.close()


async def test_dtmf_is_reported_and_sent_with_its_own_packets_during_the_relay() -> None:
    p = pair()
    digits: list[str] = []
    p.a_rtp.on_dtmf = lambda digit, ms: digits.append(digit)
    p.tick(2)
    assert relaying(p)
    # a's phone sends a digit: reported, not relayed as audio
    for n, end in enumerate([False, False, True, True, True]):
        payload = TelephoneEvent(event=5, end=end, volume=10, duration=160 * (n + 1)).to_bytes()
        packet = RtpPacket(101, 500 + n, 8000, 4321, payload, marker=n == 0).to_bytes()
        p.a_phone.sendto(packet, p.a_rtp.address)
    deadline = wall.monotonic() + 2
    while not digits and wall.monotonic() < deadline:
        await asyncio.sleep(0.002)
    assert digits == ["5"]
    assert drain(p.b_phone) == []
    # a digit sent to b goes out on the tick; audio relayed after it continues b's numbering
    assert p.b_rtp.send_dtmf("7", 60)
    sent: list[Header] = []
    for _ in range(8):
        p.tick()
        sent += drain(p.b_phone)
    assert any(h[4] == 101 for h in sent)
    p.say(2)
    sent += await wait_for(p.b_phone, 2)
    seqs = [h[1] for h in sent]
    assert len(seqs) == len(set(seqs))
    assert sent[-2][4] == 0 and sent[-2][0] & 0x80  # the audio after the digit: a new talkspurt
    p.close()


async def test_a_leg_closing_puts_the_other_back_on_the_clock() -> None:
    p = pair()
    p.tick(2)
    assert relaying(p)
    p.b_rtp.close()
    p.engine.remove_stream(p.b)
    assert p.a_rtp.relay is None and p.b_rtp.fed_by is None
    p.say(1)
    await asyncio.sleep(0.02)
    p.tick(2)
    assert p.a_rtp.relay is None
    a_session = p.a_rtp.session
    assert a_session is not None and a_session.rx_packets == 1  # read on the tick
    p.close()


async def test_no_relay_when_disabled_or_a_leg_is_not_plain_rtp() -> None:
    p = pair()
    p.media.relay_enabled = False
    p.tick(3)
    assert p.a.relay_peer is p.b  # the engine allows it; RTP does not
    assert p.a_rtp.relay is None and p.b_rtp.relay is None
    p.media.relay_enabled = True
    p.b_rtp.byteswap = True
    p.tick(2)
    assert p.a_rtp.relay is None
    p.b_rtp.byteswap = False
    p.b_rtp.relay_ready = False  # PJSIP: an inbound call not answered yet
    p.tick(2)
    assert p.a_rtp.relay is None and p.b_rtp.relay is None
    p.b_rtp.relay_ready = True
    p.tick(2)
    assert relaying(p)
    p.close()


async def test_a_relaying_socket_keeps_a_short_queue() -> None:
    """Behind on CPU, a relay drops packets rather than sending them seconds late; the
    tick's longer buffer comes back with the clock."""
    p = pair()
    tick_size = p.a_rtp.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    p.tick(2)
    assert relaying(p)
    relay_size = p.a_rtp.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    assert relay_size < tick_size // 4
    p.engine.leave(p.b)
    p.tick(2)
    assert p.a_rtp.relay is None
    assert p.a_rtp.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == tick_size
    p.close()


# ---------------------------------------------------------------- the native relay's own


@pytest.fixture
def native(relay_kind: str) -> None:
    if relay_kind != "native":
        pytest.skip("the native relay only")


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = wall.monotonic() + timeout
    while not condition():
        if wall.monotonic() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


@pytest.mark.usefixtures("native")
async def test_statistics_read_the_threads_current_numbers() -> None:
    p = pair()
    p.tick(2)
    assert relaying(p)
    for _ in range(4):
        p.say(1)
        await asyncio.sleep(0.004)
    assert len(await wait_for(p.b_phone, 4)) == 4
    a_stats = p.a_rtp.statistics("a")
    b_stats = p.b_rtp.statistics("b")
    assert a_stats is not None and a_stats["rxcount"] == 4
    assert b_stats is not None and b_stats["txcount"] >= 4
    assert p.a_rtp.relay is p.b_rtp  # reading them did not stop the relay
    p.close()


@pytest.mark.usefixtures("native")
async def test_unusual_headers_go_through_python_and_the_counts_stay_whole() -> None:
    """A packet with a CSRC between plain ones: the session's parser takes it (on the
    event loop, against the thread's current state); every packet is counted once."""
    p = pair()
    p.tick(2)
    assert relaying(p)
    p.say(2)
    await wait_for(p.b_phone, 2)
    csrc = RtpPacket(0, p.seq, 160 * p.seq, 4321, b"\x11" * 160, csrc=(7,)).to_bytes()
    p.a_phone.sendto(csrc, p.a_rtp.address)
    p.seq += 1
    native = p.media._native
    assert native is not None
    assert await wait_until(
        lambda: native.counters()["slow"] == 1 and not native.counters()["queued"]
    )
    p.say(2)
    await wait_for(p.b_phone, 2)
    p.media.sync_relay(p.a_rtp)
    session = p.a_rtp.session
    assert session is not None and session.rx_packets == 5
    assert session.source is not None and session.source.received == 5
    assert session.source.max_seq == 4
    p.close()


@pytest.mark.usefixtures("native")
async def test_a_symmetric_leg_that_moves_gets_the_relayed_audio_at_its_new_address() -> None:
    p = pair()
    p.a_rtp.symmetric = True
    p.tick(2)
    assert relaying(p)
    moved = phone()
    moved.sendto(RtpPacket(0, 1, 160, 4321, b"\x01" * 160).to_bytes(), p.a_rtp.address)
    await wait_for(p.b_phone, 1)
    # b's phone talks: relayed to where a's phone is now
    p.b_phone.sendto(RtpPacket(0, 9, 1440, 999, b"\x02" * 160).to_bytes(), p.b_rtp.address)
    got = await wait_for(moved, 1)
    assert [h[5] for h in got] == [b"\x02" * 160]
    p.engine.leave(p.b)  # back on the clock: the learned address comes back with it
    p.tick(2)
    assert p.a_rtp.relay is None
    assert p.a_rtp.remote == moved.getsockname()
    moved.close()
    p.close()


@pytest.mark.usefixtures("native")
async def test_back_on_the_clock_the_sessions_carry_on_from_the_threads_state() -> None:
    p = pair()
    p.tick(2)
    assert relaying(p)
    for _ in range(3):
        p.say(1)
        await asyncio.sleep(0.004)
    relayed = await wait_for(p.b_phone, 3)
    p.engine.leave(p.b)
    p.tick(2)
    assert p.a_rtp.relay is None and p.a_rtp._native_gen == 0
    a_session, b_session = p.a_rtp.session, p.b_rtp.session
    assert a_session is not None and b_session is not None
    assert a_session.rx_packets == 3 and b_session.tx_packets >= 3
    assert b_session.sequence == (relayed[-1][1] + 1) & 0xFFFF
    assert p.media.relay_counters()["relayed"] == 3
    p.close()


# --- legs relaying both ways are left out of the tick ------------------------------------


def parked(p: Pair) -> bool:
    """Both legs and the engine pair are out of their ticks."""
    out = p.a_rtp._parked and p.b_rtp._parked and p.a._parked and p.b._parked
    if out:
        assert id(p.a_rtp) not in p.media._ticked and id(p.b_rtp) not in p.media._ticked
        assert p.a not in p.engine._order and p.b not in p.engine._order
    return out


def rtcp_packets(sock: socket.socket) -> list[tuple[int, int]]:
    """(packet type, sender's packet count or -1) of each compound report's first packet."""
    out: list[tuple[int, int]] = []
    while True:
        try:
            data = sock.recv(2048)
        except BlockingIOError:
            return out
        kind = data[1]
        out.append((kind, struct.unpack_from("!I", data, 20)[0] if kind == 200 else -1))


async def test_a_relayed_pair_leaves_both_ticks_and_comes_back_at_the_next_one() -> None:
    changes: dict[str, tuple[Callable[[Pair], None], Callable[[Pair], None]]] = {
        "tap": (lambda p: p.b.taps_out.append(lambda _x: None), lambda p: p.b.taps_out.clear()),
        "player": (
            lambda p: setattr(p.b, "player", Tone()),
            lambda p: setattr(p.b, "player", None),
        ),
        "member": (
            lambda p: p.engine.join(p.bridge, p.engine.add_stream("c", ULAW)),
            lambda p: p.engine.remove_stream(p.engine.streams["c"]),
        ),
    }
    for change, undo in changes.values():
        p = pair()
        p.tick(3)
        assert relaying(p) and parked(p)
        change(p)  # no invalidate(): the engine is told by the stream or the join
        p.tick(1)
        assert p.a_rtp.relay is None and p.b_rtp.relay is None
        assert not (p.a_rtp._parked or p.b_rtp._parked or p.a._parked or p.b._parked)
        p.say(1, fill=0x55)
        await asyncio.sleep(0.01)
        p.tick(1)  # read, pulled and mixed on the clock
        a_session = p.a_rtp.session
        assert a_session is not None and a_session.rx_packets == 1
        undo(p)
        p.tick(3)
        assert relaying(p) and parked(p)
        p.close()


async def test_rtcp_reports_of_parked_legs_go_out_on_time() -> None:
    p = pair()
    a_rtcp, b_rtcp = phone(), phone()
    p.a_rtp.rtcp_remote = a_rtcp.getsockname()
    p.b_rtp.rtcp_remote = b_rtcp.getsockname()
    p.tick(3)
    assert relaying(p) and parked(p)
    for _ in range(3):
        p.say(1)
        await asyncio.sleep(0.004)
    assert len(await wait_for(p.b_phone, 3)) == 3
    session = p.b_rtp.session
    assert session is not None and session._next_rtcp is not None
    sent_at: list[float] = []
    for _ in range(600):  # 12 s of ticks
        now = p.time.now
        due = session._next_rtcp
        p.tick()
        reports = rtcp_packets(b_rtcp)
        if reports:
            assert now >= due and now - due < 0.02 + 1e-9  # at the first tick after it
            sent_at.append(now)
            assert reports[0][0] == 200 and reports[0][1] >= 3  # the relayed packets too
            assert parked(p)  # and the legs stay out of the tick
    assert len(sent_at) == 2 and 4.99 < sent_at[1] - sent_at[0] < 5.03
    assert rtcp_packets(a_rtcp)  # a's reports too
    for sock in (a_rtcp, b_rtcp):
        sock.close()
    p.close()


async def test_a_digit_to_a_parked_leg_goes_out_then_it_is_parked_again() -> None:
    p = pair()
    p.tick(3)
    assert parked(p)
    assert p.b_rtp.send_dtmf("4", 60)
    assert not p.b_rtp._parked and p.a_rtp._parked  # only b's leg has something to send
    sent: list[Header] = []
    for _ in range(8):
        p.tick()
        sent += drain(p.b_phone)
    assert [h for h in sent if h[4] == 101]
    assert parked(p)
    p.close()


async def test_a_new_engine_stream_stops_the_relays_of_a_parked_leg() -> None:
    p = pair()
    p.tick(3)
    assert parked(p)
    other = p.engine.add_stream("other", ULAW)
    p.a_rtp.attach(other)
    assert p.a_rtp.relay is None and p.b_rtp.relay is None  # both directions, at once
    assert not (p.a_rtp._parked or p.b_rtp._parked)
    assert not p.a.relaying and p.a.relay_watch is None and other.relay_watch is not None
    assert not (p.a._parked or p.b._parked)
    p.tick(2)
    assert p.a_rtp.relay is None  # ``other`` is in no bridge
    p.close()
