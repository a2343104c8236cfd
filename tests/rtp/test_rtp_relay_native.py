"""The native relay thread (``pyari.rtp._relay``, decision 0029) on its own: the fast
path's rewrite and statistics, the hand-off of everything else to Python in arrival
order, the bounded queue, removal while packets arrive, descriptors closed and reused,
and datagrams of any shape. Loopback sockets; tests wait on conditions, not sleeps."""

from __future__ import annotations

import contextlib
import os
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from pyari.rtp import relay as native_relay

if not native_relay.available():  # pragma: no cover - a machine without a compiler
    pytest.skip("pyari.rtp._relay is not built", allow_module_level=True)

from pyari.rtp._relay import QUEUE_SIZE, Relay


def udp(rcvbuf: int = 1 << 20) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return sock


def until(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


def recv_all(sock: socket.socket, count: int, timeout: float = 3.0) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        select.select([sock], [], [], 0.05)
        while True:
            try:
                got.append(sock.recv(4096))
            except BlockingIOError:
                break
    return got


def rtp(
    seq: int, ts: int, ssrc: int = 0x1234, pt: int = 0, payload: bytes = b"\x55" * 160
) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


Handed = tuple[int, int, bytes, tuple[str, int] | None, float]
"""What ``Relay.drain`` gives: descriptor, generation, datagram, source, arrival."""


@dataclass
class Rig:
    relay: Relay
    leg: socket.socket
    """The relaying socket (what the far phone sends to)."""
    out: socket.socket
    """The target leg's socket (the relay sends from it)."""
    phone: socket.socket
    """The far end of ``leg``."""
    peer: socket.socket
    """The far end of ``out``: relayed packets arrive here."""

    def add(self, **state: object) -> int:
        fields: dict[str, object] = {
            "pt": 0,
            "rate": 8000.0,
            "out_ssrc": 0xCAFE,
            "out_pt": 8,
            "out_seq": 1000,
            "out_ts": 50000,
            "samples": 160,
            "dest": self.peer.getsockname(),
            "remote": self.phone.getsockname(),
        }
        fields.update(state)
        return self.relay.add(self.leg.fileno(), self.out.fileno(), **fields)

    def send(self, data: bytes) -> None:
        self.phone.sendto(data, self.leg.getsockname())

    def handed(self, count: int, timeout: float = 3.0) -> list[Handed]:
        got: list[Handed] = []
        deadline = time.monotonic() + timeout
        while len(got) < count and time.monotonic() < deadline:
            select.select([self.relay.wakeup_fd], [], [], 0.05)
            got += self.relay.drain()
        return got


@pytest.fixture
def rig() -> Iterator[Rig]:
    relay = Relay()
    socks = [udp() for _ in range(4)]
    yield Rig(relay, *socks)
    relay.close()
    for sock in socks:
        sock.close()


def test_the_fast_path_rewrites_to_the_targets_numbering_and_keeps_statistics(rig: Rig) -> None:
    gen = rig.add()
    assert gen > 0
    for n in range(5):
        rig.send(rtp(7 + n, 800 + 160 * n, payload=bytes([n]) * 160))
    got = recv_all(rig.peer, 5)
    assert len(got) == 5
    heads = [struct.unpack_from("!BBHII", data) for data in got]
    assert [h[2] for h in heads] == [1000, 1001, 1002, 1003, 1004]
    assert [h[3] for h in heads] == [50000 + 160 * n for n in range(5)]
    assert all(h[4] == 0xCAFE and h[1] & 0x7F == 8 for h in heads)
    assert heads[0][1] & 0x80 and not any(h[1] & 0x80 for h in heads[1:])
    assert [data[12] for data in got] == [0, 1, 2, 3, 4]
    state = rig.relay.get(rig.leg.fileno())
    assert state is not None
    assert state["rx_packets"] == 5 and state["rx_octets"] == 800
    assert state["have_src"] and state["src_ssrc"] == 0x1234
    assert state["base_seq"] == 7 and state["max_seq"] == 11 and state["received"] == 5
    assert state["tx_packets"] == 5 and state["out_seq"] == 1005
    assert state["out_ts"] == 50000 + 160 * 5
    assert state["jitter"] >= 0.0 and state["have_transit"]
    assert rig.relay.counters()["relayed"] == 5


def test_sequence_wrap_counts_a_cycle(rig: Rig) -> None:
    rig.add()
    for n in range(4):
        rig.send(rtp(0xFFFE + n, 160 * n))
    assert len(recv_all(rig.peer, 4)) == 4
    state = rig.relay.get(rig.leg.fileno())
    assert state is not None and state["cycles"] == 1 << 16 and state["max_seq"] == 1


def test_everything_else_goes_to_python_in_arrival_order(rig: Rig) -> None:
    gen = rig.add()
    dtmf = [rtp(100 + n, 8000, pt=101, payload=bytes([5, n, 0, 160])) for n in range(3)]
    rtcp = bytes([0x81, 201, 0, 1]) + b"\0" * 4
    csrc = bytes([0x81]) + rtp(200, 0)[1:] + b"\0\0\0\1"
    batch = [dtmf[0], rtp(1, 0), dtmf[1], rtcp, csrc, b"", b"\x80\x00", dtmf[2]]
    for data in batch:
        rig.send(data)
    slow = [d for d in batch if d != rtp(1, 0)]
    handed = rig.handed(len(slow))
    assert [item[2] for item in handed] == slow
    assert all(item[0] == rig.leg.fileno() and item[1] == gen for item in handed)
    assert all(item[3] == rig.phone.getsockname() for item in handed)
    arrivals = [item[4] for item in handed]
    assert arrivals == sorted(arrivals)
    assert len(recv_all(rig.peer, 1)) == 1  # the audio packet was relayed
    assert rig.relay.counters()["slow"] == len(slow)


def test_the_clock_offset_gives_pythons_media_time(rig: Rig) -> None:
    rig.add(offset=1000.0)
    before = time.monotonic() + 1000.0
    rig.send(rtp(1, 0, pt=101, payload=b"\5\0\0\xa0"))
    (item,) = rig.handed(1)
    assert before <= item[4] <= time.monotonic() + 1000.0


def test_a_full_queue_drops_and_counts(rig: Rig) -> None:
    rig.add()
    total = QUEUE_SIZE + 40

    def seen() -> int:
        counters = rig.relay.counters()
        return counters["slow"] + counters["dropped"]

    for n in range(total):
        rig.send(rtp(n, 0, pt=101, payload=b"\5\0\0\xa0"))
        if n % 64 == 63:  # keep the socket's own queue short (the thread reads as it goes)
            until(lambda: seen() > n - 8)  # noqa: B023 (called at once)
    assert until(lambda: seen() == total)
    counters = rig.relay.counters()
    assert counters["queued"] == QUEUE_SIZE and counters["dropped"] == 40
    assert len(rig.handed(QUEUE_SIZE)) == QUEUE_SIZE


def test_pause_keeps_statistics_and_resume_continues_the_pushed_numbering(rig: Rig) -> None:
    fd = rig.leg.fileno()
    rig.add()
    rig.send(rtp(1, 0))
    assert len(recv_all(rig.peer, 1)) == 1
    assert rig.relay.set(fd, paused=True)
    rig.send(rtp(2, 160))
    assert until(lambda: (rig.relay.get(fd) or {}).get("rx_packets") == 2)
    assert recv_all(rig.peer, 1, timeout=0.05) == []
    # Python sent a digit meanwhile (seq 1001..1005): its numbering comes back
    assert rig.relay.set(fd, paused=False, out_seq=1006, out_ts=52000)
    rig.send(rtp(3, 320))
    (data,) = recv_all(rig.peer, 1)
    second, seq, ts = struct.unpack_from("!BHI", data, 1)
    assert seq == 1006 and ts == 52000 and second & 0x80  # a new talkspurt


def test_symmetric_learning_moves_the_other_directions_destination(rig: Rig) -> None:
    """Two entries (a→b, b→a): a's phone moves; b's audio follows it."""
    back_phone = udp()
    moved = udp()
    try:
        rig.add(symmetric=True)
        rig.relay.add(
            rig.out.fileno(),
            rig.leg.fileno(),
            pt=0,
            out_ssrc=0xBEEF,
            out_pt=0,
            dest=rig.phone.getsockname(),
            remote=rig.peer.getsockname(),
        )
        moved.sendto(rtp(1, 0), rig.leg.getsockname())
        assert len(recv_all(rig.peer, 1)) == 1
        state = rig.relay.get(rig.leg.fileno())
        assert state is not None and state["remote"] == moved.getsockname()
        rig.peer.sendto(rtp(9, 0, ssrc=0x99), rig.out.getsockname())
        assert len(recv_all(moved, 1)) == 1
        assert recv_all(rig.phone, 1, timeout=0.05) == []
        back = rig.relay.get(rig.out.fileno())
        assert back is not None and back["dest"] == moved.getsockname()
    finally:
        back_phone.close()
        moved.close()


def test_remove_returns_the_state_and_the_thread_lets_the_socket_go(rig: Rig) -> None:
    fd = rig.leg.fileno()
    rig.add()
    rig.send(rtp(1, 0))
    rig.send(rtp(2, 0, pt=101, payload=b"\5\0\0\xa0"))
    assert until(lambda: (rig.relay.get(fd) or {}).get("rx_packets") == 1)
    assert until(lambda: rig.relay.counters()["queued"] == 1)
    state = rig.relay.remove(fd)
    assert state is not None and state["rx_packets"] == 1 and state["tx_packets"] == 1
    assert rig.relay.counters()["queued"] == 0  # its queued datagrams went with it
    assert rig.relay.get(fd) is None and rig.relay.remove(fd) is None
    assert rig.relay.set(fd, paused=True) is False
    rig.send(rtp(3, 0))
    assert select.select([rig.leg], [], [], 1.0)[0]
    assert rig.leg.recv(2048) == rtp(3, 0)  # nobody else read it


def test_remove_while_packets_arrive_and_descriptors_are_reused(rig: Rig) -> None:
    """A phone blasts audio and DTMF while the relay is added, removed, its socket
    closed and a new one (often the same descriptor number) added, many times."""
    stop = threading.Event()
    target = [rig.leg.getsockname()]

    def blast() -> None:
        n = 0
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not stop.is_set():
            data = rtp(n, 160 * n) if n % 5 else rtp(n, 0, pt=101, payload=b"\5\0\0\xa0")
            with contextlib.suppress(OSError):
                sender.sendto(data, target[0])
            n += 1
        sender.close()

    thread = threading.Thread(target=blast)
    thread.start()
    leg = rig.leg
    try:
        for _ in range(200):
            gen = rig.relay.add(
                leg.fileno(), rig.out.fileno(), pt=0, out_ssrc=1, dest=rig.peer.getsockname()
            )
            for fd, item_gen, _data, _addr, _arrival in rig.relay.drain():
                assert fd != leg.fileno() or item_gen == gen  # nothing of an older entry
            state = rig.relay.remove(leg.fileno())
            assert state is not None
            leg.close()
            leg = udp()
            target[0] = leg.getsockname()
    finally:
        stop.set()
        thread.join()
        rig.leg = leg


def test_datagrams_of_any_shape_never_crash_the_thread(rig: Rig) -> None:
    fd = rig.leg.fileno()
    rig.add()
    rng = random.Random(16)
    sizes = [0, 1, 2, 11, 12, 13, 100, 172, 1500, 2047, 2048, 2049, 4000, 9000]
    datagrams = [os.urandom(size) for size in sizes]
    datagrams += [bytes([0x80, 0]) + os.urandom(rng.randrange(0, 40)) for _ in range(200)]
    datagrams += [bytes([rng.choice([0x90, 0xA0, 0x8F, 0x40, 0xC0])]) + os.urandom(20)]

    def read() -> int:
        counters = rig.relay.counters()
        return counters["relayed"] + counters["slow"]

    for k, data in enumerate(datagrams):
        rig.send(data)
        if k % 32 == 31:
            until(lambda: read() > k - 16)  # noqa: B023 (called at once)
            rig.relay.drain()
            recv_all(rig.peer, 0, timeout=0)
    rig.send(rtp(1, 0))  # still relaying afterwards
    assert until(lambda: (rig.relay.get(fd) or {}).get("src_ssrc") == 0x1234)
    rig.relay.drain()


def test_bad_arguments_are_errors_not_crashes(rig: Rig) -> None:
    with pytest.raises(TypeError):
        rig.add(no_such_field=1)
    with pytest.raises(ValueError):
        rig.add(dest=("example.invalid", 5004))
    with pytest.raises(ValueError):
        rig.relay.add(-1, 3)
    gen = rig.add()
    with pytest.raises(ValueError):
        rig.add()  # already relaying
    assert rig.relay.get(rig.leg.fileno())["gen"] == gen  # type: ignore[index]
    rig.relay.close()
    with pytest.raises(ValueError):
        rig.add()
    assert rig.relay.get(rig.leg.fileno()) is None


def test_a_realtime_priority_is_asked_for_only_when_given() -> None:
    with pytest.raises(ValueError):
        Relay(rt_priority=100)
    plain = Relay()
    assert plain.counters()["realtime"] == 0
    plain.close()
